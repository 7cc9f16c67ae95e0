"""The notification every publisher sends: a short subject and a JSON body (the same on every cloud).

Subject: one line of printable ASCII, at most 100 characters, saying the status, the highest non-zero severity
counts, a short target name, the platform and, for a target of an AWS account (12 digits: hub-spoke names the
spoke), the account, e.g. ``qscan [success] 2 critical, 5 high: team/api:1.4.2 (ecr, 222233334444)``. An Azure
subscription id (36 characters) would crowd the name out of the subject: it is in the body. A long target name is
shortened in the middle, so the fixed part (status and counts) always survives.

Body (``schema_version`` "1.2"): notification id and kind, scan id, backend, status, reason, exit code, the
`ScanTarget` as a dict, the target's ``account`` (AWS account or Azure subscription) and ``region``, short
target name, severity counts, highest severity, threshold, result location,
timestamps, up to five top findings and, when the scan ran from a queue, the attempts made and allowed
(``attempts``, ``max_attempts``) and whether the failure is deterministic (``retryable`` false: not retried).
Free text (reason, finding titles) is redacted and truncated; nothing else in a result can hold a secret, and
logs and raw outputs are never included.

The notification id is stable: the same artifact (dedupe key) with the same outcome (kind, status and, for
findings, the severity counts) for the same occurrence (the queue message id; else the scan id) always gets the
same id, whichever attempt or redelivery sent it, so subscribers can drop duplicates (SNS FIFO deduplication,
the CloudEvent id).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from qscan.attempts import Attempt
from qscan.notify.policy import Decision, Kind, Threshold
from qscan.redact import redact, truncate
from qscan.results.model import SEVERITY_LABELS, Finding, ScanResult, Severity, utc_now
from qscan.structs import struct
from qscan.target import ScanTarget

NOTIFICATION_SCHEMA_VERSION = "1.2"
MAX_SUBJECT = 100
MAX_TOP_FINDINGS = 5
_MAX_REASON = 500
_MAX_TITLE = 200
_ELLIPSIS = "..."
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_SPACES = re.compile(r"\s+")
_AWS_ACCOUNT = r"\A[0-9]{12}\Z"  # pattern string, compiled on first use (re's cache)

_STATUS_WORDS = {
    "failed": "scan failed",
    "timeout": "scan timed out",
    "partial": "scan incomplete",
}


@struct
class Notification:
    notification_id: str  # stable per artifact, outcome and occurrence: subscribers drop duplicates with it
    kind: Kind
    subject: str
    body: dict[str, Any]
    status: str
    severity: str  # highest severity label with findings, or "none"
    platform: str
    account: str | None = None  # the target's AWS account or Azure subscription, when known

    def body_json(self) -> str:
        return json.dumps(self.body, sort_keys=True, separators=(",", ":"))


def ascii_line(text: str, *, strip: bool = True) -> str:
    """One line of printable ASCII: whitespace runs become one space, anything else non-printable becomes '?'."""
    line = _NOT_PRINTABLE.sub("?", _SPACES.sub(" ", text))
    return line.strip() if strip else line


def shorten_middle(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, keeping its head and tail (tags and digests live at the end)."""
    if len(text) <= limit:
        return text
    if limit <= len(_ELLIPSIS):
        return text[:limit]
    keep = limit - len(_ELLIPSIS)
    head = keep // 2
    return text[:head] + _ELLIPSIS + text[len(text) - (keep - head) :]


def short_target_name(target: ScanTarget) -> str:
    """A human name for a target: `repo:tag`, `repo@sha256:<12 hex>`, a function name, or the resource name."""
    if target.kind == "function":
        arn = target.function_arn or ""
        if ":function:" in arn:
            return arn.split(":function:", 1)[1]
        return arn or _resource_name(target) or "unknown function"
    if target.repository:
        if target.tag:
            return f"{target.repository}:{target.tag}"
        if target.digest:
            return f"{target.repository}@{target.digest[:19]}"
        return target.repository
    if target.image:
        return target.image.rsplit("/", 1)[-1] if len(target.image) > 60 else target.image
    return _resource_name(target) or "unknown image"


def _resource_name(target: ScanTarget) -> str | None:
    if target.resource_id:
        return target.resource_id.rstrip("/").rsplit("/", 1)[-1]
    return None


def highest_severity(result: ScanResult) -> Severity | None:
    for severity in sorted(Severity, reverse=True):
        if getattr(result.counts, severity.label):
            return severity
    return None


def _counts_text(result: ScanResult, levels: int = 2) -> str:
    parts = [
        f"{getattr(result.counts, label)} {label}"
        for label in SEVERITY_LABELS
        if getattr(result.counts, label)
    ]
    return ", ".join(parts[:levels])


def notification_id(result: ScanResult, kind: Kind, occurrence: str | None = None) -> str:
    """`qscan-<40 hex>`: a hash of the artifact, the outcome and the occurrence (see the module docstring)."""
    target = result.target
    identity = target.dedupe_key or json.dumps(target.to_dict(), sort_keys=True, default=str)
    parts = [identity, kind, result.status]
    if kind != "failure":  # findings and policy verdicts: the same outcome means the same counts
        parts.append(json.dumps(result.counts.to_dict(), sort_keys=True))
    parts.append(occurrence or result.scan_id)
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()
    return f"qscan-{digest[:40]}"


def build_subject(result: ScanResult, kind: Kind, attempt: Attempt | None = None) -> str:
    counts = _counts_text(result)
    if kind == "failure":
        what = _STATUS_WORDS.get(result.status, f"scan {result.status}")
        if attempt is not None:
            what += f" after {attempt.number} attempt" + ("s" if attempt.number != 1 else "")
        if counts:
            what += f" ({counts} so far)"
    elif kind == "policy_deny" and not counts:
        what = "policy denied"
    else:
        what = counts or "findings"
    fixed = ascii_line(f"qscan [{result.status}] {what}: ", strip=False)
    account = result.target.account
    where = f"{result.target.platform}, {account}" if account and re.match(_AWS_ACCOUNT, account) else None
    suffix = ascii_line(f" ({where or result.target.platform})", strip=False)
    name = ascii_line(short_target_name(result.target)) or "unknown"
    budget = MAX_SUBJECT - len(fixed) - len(suffix)
    if budget < 8:  # only possible with an absurd status; keep the subject valid anyway
        return shorten_middle(fixed + name + suffix, MAX_SUBJECT)
    return fixed + shorten_middle(name, budget) + suffix


def _finding_summary(finding: Finding) -> dict[str, Any]:
    return {
        "qid": finding.qid,
        "title": redact(finding.title[:_MAX_TITLE]) if finding.title else None,
        "severity": finding.severity.label,
        "cves": list(finding.cves[:5]),
        "package_name": finding.package_name,
        "installed_version": finding.installed_version,
        "fixed_version": finding.fixed_version,
        "cvss_score": finding.cvss_score,
    }


def top_findings(result: ScanResult, limit: int = MAX_TOP_FINDINGS) -> list[dict[str, Any]]:
    ranked = sorted(result.findings, key=lambda f: (int(f.severity), f.cvss_score or 0.0), reverse=True)
    return [_finding_summary(f) for f in ranked[:limit]]


def build_notification(
    result: ScanResult,
    decision: Decision,
    threshold: Threshold,
    *,
    now: str | None = None,
    attempt: Attempt | None = None,
    occurrence: str | None = None,
    retryable: bool | None = None,
) -> Notification:
    """The notification for a result the policy decided to notify on (`decision.notify` must be true).

    `attempt`: where the scan stands among its queue message's attempts (None outside a queue); `occurrence`:
    the id of what triggered the scan (the queue message id), part of the notification id; `retryable`: False
    for a deterministic failure (None when not known).
    """
    if not decision.notify or decision.kind is None:
        raise ValueError("build_notification needs a decision that notifies")
    kind = decision.kind
    highest = highest_severity(result)
    nid = notification_id(result, kind, occurrence)
    body: dict[str, Any] = {
        "schema_version": NOTIFICATION_SCHEMA_VERSION,
        "notification_id": nid,
        "kind": kind,
        "scan_id": result.scan_id,
        "backend": result.backend,
        "status": result.status,
        "complete": result.complete,
        "reason": redact(truncate(result.reason, _MAX_REASON)) if result.reason else None,
        "decision": decision.reason,
        "exit_code": result.exit_code,
        "exit_code_name": result.exit_code_name,
        "target": result.target.to_dict(),
        "account": result.target.account,
        "region": result.target.region,
        "target_name": short_target_name(result.target),
        "counts": result.counts.to_dict(),
        "highest_severity": highest.label if highest else None,
        "threshold": threshold,
        "result_location": result.result_location,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "notified_at": now or utc_now(),
        "top_findings": top_findings(result),
        "attempts": attempt.number if attempt is not None else None,
        "max_attempts": attempt.of if attempt is not None else None,
        "retryable": retryable,
    }
    return Notification(
        notification_id=nid,
        kind=kind,
        subject=build_subject(result, kind, attempt),
        body=body,
        status=result.status,
        severity=highest.label if highest else "none",
        platform=result.target.platform,
        account=result.target.account,
    )
