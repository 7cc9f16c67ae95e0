"""`make demo` end to end (scripts/demo.py as a subprocess): outcomes, report, and nothing left running.

The full run applies environments/local on moto, routes the sample events through the real rules into the
real queues, runs the real ECR handler over its queue with the simulated scanner, creates and updates a zip
Lambda function whose CloudTrail-shaped events the real Lambda handler scans (code updates rescan, a
configuration-only change is a dedupe hit), registers, runs and deploys ECS task definitions whose events start
the Fargate workflow on moto (its Tasks run the real Fargate handler; an ECR image by tag, one by digest, a
public image on a loopback https registry, one image whose scan fails), runs the Azure part (ACI, ACA app and
job writes through modules/aci-aca's Event Grid filters into an Azurite queue, the Functions app's queue
trigger under the demo's host stand-in, a poisoned message, a spoke subscription's container group scanned by
the hub's app), the hub-spoke part (a spoke account's ECR push and Lambda deployment scanned by the hub on a
second moto server), runs each reconciler once and checks, in the `qscan report` of each cloud's stores (and
the hub's), that every demo artifact has its true status and the coverage numbers are those counts, and
destroys everything: about 4-5 minutes. The interrupt test sends SIGINT during `terraform apply` and checks the cleanup.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scripts import demo_azure
from tests.harness import moto_server as ms

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO = ms.REPO_ROOT / "scripts" / "demo.py"
MOTO_LINE = re.compile(r"moto server http://127\.0\.0\.1:(\d+) \(pid (\d+)\)")


@pytest.fixture(scope="module")
def packaged() -> None:
    """`make package` (incremental: a no-op when dist/ is up to date)."""
    done = subprocess.run(
        [sys.executable, str(ms.REPO_ROOT / "scripts" / "package.py")],
        cwd=ms.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def port_is_free(port: int) -> bool:
    """Nothing listens on the port any more: a connection is refused. (A bind test would also trip over the
    closed server's connections lingering in FIN_WAIT/TIME_WAIT, which are not a process left behind.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((ms.HOST, port))
        except OSError:
            return True
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/status").read_text().count("State:\tZ")


def processes_using(path: Path) -> list[str]:
    """Processes whose command line or working directory lies under `path` (moto, terraform, worker, scanner)."""
    found = []
    marker = str(path)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if marker in cmdline or cwd.startswith(marker):
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


NOT_LISTED = "not-in-inventory"


def artifact_rows(report: dict[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Case key -> the report's row of its artifact (None: not in the report). An image is its digest, a
    function deployment the code SHA-256 its scan resolved (the third part of its dedupe key)."""
    found: dict[str, dict[str, Any] | None] = {}
    for outcome in outcomes:
        case = outcome["case"]
        if case["kind"] == "function":
            rows = [
                r
                for r in report["artifacts"]
                if (r["dedupe_key"] or "").split("#")[2:3] == [outcome["code_sha256"]]
            ]
        else:
            rows = [r for r in report["artifacts"] if r["artifact"].endswith(f"@{case['digest']}")]
        assert len(rows) <= 1, rows
        found[case["key"]] = rows[0] if rows else None
    return found


def demo_cmd(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(DEMO),
        "--work-dir",
        str(tmp_path / "work"),
        "--report-dir",
        str(tmp_path / "reports"),
        *extra,
    ]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="process checks read /proc")
def test_demo_end_to_end(packaged: None, tmp_path: Path) -> None:
    # The timeout only catches a hung demo (its duration is not a test: a loaded machine doubles it).
    done = subprocess.run(
        demo_cmd(tmp_path), cwd=ms.REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "SIMULATED" in output and "QSCANNER_BINARY=" in output and "aws-single-account" in output
    assert "destroyed" in output

    (summary_file,) = (tmp_path / "reports").glob("demo-*.json")
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    html_file = Path(summary["report"])
    assert html_file.is_file() and html_file.with_suffix(".json") == summary_file
    assert str(html_file) in output
    page = html_file.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "SIMULATED" in page

    by_key = {o["case"]["key"]: o for o in summary["outcomes"]}
    clean, vulnerable = by_key["clean"], by_key["vulnerable"]
    assert (clean["status"], clean["scans"], clean["alerts"]) == ("clean", 1, 0)
    assert set(clean["counts"].values()) == {0}
    assert (vulnerable["status"], vulnerable["scans"], vulnerable["delivered_messages"]) == (
        "vulnerable",
        1,
        2,
    )
    assert vulnerable["counts"] == {"critical": 1, "high": 2, "medium": 1, "low": 0, "informational": 0}
    assert vulnerable["dedupe_hits"] == 1  # the CloudTrail PutImage of the same digest
    assert vulnerable["alerts"] == 1
    for key in ("failed-push", "delete"):  # filtered by the EventBridge rules
        assert (by_key[key]["status"], by_key[key]["delivered_messages"], by_key[key]["alerts"]) == (
            "not delivered",
            0,
            0,
        )
    failing = by_key["scan-fails"]
    assert failing["status"] == "dead-lettered" and failing["dead_lettered"] == 1
    # max_receive_count = 2: the first attempt is retried (after a 1 s backoff), the last is dead-lettered by
    # the handler itself, with the one failure alert of the artifact
    assert failing["deliveries"] == 2 and failing["failed_attempts"] == 1
    assert failing["alerts"] == 1 and failing["alert_kinds"] == ["failure"]
    created, code, config = by_key["fn-create"], by_key["fn-code"], by_key["fn-config"]
    for outcome in (created, code):  # each deployment of new code is scanned: two HIGH findings, alerted
        assert (outcome["status"], outcome["scans"], outcome["dedupe_hits"]) == ("vulnerable", 1, 0)
        assert (
            outcome["counts"]["high"] == 2 and outcome["alerts"] == 1 and outcome["delivered_messages"] == 1
        )
    assert created["code_sha256"] and code["code_sha256"] and created["code_sha256"] != code["code_sha256"]
    # Neither code nor layers changed: the same dedupe key as the code update, a cache hit, no alert.
    assert (config["status"], config["scans"], config["dedupe_hits"], config["alerts"]) == (
        "deduplicated",
        0,
        1,
        0,
    )
    assert config["code_sha256"] == code["code_sha256"]
    assert "function demo-orders-fn (UpdateFunctionConfiguration20150331v2)" in output
    assert "demo-orders-fn" in page and "UpdateFunctionCode20150331v2" in page
    assert (summary["events_sent"], summary["messages_delivered"]) == (9, 7)
    assert (summary["scanned"], summary["deduplicated"], summary["dead_lettered"]) == (4, 2, 1)
    # ECS: each call's event started one execution of the workflow on moto, in order, and each one succeeded
    # (a failed image is notified and the execution goes on).
    assert [(e["event_name"], e["status"]) for e in summary["executions"]] == [
        ("RegisterTaskDefinition", "SUCCEEDED"),
        ("RunTask", "SUCCEEDED"),
        ("CreateService", "SUCCEEDED"),
        ("UpdateService", "SUCCEEDED"),
        ("RegisterTaskDefinition", "SUCCEEDED"),
    ]
    first, *same_revision, reports = summary["executions"]
    assert sorted(i["outcome"] for i in first["images"]) == ["scanned"] * 3  # each good image scanned once
    for execution in same_revision:  # RunTask, CreateService, UpdateService of demo-shop:1: all deduplicated
        assert [i["outcome"] for i in execution["images"]] == ["deduplicated"] * 3
    assert [i["outcome"] for i in reports["images"]] == ["failed"]
    cart, checkout, public = by_key["ecs-cart"], by_key["ecs-checkout"], by_key["ecs-public"]
    for outcome in (cart, checkout, public):
        assert (outcome["scans"], outcome["dedupe_hits"], outcome["delivered_messages"]) == (1, 3, 4)
    assert (cart["status"], cart["alerts"]) == ("clean", 0)
    assert set(cart["counts"].values()) == {0}
    assert checkout["image"].startswith("ECS shop/checkout@sha256:")  # the container names it by digest
    assert (checkout["status"], checkout["counts"]["critical"], checkout["counts"]["high"]) == (
        "vulnerable",
        1,
        1,
    )
    assert checkout["alerts"] == 1
    # the public image (https, self-signed): one MEDIUM finding, below the HIGH threshold: recorded, no alert
    assert public["image"].startswith("ECS 127.0.0.1:") and public["image"].endswith("/public/web:1.27")
    assert (public["status"], public["counts"]["medium"], public["alerts"]) == ("vulnerable", 1, 0)
    failing = by_key["ecs-fails"]
    # exit 40 (the report could not be fetched): retried twice by the workflow, then one failure notification
    assert (failing["status"], failing["scans"], failing["failed_attempts"]) == ("failed", 0, 3)
    assert (failing["alerts"], failing["alert_kinds"]) == (1, ["failure"])
    assert (
        summary["ecs_images"],
        summary["ecs_scanned"],
        summary["ecs_deduplicated"],
        summary["ecs_failed"],
    ) == (
        13,
        3,
        9,
        1,
    )
    assert "ECS RunTask demo-shop:1" in output and "ECS deployments" in page
    assert summary["alerts"] == 6 and summary["unmatched_alerts"] == 0
    azure = summary["azure"]
    az = {o["case"]["key"]: o for o in azure["outcomes"]}
    aci = az["aci"]  # two container groups, one image: scanned once, the second a dedupe hit
    assert (aci["status"], aci["scans"], aci["dedupe_hits"], aci["delivered_messages"]) == (
        "vulnerable",
        1,
        1,
        2,
    )
    assert (aci["counts"]["critical"], aci["alerts"], aci["alert_kinds"]) == (1, 1, ["findings"])
    assert (az["aca-app"]["status"], az["aca-app"]["scans"], az["aca-app"]["alerts"]) == ("clean", 1, 0)
    job = az["aca-job"]  # one MEDIUM finding: below the HIGH threshold, recorded, no notification
    assert (job["status"], job["counts"]["medium"], job["alerts"]) == ("vulnerable", 1, 0)
    own = az["aci-own"]  # qscan's own scan container group: skipped by its tag, never scanned
    assert (own["status"], own["delivered_messages"], own["scans"], own["alerts"]) == ("skipped", 1, 0, 0)
    storage = az["storage"]  # the event subscription's filters reject it: never on the queue
    assert (storage["status"], storage["delivered_messages"], storage["deliveries"]) == (
        "not delivered",
        0,
        0,
    )
    fails = az["aci-fails"]  # maxDequeueCount 5 (host.json): five attempts, then the poison queue
    assert (fails["status"], fails["deliveries"], fails["failed_attempts"], fails["dead_lettered"]) == (
        "poisoned",
        5,
        5,
        1,
    )
    assert (fails["alerts"], fails["alert_kinds"]) == (
        1,
        ["failure"],
    )  # one failure alert, at the last attempt
    assert (azure["events_sent"], azure["filtered_out"], azure["messages_delivered"]) == (8, 1, 7)
    assert (azure["scanned"], azure["deduplicated"], azure["skipped"], azure["poisoned"]) == (4, 1, 1, 1)
    assert (azure["alerts"], azure["unmatched_alerts"]) == (3, 0)
    assert azure["closes"] and azure["ok"]
    assert "moved to scan-events-poison" in output and "Azure: ACI and ACA writes" in page
    assert summary["closes"] and summary["ok"]

    # One run of each reconciler, then `qscan report` on the demo's stores (docs/demo.md): every demo artifact
    # has the status it really has; the requests for the failed ones stay queued (never-scanned, requested)
    assert "reconciler qscan-local-reconciler (invoked as its schedule would)" in output
    assert "Azure reconcile timer function (one run)" in output
    reports = {}
    for cloud in ("aws", "azure"):
        (report_dir,) = (tmp_path / "reports").glob(f"qscan-report-{cloud}-[0-9]*")  # not aws-hub
        assert str(report_dir / "report.html") in output
        reports[cloud] = json.loads((report_dir / "report.json").read_text())
        assert reports[cloud]["malformed"] == [] and reports[cloud]["dedupe_store_used"] is True
        runs = summary["reconcile"][cloud]  # one account; the hub's and the spoke's subscriptions
        assert len(runs) == {"aws": 1, "azure": 2}[cloud]
        assert all(run["complete"] is True and run["error_count"] == 0 for run in runs)
    aws_expected = {
        "clean": "fresh",
        "vulnerable": "fresh",
        "scan-fails": "never-scanned",  # in ECR, its scan dead-lettered
        "fn-create": NOT_LISTED,  # the code it scanned was replaced: it runs no more
        "fn-code": "fresh",
        "fn-config": "fresh",  # the same code as fn-code: the same artifact (one row)
        "ecs-cart": "fresh",
        "ecs-checkout": "fresh",
        "ecs-public": "fresh",
        "ecs-fails": "never-scanned",  # in ECR, its scan failed (its task definition is never run)
        "failed-push": None,  # not in ECR, never scanned: nowhere in the report
        "delete": None,
    }
    aws_rows = artifact_rows(reports["aws"], summary["outcomes"])
    assert {key: row and row["status"] for key, row in aws_rows.items()} == aws_expected
    azure_expected = {
        "aci": "fresh",
        "aca-app": "fresh",
        "aca-job": "fresh",
        "aci-fails": "never-scanned",  # poisoned
        "aci-own": None,  # qscan's own: skipped by the reconciler as by the queue function
        "storage": None,
        "aci-spoke": "fresh",  # the spoke subscription's, scanned by the hub
    }
    azure_rows = artifact_rows(reports["azure"], azure["outcomes"])
    assert {key: row and row["status"] for key, row in azure_rows.items()} == azure_expected
    for cloud, expected in (("aws", aws_expected), ("azure", azure_expected)):
        report = reports[cloud]
        rows = {k for k, v in expected.items() if v is not None} - {"fn-config"}
        listed = [expected[k] for k in rows if expected[k] != NOT_LISTED]
        counts = {status: listed.count(status) for status in ("fresh", "stale", "never-scanned")}
        assert report["coverage"]["total"] == counts
        assert len(report["artifacts"]) == len(rows)  # nothing in the report but the demo's artifacts
        runs = summary["reconcile"][cloud]  # over its subscriptions: Azure's are checked one by one below
        assert [sum(run[k] for run in runs) for k in ("unique", "fresh", "never_scanned")] == [
            len(listed),
            counts["fresh"],
            counts["never-scanned"],
        ]
        assert (
            sum(run["enqueued"] for run in runs) == counts["never-scanned"]
        )  # one request each, left queued
    assert aws_rows["vulnerable"] and aws_rows["vulnerable"]["counts"] == {
        "critical": 1,
        "high": 2,
        "medium": 1,
        "low": 0,
        "info": 0,
    }
    for failed in (aws_rows["scan-fails"], aws_rows["ecs-fails"], azure_rows["aci-fails"]):
        assert failed and failed["counts"] is None  # findings unknown: never shown as clean

    check_hub_spoke(summary, tmp_path / "reports", output, page)
    check_azure_spoke(azure, summary["reconcile"]["azure"], reports["azure"], azure_rows, output, page)

    assert not alive(summary["moto"]["pid"])
    assert port_is_free(summary["moto"]["port"])
    assert not alive(summary["hub_spoke"]["moto"]["pid"])
    assert port_is_free(summary["hub_spoke"]["moto"]["port"])
    assert not alive(summary["registry"]["pid"])
    assert port_is_free(summary["registry"]["port"])
    assert set(summary["azure_processes"]) == {"azurite", "host", "reconcile"}
    assert not any(alive(pid) for pid in summary["azure_processes"].values())
    assert processes_using(tmp_path) == []
    assert not list((tmp_path / "work").glob("run-*/tf"))  # the Terraform copy is removed


def check_hub_spoke(summary: dict[str, Any], reports: Path, output: str, page: str) -> None:
    """The hub-spoke part (scripts/demo_hub_spoke.py): a spoke account's ECR push and Lambda deployment,
    forwarded to the hub bus, scanned by the hub's handlers with the spoke's read role; the results in the hub's
    bucket and the hub's `qscan report` name the spoke account, never the hub's."""
    hub_spoke = summary["hub_spoke"]
    hub = hub_spoke["hub_account"]
    assert hub == ms.ACCOUNT_ID and hub_spoke["ok"]
    outcomes = {o["case"]["key"]: o for o in hub_spoke["outcomes"]}
    assert set(outcomes) == {"spoke-ecr-push", "spoke-fn-create"}
    (spoke,) = {o["case"]["scope"] for o in outcomes.values()}
    assert re.fullmatch(r"\d{12}", spoke) and spoke != hub
    image, function = outcomes["spoke-ecr-push"], outcomes["spoke-fn-create"]
    assert (image["case"]["kind"], function["case"]["kind"]) == ("image", "function")
    for key, outcome in outcomes.items():
        assert (outcome["status"], outcome["scans"], outcome["delivered_messages"], outcome["ok"]) == (
            "vulnerable",
            1,
            1,
            True,
        )
        assert outcome["alerts"] == 1  # the hub's alerts topic: HIGH findings in the spoke's artifact
        assert hub_spoke["event_accounts"][key] == [spoke]  # the envelope forwarded from the spoke's bus
        assert hub_spoke["roles"][key] == [f"arn:aws:iam::{spoke}:role/qscan-spoke-read"]
        assert outcome["result_scopes"] == [spoke]  # the result documents in the hub's bucket
        assert f"hub-spoke {key}: event from account {spoke}, scanned by hub {hub}" in output
    assert image["counts"]["critical"] == 1 and function["counts"]["high"] == 2
    assert "Hub-spoke: a spoke account" in page and f"results name account {spoke} (ok)" in page
    assert "hub-spoke: no destroy" in output

    (report_dir,) = reports.glob("qscan-report-aws-hub-*")
    assert str(report_dir / "report.html") in output
    report = json.loads((report_dir / "report.json").read_text())
    assert report["malformed"] == [] and report["dedupe_store_used"] is True
    rows = artifact_rows(report, hub_spoke["outcomes"])
    assert len(report["artifacts"]) == 2  # the hub's bucket holds the spoke's two artifacts, nothing else
    for key, platform in (("spoke-ecr-push", "ecr"), ("spoke-fn-create", "lambda")):
        row = rows[key]
        assert row is not None and (row["cloud"], row["scope"], row["platform"]) == ("aws", spoke, platform)
        assert row["counts"] == {k: v for k, v in outcomes[key]["counts"].items() if k != "informational"} | {
            "info": outcomes[key]["counts"]["informational"]
        }


def check_azure_spoke(
    azure: dict[str, Any],
    reconciled: list[dict[str, Any]],
    report: dict[str, Any],
    rows: dict[str, dict[str, Any] | None],
    output: str,
    page: str,
) -> None:
    """The Azure spoke subscription (environments/azure-spoke's event subscription to the hub's queue): its
    container group scanned by the hub's app, its result named after the spoke subscription, the reconciler's run
    and the hub's `qscan report` covering that subscription."""
    hub, spoke = demo_azure.SUBSCRIPTION, demo_azure.SPOKE_SUBSCRIPTION
    az = {o["case"]["key"]: o for o in azure["outcomes"]}
    billing = az["aci-spoke"]
    assert billing["case"]["scope"] == spoke and billing["ok"]
    assert (billing["status"], billing["scans"], billing["delivered_messages"], billing["dedupe_hits"]) == (
        "vulnerable",
        1,
        1,
        0,
    )
    assert (billing["counts"]["high"], billing["alerts"], billing["alert_kinds"]) == (1, 1, ["findings"])
    assert billing["result_scopes"] == [spoke]  # the result in the hub's results container names the spoke
    for key in ("aci", "aca-app", "aca-job", "aci-fails"):  # the hub's own: their results name the hub
        assert az[key]["result_scopes"] == [hub]
    assert f"billing-api in the spoke subscription {spoke} -> its event subscription" in output
    assert f"Azure result of the spoke subscription {spoke}: results/aci/{spoke}/" in output
    assert f"(spoke subscription {spoke})" in output and f"in the spoke subscription {spoke}" in page
    # the reconciler: one summary per subscription, the hub's then the spoke's (spoke_subscription_ids)
    assert [run["subscription"] for run in reconciled] == [hub, spoke]
    spoke_run = reconciled[1]
    assert [spoke_run[k] for k in ("listed", "unique", "fresh", "never_scanned", "enqueued")] == [
        1,
        1,
        1,
        0,
        0,
    ]
    row = rows["aci-spoke"]
    assert row is not None and (row["cloud"], row["scope"], row["platform"], row["status"]) == (
        "azure",
        spoke,
        "aci",
        "fresh",
    )
    assert row["result_key"].startswith(f"results/aci/{spoke}/")
    coverage = [r for r in report["coverage"]["by_scope_platform"] if r["scope"] == spoke]
    assert coverage == [
        {
            "cloud": "azure",
            "scope": spoke,
            "platform": "aci",
            "fresh": 1,
            "stale": 0,
            "never-scanned": 0,
            "total": 1,
        }
    ]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="process checks read /proc")
def test_ctrl_c_during_apply_stops_everything(packaged: None, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        demo_cmd(tmp_path),
        cwd=ms.REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    port = pid = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := MOTO_LINE.search(line):
                port, pid = int(match.group(1)), int(match.group(2))
            if "terraform apply:" in line:  # Terraform is busy creating resources
                break
        assert port and pid, "".join(lines)
        assert processes_using(tmp_path), "nothing ran before the interrupt"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines) + rest
    assert proc.returncode == 130, output[-3000:]
    assert "interrupted (SIGINT)" in output
    assert "stopped every process the demo started" in output
    assert not alive(pid)
    assert port_is_free(port)
    assert processes_using(tmp_path) == []


AZURE_LINE = re.compile(r"Azure: Azurite \(pid (\d+)")


def azure_hosts(tmp_path: Path) -> list[str]:
    """This test's running Functions host stand-ins (`scripts/demo_azure.py host`, its `--report` under
    `tmp_path`), not those of a demo another test runs at the same time."""
    return [p for p in processes_using(tmp_path) if "demo_azure.py host " in p]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="process checks read /proc")
def test_ctrl_c_during_the_azure_part_stops_everything(packaged: None, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        demo_cmd(tmp_path, "--no-destroy"),
        cwd=ms.REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    azurite = 0
    try:
        deadline = time.monotonic() + 360
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := AZURE_LINE.search(line):
                azurite = int(match.group(1))
            if "the Functions host stand-in runs" in line:  # the host child is draining the queue
                break
        assert azurite and alive(azurite), "".join(lines[-20:])
        waited = time.monotonic() + 10  # the child may not have exec'd yet when the line is printed
        while not azure_hosts(tmp_path) and time.monotonic() < waited:
            time.sleep(0.05)
        assert azure_hosts(tmp_path), "the Functions host stand-in is not running"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines) + rest
    assert proc.returncode == 130, output[-3000:]
    assert "stopped every process the demo started" in output
    assert not alive(azurite)
    assert azure_hosts(tmp_path) == []
    assert processes_using(tmp_path) == []
