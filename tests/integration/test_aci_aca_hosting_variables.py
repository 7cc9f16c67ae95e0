"""modules/aci-aca's `hosting`, `flex_consumption` and `scan_job` validations, evaluated by Terraform itself
(variables.tf in a scratch root, as tests/integration/test_aci_aca_variables.py does: the azurerm provider cannot
be installed, so the module cannot be planned): both hostings and the scan-job mode plan with valid values, each
wrong value fails with its own message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.harness.tf_env import checked, terraform

pytestmark = pytest.mark.integration

MODULE = Path(__file__).resolve().parents[2] / "modules" / "aci-aca"
REQUIRED: dict[str, Any] = {
    "name_suffix": "a1b2c3",
    "resource_group_name": "rg-qscan",
    "location": "westeurope",
    "handler_artifact": {
        "local_path": "dist/azure-functions-0123456789abcdef.zip",
        "source_code_hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    },
    "alert_emails": ["security@example.com"],
}
JOB = {
    "enabled": True,
    "image": "shopacr.azurecr.io/qscan/scan-job:1.0",
    "cpu": 4,
    "memory_gb": 16,
    "check_delay_seconds": 1,
}
VALID: dict[str, dict[str, Any]] = {
    "defaults (Elastic Premium, no scan jobs)": {},
    "Elastic Premium with scan jobs": {"scan_job": JOB},
    "Flex Consumption": {"hosting": "flex_consumption"},
    "Flex Consumption sized, with scan jobs by digest": {
        "hosting": "flex_consumption",
        "flex_consumption": {"maximum_instance_count": 1000, "instance_memory_in_mb": 4096},
        "scan_job": {**JOB, "image": "shopacr.azurecr.io/qscan/scan-job@sha256:" + "0" * 64},
    },
    "a disabled scan job needs no image": {"scan_job": {"enabled": False}},
}
INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "hosting Linux Consumption": ({"hosting": "consumption"}, "hosting must be elastic_premium or"),
    "flex with no instances": (
        {"flex_consumption": {"maximum_instance_count": 0}},
        "flex_consumption.maximum_instance_count must be",
    ),
    "flex instance memory it has no size for": (
        {"flex_consumption": {"instance_memory_in_mb": 1024}},
        "flex_consumption.instance_memory_in_mb must be",
    ),
    "scan job without an image": ({"scan_job": {"enabled": True}}, "scan_job.image must be set"),
    "scan job image with a space": (
        {"scan_job": {**JOB, "image": "scan job:latest"}},
        "scan_job.image must be set",
    ),
    "scan job with 5 cores": ({"scan_job": {**JOB, "cpu": 5}}, "scan_job.cpu must be"),
    "scan job with half a core": ({"scan_job": {**JOB, "cpu": 1.5}}, "scan_job.cpu must be"),
    "scan job with 17 GB": ({"scan_job": {**JOB, "memory_gb": 17}}, "scan_job.memory_gb must be"),
    "scan job checked every 0 s": (
        {"scan_job": {**JOB, "check_delay_seconds": 0}},
        "scan_job.check_delay_seconds must be",
    ),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("aci-aca-hosting")
    shutil.copy(MODULE / "variables.tf", directory / "variables.tf")
    checked(terraform(directory, "init", "-backend=false"), "terraform init")
    return directory


def plan(root: Path, values: dict[str, Any], name: str) -> tuple[int, str]:
    var_file = root / f"{name}.tfvars.json"
    var_file.write_text(json.dumps({**REQUIRED, **values}), encoding="utf-8")
    result = terraform(root, "plan", "-input=false", "-lock=false", f"-var-file={var_file.name}")
    return result.returncode, " ".join((result.stderr + result.stdout).split())


@pytest.mark.parametrize("case", sorted(VALID))
def test_valid_values_plan(root: Path, case: str) -> None:
    code, output = plan(root, VALID[case], f"valid{sorted(VALID).index(case)}")
    assert code == 0, output


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_value_is_refused(root: Path, case: str) -> None:
    change, message = INVALID[case]
    code, output = plan(root, change, f"case{sorted(INVALID).index(case)}")
    assert code != 0
    assert message in output, output
