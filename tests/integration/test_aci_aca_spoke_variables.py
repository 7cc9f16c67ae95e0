"""modules/aci-aca-spoke's `hub` contract and its other variables, evaluated by Terraform itself.

The azurerm provider cannot be installed here, so the module cannot be planned. Its variables.tf needs no
provider: copied into a scratch root, `terraform plan` evaluates every validation. HUB is a `spoke_config`
output of modules/aci-aca with the ids azurerm 4.x gives the queue (`.../queueServices/default/queues/<name>`),
the container (`.../blobServices/default/containers/<name>`) and a custom role definition: it plans, and
each wrong value fails with its own message.
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
MODULE = ROOT / "modules" / "aci-aca-spoke"
HUB_SUB = "8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c"
SPOKE_SUB = "3c9d1f2e-7a4b-4c6d-8e0f-1a2b3c4d5e6f"
ACCOUNT = f"/subscriptions/{HUB_SUB}/resourceGroups/rg-qscan/providers/Microsoft.Storage/storageAccounts/qscana1b2c3data"
HUB: dict[str, Any] = {
    "name": "qscan-a1b2c3",
    "scan_queue": {
        "id": f"{ACCOUNT}/queueServices/default/queues/scan-events",
        "name": "scan-events",
        "storage_account_id": ACCOUNT,
    },
    "dead_letter": {
        "id": f"{ACCOUNT}/blobServices/default/containers/eventgrid-deadletter",
        "container_name": "eventgrid-deadletter",
        "storage_account_id": ACCOUNT,
    },
    "app_principal_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    "reader_role": {
        "definition_id": f"/subscriptions/{HUB_SUB}/providers/Microsoft.Authorization/roleDefinitions/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "assign_per_subscription": True,
    },
    "event_delivery": {"max_delivery_attempts": 30, "time_to_live_minutes": 1440},
}
VALID: dict[str, Any] = {
    "hub": HUB,
    "resource_group_name": "rg-qscan-spoke",
    "excluded_subject_prefixes": [f"/subscriptions/{SPOKE_SUB}/resourceGroups/rg-{n}/" for n in range(21)],
}


def hub(**change: Any) -> dict[str, Any]:
    return {"hub": {**HUB, **change}}


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "hub name not the hub's base": (hub(name="QScan"), "hub.name must be"),
    "queue in another account than the one delivered to": (
        hub(scan_queue={**HUB["scan_queue"], "id": HUB["scan_queue"]["id"].replace("a1b2c3data", "other")}),
        "hub.scan_queue.id and hub.dead_letter.id must be",
    ),
    "dead-letter id of another container": (
        hub(dead_letter={**HUB["dead_letter"], "container_name": "results"}),
        "hub.scan_queue.id and hub.dead_letter.id must be",
    ),
    "storage account id of another type": (
        hub(
            scan_queue={
                **HUB["scan_queue"],
                "storage_account_id": f"/subscriptions/{HUB_SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/x",
            }
        ),
        "must be storage account resource ids",
    ),
    "principal id not a GUID": (hub(app_principal_id="qscan-app"), "hub.app_principal_id must be"),
    "role name instead of a role definition id": (
        hub(reader_role={"definition_id": "Reader", "assign_per_subscription": True}),
        "hub.reader_role.definition_id must be",
    ),
    "more delivery attempts than Event Grid allows": (
        hub(event_delivery={"max_delivery_attempts": 31, "time_to_live_minutes": 1440}),
        "hub.event_delivery needs",
    ),
    "22 excluded prefixes (25 filter values)": (
        {
            "excluded_subject_prefixes": [
                f"/subscriptions/{SPOKE_SUB}/resourceGroups/rg-{n}/" for n in range(22)
            ]
        },
        "at most 21 values",
    ),
    "excluded prefix not a resource id": (
        {"excluded_subject_prefixes": ["rg-sandbox"]},
        "resource id prefixes",
    ),
    "resource group ending in a dot": ({"resource_group_name": "rg."}, "resource_group_name must be"),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("aci-aca-spoke-variables")
    shutil.copy(MODULE / "variables.tf", directory / "variables.tf")
    checked(terraform(directory, "init", "-backend=false"), "terraform init")
    return directory


def plan(root: Path, values: dict[str, Any], name: str) -> tuple[int, str]:
    var_file = root / f"{name}.tfvars.json"
    var_file.write_text(json.dumps(values), encoding="utf-8")
    result = terraform(root, "plan", "-input=false", "-lock=false", f"-var-file={var_file.name}")
    return result.returncode, " ".join((result.stderr + result.stdout).split())


def test_a_hub_config_plans(root: Path) -> None:
    code, output = plan(root, VALID, "valid")
    assert code == 0, output


def test_a_management_group_reader_role_plans(root: Path) -> None:
    role = "/providers/Microsoft.Management/managementGroups/platform/providers/Microsoft.Authorization/roleDefinitions/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    values = {**VALID, **hub(reader_role={"definition_id": role, "assign_per_subscription": False})}
    code, output = plan(root, values, "management-group")
    assert code == 0, output


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_value_is_refused(root: Path, case: str) -> None:
    change, message = INVALID[case]
    code, output = plan(root, {**VALID, **change}, f"case{sorted(INVALID).index(case)}")
    assert code != 0
    assert message in output, output
