"""Typed errors shared by every part of qscan.

Handlers decide what to do from the type alone:
- `UnsupportedEvent`: not an event qscan handles; skip quietly (counted as skipped).
- `InvalidEvent`: an event qscan handles, but malformed; skip, warn with the reason (never retried).
- `TransientError`: the outside world failed (throttling, timeouts, 5xx); raise so the platform retries.
- `ConfigError`: the deployment is misconfigured; fail loudly, naming the setting.
Messages never contain secrets.
"""

from __future__ import annotations


class QscanError(Exception):
    """Base class of every error qscan raises on purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedEvent(QscanError):
    """The event is not one qscan handles: skip it quietly."""


class InvalidEvent(QscanError):
    """The event is one qscan handles, but it is malformed: skip it with a warning, never retry."""


class InvalidReference(InvalidEvent):
    """An image reference failed validation."""


class TransientError(QscanError):
    """A dependency failed in a way a retry may fix: raise so the platform redelivers."""


class ConfigError(QscanError):
    """A setting is missing or invalid; the message names the setting."""


def catch_cause(cause: object) -> str:
    """The message in a Step Functions Catch `Cause`: a Lambda error JSON `{"errorMessage", ...}`, or plain text.

    One line of at most 300 characters ("no cause given" when there is none); the caller redacts it.
    """
    import json  # noqa: PLC0415 - failure paths only

    text = cause if isinstance(cause, str) else ""
    try:
        parsed = json.loads(text) if text.strip().startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        text = parsed["errorMessage"]
    return " ".join(text.split())[:300] or "no cause given"
