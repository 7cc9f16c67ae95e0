"""Command line for the shimmed moto server (used by `make demo` and by hand).

    python -m tests.harness.moto_cli serve [--port 0]            # foreground; Ctrl-C stops it
    python -m tests.harness.moto_cli start  --state-dir DIR       # background; prints the endpoint when ready
    python -m tests.harness.moto_cli status --state-dir DIR       # prints the endpoint; exit 1 if not running
    python -m tests.harness.moto_cli reset  --state-dir DIR       # drop all moto resources
    python -m tests.harness.moto_cli stop   --state-dir DIR       # idempotent; exit 0 if nothing runs
    python -m tests.harness.moto_cli provider-override --state-dir DIR --root TF_ROOT

A Makefile recipe starts the server, traps EXIT/INT/TERM to `stop`, and reads the endpoint from stdout:

    ep=$(python -m tests.harness.moto_cli start --state-dir .demo/moto); \
    trap 'python -m tests.harness.moto_cli stop --state-dir .demo/moto' EXIT INT TERM; ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.harness import moto_server as ms


def _running(state_dir: Path) -> ms.MotoServer:
    server = ms.server_from_state_dir(state_dir)
    if server is None:
        raise SystemExit(f"moto_cli: no healthy moto server recorded in {state_dir}")
    return server


def cmd_serve(args: argparse.Namespace) -> int:
    ms.serve(port=args.port, ready_file=args.ready_file, skip_shims=args.skip_shim)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    existing = ms.server_from_state_dir(args.state_dir)
    if existing is not None:
        print(existing.endpoint)
        return 0
    # A stale pid file (crashed server) must not block a new start; stop_pid only kills a verified server.
    stale = _read_pid(args.state_dir)
    if stale > 1:
        ms.stop_pid(stale)
    try:
        server = ms.start_server(args.state_dir, timeout=args.timeout, skip_shims=args.skip_shim, detach=True)
    except RuntimeError as exc:
        print(f"moto_cli: {exc}", file=sys.stderr)
        return 1
    print(server.endpoint)
    return 0


def _read_pid(state_dir: Path) -> int:
    try:
        pid = int((state_dir / ms.PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0
    return pid if pid > 1 else 0


def cmd_stop(args: argparse.Namespace) -> int:
    pid = _read_pid(args.state_dir)
    if pid > 1:
        ms.stop_pid(pid, timeout=args.timeout)
    for name in (ms.PID_FILE, ms.ENDPOINT_FILE):
        (args.state_dir / name).unlink(missing_ok=True)
    if pid > 1 and ms._pid_is_our_server(pid):
        print(f"moto_cli: server pid {pid} did not stop", file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    server = ms.server_from_state_dir(args.state_dir)
    if server is None:
        print("not running", file=sys.stderr)
        return 1
    print(server.endpoint)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    _running(args.state_dir).reset()
    return 0


def cmd_provider_override(args: argparse.Namespace) -> int:
    endpoint = args.endpoint or _running(args.state_dir).endpoint
    services = tuple(args.services.split(",")) if args.services else ms.DEFAULT_TF_SERVICES
    try:
        path = ms.write_provider_override(args.root, endpoint, services=services, region=args.region)
    except ValueError as exc:
        print(f"moto_cli: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _add_skip_shim(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-shim",
        action="append",
        default=[],
        metavar="NAME",
        help="leave one shim out ('all' = plain moto), to check a gap still exists; repeatable",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.moto_cli", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run in the foreground until Ctrl-C / SIGTERM")
    serve.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    serve.add_argument("--ready-file", type=Path, help="write the endpoint here once listening")
    _add_skip_shim(serve)
    serve.set_defaults(func=cmd_serve)

    for name, func, helptext in (
        ("start", cmd_start, "start in the background, wait for readiness, print the endpoint"),
        ("stop", cmd_stop, "stop the recorded server (idempotent)"),
        ("status", cmd_status, "print the endpoint of the recorded server; exit 1 if none"),
        ("reset", cmd_reset, "drop all moto state"),
        ("provider-override", cmd_provider_override, "write moto_provider_override.tf into a Terraform root"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(
            "--state-dir", type=Path, required=name != "provider-override", help="pid/endpoint/log dir"
        )
        p.set_defaults(func=func)
        if name in ("start", "stop"):
            p.add_argument("--timeout", type=float, default=60.0 if name == "start" else 10.0)
        if name == "start":
            _add_skip_shim(p)
        if name == "provider-override":
            p.add_argument("--root", type=Path, required=True, help="Terraform root directory")
            p.add_argument("--endpoint", help="default: the server recorded in --state-dir")
            p.add_argument(
                "--services", help="comma-separated endpoints {} keys (default: all the project uses)"
            )
            p.add_argument("--region", default=ms.REGION)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "provider-override" and not (args.endpoint or args.state_dir):
        print("moto_cli: provider-override needs --endpoint or --state-dir", file=sys.stderr)
        return 2
    if args.command == "serve" and not 0 <= args.port <= 65535:
        print(f"moto_cli: invalid port {args.port}", file=sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
