"""Azure publisher: an Event Grid custom topic, events in the CloudEvents 1.0 schema.

Why Event Grid (and not Service Bus, Storage Queues, Logic Apps or a Teams webhook directly):

- It is Azure's SNS: a push-based pub/sub fan-out. One publish reaches any number of event subscriptions, each
  delivering to a Logic App (email, Teams), an Azure Function, a webhook, a Service Bus queue/topic, an Event
  Hub or a Storage Queue, with per-subscription retry (24 h by default) and a dead-letter blob container.
- Subscriptions filter without code, like SNS filter policies: on ``type`` (``com.qscan.scan.findings``,
  ``com.qscan.scan.policy_deny``, ``com.qscan.scan.failure``), on ``subject`` prefixes, on the CloudEvents
  extension attributes ``qscanseverity`` / ``qscanstatus`` / ``qscankind`` (and ``qscanaccount``, the target's
  subscription or AWS account, when known), or on ``data.*`` fields (``data.account`` too).
- It authenticates with Microsoft Entra ID: the Function's managed identity holds the "EventGrid Data Sender"
  role on the topic, so no access key is stored anywhere (`DefaultAzureCredential`; local auth can be disabled).
- Service Bus or a Storage Queue would be a point-to-point queue that someone still has to drain and fan out.

The topic endpoint (QSCAN_EVENTGRID_TOPIC_ENDPOINT) is ``https://<topic>.<region>-1.eventgrid.azure.net/api/events``;
the SDK POSTs a CloudEvents batch (``application/cloudevents-batch+json``) to it with ``?api-version=2018-01-01``.
The event id is the notification id, so subscribers can drop redelivered duplicates. Every failure (401/403
from the data plane, 413, 5xx after the SDK's own retries, network errors, no credential) raises
`TransientError`: the triggering event is retried and finally dead-lettered, never dropped silently.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qscan.errors import ConfigError, TransientError
from qscan.notify.message import Notification
from qscan.structs import replace

EVENTGRID_MAX_EVENT_BYTES = 1024 * 1024
EVENT_TYPE_PREFIX = "com.qscan.scan."

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_credential: Any = None


def normalize_topic_endpoint(endpoint: str, *, setting: str = "QSCAN_EVENTGRID_TOPIC_ENDPOINT") -> str:
    """Validate a topic endpoint: https with a host, no credentials/query; an empty path becomes /api/events."""
    parts = urlsplit((endpoint or "").strip())
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.query or parts.fragment:
        raise ConfigError(
            f"{setting} must be an https Event Grid topic endpoint (https://<topic>.<region>-1.eventgrid.azure.net/api/events)"
        )
    path = parts.path.rstrip("/") or "/api/events"
    return urlunsplit(("https", parts.netloc, path, "", ""))


def default_credential() -> Any:
    """One DefaultAzureCredential per cold start (managed identity in Azure, developer login locally)."""
    global _credential  # noqa: PLW0603 - a per-process client cache is the point
    with _lock:
        if _credential is None:
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - optional dependency

            _credential = DefaultAzureCredential()
        return _credential


def eventgrid_client(endpoint: str, credential: Any | None = None) -> Any:
    """One EventGridPublisherClient per topic endpoint, created once per cold start."""
    cred = credential if credential is not None else default_credential()
    with _lock:
        if endpoint not in _clients:
            from azure.eventgrid import EventGridPublisherClient  # noqa: PLC0415

            _clients[endpoint] = EventGridPublisherClient(endpoint, cred)
        return _clients[endpoint]


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


class EventGridPublisher:
    """Publishes notifications as CloudEvents to one Event Grid custom topic."""

    def __init__(
        self,
        endpoint: str,
        client: Any | None = None,
        *,
        credential: Any | None = None,
        retry_total: int | None = None,
        retry_backoff_factor: float | None = None,
    ) -> None:
        self.endpoint = normalize_topic_endpoint(endpoint)
        self._client = client if client is not None else eventgrid_client(self.endpoint, credential)
        # Per-call azure-core pipeline options (the basic-topic client ignores constructor transport options).
        self._send_options: dict[str, Any] = {}
        if retry_total is not None:
            self._send_options["retry_total"] = retry_total
        if retry_backoff_factor is not None:
            self._send_options["retry_backoff_factor"] = retry_backoff_factor

    def event(self, notification: Notification) -> Any:
        """The CloudEvent for a notification (exposed for tests and dry runs)."""
        from azure.core.messaging import CloudEvent  # noqa: PLC0415

        body = notification.body
        target = body.get("target") or {}
        extensions = {
            "qscanseverity": notification.severity,
            "qscanstatus": notification.status,
            "qscankind": notification.kind,
        }
        if notification.account:
            extensions["qscanaccount"] = notification.account
        return CloudEvent(
            source=f"/qscan/{notification.platform}",
            type=EVENT_TYPE_PREFIX + notification.kind,
            id=notification.notification_id,
            subject=f"{target.get('kind', 'target')}/{body.get('target_name', 'unknown')}",
            time=_parse_time(body.get("notified_at")),
            datacontenttype="application/json",
            data=body,
            extensions=extensions,
        )

    def publish(self, notification: Notification) -> str:
        """Publish one CloudEvent; returns its id. Raises TransientError on any failure."""
        from azure.core.exceptions import (  # noqa: PLC0415
            AzureError,
            ClientAuthenticationError,
            HttpResponseError,
        )

        if len(notification.body_json().encode()) > EVENTGRID_MAX_EVENT_BYTES:
            notification = _slim(notification)
        event = self.event(notification)
        host = urlsplit(self.endpoint).hostname
        try:
            self._client.send([event], **self._send_options)
        except ClientAuthenticationError as exc:
            status = exc.status_code if exc.status_code is not None else "no token"
            raise TransientError(
                f"Event Grid topic {host} rejected the credential ({status}): "
                "check the managed identity and its 'EventGrid Data Sender' role"
            ) from exc
        except HttpResponseError as exc:
            raise TransientError(
                f"Event Grid publish to {host} failed: HTTP {exc.status_code} {exc.reason or ''}".rstrip()
            ) from exc
        except AzureError as exc:
            raise TransientError(f"Event Grid publish to {host} failed: {type(exc).__name__}") from exc
        return notification.notification_id


def _slim(notification: Notification) -> Notification:
    return replace(notification, body=dict(notification.body, top_findings=[], truncated=True))
