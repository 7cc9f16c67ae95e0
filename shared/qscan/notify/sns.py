"""Amazon SNS publisher: one message per notification on the alert topic (QSCAN_ALERT_TOPIC_ARN).

Subscribers (email, SQS, Lambda, HTTPS, chat integrations) filter with subscription filter policies on the
String message attributes ``severity`` (highest severity with findings, or ``none``), ``status``, ``kind``
(``findings`` | ``policy_deny`` | ``failure``), ``platform`` and, when the target names one, ``account`` (the
AWS account the artifact lives in: hub-spoke subscribers filter on a spoke's alerts). The Subject follows the SNS rules (printable
ASCII, no line breaks, at most 100 characters); the Message is the notification's JSON body. FIFO topics get
the notification id as deduplication id. Every publishing failure raises `TransientError`: the triggering event
is retried and finally dead-lettered, never lost silently.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any

from qscan.errors import ConfigError, TransientError
from qscan.redact import redact

if TYPE_CHECKING:
    from qscan.notify.message import Notification

SNS_MAX_MESSAGE_BYTES = 256 * 1024
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
_DEDUP_ID = r"[^A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]"

_lock = threading.Lock()
_clients: dict[str | None, Any] = {}


def sns_client(endpoint_url: str | None = None) -> Any:
    """One boto3 SNS client per endpoint, created once per cold start."""
    with _lock:
        if endpoint_url not in _clients:
            from qscan.aws.sessions import boto3_client  # noqa: PLC0415 - core importable without boto3

            _clients[endpoint_url] = boto3_client("sns", endpoint_url=endpoint_url)
        return _clients[endpoint_url]


def sanitize_subject(subject: str) -> str:
    """Make a subject SNS accepts: printable ASCII, one line, starting with a visible character, <= 100 chars."""
    from qscan.notify.message import MAX_SUBJECT, ascii_line  # noqa: PLC0415 - only when a message goes out

    clean = ascii_line(subject)[:MAX_SUBJECT].rstrip()
    return clean or "qscan notification"


def validate_topic_arn(topic_arn: str, *, setting: str = "QSCAN_ALERT_TOPIC_ARN") -> str:
    if not re.match(_TOPIC_ARN, topic_arn or ""):
        raise ConfigError(f"{setting} must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
    return topic_arn


class SnsPublisher:
    """Publishes notifications to one SNS topic."""

    def __init__(self, topic_arn: str, client: Any | None = None, *, endpoint_url: str | None = None) -> None:
        self.topic_arn = validate_topic_arn(topic_arn)
        self._client = client
        self._endpoint_url = endpoint_url

    @property
    def client(self) -> Any:
        """The SNS client (`sns_client`), created on the first publish: most invocations never notify, so the
        cold start does not pay for it."""
        if self._client is None:
            self._client = sns_client(self._endpoint_url)
        return self._client

    @property
    def fifo(self) -> bool:
        return self.topic_arn.endswith(".fifo")

    def request(self, notification: Notification) -> dict[str, Any]:
        """The `sns.publish` keyword arguments for a notification (exposed for tests and dry runs)."""
        message = notification.body_json()
        if len(message.encode()) > SNS_MAX_MESSAGE_BYTES:
            slim = dict(notification.body, top_findings=[], truncated=True)
            message = json.dumps(slim, sort_keys=True, separators=(",", ":"))
        attributes = {
            "severity": notification.severity,
            "status": notification.status,
            "kind": notification.kind,
            "platform": notification.platform,
        }
        if notification.account:  # SNS refuses empty attribute values
            attributes["account"] = notification.account
        kwargs: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Subject": sanitize_subject(notification.subject),
            "Message": message,
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        }
        if self.fifo:
            dedup = re.sub(_DEDUP_ID, "_", notification.notification_id)[:128]
            kwargs["MessageDeduplicationId"] = dedup
            kwargs["MessageGroupId"] = dedup
        return kwargs

    def publish(self, notification: Notification) -> str:
        """Publish; returns the SNS MessageId. Raises TransientError on any failure."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            response = self.client.publish(**self.request(notification))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            detail = redact(str(error.get("Message", "")))[:200]
            raise TransientError(f"SNS publish to {self.topic_arn} failed: {code}: {detail}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"SNS publish to {self.topic_arn} failed: {type(exc).__name__}") from exc
        message_id = response.get("MessageId") if isinstance(response, dict) else None
        if not message_id:
            raise TransientError(f"SNS publish to {self.topic_arn} returned no MessageId")
        return str(message_id)
