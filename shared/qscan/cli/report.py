"""`qscan report`: write a self-contained HTML report and its JSON from the stored results (docs/report.md).

    qscan report --aws-bucket NAME [--dedupe-table T] --out DIR
    qscan report --azure-account-url URL --container C [--dedupe-table-name T] [--table-url URL] --out DIR
    qscan report --from-dir DIR --out DIR
                 [--prefix P] [--progress-every N] [--quiet]

Reads every scan result under `--prefix` (default `results/`) and every inventory snapshot
(`inventory/<cloud>/<scope>/latest.json`) of the results store, optionally the dedupe store (current scan state of
each inventory artifact), and writes `report.html` and `report.json` into `--out`. `--from-dir` reads a local copy
of a store (`aws s3 sync`, `az storage blob download-batch`); only then are results and raw outputs linked (paths
relative to the report), else their locations are shown as text.

Option values are checked as the settings of the same name are (QSCAN_RESULTS_BUCKET, QSCAN_DEDUPE_TABLE,
QSCAN_STORAGE_ACCOUNT_URL, QSCAN_RESULTS_CONTAINER, QSCAN_DEDUPE_TABLE_NAME, QSCAN_STORAGE_TABLE_URL).
QSCAN_AWS_ENDPOINT_URL points the AWS clients at a local endpoint (moto); AWS credentials come from the normal
chain. Azure: DefaultAzureCredential, or the account key of AZURE_STORAGE_CONNECTION_STRING when it is set
(Azurite; the key is never printed). Progress lines go to stderr unless `--quiet`.

Exit codes: 0 report written (malformed documents are listed in it, not fatal); 1 a store could not be read;
2 invalid input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from qscan.config import ENV_NAMES, Settings
from qscan.errors import ConfigError, QscanError
from qscan.results.store import check_document_key

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write an HTML + JSON report of coverage and findings from the stored results",
        description=__doc__.split("\n\n")[0],
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--aws-bucket", metavar="NAME", help="S3 results bucket")
    source.add_argument("--azure-account-url", metavar="URL", help="storage account blob endpoint")
    source.add_argument("--from-dir", metavar="DIR", type=Path, help="a local copy of a results store")
    parser.add_argument("--container", metavar="C", help="Azure: the results container")
    parser.add_argument("--dedupe-table", metavar="T", help="AWS: DynamoDB dedupe table (name or ARN)")
    parser.add_argument("--dedupe-table-name", metavar="T", help="Azure: the dedupe table")
    parser.add_argument("--table-url", metavar="URL", help="Azure: table endpoint [from the blob endpoint]")
    parser.add_argument(
        "--prefix", default="results/", metavar="P", help="key prefix of the results [results/]"
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="directory to write the report to"
    )
    parser.add_argument(
        "--progress-every", type=int, default=500, metavar="N", help="progress line every N documents [500]"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qscan.report import write_report  # noqa: PLC0415 - the report's modules load only for this command
    from qscan.report.collect import collect  # noqa: PLC0415
    from qscan.report.model import build_report  # noqa: PLC0415

    try:
        settings = _settings(args)
        source, name, dedupe, link = _open(args, settings)
    except (ConfigError, ValueError) as exc:
        print(f"qscan report: invalid input: {_reason(exc)}", file=sys.stderr)
        return EXIT_INVALID
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        collected = collect(
            source, prefix=args.prefix, dedupe=dedupe, progress=progress, progress_every=args.progress_every
        )
    except QscanError as exc:
        print(f"qscan report: failed: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    report = build_report(collected, source=name, now=time.time())
    try:
        html_path, json_path = write_report(report, args.out, link)
    except OSError as exc:
        print(f"qscan report: cannot write the report into {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(f"qscan report: wrote {html_path} and {json_path}", file=sys.stderr)
    return EXIT_OK


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, ConfigError) else str(exc)


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with the options on top, checked by the same parsers."""
    check_document_key(args.prefix, prefix=True)
    if args.progress_every < 1:
        raise ConfigError("--progress-every must be at least 1")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} exists and is not a directory")
    if args.azure_account_url is not None and not args.container:
        raise ConfigError("--azure-account-url needs --container")
    aws_only = (args.dedupe_table,)
    azure_only = (args.container, args.dedupe_table_name, args.table_url)
    if args.aws_bucket is None and any(value is not None for value in aws_only):
        raise ConfigError("--dedupe-table goes with --aws-bucket")
    if args.azure_account_url is None and any(value is not None for value in azure_only):
        raise ConfigError("--container, --dedupe-table-name and --table-url go with --azure-account-url")
    options = {
        "results_bucket": args.aws_bucket,
        "dedupe_table": args.dedupe_table,
        "storage_account_url": args.azure_account_url,
        "results_container": args.container,
        "dedupe_table_name": args.dedupe_table_name,
        "storage_table_url": args.table_url,
    }
    env = dict(os.environ)
    env.update({ENV_NAMES[field]: value for field, value in options.items() if value is not None})
    return Settings.from_env(env)


def _open(args: argparse.Namespace, settings: Settings) -> tuple[Any, str, Any, Any]:
    """(source, its name for the report, dedupe store or None, link function)."""
    if args.from_dir is not None:
        from qscan.report.collect import LocalDirSource  # noqa: PLC0415

        local = LocalDirSource(args.from_dir)
        out = args.out.resolve()

        def link(key: str) -> str | None:
            return quote(os.path.relpath(local.root / key, out))

        return local, f"directory {local.root}", None, link
    if args.aws_bucket is not None:
        return _aws(settings)
    return _azure(settings)


def _no_link(_key: str) -> None:
    return None


def _aws(settings: Settings) -> tuple[Any, str, Any, Any]:
    from qscan.aws.sessions import ClientFactory  # noqa: PLC0415 - boto3 only for AWS stores
    from qscan.dedupe.dynamodb import DynamoDBDedupeStore  # noqa: PLC0415
    from qscan.results.s3 import S3ResultStore  # noqa: PLC0415

    clients = ClientFactory(endpoint_url=settings.aws_endpoint_url)
    bucket = settings.require("results_bucket")
    store = S3ResultStore(bucket, client=clients.client("s3"))
    dedupe = None
    if settings.dedupe_table:
        dedupe = DynamoDBDedupeStore(settings.dedupe_table, client=clients.client("dynamodb"))
    return store, f"s3://{bucket}/", dedupe, _no_link


def _azure(settings: Settings) -> tuple[Any, str, Any, Any]:
    from qscan.results.blob import BlobResultStore  # noqa: PLC0415 - Azure SDKs only for Azure stores

    account_url = settings.require("storage_account_url")
    container = settings.require("results_container")
    credential = _azure_credential()
    store = BlobResultStore.from_account_url(account_url, container, credential)
    dedupe = None
    if settings.dedupe_table_name:
        from qscan.azure.handler import table_url  # noqa: PLC0415
        from qscan.dedupe.azure_table import AzureTableDedupeStore  # noqa: PLC0415

        dedupe = AzureTableDedupeStore.from_endpoint(
            table_url(settings), settings.dedupe_table_name, credential
        )
    return store, f"{account_url}/{container}", dedupe, _no_link


def _azure_credential() -> Any:
    text = os.environ.get(CONNECTION_STRING_ENV, "").strip()
    if not text:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415

        return DefaultAzureCredential()
    from azure.core.credentials import AzureNamedKeyCredential  # noqa: PLC0415

    fields = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
    name, key = fields.get("AccountName", ""), fields.get("AccountKey", "")
    if not name or not key:
        raise ConfigError(f"{CONNECTION_STRING_ENV} must hold AccountName=...;AccountKey=...")
    return AzureNamedKeyCredential(name, key)
