"""Mirror a scan result into the scanned function's tags (best effort).

`tag_function(client, function_arn, result)` sets:

| tag                | value                                                                        |
|--------------------|------------------------------------------------------------------------------|
| `QualysScanStatus` | the result status (`success`, `policy_deny`, `policy_audit`, `partial`, `failed`, `timeout`) |
| `QualysScanTime`   | when the scan finished (else started), ISO 8601 UTC `YYYY-MM-DDTHH:MM:SSZ`    |
| `QualysCritical`   | number of critical findings, or `unknown` when the scan did not complete     |
| `QualysHigh`       | number of high findings, or `unknown` when the scan did not complete         |

A failed scan never looks clean: its counts are `unknown`, not `0`. Values are built only from the status
enumeration, integers and a timestamp (never from reasons, logs or findings, so never from a secret) and are
still sanitized to Lambda's tag rules: at most 256 characters of letters, digits, spaces and `+ - = . _ : / @`
(anything else becomes `_`).

Tagging never fails the scan: `tag_function` logs the failure, adds `FunctionTagFailures` to the metrics sink
when one is given, and returns False. The result is already persisted, recorded in the store and notified when
tags are written; failing there would release the dedupe claim and rescan the artifact (slow, and scanner
concurrency is limited) just to retry a convenience label, and organizations often deny `lambda:TagResource`
by SCP in accounts the scanner merely reads. TagResource is not one of the CloudTrail calls that trigger a
scan (Create/UpdateFunctionCode/UpdateFunctionConfiguration), so tagging cannot cause a scan loop.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from qscan.aws.lambdas.resolve import aws_error_code, unqualified_function_arn
from qscan.cloud_errors import aws_error
from qscan.errors import InvalidEvent
from qscan.results.model import ScanResult

LOG = logging.getLogger(__name__)

TAG_STATUS = "QualysScanStatus"
TAG_TIME = "QualysScanTime"
TAG_CRITICAL = "QualysCritical"
TAG_HIGH = "QualysHigh"
TAG_KEYS: tuple[str, ...] = (TAG_STATUS, TAG_TIME, TAG_CRITICAL, TAG_HIGH)
TAG_FAILURE_METRIC = "FunctionTagFailures"
MAX_TAG_VALUE = 256
UNKNOWN = "unknown"
_DISALLOWED = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")


class MetricSink(Protocol):
    def add(self, name: str, value: float = 1, unit: Any = "Count") -> None: ...


def sanitize_tag_value(value: str) -> str:
    """`value` made a valid Lambda tag value: disallowed characters become `_`, cut to 256 characters."""
    return _DISALLOWED.sub("_", value)[:MAX_TAG_VALUE]


def tag_values(result: ScanResult, *, now: datetime | None = None) -> dict[str, str]:
    """The tags of a result (see the module table)."""
    complete = result.complete
    values = {
        TAG_STATUS: result.status,
        TAG_TIME: _scan_time(result.finished_at or result.started_at, now),
        TAG_CRITICAL: str(result.counts.critical) if complete else UNKNOWN,
        TAG_HIGH: str(result.counts.high) if complete else UNKNOWN,
    }
    return {key: sanitize_tag_value(value) for key, value in values.items()}


def tag_function(
    client: Any,
    function_arn: str,
    result: ScanResult,
    *,
    metrics: MetricSink | None = None,
    now: datetime | None = None,
) -> bool:
    """Tag the function with the result; True when tagged, False (logged, counted) otherwise. Never raises."""
    try:
        arn = unqualified_function_arn(function_arn)
    except InvalidEvent:
        return _failed("the target's function ARN is not a Lambda function ARN", None, metrics)
    try:
        client.tag_resource(Resource=arn, Tags=tag_values(result, now=now))
    except Exception as exc:  # noqa: BLE001 - tagging is best effort by design (module docstring)
        mapped = aws_error(exc, "lambda tag_resource")
        code = aws_error_code(exc) or type(exc).__name__
        reason = mapped.reason if mapped is not None else f"lambda tag_resource: {code}"
        return _failed(reason, arn, metrics)
    LOG.info("tagged %s with the scan result", arn, extra={"function_arn": arn, "status": result.status})
    return True


def _failed(reason: str, arn: str | None, metrics: MetricSink | None) -> bool:
    LOG.warning(
        "could not tag %s (the scan result stands): %s",
        arn or "the function",
        reason,
        extra={"function_arn": arn, "reason": reason},
    )
    if metrics is not None:
        try:
            metrics.add(TAG_FAILURE_METRIC)
        except Exception:  # counting must not fail the scan either
            LOG.warning("could not count the tag failure", exc_info=True)
    return False


def _scan_time(value: str | None, now: datetime | None) -> str:
    moment: datetime | None = None
    if value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
