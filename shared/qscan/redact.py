"""Masking of secrets in free text (log messages, scanner output, error reasons).

Two layers: exact values registered at runtime (`register_secret`, called by whoever loads a token or
password), and patterns that catch secrets qscan never saw (JWTs, bearer headers, `password=`-style pairs).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_MIN_SECRET_LEN = 6  # shorter values would mask ordinary words

# Pattern strings, compiled on first use (re's cache), not at import.
_PATTERNS: tuple[tuple[str, str], ...] = (
    # JWTs: three base64url segments, the first two starting with '{"' encoded (eyJ).
    (r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", MASK),
    # Authorization headers and bearer tokens.
    (r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", r"\1 " + MASK),
    # key=value / key: value / "key": "value" pairs whose key names a secret, also inside JSON that was escaped
    # once or more (\"key\": \"value\", as SDK debug logs print a secret's JSON body).
    (
        r"""(?ix)
        ((?:\\*["'])?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|credential|authorization)[\w-]*
        (?:\\*["'])?\s*[:=]\s*(?:\\*["'])?)
        ([^\s"',;&}\\]{1,})""",
        r"\1" + MASK,
    ),
    # AWS secret access keys and session tokens printed by SDKs or env dumps.
    (r"(?i)(aws_secret_access_key|aws_session_token)(\s*[:=]\s*)\S+", r"\1\2" + MASK),
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that `redact` masks it wherever it appears."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with registered secrets and secret-looking substrings masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = re.sub(pattern, replacement, text)
    return text


def truncate(text: str, limit: int = 4000) -> str:
    """Keep the tail of `text` (where errors usually are), marking the cut."""
    if len(text) <= limit:
        return text
    return "[truncated]..." + text[-limit:]
