"""modules/ecr and modules/aws-core agree with the core the ECR handler is built from.

- every environment variable the modules set is one `qscan.config.Settings` reads, and the settings the ECR
  handler requires are all set;
- the dashboard reads exactly the EMF metric names the handler emits;
- the role may write results exactly where `qscan.results.keys` puts ECR results;
- the severity threshold values the module accepts are the core's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qscan.config import ENV_NAMES
from qscan.metrics import DASHBOARD_METRICS, FINDING_METRICS, SCAN_METRICS
from qscan.notify.policy import THRESHOLDS
from qscan.results import keys

from scripts.hcl import load_hcl

ROOT = Path(__file__).resolve().parents[2]
ECR = ROOT / "modules" / "ecr"
CORE = ROOT / "modules" / "aws-core"
HANDLER_REQUIRED = {
    "QSCAN_DEDUPE_TABLE",
    "QSCAN_RESULTS_BUCKET",
    "QSCAN_ALERT_TOPIC_ARN",
    "QSCAN_QUALYS_SECRET_ARN",
}


def locals_of(path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in load_hcl(path).get("locals", []):
        merged.update(block)
    return merged


def core_handler_environment() -> dict[str, str]:
    for output in load_hcl(CORE / "outputs.tf")["output"]:
        if "handler_environment" in output:
            value: dict[str, str] = output["handler_environment"]["value"]
            return value
    raise AssertionError("aws-core has no handler_environment output")


def test_every_module_variable_is_a_setting() -> None:
    settings_env = set(ENV_NAMES.values())
    module_env = set(locals_of(ECR / "main.tf")["module_environment"])
    core_env = set(core_handler_environment())
    assert module_env - settings_env == set()
    assert core_env - settings_env == set()
    assert not any(name.startswith("POWERTOOLS_") for name in module_env | core_env)
    assert "QSCAN_QUALYS_POD" not in core_env and "QSCAN_RESULTS_PREFIX" not in module_env
    assert core_env | module_env >= HANDLER_REQUIRED
    assert {"QSCAN_METRICS_NAMESPACE", "QSCAN_SERVICE_NAME", "QSCAN_LOG_LEVEL"} <= module_env


def test_dashboard_reads_the_metrics_the_handler_emits() -> None:
    dashboard = locals_of(ECR / "dashboard.tf")
    assert tuple(dashboard["scan_metric_names"]) == SCAN_METRICS
    assert set(dashboard["finding_metric_names"].values()) == set(FINDING_METRICS.values())
    assert set(DASHBOARD_METRICS) == set(SCAN_METRICS) | set(FINDING_METRICS.values())
    assert locals_of(ECR / "main.tf")["service_name"] == "${var.name_prefix}-ecr"


def test_results_may_be_written_exactly_under_the_core_prefix() -> None:
    assert locals_of(ECR / "iam.tf")["results_prefix"] == f"{keys.PREFIX}/ecr/"
    assert "${local.results_prefix}*" in (ECR / "iam.tf").read_text()


def test_severity_values_match_the_core() -> None:
    text = (ECR / "variables.tf").read_text()
    block = text[text.index('variable "severity_threshold"') :]
    block = block[: block.index("\n}\n")]
    accepted = re.search(r"contains\(\[([^\]]*)\]", block)
    assert accepted is not None
    assert tuple(v.strip().strip('"') for v in accepted.group(1).split(",")) == THRESHOLDS
    assert re.search(r'default\s*=\s*"HIGH"', block)
