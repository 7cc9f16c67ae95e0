"""Notification message model: subject rules, JSON body contents, no secrets."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qscan.attempts import Attempt
from qscan.notify import notify
from qscan.notify.eventgrid import EventGridPublisher
from qscan.notify.message import (
    MAX_SUBJECT,
    build_notification,
    notification_id,
    short_target_name,
    shorten_middle,
)
from qscan.notify.policy import decide
from qscan.redact import register_secret
from qscan.results.model import Finding, ScanResult, Severity
from qscan.target import ScanTarget

DIGEST = "sha256:" + "ab" * 32
IMAGE = ScanTarget(
    kind="image",
    platform="ecr",
    registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    repository="team/api",
    tag="1.4.2",
    digest=DIGEST,
    account="123456789012",
    region="eu-west-1",
)
FUNCTION = ScanTarget(
    kind="function",
    platform="lambda",
    function_arn="arn:aws:lambda:eu-west-1:123456789012:function:billing-export",
    code_sha256="Zm9v",
    package_type="Zip",
)
SUBJECT_OK = re.compile(r"^[\x20-\x7e]{1,100}$")


def make(
    target: ScanTarget = IMAGE, status: str = "success", *sev: Severity, reason: str | None = None
) -> ScanResult:
    findings = [
        Finding(
            qid=f"{1000 + i}", title=f"finding {i}", severity=s, cves=("CVE-2024-0001",), cvss_score=float(i)
        )
        for i, s in enumerate(sev)
    ]
    res = ScanResult(target=target, backend="qscanner", status=status, reason=reason)  # type: ignore[arg-type]
    res.result_location = "s3://results/ecr/123456789012/team/api/result.json"
    res.finished_at = "2025-01-02T03:04:05.000000Z"
    return res.with_findings(findings)


def notification(res: ScanResult, threshold: str = "HIGH"):
    return build_notification(res, decide(res, threshold), threshold, now="2025-01-02T03:04:06.000000Z")  # type: ignore[arg-type]


def test_findings_subject_has_status_top_two_severity_counts_and_short_name():
    res = make(IMAGE, "success", Severity.CRITICAL, Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
    assert (
        notification(res).subject == "qscan [success] 2 critical, 1 high: team/api:1.4.2 (ecr, 123456789012)"
    )


@pytest.mark.parametrize(
    ("status", "words"),
    [("failed", "scan failed"), ("timeout", "scan timed out"), ("partial", "scan incomplete")],
)
def test_failure_subjects(status, words):
    n = notification(make(FUNCTION, status), "NONE")
    assert n.subject == f"qscan [{status}] {words}: billing-export (lambda)"
    assert n.kind == "failure"
    assert n.severity == "none"


def test_partial_subject_mentions_findings_so_far():
    n = notification(make(IMAGE, "partial", Severity.HIGH))
    assert n.subject == "qscan [partial] scan incomplete (1 high so far): team/api:1.4.2 (ecr, 123456789012)"


def test_policy_deny_without_threshold_findings():
    assert (
        notification(make(IMAGE, "policy_deny")).subject
        == "qscan [policy_deny] policy denied: team/api:1.4.2 (ecr, 123456789012)"
    )


def test_long_names_are_shortened_in_the_middle_keeping_the_tag():
    long_repo = "org/" + "very-long-service-name-" * 8 + "end"
    target = ScanTarget(
        kind="image", platform="aca", repository=long_repo, tag="v2025.01.02-rc1", digest=DIGEST
    )
    subject = notification(make(target, "success", Severity.CRITICAL)).subject
    assert len(subject) <= MAX_SUBJECT
    assert subject.startswith("qscan [success] 1 critical: org/very")
    assert subject.endswith(":v2025.01.02-rc1 (aca)")
    assert "..." in subject


@settings(max_examples=200, deadline=None)
@given(
    repo=st.text(min_size=1, max_size=400),
    tag=st.one_of(st.none(), st.text(max_size=200)),
    status=st.sampled_from(["success", "failed", "timeout", "partial", "policy_deny"]),
)
def test_subject_is_always_one_printable_ascii_line_of_at_most_100_chars(repo, tag, status):
    target = ScanTarget(kind="image", platform="ecr", repository=repo, tag=tag, digest=DIGEST)
    res = make(target, status, Severity.CRITICAL)
    subject = notification(res).subject
    assert SUBJECT_OK.match(subject), subject
    assert subject.startswith(f"qscan [{status}] ")
    assert subject.endswith(" (ecr)")


def test_short_target_names():
    assert short_target_name(IMAGE) == "team/api:1.4.2"
    assert short_target_name(FUNCTION) == "billing-export"
    untagged = ScanTarget(kind="image", platform="ecr", repository="team/api", digest=DIGEST)
    assert short_target_name(untagged) == "team/api@sha256:" + "ab" * 6
    aci = ScanTarget(
        kind="image",
        platform="aci",
        lookup="azure_resource",
        resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/web",
    )
    assert short_target_name(aci) == "web"


def test_shorten_middle():
    assert shorten_middle("abcdefghij", 10) == "abcdefghij"
    assert shorten_middle("abcdefghijkl", 9) == "abc...jkl"
    assert len(shorten_middle("x" * 500, 37)) == 37


def test_body_carries_the_contract_fields_and_is_json():
    res = make(IMAGE, "success", Severity.LOW, Severity.CRITICAL, Severity.HIGH)
    n = notification(res)
    body = json.loads(n.body_json())
    assert body["schema_version"] == "1.2"
    assert body["target"] == IMAGE.to_dict()
    assert (body["account"], body["region"]) == ("123456789012", "eu-west-1")
    assert body["status"] == "success"
    assert body["counts"] == {"critical": 1, "high": 1, "medium": 0, "low": 1, "info": 0}
    assert body["highest_severity"] == "critical"
    assert body["result_location"] == res.result_location
    assert body["scan_id"] == res.scan_id
    assert body["notification_id"] == notification_id(res, "findings") == n.notification_id
    assert (body["attempts"], body["max_attempts"], body["retryable"]) == (
        None,
        None,
        None,
    )  # not from a queue
    assert body["started_at"] == res.started_at
    assert body["finished_at"] == "2025-01-02T03:04:05.000000Z"
    assert body["notified_at"] == "2025-01-02T03:04:06.000000Z"
    assert body["threshold"] == "HIGH"
    assert [f["severity"] for f in body["top_findings"]] == ["critical", "high", "low"]
    assert "logs" not in body and "findings" not in body


def test_top_findings_are_bounded():
    n = notification(make(IMAGE, "success", *([Severity.HIGH] * 40)))
    assert len(n.body["top_findings"]) == 5


def test_no_secret_reaches_subject_or_body():
    token = "qualys-token-" + "Z" * 40
    register_secret(token)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJxc2NhbiJ9.c2lnbmF0dXJlLXZhbHVl"
    reason = (
        f"qscanner exited 1: auth failed for {token}; Authorization: Bearer {jwt}; password=hunter2hunter2"
    )
    res = make(IMAGE, "failed", reason=reason)
    res.findings = (Finding(qid="1", title=f"secret found: {token}", severity=Severity.HIGH),)
    n = notification(res)
    text = n.subject + n.body_json()
    for secret in (token, jwt, "hunter2hunter2"):
        assert secret not in text
    assert "qscanner exited 1: auth failed for ***" in n.body["reason"]


def test_build_notification_refuses_a_decision_that_does_not_notify():
    res = make(IMAGE, "success")
    with pytest.raises(ValueError):
        build_notification(res, decide(res, "HIGH"), "HIGH")


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list = []

    def publish(self, notification) -> str:
        self.sent.append(notification)
        return f"msg-{len(self.sent)}"


def test_notify_publishes_exactly_one_message_or_none():
    publisher = RecordingPublisher()
    quiet = notify(make(IMAGE, "success", Severity.MEDIUM), "HIGH", publisher)
    assert quiet.notification is None and quiet.message_id is None and publisher.sent == []
    loud = notify(make(IMAGE, "timeout"), "NONE", publisher)
    assert loud.message_id == "msg-1"
    assert [n.kind for n in publisher.sent] == ["failure"]


# ---------------------------------------------------------------------------------------------- notification ids


def test_notification_id_is_stable_per_artifact_outcome_and_occurrence():
    # two attempts of the same message scan the same image: different scan ids, the same notification id
    first, again = make(IMAGE, "failed", reason="exit 1"), make(IMAGE, "failed", reason="exit 1, again")
    assert first.scan_id != again.scan_id
    assert notification_id(first, "failure", "msg-1") == notification_id(again, "failure", "msg-1")
    assert re.fullmatch(r"qscan-[0-9a-f]{40}", notification_id(first, "failure", "msg-1"))
    # another outcome, another message or another artifact: another id
    assert notification_id(first, "failure", "msg-1") != notification_id(
        make(IMAGE, "timeout"), "failure", "msg-1"
    )
    assert notification_id(first, "failure", "msg-1") != notification_id(first, "failure", "msg-2")
    assert notification_id(first, "failure", "msg-1") != notification_id(
        make(FUNCTION, "failed"), "failure", "msg-1"
    )
    # findings: the same counts are the same outcome, other counts are not
    high = make(IMAGE, "success", Severity.HIGH)
    assert notification_id(high, "findings", "m") == notification_id(
        make(IMAGE, "success", Severity.HIGH), "findings", "m"
    )
    assert notification_id(high, "findings", "m") != notification_id(
        make(IMAGE, "success", Severity.HIGH, Severity.HIGH), "findings", "m"
    )
    # without an occurrence (a one-off scan) the scan id stands in
    assert notification_id(first, "failure") != notification_id(again, "failure")


def test_failure_notification_carries_attempts_and_the_last_reason():
    res = make(IMAGE, "partial", reason="VULN_REPORT_FAILED: report unavailable")
    n = build_notification(
        res,
        decide(res, "HIGH"),
        "HIGH",
        attempt=Attempt(3, 3),
        occurrence="msg-1",
        retryable=True,
        now="2025-01-02T03:04:06.000000Z",
    )
    assert (n.body["attempts"], n.body["max_attempts"], n.body["retryable"]) == (3, 3, True)
    assert n.body["reason"] == "VULN_REPORT_FAILED: report unavailable"
    assert n.subject == "qscan [partial] scan incomplete after 3 attempts: team/api:1.4.2 (ecr, 123456789012)"
    assert n.notification_id == notification_id(res, "failure", "msg-1")


SPOKE = "222233334444"


def test_a_spoke_account_is_named_in_subject_body_and_attribute_fields():
    spoke_image = ScanTarget(
        kind="image", platform="ecr", repository="team/api", tag="1.4.2", digest=DIGEST, account=SPOKE
    )
    n = notification(make(spoke_image, "failed"))
    assert n.subject == f"qscan [failed] scan failed: team/api:1.4.2 (ecr, {SPOKE})"
    assert n.account == SPOKE and n.body["account"] == SPOKE and n.body["region"] is None


def test_an_azure_subscription_is_in_the_body_not_the_subject():
    subscription = "8c6ffd4e-7f3b-4f7e-9a1b-2f0b6a2f1c3d"
    target = ScanTarget(
        kind="image", platform="aca", repository="web", tag="2.0", digest=DIGEST, account=subscription
    )
    n = notification(make(target, "failed"))
    assert n.subject == "qscan [failed] scan failed: web:2.0 (aca)"
    assert n.body["account"] == subscription and n.account == subscription


def test_a_target_without_an_account_names_none():
    target = ScanTarget(kind="image", platform="ecr", repository="team/api", tag="1.4.2", digest=DIGEST)
    n = notification(make(target, "failed"))
    assert n.subject.endswith(" (ecr)") and n.account is None and n.body["account"] is None


def test_event_grid_events_carry_the_account_as_an_extension_and_in_data():
    subscription = "8c6ffd4e-7f3b-4f7e-9a1b-2f0b6a2f1c3d"
    target = ScanTarget(
        kind="image", platform="aci", repository="web", tag="2.0", digest=DIGEST, account=subscription
    )
    publisher = EventGridPublisher("https://t.westeurope-1.eventgrid.azure.net/api/events", client=object())
    event = publisher.event(notification(make(target, "failed")))
    assert event.extensions["qscanaccount"] == subscription
    assert event.data["account"] == subscription
    no_account = ScanTarget(kind="image", platform="aci", repository="web", tag="2.0", digest=DIGEST)
    assert "qscanaccount" not in publisher.event(notification(make(no_account, "failed"))).extensions
