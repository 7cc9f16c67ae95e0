"""modules/aci-aca's variable validations and host.json, evaluated by Terraform itself.

The azurerm provider cannot be installed here, so the module cannot be planned. Its variables.tf and
host_json.tf need no provider: copied into a scratch root, `terraform plan` evaluates every validation (a valid
set of values plans, each wrong value fails with its own message) and `terraform console` renders host.json,
which with the default variables must be the app package's handlers/azure/host.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.harness.tf_env import checked, outputs, terraform

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "modules" / "aci-aca"
APP_HOST_JSON = ROOT / "handlers" / "azure" / "host.json"
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
    "spoke_subscription_ids": [f"3c9d1f2e-7a4b-4c6d-8e0f-{n:012x}" for n in range(49)],
    "reconcile": {"schedule": "0 30 */4 * * *", "subscription_ids": [SUB.upper()], "lookback_days": 30},
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
    "five-field reconcile schedule": ({"reconcile": {"schedule": "0 */6 * * *"}}, "six-field NCRONTAB"),
    "reconcile subscription not a GUID": ({"reconcile": {"subscription_ids": ["prod"]}}, "subscription ids"),
    "reconcile lookback of 0 days": ({"reconcile": {"lookback_days": 0}}, "lookback_days must be"),
    "reconcile run past the function timeout": ({"reconcile": {"max_seconds": 900}}, "max_seconds must be"),
    "reconcile without requests": ({"reconcile": {"max_requests": 0}}, "max_requests must be"),
    "spoke subscription not a GUID": (
        {"spoke_subscription_ids": ["shop-prod"]},
        "spoke_subscription_ids must be",
    ),
    "50 spokes and the hub past the reconciler's 50": (
        {"spoke_subscription_ids": [f"3c9d1f2e-7a4b-4c6d-8e0f-{n:012x}" for n in range(50)]},
        "spoke_subscription_ids must be",
    ),
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
    for name in ("variables.tf", "host_json.tf"):
        shutil.copy(MODULE / name, directory / name)
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


def rendered(root: Path, values: dict[str, Any]) -> dict[str, Any]:
    """host_json and host_settings for these values: `terraform apply` of outputs only (nothing to create)."""
    (root / "outputs.tf").write_text(
        'output "host_json" {\n  value = local.host_json\n}\n\n'
        'output "host_settings" {\n  value = local.host_settings\n}\n',
        encoding="utf-8",
    )
    var_file = root / "render.tfvars.json"
    var_file.write_text(json.dumps(values), encoding="utf-8")
    apply = terraform(
        root, "apply", "-auto-approve", "-input=false", "-lock=false", f"-var-file={var_file.name}"
    )
    checked(apply, "terraform apply")
    return outputs(root)


def test_the_app_package_carries_the_default_host_json(root: Path) -> None:
    assert rendered(root, VALID)["host_json"] == json.loads(APP_HOST_JSON.read_text(encoding="utf-8"))


def test_host_json_follows_the_variables(root: Path) -> None:
    values = {
        **VALID,
        "queue_batch_size": 2,
        "queue_max_dequeue_count": 8,
        "queue_visibility_timeout_seconds": 3599,
        "scan_timeout_seconds": 7200,
    }
    result = rendered(root, values)
    host = result["host_json"]
    assert host["extensions"]["queues"]["batchSize"] == 2
    assert host["extensions"]["queues"]["maxDequeueCount"] == 8
    assert host["extensions"]["queues"]["visibilityTimeout"] == "00:59:59"
    assert host["functionTimeout"] == "02:02:00"
    assert result["host_settings"] == {
        "AzureFunctionsJobHost__functionTimeout": "02:02:00",
        "AzureFunctionsJobHost__extensions__queues__batchSize": "2",
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "8",
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:59:59",
    }
