"""`qscan pods`: print the Qualys POD -> Container Security API gateway table."""

from __future__ import annotations

import argparse
from typing import Any

from qscan.scanners.pods import GATEWAYS


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser("pods", help="print the POD -> gateway table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    width = max(len(pod) for pod in GATEWAYS)
    for pod, url in GATEWAYS.items():
        print(f"{pod:<{width}}  {url}")
    return 0
