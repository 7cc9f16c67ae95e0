"""Notifications (DESIGN §3 step 5): decide, build one message, publish it.

    decision = decide(result, settings.severity_threshold)
    if decision:
        publisher.publish(build_notification(result, decision, settings.severity_threshold))  # notify.message

or in one call, `notify(result, threshold, publisher)` (with `attempt`, `occurrence` and `retryable` when the
scan ran from a queue: a failure then notifies only at its final attempt). Publishers: `SnsPublisher` (AWS) and
`EventGridPublisher` (Azure); `publisher_from_settings` picks the one for `QSCAN_CLOUD`. Publishing failures raise
`qscan.errors.TransientError` so the platform retries; nothing is swallowed. The message itself
(`qscan.notify.message`) is built, and its module imported, only when one goes out: most scans notify nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from qscan.attempts import Attempt
from qscan.notify.policy import THRESHOLDS, Decision, Threshold, decide, parse_threshold
from qscan.results.model import ScanResult
from qscan.structs import struct

if TYPE_CHECKING:
    from qscan.config import Settings
    from qscan.notify.message import Notification

__all__ = [
    "THRESHOLDS",
    "Decision",
    "Published",
    "Publisher",
    "Threshold",
    "decide",
    "notify",
    "parse_threshold",
    "publisher_from_settings",
]


class Publisher(Protocol):
    def publish(self, notification: Notification) -> str:
        """Send one notification; return the message/event id; raise TransientError on failure."""
        ...


@struct
class Published:
    """What `notify` did: its decision and, when a message went out, the message and its id."""

    decision: Decision
    notification: Notification | None = None
    message_id: str | None = None


def notify(
    result: ScanResult,
    threshold: Threshold,
    publisher: Publisher,
    *,
    attempt: Attempt | None = None,
    final_attempt: bool = True,
    occurrence: str | None = None,
    retryable: bool | None = None,
) -> Published:
    """Apply the policy and publish at most one message. Handlers log `decision.reason` either way.

    A failed scan notifies only when `final_attempt` (no retry follows); see `build_notification` for the rest.
    """
    decision = decide(result, threshold, final_attempt=final_attempt)
    if not decision.notify:
        return Published(decision)
    from qscan.notify.message import build_notification  # noqa: PLC0415 - only when a message goes out

    notification = build_notification(
        result, decision, threshold, attempt=attempt, occurrence=occurrence, retryable=retryable
    )
    return Published(decision, notification, publisher.publish(notification))


def publisher_from_settings(settings: Settings) -> Publisher:
    """The publisher for the configured cloud (clients are created once per cold start)."""
    if settings.cloud == "azure":
        from qscan.notify.eventgrid import EventGridPublisher  # noqa: PLC0415 - optional dependency

        return EventGridPublisher(settings.require("eventgrid_topic_endpoint"))
    from qscan.notify.sns import SnsPublisher  # noqa: PLC0415

    return SnsPublisher(settings.require("alert_topic_arn"), endpoint_url=settings.aws_endpoint_url)
