"""`qscan scan IMAGE|FUNCTION_ARN`: scan one artifact with the configured backend, print the normalized result.

The backend is QSCAN_SCANNER_BACKEND (or `--backend`): `qscanner` runs QSCANNER_PATH with QSCAN_SCAN_TYPES and
QSCAN_SCAN_TIMEOUT_SECONDS; `qualys-api` runs the registry-sensor flow (ECR images with a digest; the sensor
scans by tag, so give `repo:tag@sha256:...`, `--tag`, or let it find a tag Qualys knows for the digest).
Credentials come from the Qualys secret (`qscan.secrets`).

Exit codes: 0 the scan completed (success, policy_deny or policy_audit: read `status`), 1 the scan did not
complete (failed, partial, timeout) or a dependency failed, 2 invalid input or configuration.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from qscan.cli.qualys import add_api_arguments, build_api_client, load_settings_and_secret
from qscan.config import BACKENDS, Settings
from qscan.errors import ConfigError, InvalidEvent, QscanError
from qscan.refs import parse_image_ref
from qscan.results.model import ScanResult
from qscan.scanners import Scanner
from qscan.scanners.qscanner import MODES, QscannerOptions, QscannerRunner
from qscan.scanners.qualys_api import valid_tag
from qscan.scanners.sensor_flow import QualysApiScanner
from qscan.secrets import QualysSecret
from qscan.target import PLATFORMS, ScanTarget

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_LAMBDA_ARN = re.compile(
    r"^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="scan one image or Lambda function and print the result",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("target", metavar="IMAGE|FUNCTION_ARN", help="image reference or Lambda function ARN")
    parser.add_argument("--backend", choices=BACKENDS, help="override QSCAN_SCANNER_BACKEND")
    parser.add_argument(
        "--platform", choices=PLATFORMS, help="platform recorded in the result [ecr / lambda]"
    )
    parser.add_argument("--mode", choices=MODES, default="get-report", help="qscanner mode [get-report]")
    parser.add_argument("--cache-dir", help="qscanner cache directory (absolute path)")
    parser.add_argument("--home-dir", help="HOME for qscanner (read-only file systems)")
    parser.add_argument(
        "--role-arn", help="qualys-api: IAM role to register the ECR registry with, if missing"
    )
    parser.add_argument(
        "--max-polls", type=int, default=40, help="qualys-api: status polls before timing out"
    )
    parser.add_argument("--poll-interval", type=int, default=30, help="qualys-api: seconds between polls")
    parser.add_argument(
        "--tag", help="qualys-api: the image's tag, when IMAGE names only a digest (the sensor scans by tag)"
    )
    add_api_arguments(parser)
    parser.set_defaults(func=run)


def parse_target(text: str, platform: str | None = None) -> ScanTarget:
    """An image reference or a Lambda function ARN as a ScanTarget (validated)."""
    match = _LAMBDA_ARN.match(text)
    if match:
        return ScanTarget(
            kind="function",
            platform="lambda" if platform is None else platform,  # type: ignore[arg-type]
            function_arn=text,
            region=match.group(2),
            account=match.group(3),
        )
    if text.startswith("arn:"):
        raise InvalidEvent(
            "only Lambda function ARNs (arn:aws:lambda:<region>:<account>:function:<name>) are scannable"
        )
    ref = parse_image_ref(text)
    info = ref.info
    return ScanTarget(
        kind="image",
        platform="ecr" if platform is None else platform,  # type: ignore[arg-type]
        image=ref.canonical,
        registry=ref.registry,
        repository=ref.repository,
        tag=ref.tag,
        digest=ref.digest,
        account=info.account,
        region=info.region,
    )


def build_scanner(args: argparse.Namespace, settings: Settings, secret: QualysSecret) -> Scanner:
    backend = args.backend or settings.scanner_backend
    if backend == "qualys-api":
        return QualysApiScanner(
            build_api_client(args, secret, settings),
            role_arn=args.role_arn,
            max_polls=args.max_polls,
            poll_interval_seconds=args.poll_interval,
        )
    if not secret.pod:
        raise ConfigError("qscanner needs a Qualys POD (QUALYS_POD or 'pod' in the Qualys secret)")
    if not secret.access_token:
        raise ConfigError("qscanner needs a Qualys access token (QUALYS_ACCESS_TOKEN or 'access_token')")
    return QscannerRunner(
        QscannerOptions(
            executable=settings.qscanner_path,
            pod=secret.pod,
            access_token=secret.access_token,
            scan_types=settings.scan_types,
            timeout_seconds=float(settings.scan_timeout_seconds),
            mode=args.mode,
            cache_dir=args.cache_dir,
            cache_max_bytes=settings.scanner_cache_max_mb * 1024 * 1024,
            home_dir=args.home_dir,
        )
    )


def run(args: argparse.Namespace) -> int:
    try:
        target = parse_target(args.target, args.platform)
        if getattr(args, "tag", None):
            if not valid_tag(args.tag) or target.kind != "image":
                raise InvalidEvent("--tag must be an image tag (1-128 of A-Z a-z 0-9 _ . -) for an image")
            if target.tag is None:
                target = target.resolved(tag=args.tag)
        settings, secret = load_settings_and_secret()
        scanner = build_scanner(args, settings, secret)
        result: ScanResult = scanner.scan(target)
    except (InvalidEvent, ConfigError) as exc:
        print(f"qscan scan: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    except QscanError as exc:
        print(f"qscan scan: {exc.reason}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    if not result.complete:
        print(f"qscan scan: {result.status}: {result.reason or 'no reason given'}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
