"""scripts/demo_report.py: per-image outcomes from the observed run, the accounting, and an escaped report."""

from __future__ import annotations

from typing import Any

from scripts.demo_report import Case, render_html, render_table, summarize

D1, D2, D3, D4 = (f"sha256:{c * 64}" for c in "abcd")
CASES = [
    Case("clean", "clean image", "demo/web", "1.0", D1, 1, "clean"),
    Case("vuln", "vulnerable", "pay/api", "2.0", D2, 2, "vulnerable", expect_dedupe_hits=1),
    Case("filtered", "failed push", "demo/web", "rc", D3, 1, "not delivered"),
    Case("fails", "scan fails", "legacy/job", "0.1", D4, 1, "dead-lettered"),
]


def record(message_id: str, digest: str, receive: int = 1) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "receive_count": receive,
        "event": {"digest": digest, "repository": "r", "tag": "t", "detail_type": "ECR Image Action"},
    }


def scanned(digest: str, **counts: int) -> dict[str, Any]:
    return {"dedupe_key": f"image#{digest}", "status": "success", "counts": counts}


INVOCATIONS: list[dict[str, Any]] = [
    {"invocation": 1, "records": [record("m1", D1)], "failed": [], "logged": [scanned(D1)]},
    {
        "invocation": 2,
        "records": [record("m2", D2)],
        "failed": [],
        "logged": [scanned(D2, critical=1, high=2)],
    },
    {
        "invocation": 3,
        "records": [record("m3", D2)],
        "failed": [],
        "logged": [{"dedupe_key": f"image#{D2}", "outcome": "cached"}],
    },
    {"invocation": 4, "records": [record("m4", D4)], "failed": ["m4"], "logged": []},
    {"invocation": 5, "records": [record("m4", D4, 2)], "failed": ["m4"], "logged": []},
]
ALERTS = [
    {"kind": "findings", "status": "success", "target": {"digest": D2}, "counts": {"critical": 1}},
    {"kind": "failure", "status": "failed", "target": {"digest": D4}},
    {"kind": "failure", "status": "failed", "target": {"digest": D4}},
]
DEAD = [{"detail": {"image-digest": D4}}]


def test_outcomes_and_accounting() -> None:
    summary = summarize(CASES, INVOCATIONS, ALERTS, DEAD)
    by_key = {o.case.key: o for o in summary.outcomes}
    assert (by_key["clean"].status, by_key["clean"].scans, by_key["clean"].alerts) == ("clean", 1, 0)
    vuln = by_key["vuln"]
    assert (vuln.status, vuln.delivered_messages, vuln.dedupe_hits, vuln.alerts) == ("vulnerable", 2, 1, 1)
    assert vuln.counts["critical"] == 1 and vuln.counts["high"] == 2
    assert (by_key["filtered"].status, by_key["filtered"].delivered_messages) == ("not delivered", 0)
    fails = by_key["fails"]
    assert (fails.status, fails.delivered_messages, fails.deliveries, fails.failed_attempts) == (
        "dead-lettered",
        1,
        2,
        2,
    )
    assert fails.alert_kinds == ["failure", "failure"]
    assert (summary.messages_delivered, summary.scanned, summary.deduplicated, summary.dead_lettered) == (
        4,
        2,
        1,
        1,
    )
    assert summary.closes and summary.ok
    assert summary.events_sent == 5 and summary.alerts == 3


def test_a_wrong_outcome_is_reported_as_unexpected() -> None:
    # The duplicate was scanned again instead of deduplicated, and the failing image never reached the DLQ.
    invocations = [dict(line) for line in INVOCATIONS]
    invocations[2] = {"invocation": 3, "records": [record("m3", D2)], "failed": [], "logged": [scanned(D2)]}
    summary = summarize(CASES, invocations, ALERTS, dead_letters=[])
    by_key = {o.case.key: o for o in summary.outcomes}
    assert not by_key["vuln"].ok and by_key["vuln"].dedupe_hits == 0
    assert by_key["fails"].status == "in progress" and not by_key["fails"].ok
    assert not summary.closes and not summary.ok
    table = render_table(summary)
    assert "UNEXPECTED" in table and "DOES NOT CLOSE" in table


def test_unknown_alerts_are_counted_not_attributed() -> None:
    summary = summarize(
        CASES, INVOCATIONS, [*ALERTS, {"kind": "failure", "target": {"digest": "sha256:x"}}], DEAD
    )
    assert summary.unmatched_alerts == 1 and summary.alerts == 4


def test_html_is_self_contained_and_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    cases = [Case("x", hostile, f"repo/{hostile}", "1", D1, 1, "clean")]
    invocations = [{"invocation": 1, "records": [record("m1", D1)], "failed": [], "logged": [scanned(D1)]}]
    alerts = [{"kind": "failure", "status": hostile, "target_name": hostile, "reason": hostile, "target": {}}]
    page = render_html(
        summarize(cases, invocations, alerts, []),
        title=f"demo {hostile}",
        started_at=hostile,
        invocations=invocations,
        alerts=alerts,
        run_facts={"logs": hostile},
    )
    assert "<script" not in page and "&lt;script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and "SIMULATED" in page
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere
