"""scripts/demo_report.py: per-image outcomes from the observed run, the accounting, and an escaped report."""

from __future__ import annotations

import json
from typing import Any

from scripts.demo_report import (
    Case,
    describe_reconcile,
    execution_record,
    render_html,
    render_table,
    summarize,
    summarize_azure,
    summarize_hub_spoke,
)

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


E1, E2, E3 = (f"sha256:{c * 64}" for c in "efa")
ECS_CASES = [
    Case("cart", "ECS by tag", "shop/cart", "3.2.0", E1, 2, "clean", expect_dedupe_hits=1, kind="ecs"),
    Case("checkout", "ECS by digest", "shop/checkout", "", E2, 2, "vulnerable", 1, kind="ecs"),
    Case("fails", "ECS scan fails", "legacy/report", "0.9", E3, 1, "failed", kind="ecs"),
]


def item(digest: str, outcome: str, **state: Any) -> dict[str, Any]:
    """One Map item's output, as modules/fargate/workflow.asl.json ends it: small, named by its key."""
    return {"outcome": outcome, "key": f"image#{digest}", **state}


def described(
    name: str, event_name: str, *items: dict[str, Any], status: str = "SUCCEEDED"
) -> dict[str, Any]:
    parsed = [
        {"target": {"digest": str(i["key"]).removeprefix("image#"), "dedupe_key": i["key"],
                    "image": f"r/x@{str(i['key']).removeprefix('image#')}"}}
        for i in items
    ]  # fmt: skip
    return {
        "name": name,
        "status": status,
        "input": json.dumps({"id": f"ev-{name}", "detail": {"eventName": event_name}}),
        "output": json.dumps({"parsed": {"images": parsed}, "outcomes": list(items)}),
    }


EXECUTIONS = [
    described(
        "x1",
        "RegisterTaskDefinition",
        item(E1, "scanned", status="clean", counts={"high": 0}),
        item(E2, "scanned", status="vulnerable", counts={"critical": 1, "high": 1}),
    ),
    described(
        "x2",
        "UpdateService",
        item(E1, "deduplicated", disposition="cached"),
        item(E2, "deduplicated", disposition="deduplicated"),
    ),
    described(
        "x3",
        "RegisterTaskDefinition",
        item(
            E3,
            "failed",
            error={"Error": "TransientStepError", "Cause": json.dumps({"errorMessage": "exit 40"})},
        ),
    ),
]
TASK_CALLS = [
    {"step": "scan_qscanner", "digest": E3, "error": {"type": "TransientStepError", "message": "exit 40"}},
    {"step": "scan_qscanner", "digest": E3, "error": {"type": "TransientStepError", "message": "exit 40"}},
    {"step": "claim", "digest": E3, "error": {"type": "TransientStepError", "message": "throttled"}},
    {"step": "notify_failure", "digest": E3, "result": {"notified": True}},
]


def test_ecs_executions_count_on_their_images_and_close() -> None:
    records = [execution_record(e) for e in EXECUTIONS]
    assert [r["event_name"] for r in records] == [
        "RegisterTaskDefinition",
        "UpdateService",
        "RegisterTaskDefinition",
    ]
    assert [i["outcome"] for i in records[1]["images"]] == ["deduplicated", "deduplicated"]
    assert records[2]["images"][0]["reason"] == "TransientStepError: exit 40"
    alerts = [{"kind": "findings", "target": {"digest": E2}}, {"kind": "failure", "target": {"digest": E3}}]
    summary = summarize(ECS_CASES, [], alerts, [], executions=records, task_calls=TASK_CALLS)
    by_key = {o.case.key: o for o in summary.outcomes}
    assert (by_key["cart"].status, by_key["cart"].scans, by_key["cart"].dedupe_hits) == ("clean", 1, 1)
    checkout = by_key["checkout"]
    assert (checkout.status, checkout.counts["critical"], checkout.delivered_messages, checkout.alerts) == (
        "vulnerable",
        1,
        2,
        1,
    )
    fails = by_key["fails"]
    assert (fails.status, fails.scans, fails.failed_attempts, fails.alert_kinds) == (
        "failed",
        0,
        2,
        ["failure"],
    )
    assert (summary.ecs_images, summary.ecs_scanned, summary.ecs_deduplicated, summary.ecs_failed) == (
        5,
        2,
        2,
        1,
    )
    assert summary.ecs_failed_attempts == 2  # scan attempts only; the claim's error is not a scan
    assert summary.closes and summary.ok
    assert "ECS calls 3 -> workflow executions 3 (3 succeeded); images 5 = scanned 2" in render_table(summary)
    assert by_key["checkout"].image == f"ECS shop/checkout@{E2[:19]}"
    page = render_html(
        summary, title="t", started_at="s", invocations=[], alerts=[], run_facts={}, task_calls=TASK_CALLS
    )
    assert "ECS deployments" in page and "FAILED, notified (TransientStepError: exit 40)" in page
    assert '<td class="bad">TransientStepError: exit 40</td>' in page  # the failed attempts, step by step


def test_an_ecs_image_without_an_end_state_or_a_failed_execution_is_not_ok() -> None:
    unknown = [execution_record(described("x9", "RunTask", item(E1, "claimed")))]
    summary = summarize(ECS_CASES[:1], [], [], [], executions=unknown)
    assert summary.ecs_images == 1 and not summary.closes and not summary.ok
    failed = [execution_record(described("x8", "RunTask", item(E1, "deduplicated"), status="FAILED"))]
    summary = summarize(ECS_CASES[:1], [], [], [], executions=failed)
    assert summary.closes and not summary.ok


# ----------------------------------------------------------------------------------------------- Azure
AZ = [
    Case("aci", "ACI, twice", "reg/shop", "1.0", D1, 2, "vulnerable", expect_dedupe_hits=1, kind="azure"),
    Case("own", "own group", "reg/job", "1.0", D2, 1, "skipped", kind="azure"),
    Case("storage", "storage write", "storage account st", "", "", 1, "not delivered", kind="azure"),
    Case("fails", "failing scan", "reg/old", "1.0", D4, 1, "poisoned", kind="azure"),
]
MESSAGES = {"q1": "aci", "q2": "aci", "q3": "own", "q4": "fails"}


def host_line(
    message: str, dequeue: int = 1, *, error: bool = False, poisoned: bool = False, **tally: Any
) -> dict[str, Any]:
    logged = []
    if tally.get("scanned"):
        logged = [{"dedupe_key": f"image#{D1}", "status": "success", "counts": {"critical": 1}}]
    return {
        "message_id": message,
        "dequeue_count": dequeue,
        "result": "failed" if error else "done: deleted",
        "error": "InvocationFailed: scan failed" if error else None,
        "poisoned": poisoned,
        "accounting": {"events": 1, **tally},
        "logged": logged,
    }


def azure_lines() -> list[dict[str, Any]]:
    return [
        host_line("q1", scanned=1),
        host_line("q2", deduplicated=1),
        host_line("q3", skipped={"unsupported: own resource (tagged)": 1}),
        *(host_line("q4", n, error=True, failed=1) for n in (1, 2)),
        host_line("q4", 3, error=True, poisoned=True, failed=1),
    ]


AZ_ALERTS = [
    {"type": "com.qscan.scan.findings", "data": {"target": {"digest": D1}, "target_name": "reg/shop:1.0"}},
    {"type": "com.qscan.scan.failure", "data": {"target": {"digest": D4}, "reason": "<exit 1>"}},
]


def test_azure_outcomes_and_accounting_close() -> None:
    azure = summarize_azure(
        AZ, azure_lines(), AZ_ALERTS, poisoned=["fails"], message_cases=MESSAGES, filtered=["storage"]
    )
    by_key = {o.case.key: o for o in azure.outcomes}
    aci, own, storage, fails = by_key["aci"], by_key["own"], by_key["storage"], by_key["fails"]
    assert (aci.status, aci.scans, aci.dedupe_hits, aci.delivered_messages, aci.alerts) == (
        "vulnerable",
        1,
        1,
        2,
        1,
    )
    assert aci.counts["critical"] == 1
    assert (own.status, own.scans, own.alerts) == ("skipped", 0, 0)
    assert (storage.status, storage.delivered_messages) == ("not delivered", 0)
    assert (fails.status, fails.deliveries, fails.failed_attempts, fails.dead_lettered) == (
        "poisoned",
        3,
        3,
        1,
    )
    assert fails.alert_kinds == ["failure"]
    assert (azure.events_sent, azure.filtered_out, azure.messages_delivered) == (5, 1, 4)
    assert (azure.scanned, azure.deduplicated, azure.skipped, azure.poisoned) == (1, 1, 1, 1)
    assert (azure.invocations, azure.failed_attempts, azure.alerts) == (6, 3, 2)
    assert azure.closes and azure.ok
    summary = summarize(CASES, INVOCATIONS, ALERTS, DEAD)
    summary.azure = azure
    table = render_table(summary)
    assert "Azure reg/shop:1.0" in table and "skipped 1 + poisoned 1 (closes)" in table
    assert summary.to_dict()["azure"]["ok"] is True
    page = render_html(
        summary,
        title="t",
        started_at="now",
        invocations=[],
        alerts=[],
        run_facts={},
        azure_lines=azure_lines(),
        azure_alerts=AZ_ALERTS,
    )
    assert "Azure: ACI and ACA writes" in page and "&lt;exit 1&gt;" in page and "<exit 1>" not in page


def test_a_message_still_retrying_does_not_close_and_fails_the_run() -> None:
    lines = azure_lines()[:-1]  # the last attempt has not run: q4 is neither done nor poisoned
    azure = summarize_azure(
        AZ, lines, AZ_ALERTS[:1], poisoned=[], message_cases=MESSAGES, filtered=["storage"]
    )
    assert not azure.closes and not azure.ok
    assert {o.case.key: o.status for o in azure.outcomes}["fails"] != "poisoned"
    summary = summarize(CASES, INVOCATIONS, ALERTS, DEAD)
    assert summary.ok
    summary.azure = azure
    assert not summary.ok  # the Azure part counts in the run's verdict


def test_a_filtered_event_that_was_delivered_is_unexpected() -> None:
    lines = [*azure_lines(), host_line("q5", skipped={"unsupported: Azure operation": 1})]
    azure = summarize_azure(
        AZ, lines, AZ_ALERTS, poisoned=["fails"], message_cases={**MESSAGES, "q5": "storage"}, filtered=[]
    )
    storage = {o.case.key: o for o in azure.outcomes}["storage"]
    assert storage.status == "skipped" and not storage.ok and not azure.ok


def test_a_spoke_case_is_ok_only_when_its_results_name_the_spoke() -> None:
    spoke = "00000000-0000-0000-0000-0000000000b2"
    cases = [*AZ, Case("spoke", "spoke group", "reg/bill", "1.0", D3, 1, "clean", kind="azure", scope=spoke)]
    lines = [*azure_lines(), {**host_line("q5", scanned=1), "logged": [scanned(D3)]}]
    messages = {**MESSAGES, "q5": "spoke"}

    def outcome(results: list[dict[str, str]]) -> Any:
        azure = summarize_azure(
            cases,
            lines,
            AZ_ALERTS,
            poisoned=["fails"],
            message_cases=messages,
            filtered=["storage"],
            results=results,
        )
        return azure, {o.case.key: o for o in azure.outcomes}["spoke"]

    azure, named = outcome([{"digest": D1, "account": "hub"}, {"digest": D3, "account": spoke}])
    assert (named.status, named.result_scopes, named.ok, azure.ok) == ("clean", [spoke], True, True)
    assert {o.case.key: o.result_scopes for o in azure.outcomes}["aci"] == ["hub"]
    summary = summarize(CASES, INVOCATIONS, ALERTS, DEAD)
    summary.azure = azure
    assert f"Azure reg/bill:1.0 (spoke subscription {spoke})" in render_table(summary)
    azure, hub_named = outcome([{"digest": D3, "account": "hub"}])  # scanned, but filed under the hub
    assert hub_named.status == "clean" and not hub_named.ok and not azure.ok
    azure, unnamed = outcome([])  # no stored result read back
    assert not unnamed.ok and not azure.ok


HUB, SPOKE = "123456789012", "210987654321"
READ_ROLE = f"arn:aws:iam::{SPOKE}:role/qscan-spoke-read"


def hub_spoke_lines(event_account: str, role: str) -> list[dict[str, Any]]:
    """The hub handlers' lines: the spoke's push of D2 and its function deployment, each with its account."""
    push = {**record("h1", D2), "event": {**record("h1", D2)["event"], "account": event_account}}
    function = {
        "message_id": "h2",
        "receive_count": 1,
        "event": {"function": "fn", "event_name": "CreateFunction20150331", "account": event_account},
    }
    assumed = {"role_arn": role, "message": f"assumed {role}"}
    return [
        {"invocation": 1, "records": [push], "failed": [], "logged": [assumed, scanned(D2, high=2)]},
        {
            "invocation": 2,
            "records": [function],
            "failed": [],
            "logged": [
                assumed,
                {"dedupe_key": "lambda#arn:fn#c0de#", "status": "success", "counts": {"high": 1}},
            ],
        },
    ]


def test_a_hub_spoke_case_is_ok_only_when_event_role_and_results_are_the_spokes() -> None:
    cases = [
        Case("spoke-push", "spoke push", "pay/api", "2.0", D2, 1, "vulnerable", scope=SPOKE),
        Case(
            "spoke-fn",
            "spoke fn",
            "fn",
            "CreateFunction20150331",
            "",
            1,
            "vulnerable",
            kind="function",
            scope=SPOKE,
        ),
    ]
    named = {"spoke-push": [SPOKE], "spoke-fn": [SPOKE]}

    def summary(lines: list[dict[str, Any]], results: dict[str, list[str]]) -> Any:
        return summarize_hub_spoke(cases, lines, [], hub_account=HUB, results=results)

    good = summary(hub_spoke_lines(SPOKE, READ_ROLE), named)
    assert good.ok and [o.status for o in good.outcomes] == ["vulnerable", "vulnerable"]
    assert good.event_accounts == {"spoke-push": [SPOKE], "spoke-fn": [SPOKE]}
    assert good.roles == {"spoke-push": [READ_ROLE], "spoke-fn": [READ_ROLE]}
    data = good.to_dict()
    assert data["ok"] and [o["ok"] for o in data["outcomes"]] == [True, True]
    whole = summarize(CASES, INVOCATIONS, ALERTS, DEAD)
    whole.hub_spoke = good
    assert whole.to_dict()["hub_spoke"]["roles"]["spoke-fn"] == [READ_ROLE]
    table = render_table(whole)
    assert (
        f"hub-spoke spoke-push: event from account {SPOKE}, scanned by hub {HUB} with role {READ_ROLE}"
        in table
    )
    assert "Hub-spoke: a spoke account" in render_html(
        whole, title="t", started_at="s", invocations=[], alerts=[], run_facts={}
    )
    # Scanned with the hub's own role, from a hub event, or filed under the hub: never ok.
    assert not summary(hub_spoke_lines(SPOKE, f"arn:aws:iam::{HUB}:role/qscan-spoke-read"), named).ok
    assert not summary(hub_spoke_lines(HUB, READ_ROLE), named).ok
    assert not summary(hub_spoke_lines(SPOKE, READ_ROLE), {**named, "spoke-fn": [HUB]}).ok
    no_role = summary(
        [{**line, "logged": line["logged"][1:]} for line in hub_spoke_lines(SPOKE, READ_ROLE)], named
    )
    assert not no_role.ok and no_role.roles == {"spoke-push": [], "spoke-fn": []}
    whole.hub_spoke = no_role
    assert not whole.ok and "(UNEXPECTED)" in render_table(whole)


def test_a_reconciler_summary_line_names_its_counts_and_errors() -> None:
    summary = {"listed": 8, "unique": 7, "fresh": 5, "stale": 0, "never_scanned": 2, "enqueued": 2}
    assert describe_reconcile(summary) == (
        "8 listed (7 unique), 5 fresh, 2 never scanned, 0 stale; 2 scan request(s) enqueued"
    )
    failed = describe_reconcile({**summary, "errors": ["ecs us-east-1: AccessDenied"]})
    assert failed.endswith("; errors: ecs us-east-1: AccessDenied")
    # an AWS account whose run failed as a whole carries one `error`
    assert describe_reconcile({"account": "1", "error": "the dedupe table is gone"}) == (
        "failed: the dedupe table is gone"
    )
