"""`qscan qualys info|registries`: read-only calls to the Qualys Container Security API.

- `info`: the Qualys AWS account id and this subscription's external id (`GET /registry/aws-base`), the two
  values an ECR read role's trust policy needs.
- `registries`: the registries Qualys knows (all pages), one JSON object per line.

Credentials come from the Qualys secret (`qscan.secrets`: Secrets Manager, Key Vault or the QUALYS_*
environment). `--gateway-url` overrides the secret's gateway; plain http is accepted only for a loopback test
double and only with `--allow-insecure-loopback`. `--account-type` (default QSCAN_QUALYS_ACCOUNT_TYPE, else
`Global`) is the `aws.accountType` used when a registry is registered (`qscan scan --backend qualys-api`).

Exit codes: 0 ok, 1 the API failed (transient or rejected), 2 configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qscan.config import QUALYS_ACCOUNT_TYPES, Settings
from qscan.errors import ConfigError, QscanError
from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions
from qscan.secrets import QualysSecret, load_qualys_secret

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    """Connection options shared by `qscan qualys` and `qscan scan --backend qualys-api`."""
    parser.add_argument("--gateway-url", help="explicit API gateway URL (overrides the secret's POD/gateway)")
    parser.add_argument(
        "--allow-insecure-loopback",
        action="store_true",
        help="accept a plain-http gateway on 127.0.0.1/localhost (test doubles only)",
    )
    parser.add_argument(
        "--api-timeout", type=float, default=120.0, help="time budget per API call in seconds"
    )
    parser.add_argument(
        "--account-type",
        choices=QUALYS_ACCOUNT_TYPES,
        help="aws.accountType for registries registered in Qualys [QSCAN_QUALYS_ACCOUNT_TYPE, else Global]",
    )


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "qualys", help="query the Qualys Container Security API", description=__doc__.split("\n\n")[0]
    )
    actions = parser.add_subparsers(dest="qualys_command", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="Qualys AWS account id and external id (GET /registry/aws-base)")
    add_api_arguments(info)
    info.set_defaults(func=run_info)
    registries = actions.add_parser("registries", help="list the registries Qualys knows, one JSON per line")
    add_api_arguments(registries)
    registries.set_defaults(func=run_registries)


def load_settings_and_secret() -> tuple[Settings, QualysSecret]:
    """The only place the CLI reads configuration: `Settings.from_env()` and the Qualys secret."""
    settings = Settings.from_env()
    return settings, load_qualys_secret(settings)


def build_api_client(args: argparse.Namespace, secret: QualysSecret, settings: Settings) -> QualysApiClient:
    """The API client from the CLI flags, the Qualys secret and the settings (flags win)."""
    gateway_url = args.gateway_url or secret.gateway_url
    return QualysApiClient(
        QualysApiOptions(
            pod=None if gateway_url else secret.pod,
            gateway_url=gateway_url,
            access_token=secret.access_token,
            username=None if secret.access_token else secret.username,
            password=None if secret.access_token else secret.password,
            allow_insecure_loopback=bool(args.allow_insecure_loopback),
            account_type=args.account_type or settings.qualys_account_type,
            total_budget_seconds=float(args.api_timeout),
        )
    )


def _client(args: argparse.Namespace) -> QualysApiClient:
    settings, secret = load_settings_and_secret()
    return build_api_client(args, secret, settings)


def _fail(exc: QscanError) -> int:
    print(f"qscan qualys: {exc.reason}", file=sys.stderr)
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED


def run_info(args: argparse.Namespace) -> int:
    try:
        client = _client(args)
        base = client.aws_base()
    except QscanError as exc:
        return _fail(exc)
    print(
        json.dumps(
            {"gateway": client.gateway, "account_id": base.account_id, "external_id": base.external_id}
        )
    )
    return EXIT_OK


def run_registries(args: argparse.Namespace) -> int:
    try:
        registries = _client(args).list_registries()
    except QscanError as exc:
        return _fail(exc)
    for registry in registries:
        print(json.dumps({"uuid": registry.uuid, "uri": registry.uri, "type": registry.registry_type}))
    return EXIT_OK
