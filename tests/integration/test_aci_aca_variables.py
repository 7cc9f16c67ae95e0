"""modules/aci-aca's variable validations, run by Terraform itself.

The azurerm provider cannot be installed here, so the module cannot be planned. Its variables.tf alone needs no
provider: copied into a scratch root, `terraform plan` evaluates every validation. A valid set of values plans
(nothing to create); each wrong value fails with its own message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.harness.tf_env import checked, terraform

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = ROOT / "modules" / "aci-aca" / "variables.tf"
SUB = "8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c"
VALID: dict[str, Any] = {
    "name_suffix": "a1b2c3",
    "resource_group_name": "rg-qscan",
    "location": "westeurope",
    "handler_artifact": {
        "local_path": "dist/azure-functions-0123456789abcdef.zip",
        "source_code_hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    },
    "alert_emails": ["security@example.com"],
    "excluded_subject_prefixes": [f"/subscriptions/{SUB}/resourceGroups/rg-{n}/" for n in range(21)],
    "acr_registry_ids": [
        f"/subscriptions/{SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/shopacr"
    ],
    "reader_scope": "/providers/Microsoft.Management/managementGroups/platform",
    "no_scan_alert_hours": 48,
}

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "22 excluded prefixes (25 filter values)": (
        {"excluded_subject_prefixes": [f"/subscriptions/{SUB}/resourceGroups/rg-{n}/" for n in range(22)]},
        "at most 21 values",
    ),
    "excluded prefix not a resource id": (
        {"excluded_subject_prefixes": ["rg-sandbox"]},
        "resource id prefixes",
    ),
    "upper-case prefix": ({"name_prefix": "QScan"}, "name_prefix must be"),
    "short suffix": ({"name_suffix": "ab"}, "name_suffix must be"),
    "consumption plan": ({"plan_sku": "Y1"}, "plan_sku must be EP1, EP2 or EP3"),
    "alert window Azure Monitor lacks": ({"no_scan_alert_hours": 12}, "no_scan_alert_hours must be"),
    "artifact not a zip": (
        {"handler_artifact": {**VALID["handler_artifact"], "local_path": "dist/app.tar"}},
        "handler_artifact needs",
    ),
    "reader scope a resource group": (
        {"reader_scope": f"/subscriptions/{SUB}/resourceGroups/rg"},
        "reader_scope must be",
    ),
    "registry id of another type": (
        {
            "acr_registry_ids": [
                f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x"
            ]
        },
        "acr_registry_ids entries",
    ),
    "too many delivery attempts": (
        {"event_max_delivery_attempts": 31},
        "event_max_delivery_attempts must be",
    ),
    "visibility timeout over an hour": (
        {"queue_visibility_timeout_seconds": 3601},
        "queue_visibility_timeout_seconds must be",
    ),
    "python the package is not built for": ({"python_version": "3.10"}, "python_version must be"),
    "action group id of another type": (
        {
            "existing_action_group_id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/x"
        },
        "existing_action_group_id must be",
    ),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("aci-aca-variables")
    shutil.copy(VARIABLES, directory / "variables.tf")
    checked(terraform(directory, "init", "-backend=false"), "terraform init")
    return directory


def plan(root: Path, values: dict[str, Any], name: str) -> tuple[int, str]:
    var_file = root / f"{name}.tfvars.json"
    var_file.write_text(json.dumps(values), encoding="utf-8")
    result = terraform(root, "plan", "-input=false", "-lock=false", f"-var-file={var_file.name}")
    return result.returncode, " ".join((result.stderr + result.stdout).split())


def test_valid_values_plan(root: Path) -> None:
    code, output = plan(root, VALID, "valid")
    assert code == 0, output


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_value_is_refused(root: Path, case: str) -> None:
    change, message = INVALID[case]
    code, output = plan(root, {**VALID, **change}, f"case{sorted(INVALID).index(case)}")
    assert code != 0
    assert message in output, output
