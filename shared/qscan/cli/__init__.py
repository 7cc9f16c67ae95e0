"""The `qscan` command line. Each subcommand lives in its own module exposing `register(subparsers)`.

Exit codes: 0 success, 1 operational failure, 2 invalid input, 3 unsupported input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules, in help order. Each registers a parser whose `func(args) -> int` runs it.
COMMANDS = ("version", "pods", "targets", "resolve", "scan", "qualys", "bulk_scan", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qscan", description="Deploy-time Qualys scanning for cloud workloads."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"qscan.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
