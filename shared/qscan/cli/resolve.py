"""`qscan resolve IMAGE`: the digest a reference runs as, and every request made to the registry on the way.

    qscan resolve nginx:1.27                                  # Docker Hub, anonymous
    qscan resolve --platform linux/arm64 ghcr.io/org/app:1.2  # an index's arm64 manifest
    qscan resolve --credentials-file creds.json registry.example.com/team/app:2
    QSCAN_REGISTRY_PASSWORD=... qscan resolve --username ci registry.example.com/team/app:2
    qscan resolve --insecure-http-host 127.0.0.1:5000 127.0.0.1:5000/team/app:1.0

Credentials for a one-off resolution: `--credentials-file FILE` (the JSON mapping host -> {username, password}
of `qscan.registry.credentials`, the same shape as the named secret), or `--username USER` with the password in
the environment variable `QSCAN_REGISTRY_PASSWORD` (never on the command line). They go only to the image's
registry and its token realm. Plain http is used only for the hosts named with `--insecure-http-host`
(repeatable), e.g. a loopback registry; everything else is https.

Output: one `request:` line per request (method, URL without its query, status or `-` for no answer), then
`digest:`, `index:` and `platform:` (when the reference named an image index) and `image:` (the reference
pinned to the digest). `--json` prints one JSON object instead.

Exit codes: 0 resolved; 1 the registry is unavailable (transient: 5xx, timeouts, 429); 2 invalid input or a
permanent registry answer (bad reference, unknown host, 401/403, 404, too large, refused redirect, no such
platform, bad credentials file); 3 unsupported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from qscan.errors import ConfigError, InvalidEvent, TransientError, UnsupportedEvent

PASSWORD_ENV = "QSCAN_REGISTRY_PASSWORD"  # noqa: S105 - a variable name
MAX_CREDENTIALS_FILE = 256 * 1024
EXIT_OK, EXIT_UNAVAILABLE, EXIT_INVALID, EXIT_UNSUPPORTED = 0, 1, 2, 3


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "resolve",
        help="resolve an image reference to its digest (any OCI registry)",
        description="Resolve IMAGE (tag or digest) to the digest that runs, printing each registry request.",
    )
    parser.add_argument(
        "image", metavar="IMAGE", help="image reference, e.g. nginx:1.27 or ghcr.io/org/app:1"
    )
    parser.add_argument("--platform", help="os/architecture[/variant] of an index [QSCAN_IMAGE_PLATFORM]")
    parser.add_argument(
        "--no-index", action="store_true", help="report an image index itself, do not descend"
    )
    parser.add_argument(
        "--insecure-http-host",
        action="append",
        default=[],
        metavar="HOST",
        help="use plain http for HOST[:PORT]",
    )
    parser.add_argument(
        "--credentials-file", metavar="FILE", help="JSON mapping registry host -> credentials"
    )
    parser.add_argument("--username", help=f"registry user; the password comes from ${PASSWORD_ENV}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qscan.config import Settings  # noqa: PLC0415 - the CLI loads what a command needs
    from qscan.refs import parse_image_ref  # noqa: PLC0415
    from qscan.registry.client import DistributionClient, RequestRecord  # noqa: PLC0415
    from qscan.registry.platform import parse_platform  # noqa: PLC0415
    from qscan.registry.resolver import HttpManifestSource, Resolver  # noqa: PLC0415

    trace: list[RequestRecord] = []
    try:
        ref = parse_image_ref(args.image)
        platform = parse_platform(args.platform or Settings.from_env().image_platform)
        insecure = frozenset(_host(h) for h in args.insecure_http_host)
        client = DistributionClient(
            credentials=_credentials(args, ref.registry), insecure_hosts=insecure, trace=trace
        )
        resolution = Resolver(lambda _: HttpManifestSource(client), platform).resolve(
            ref, descend=not args.no_index
        )
    except (InvalidEvent, ConfigError, UnsupportedEvent, TransientError) as exc:
        _print_trace(trace, args.json)
        kind = (
            "unsupported"
            if isinstance(exc, UnsupportedEvent)
            else "unavailable"
            if isinstance(exc, TransientError)
            else "invalid"
        )
        print(f"qscan resolve: {kind}: {exc.reason}", file=sys.stderr)
        if isinstance(exc, UnsupportedEvent):
            return EXIT_UNSUPPORTED
        return EXIT_UNAVAILABLE if isinstance(exc, TransientError) else EXIT_INVALID
    pinned = f"{ref.name}{':' + ref.tag if ref.tag else ''}@{resolution.digest}"
    if args.json:
        print(
            json.dumps(
                {
                    "reference": resolution.reference,
                    "digest": resolution.digest,
                    "media_type": resolution.media_type,
                    "index_digest": resolution.index_digest,
                    "platform": resolution.platform,
                    "image": pinned,
                    "requests": [{"method": r.method, "url": r.url, "status": r.status} for r in trace],
                },
                sort_keys=True,
            )
        )
        return EXIT_OK
    _print_trace(trace, False)
    print(f"digest: {resolution.digest}")
    if resolution.index_digest:
        print(f"index: {resolution.index_digest}")
        print(f"platform: {resolution.platform}")
    print(f"image: {pinned}")
    return EXIT_OK


def _host(text: str) -> str:
    from qscan.registry.credentials import normalize_host  # noqa: PLC0415

    return normalize_host(text, "--insecure-http-host")


def _print_trace(trace: list[Any], as_json: bool) -> None:
    if as_json:
        return
    for record in trace:
        print(f"request: {record.method} {record.url} {record.status if record.status is not None else '-'}")


def _credentials(args: argparse.Namespace, registry: str) -> Any:
    from qscan.registry.credentials import (  # noqa: PLC0415
        RegistryCredential,
        StaticCredentials,
        parse_mapping,
    )

    if args.credentials_file and args.username:
        raise ConfigError("pass --credentials-file or --username, not both")
    if args.credentials_file:
        try:
            with open(args.credentials_file, "rb") as handle:
                text = handle.read(MAX_CREDENTIALS_FILE + 1)
        except OSError as exc:
            raise ConfigError(
                f"cannot read --credentials-file ({exc.strerror or type(exc).__name__})"
            ) from None
        return StaticCredentials(parse_mapping(text, "--credentials-file"))
    if args.username:
        password = os.environ.get(PASSWORD_ENV, "")
        if not password:
            raise ConfigError(f"--username needs the password in {PASSWORD_ENV}")
        return StaticCredentials({registry: RegistryCredential(args.username, password)})
    return None
