"""How long an HTTP server asks a client to wait before retrying: shared by the Qualys API and registry clients."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping


def wait_hint(
    headers: Mapping[str, str], now: float, names: tuple[str, ...] = ("Retry-After",)
) -> float | None:
    """Seconds to wait from the first header of `names` the server sent with a usable value: seconds, or an HTTP
    date compared with `now` (epoch seconds). Never negative; None when no header says."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - now)
    return None
