"""`qscan bulk-scan`: enqueue a scan request for every Lambda function of the account's regions.

    qscan bulk-scan --queue-url URL [--dry-run] [--region R]... [--include PATTERN]... [--exclude PATTERN]...
                    [--own-function NAME|ARN]...

Lists the functions of each region (default: the AWS SDK's region), skips the scanner's own functions and
those filtered out by the glob patterns on the function name (include: any must match, when given; exclude:
none may match), and sends one reconciler scan request per function to the scan queue (see
`qscan.aws.lambdas.bulk_scan`). Own functions are given by exact name or ARN (`--own-function`, repeatable; default
QSCAN_SELF_FUNCTION_NAMES, else `qscan-ecr-scanner` and `qscan-lambda-scanner`): a name is never a prefix (a
customer's `qscan-billing` is scanned) and matches in every listed region, as qscan names its scanners the same
in each region; ListFunctions lists only the caller's account, so a name never matches another account's
function. `--own-prefix` was removed (exit 2 with a hint). The queue URL defaults to QSCAN_SCAN_QUEUE_URL;
QSCAN_AWS_ENDPOINT_URL points every client at a local endpoint (the moto demo). Credentials come from the
normal AWS chain.

Output: with `--dry-run`, one JSON line per target that would be enqueued (nothing is sent); always a last line
`{"summary": {...}}` (listed, matched, skipped by reason, planned, enqueued, failed, failures). Progress lines go
to stderr every `--progress-every` functions.

Exit codes: 0 every matched function enqueued (or planned); 1 a message could not be enqueued or a region could
not be listed; 2 invalid input or configuration (queue URL, region, pattern, an unusable queue).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any
from urllib.parse import urlsplit

from qscan.config import Settings
from qscan.errors import ConfigError, QscanError
from qscan.target import ScanTarget

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_SQS_HOST_REGION = re.compile(
    r"^(?:sqs\.(?P<a>[a-z0-9-]+)|(?P<b>[a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$"
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bulk-scan",
        help="enqueue scans of every Lambda function in the account's regions",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--queue-url", help="scan queue URL [QSCAN_SCAN_QUEUE_URL]")
    parser.add_argument("--dry-run", action="store_true", help="list what would be enqueued, send nothing")
    parser.add_argument(
        "--region", action="append", default=[], metavar="R", help="region to list (repeat; [SDK default])"
    )
    parser.add_argument(
        "--include", action="append", default=[], metavar="PATTERN", help="only function names matching"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="skip function names matching"
    )
    parser.add_argument(
        "--own-function",
        action="append",
        default=None,
        metavar="NAME|ARN",
        help="exact name or ARN of one of qscan's own functions, never scanned (repeat) "
        "[QSCAN_SELF_FUNCTION_NAMES, else qscan-ecr-scanner, qscan-lambda-scanner]",
    )
    # Removed: a prefix also matched customers' functions. Kept only to fail with a hint instead of argparse's
    # bare "unrecognized arguments".
    parser.add_argument("--own-prefix", action="append", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-functions", type=int, default=10_000, help="per-region bound [10000]")
    parser.add_argument(
        "--progress-every", type=int, default=100, help="progress line every N functions, 0: per region [100]"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.own_prefix is not None:
        print(
            "qscan bulk-scan: invalid input: --own-prefix was removed (a prefix also matches customers' "
            "functions): name each of qscan's own functions with --own-function NAME",
            file=sys.stderr,
        )
        return EXIT_INVALID
    # AWS only (boto3): imported when the command runs, so the core shipped to Azure does not need it
    from qscan.aws.lambdas.bulk_scan import BulkScanOptions, bulk_scan  # noqa: PLC0415
    from qscan.aws.sessions import ClientFactory  # noqa: PLC0415

    try:
        settings = Settings.from_env()
        queue_url = args.queue_url or settings.scan_queue_url
        regions = args.region or _default_regions()
        options = BulkScanOptions(
            regions=tuple(regions),
            queue_url=queue_url,
            include=tuple(args.include),
            exclude=tuple(args.exclude),
            own_functions=_own_functions(args.own_function, settings),
            dry_run=args.dry_run,
            max_functions=args.max_functions,
            progress_every=args.progress_every,
        )
    except ConfigError as exc:
        print(f"qscan bulk-scan: invalid input: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID

    clients = ClientFactory(endpoint_url=settings.aws_endpoint_url)
    sqs = None
    if not options.dry_run and options.queue_url is not None:
        region = _queue_region(options.queue_url) or _sdk_region() or options.regions[0]
        sqs = clients.client("sqs", region=region)
    try:
        summary = bulk_scan(
            options,
            lambda_client=lambda region: clients.client("lambda", region=region),
            sqs_client=sqs,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            on_planned=_print_target,
        )
    except ConfigError as exc:
        print(f"qscan bulk-scan: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    except QscanError as exc:
        print(f"qscan bulk-scan: failed: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"summary": summary.to_dict()}, sort_keys=True))
    if summary.region_errors:
        for region, reason in summary.region_errors.items():
            print(f"qscan bulk-scan: {region}: {reason}", file=sys.stderr)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _own_functions(given: list[str] | None, settings: Settings) -> tuple[str, ...]:
    from qscan.aws.lambdas.bulk_request import DEFAULT_OWN_FUNCTIONS  # noqa: PLC0415 - AWS only, see run()

    if given is not None:
        return tuple(given)
    return settings.self_function_names or DEFAULT_OWN_FUNCTIONS


def _print_target(target: ScanTarget) -> None:
    print(json.dumps(target.to_dict(), sort_keys=True))


def _sdk_region() -> str | None:
    import boto3  # noqa: PLC0415 - boto3 only when the command runs

    region = boto3.session.Session().region_name
    return str(region) if region else None


def _default_regions() -> list[str]:
    region = _sdk_region()
    if not region:
        raise ConfigError("no region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    return [region]


def _queue_region(url: str) -> str | None:
    match = _SQS_HOST_REGION.match(urlsplit(url).hostname or "")
    return (match["a"] or match["b"]) if match else None
