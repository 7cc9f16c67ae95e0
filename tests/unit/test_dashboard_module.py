"""modules/aws-dashboard reads exactly the EMF metrics the handlers emit (qscan.metrics), and every scanner that
shows it (the worker for ECR and Lambda, modules/fargate) passes the namespace and `service` value its handler
writes (QSCAN_METRICS_NAMESPACE, QSCAN_SERVICE_NAME)."""

from __future__ import annotations

import re

from qscan.metrics import DASHBOARD_METRICS, FINDING_METRICS, SCAN_METRICS

from scripts.hcl import load_hcl
from tests.harness.tf_modules import MODULES, WORKER, locals_of

DASHBOARD = MODULES / "aws-dashboard"
FARGATE = MODULES / "fargate"


def dashboard_call(path: str) -> dict[str, object]:
    (call,) = [b["dashboard"] for b in load_hcl(path).get("module", []) if "dashboard" in b]
    assert call["source"] == "../aws-dashboard"
    return call  # type: ignore[no-any-return]


def test_the_dashboard_reads_the_metrics_the_handlers_emit() -> None:
    names = locals_of(DASHBOARD / "main.tf")
    assert tuple(names["scan_metric_names"]) == SCAN_METRICS
    assert set(names["finding_metric_names"].values()) == set(FINDING_METRICS.values())
    assert set(DASHBOARD_METRICS) == set(SCAN_METRICS) | set(FINDING_METRICS.values())
    per_account = {name for widget in names["per_account_metrics"].values() for name in widget["metrics"]}
    assert per_account <= set(SCAN_METRICS)
    # every custom-metric widget line reads one of those names, in the caller's namespace and service
    text = (DASHBOARD / "main.tf").read_text()
    reads = re.findall(r"\[var\.metrics_namespace, ([^,]+), \"service\", var\.service_name", text)
    assert reads == ["name", "local.finding_metric_names[severity]"]
    # the per-account widgets SEARCH the same names in the [service, account] dimension set
    searches = re.findall(
        r'\{\\"\$\{var\.metrics_namespace\}\\",account,service\} MetricName=\\"\$\{(\w+)\}\\" '
        r'service=\\"\$\{var\.service_name\}\\"',
        text,
    )
    assert searches == ["name"]
    assert text.count("var.metrics_namespace") == len(reads) + len(searches)


def test_each_scanner_passes_the_namespace_and_service_its_handler_writes() -> None:
    worker = dashboard_call(str(WORKER / "dashboard.tf"))
    worker_env = locals_of(WORKER / "main.tf")["common_environment"]
    assert (worker["metrics_namespace"], worker["service_name"]) == (
        worker_env["QSCAN_METRICS_NAMESPACE"],
        worker_env["QSCAN_SERVICE_NAME"],
    )
    fargate = dashboard_call(str(FARGATE / "dashboard.tf"))
    fargate_env = locals_of(FARGATE / "main.tf")["task_environment"]
    assert "QSCAN_METRICS_NAMESPACE" in fargate_env and "QSCAN_SERVICE_NAME" in fargate_env
    assert (fargate["metrics_namespace"], fargate["service_name"]) == (
        "${var.metrics_namespace}",
        "${local.service_name}",
    )
    assert locals_of(FARGATE / "main.tf")["service_name"] == "${var.name_prefix}-fargate"
    assert (worker["create"], fargate["create"]) == ("${var.create_dashboard}", "${var.create_dashboard}")
