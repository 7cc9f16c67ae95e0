"""modules/aci-aca's reconciler wiring read from its HCL: the app settings the timer function and
`qscan.azure.reconciler` read, the permissions its calls need, and the never-scanned alert on the summary line
the reconciler logs."""

from __future__ import annotations

import re
from pathlib import Path

from qscan.config import ENV_NAMES
from qscan.reconcile.core import Summary

from scripts.hcl import load_hcl
from tests.unit.test_aci_aca_module import ROLES, module_locals, resources

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "handlers" / "azure" / "function_app.py"
RECONCILER = ROOT / "shared" / "qscan" / "azure" / "reconciler.py"
VARIABLES = ROOT / "modules" / "aci-aca" / "variables.tf"


def test_reconcile_settings_are_the_ones_the_app_reads_and_reach_it() -> None:
    locals_ = module_locals()
    settings = locals_["reconcile_settings"]
    keys = set(re.findall(r"\b(QSCAN_[A-Z0-9_]+)\s*=", settings))
    schedule = re.search(r'RECONCILE_SETTING = "([A-Z_]+)"', APP.read_text()).group(1)  # type: ignore[union-attr]
    assert schedule == "QSCAN_RECONCILE_SCHEDULE"  # the setting that registers the timer function
    assert keys - {schedule} <= set(ENV_NAMES.values())  # every other key is a core setting
    assert keys == {
        schedule,
        "QSCAN_RECONCILE_SUBSCRIPTION_IDS",
        "QSCAN_RECONCILE_LOOKBACK_DAYS",
        "QSCAN_RECONCILE_MAX_PAGES",
        "QSCAN_RECONCILE_MAX_SECONDS",
        "QSCAN_RECONCILE_MAX_REQUESTS",
    }
    assert settings.startswith("${var.reconcile.enabled ?")  # disabled: no schedule, so no timer function
    # the run's time budget ends a minute before the function's timeout kills it
    assert "min(var.reconcile.max_seconds, local.function_timeout_seconds - 60)" in settings
    assert "local.reconcile_settings" in locals_["app_settings"]
    assert "[local.subscription_id]" in locals_["reconcile_subscription_ids"]  # default: the module's own


def test_the_reconciler_needs_no_role_beyond_the_apps() -> None:
    """It lists with the reader role (its executions action is in the custom role's test), queues its requests
    with the app's Storage Queue Data Contributor on the scan queue (which includes messages/add) and writes
    inventory/ documents with the app's Storage Blob Data Contributor on the results container."""
    assignments = resources()["azurerm_role_assignment"]
    for name, role, scope in (
        ("app_scan_queue", "Storage Queue Data Contributor", "${azurerm_storage_queue.scan.id}"),
        ("app_results", "Storage Blob Data Contributor", "${azurerm_storage_container.results.id}"),
    ):
        assert (assignments[name]["role_definition_name"], assignments[name]["scope"]) == (role, scope)
        assert assignments[name]["principal_id"] == ROLES[name][2]  # the app's identity
    (permissions,) = resources()["azurerm_role_definition"]["reader"]["permissions"]
    assert "Microsoft.App/jobs/executions/read" in permissions["actions"]


def test_the_never_scanned_alert_reads_the_summary_the_reconciler_logs() -> None:
    alert = resources()["azurerm_monitor_scheduled_query_rules_alert_v2"]["never_scanned"]
    assert alert["count"] == "${var.reconcile.enabled && var.reconcile.never_scanned_alert ? 1 : 0}"
    assert alert["scopes"] == ["${azurerm_application_insights.this.id}"]
    assert (alert["window_duration"], alert["evaluation_frequency"]) == (
        "P1D",
        "PT1H",
    )  # above zero for a day
    (criteria,) = alert["criteria"]
    assert (criteria["time_aggregation_method"], criteria["operator"], criteria["threshold"]) == (
        "Minimum",  # in every run of the window
        "GreaterThan",
        0,
    )
    assert criteria["metric_measure_column"] == "never_scanned"
    (dimension,) = criteria["dimension"]
    assert dimension["name"] == "subscription"
    query = criteria["query"]
    source = RECONCILER.read_text()
    assert '"reconcile summary: subscription' in source and 'message has "reconcile summary"' in query
    assert '"reconcile": {**summary.to_dict(), "subscription": subscription' in source
    assert "summary.never_scanned" in query and "never_scanned" in Summary("run").to_dict()
    assert "summary.subscription" in query
    (action,) = alert["action"]
    assert action["action_groups"] == ["${local.action_group_id}"]


def test_the_reconcile_variable_defaults() -> None:
    (variable,) = [v["reconcile"] for v in load_hcl(VARIABLES)["variable"] if "reconcile" in v]
    text = variable["type"]
    assert '"0 0 */6 * * *"' in text  # every six hours
    assert "max_seconds" in text and "optional(number, 540)" in text  # below the 12-minute functionTimeout
