"""`qscan targets FILE|-`: print the ScanTargets of an event, one JSON object per line (sorted keys).

Any supported event is accepted, also an SQS batch, an Event Hub body or an Event Grid array: each record is
normalized on its own (`qscan.events.normalize_batch`) and every failed record gets one line on stderr.

Exit codes: 0 targets printed (records that are not ours may have been skipped, each noted on stderr);
2 invalid input (unreadable file, bad JSON, or any malformed record; the targets of good records are still
printed); 3 unsupported (no record is one qscan handles).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qscan.errors import InvalidEvent, UnsupportedEvent
from qscan.events import normalize_batch
from qscan.events._util import one_line

MAX_INPUT = 16 * 1024 * 1024
EXIT_OK, EXIT_INVALID, EXIT_UNSUPPORTED = 0, 2, 3


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "targets",
        help="print the scan targets of a platform event",
        description="Normalize a platform event (file or '-' for stdin) into ScanTargets, one JSON line each.",
    )
    parser.add_argument("file", metavar="FILE|-", help="event JSON file, or '-' to read standard input")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        event = _load(args.file)
    except InvalidEvent as exc:
        print(f"qscan targets: invalid input: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    items = normalize_batch(event)
    invalid = unsupported = 0
    for item in items:
        for target in item.targets:
            print(json.dumps(target.to_dict(), sort_keys=True))
        if item.error is None:
            continue
        label = "invalid" if not isinstance(item.error, UnsupportedEvent) else "unsupported"
        where = f"record {item.index}" + (f" ({item.record_id})" if item.record_id else "") + ": "
        print(
            f"qscan targets: {label}: {where if len(items) > 1 else ''}{item.error.reason}", file=sys.stderr
        )
        if label == "invalid":
            invalid += 1
        else:
            unsupported += 1
    if invalid:
        return EXIT_INVALID
    if unsupported == len(items):
        return EXIT_UNSUPPORTED
    return EXIT_OK


def _load(path: str) -> Any:
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_INPUT + 1)
    except OSError as exc:
        raise InvalidEvent(one_line(f"cannot read {path}: {exc.strerror or type(exc).__name__}")) from None
    if len(raw) > MAX_INPUT:
        raise InvalidEvent(f"input larger than {MAX_INPUT} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidEvent("input is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError):
        raise InvalidEvent("not valid JSON (nested too deeply or malformed)") from None
