"""`qscan version`: print the package version."""

from __future__ import annotations

import argparse
from typing import Any

from qscan import __version__


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("version", help="print the qscan version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"qscan {__version__}")
    return 0
