"""Structured JSON logging with one correlation id per event and redaction of secrets.

    configure_logging("INFO")          # every cold start; idempotent
    with correlation(event_id):        # one id per triggering event (SQS message id, Event Grid id ...)
        log.info("scanned %s", key, extra={"dedupe_key": key})

Each line is one JSON object: ``timestamp`` (UTC, ms), ``level``, ``logger``, ``message``, ``correlation_id``,
the ``extra`` fields (non-JSON values become strings; a field that would shadow one of these is prefixed
``extra_``), and ``exception`` / ``exception_type`` for logged exceptions.

`configure_logging` installs a `RedactingFilter` on every handler of the root logger, including handlers the
platform put there before us (the Lambda runtime's, the Azure Functions worker's), and gives them the JSON
formatter; without a handler it adds one on stdout. The filter applies `qscan.redact.redact` to the rendered
message, every string inside ``extra`` values, and the exception traceback (rendered and redacted once, then
the live exception is dropped from the record so no formatter can render it again unredacted).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from qscan.redact import redact

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "qscan_correlation_id", default=None
)
_MAX_ID = 128
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_ID_UNSAFE = r"[^A-Za-z0-9._:/@#=+-]"
_REDACTED_FLAG = "_qscan_redacted"
_EXC_TYPE = "_qscan_exc_type"
QUIET_LOGGERS: tuple[str, ...] = (
    "botocore",
    "boto3",
    "urllib3",
    "s3transfer",
    "azure.core",
    "azure.identity",
)

# Attributes every LogRecord has: whatever else is on a record came from `extra`.
_STANDARD = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    _REDACTED_FLAG,
    _EXC_TYPE,
}
_RESERVED = frozenset(
    {"timestamp", "level", "logger", "message", "correlation_id", "exception", "exception_type"}
)


def get_correlation_id() -> str | None:
    return _correlation_id.get()


@contextlib.contextmanager
def correlation(event_id: str | None = None) -> Iterator[str]:
    """Set the correlation id for the block (a fresh uuid when `event_id` is empty); restores the previous one."""
    value = re.sub(_ID_UNSAFE, "_", event_id)[:_MAX_ID] if event_id else uuid.uuid4().hex
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > 5:
        return redact(str(value))
    if isinstance(value, Mapping):
        return {str(k): _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v, depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class RedactingFilter(logging.Filter):
    """Redacts a record in place: message (with its args), extra values, exception text and stack info."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _REDACTED_FLAG, False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string must not lose the record (nor leak its args)
            message = f"{record.msg!s} (unformattable log arguments)"
        record.msg = redact(message)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, _redact_value(value))
        if record.exc_info:
            exc_type = record.exc_info[0]
            if exc_type is not None:
                setattr(record, _EXC_TYPE, exc_type.__name__)
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, _REDACTED_FLAG, True)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; redacts on its own too, so it is safe even without the filter."""

    def format(self, record: logging.LogRecord) -> str:
        RedactingFilter().filter(record)
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": get_correlation_id(),
        }
        for key, value in extra_fields(record).items():
            entry[f"extra_{key}" if key in _RESERVED else key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
            entry["exception_type"] = getattr(record, _EXC_TYPE, None)
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


def _level(level: str | int | None) -> int:
    if level is None:
        return logging.INFO
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level[:20]!r}")
    return value


def configure_logging(level: str | int | None = None, *, stream: Any = None) -> logging.Logger:
    """Install JSON output and redaction on the root logger's handlers; safe to call on every cold start.

    Existing handlers (Lambda runtime, Azure Functions worker, pytest) keep working: each gets the redaction
    filter once and the JSON formatter. Without any handler, one StreamHandler on `stream` (stdout) is added.
    Noisy SDK loggers are capped at WARNING unless `level` is DEBUG.
    """
    root = logging.getLogger()
    numeric = _level(level)
    root.setLevel(numeric)
    if not root.handlers:
        stdout_handler = logging.StreamHandler(stream or sys.stdout)
        root.addHandler(stdout_handler)
    formatter = JsonFormatter()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(formatter)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    return root
