"""modules/ecr (with the modules/aws-lambda-worker it calls) and modules/aws-core agree with the core the ECR handler is built from.

- every environment variable the modules set is one `qscan.config.Settings` reads, and the settings the ECR
  handler requires are all set;
- the dashboard reads exactly the EMF metric names the handler emits;
- the role may write results exactly where `qscan.results.keys` puts ECR results;
- the severity threshold values the module accepts are the core's.
"""

from __future__ import annotations

import re

from qscan.config import ENV_NAMES
from qscan.notify.policy import THRESHOLDS
from qscan.results import keys

from tests.harness.tf_modules import (
    MODULES,
    WORKER,
    core_handler_environment,
    for_platform,
    handler_environment_names,
    locals_of,
)

ECR = MODULES / "ecr"
HANDLER_REQUIRED = {
    "QSCAN_DEDUPE_TABLE",
    "QSCAN_RESULTS_BUCKET",
    "QSCAN_ALERT_TOPIC_ARN",
    "QSCAN_QUALYS_SECRET_ARN",
}


def test_every_module_variable_is_a_setting() -> None:
    settings_env = set(ENV_NAMES.values())
    module_env = set(handler_environment_names(ECR))
    core_env = set(core_handler_environment())
    assert module_env - settings_env == set()
    assert core_env - settings_env == set()
    assert not any(name.startswith("POWERTOOLS_") for name in module_env | core_env)
    assert "QSCAN_QUALYS_POD" not in core_env and "QSCAN_RESULTS_PREFIX" not in module_env
    assert core_env | module_env >= HANDLER_REQUIRED
    assert {"QSCAN_METRICS_NAMESPACE", "QSCAN_SERVICE_NAME", "QSCAN_LOG_LEVEL"} <= module_env


def test_the_dashboard_reads_the_handlers_service() -> None:
    """The dashboard's metric names: tests/unit/test_dashboard_module.py; here the ECR service value."""
    assert for_platform(locals_of(WORKER / "main.tf")["service_name"], ECR) == "${var.name_prefix}-ecr"


def test_results_may_be_written_exactly_under_the_core_prefix() -> None:
    assert for_platform(locals_of(WORKER / "main.tf")["results_prefix"], ECR) == f"{keys.PREFIX}/ecr/"
    assert "${local.results_prefix}*" in (WORKER / "iam.tf").read_text()


def test_severity_values_match_the_core() -> None:
    # platform_inputs.tf is declared once (its copies in ecr, lambda and fargate are checked identical by conventions)
    text = (MODULES / "aws-lambda-worker" / "platform_inputs.tf").read_text()
    block = text[text.index('variable "severity_threshold"') :]
    block = block[: block.index("\n}\n")]
    accepted = re.search(r"contains\(\[([^\]]*)\]", block)
    assert accepted is not None
    assert tuple(v.strip().strip('"') for v in accepted.group(1).split(",")) == THRESHOLDS
    assert re.search(r'default\s*=\s*"HIGH"', block)
