"""modules/aci-aca and environments/azure read from their HCL: every role assignment and why, storage hardening,
the app's settings, the package the environment deploys.

The azurerm provider cannot be installed here (no plan, no `terraform test`): these tests read the module with
python-hcl2. ROLES is the module's whole RBAC: an assignment added or removed without a row here fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from qscan.config import ENV_NAMES

from scripts import package
from scripts.hcl import load_hcl
from tests.harness.hcl_eval import Evaluator

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "modules" / "aci-aca"
ENVIRONMENT = ROOT / "environments" / "azure"
APP = "${azurerm_user_assigned_identity.this.principal_id}"

# name -> (role, scope, principal, why it is needed)
# The system topic's roles are modules/aci-aca-spoke's (tests/unit/test_aci_aca_spoke.py).
ROLES: dict[str, tuple[str, str, str, str]] = {
    "app_reader": (
        "${azurerm_role_definition.reader.role_definition_resource_id}",
        "${local.reader_scope}",
        APP,
        "events carry no container list: the app reads container groups, container apps and jobs through ARM",
    ),
    "app_acr_pull": (
        "AcrPull",
        "${each.value}",
        APP,
        "tag to digest resolution and qscanner's pull from the listed registries",
    ),
    "app_scan_queue": (
        "Storage Queue Data Contributor",
        "${azurerm_storage_queue.scan.id}",
        APP,
        "the queue trigger reads, updates and deletes messages (Reader/Processor cannot poison them)",
    ),
    "app_poison_queue": (
        "Storage Queue Data Contributor",
        "${azurerm_storage_queue.poison.id}",
        APP,
        "the Functions host moves a message to <queue>-poison after maxDequeueCount attempts",
    ),
    "app_dedupe_table": (
        "Storage Table Data Contributor",
        "${azurerm_storage_table.dedupe.resource_manager_id}",
        APP,
        "claims, completions and releases in the dedupe table",
    ),
    "app_results": (
        "Storage Blob Data Contributor",
        "${azurerm_storage_container.results.id}",
        APP,
        "scan results are written to the results container",
    ),
    "app_host_storage": (
        "Storage Blob Data Owner",
        "${azurerm_storage_account.host.id}",
        APP,
        "identity-based AzureWebJobsStorage: the host's leases and keys",
    ),
    "app_key_vault": (
        "Key Vault Secrets User",
        "${azurerm_key_vault.this.id}",
        APP,
        "the app reads the Qualys secret (value set outside Terraform)",
    ),
    "app_notifications": (
        "EventGrid Data Sender",
        "${azurerm_eventgrid_topic.notifications.id}",
        APP,
        "scan notifications are published to the custom topic",
    ),
    "app_activity_log": (
        "Azure Event Hubs Data Receiver",
        "${azurerm_eventhub.activity_log[0].id}",
        APP,
        "the optional Event Hub trigger reads Activity Log batches",
    ),
    "app_scan_jobs": (
        "${azurerm_role_definition.scan_job[0].role_definition_resource_id}",
        "${local.scanner_resource_group_id}",
        APP,
        "aci-job mode: the app creates, watches and deletes its scan-job container groups in its resource group",
    ),
    "app_scan_job_identity": (
        "${azurerm_role_definition.scan_job_identity[0].role_definition_resource_id}",
        "${azurerm_user_assigned_identity.this.id}",
        APP,
        "aci-job mode: a group that runs as the app's identity needs assign/action on that identity, only it",
    ),
}


def resources() -> dict[str, dict[str, dict[str, Any]]]:
    """type -> name -> body over every .tf file of the module."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(MODULE.glob("*.tf")):
        for entry in load_hcl(path).get("resource", []):
            for kind, named in entry.items():
                for name, body in named.items():
                    found.setdefault(kind, {})[name] = body
    return found


def module_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(MODULE.glob("*.tf")):
        for block in load_hcl(path).get("locals", []):
            merged.update(block)
    return merged


def test_every_role_assignment_has_a_reason() -> None:
    assignments = resources()["azurerm_role_assignment"]
    assert set(assignments) == set(ROLES), "add or remove the row in ROLES, with the reason"


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_assignment(name: str) -> None:
    role, scope, principal, why = ROLES[name]
    body = resources()["azurerm_role_assignment"][name]
    assert body.get("role_definition_name", body.get("role_definition_id")) == role, why
    assert body["scope"] == scope, why
    assert body["principal_id"] == principal, why
    assert body["principal_type"] == "ServicePrincipal"
    assert str(body["description"]).startswith("qscan: ")


def test_the_custom_role_reads_only_the_three_workload_kinds() -> None:
    role = resources()["azurerm_role_definition"]["reader"]
    (permissions,) = role["permissions"]
    assert permissions == {
        "actions": [
            "Microsoft.ContainerInstance/containerGroups/read",  # GET and the reconciler's list
            "Microsoft.App/containerApps/read",  # GET and the reconciler's list_by_subscription
            "Microsoft.App/jobs/read",  # GET and the reconciler's list_by_subscription
            # the reconciler's jobs_executions.list: an execution started with its own images emits no event
            "Microsoft.App/jobs/executions/read",
        ]
    }
    assert role["scope"] == "${local.reader_scope}"
    assert role["assignable_scopes"] == "${local.reader_assignable_scopes}"


def test_the_scan_job_roles_allow_only_container_groups_and_assigning_the_app_identity() -> None:
    definitions = resources()["azurerm_role_definition"]
    (runner,) = definitions["scan_job"]["permissions"]
    assert runner == {
        "actions": [
            "Microsoft.ContainerInstance/containerGroups/write",
            "Microsoft.ContainerInstance/containerGroups/read",
            "Microsoft.ContainerInstance/containerGroups/delete",
        ]
    }
    (assigner,) = definitions["scan_job_identity"]["permissions"]
    assert assigner == {"actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"]}
    for name in ("scan_job", "scan_job_identity"):
        assert definitions[name]["scope"] == "${local.scanner_resource_group_id}"
        assert definitions[name]["assignable_scopes"] == ["${local.scanner_resource_group_id}"]
        assert definitions[name]["count"] == "${var.scan_job.enabled ? 1 : 0}"


def test_scan_job_settings_are_core_settings_and_reach_the_app() -> None:
    locals_ = module_locals()
    settings = locals_["scan_job_settings"]
    keys = set(re.findall(r"\b(QSCAN_[A-Z0-9_]+)\s*=", settings))
    assert keys <= set(ENV_NAMES.values())
    assert {
        "QSCAN_AZURE_SCAN_MODE",
        "QSCAN_SCAN_JOB_IMAGE",
        "QSCAN_SCAN_JOB_RESOURCE_GROUP_ID",
        "QSCAN_SCAN_JOB_IDENTITY_ID",
        "QSCAN_SCAN_JOB_LOCATION",
        "QSCAN_STORAGE_QUEUE_URL",
    } <= keys
    assert "local.scan_job_settings" in locals_["app_settings"]


def test_the_function_app_starts_after_its_storage_roles() -> None:
    app = resources()["azurerm_linux_function_app"]["this"]
    assert set(app["depends_on"]) == {
        "${azurerm_role_assignment.app_host_storage}",
        "${azurerm_role_assignment.app_scan_queue}",
        "${azurerm_role_assignment.app_poison_queue}",
    }
    assert app["storage_uses_managed_identity"] is True
    assert app["key_vault_reference_identity_id"] == "${azurerm_user_assigned_identity.this.id}"
    assert app["zip_deploy_file"] == "${var.handler_artifact.local_path}"


@pytest.mark.parametrize("name", ["data", "host"])
def test_storage_accounts_take_no_shared_keys(name: str) -> None:
    account = resources()["azurerm_storage_account"][name]
    assert account["shared_access_key_enabled"] is False
    assert account["min_tls_version"] == "TLS1_2"
    assert account["infrastructure_encryption_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False


def test_the_poison_queue_is_the_one_the_host_uses() -> None:
    evaluator = Evaluator(module_locals(), {})
    assert (
        evaluator.value("${local.poison_queue_name}")
        == evaluator.value("${local.scan_queue_name}") + "-poison"
    )
    queues = resources()["azurerm_storage_queue"]
    assert queues["poison"]["name"] == "${local.poison_queue_name}"


def test_app_settings_are_core_settings_or_connections() -> None:
    settings = module_locals()["app_settings"]
    # merge(local.queue_connection_settings, local.activity_log_settings, {...}): the keys of the literal map.
    literal_keys = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", settings))
    core = set(ENV_NAMES.values())
    own = {"QSCAN_SCAN_QUEUE_NAME"}
    platform = {
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AZURE_CLIENT_ID",
        "WEBSITE_RUN_FROM_PACKAGE",
    }
    assert literal_keys - core - own - platform == set()
    assert {
        "QSCAN_CLOUD",
        "QSCAN_QUALYS_SECRET_URI",
        "QSCAN_STORAGE_ACCOUNT_URL",
        "QSCAN_DEDUPE_TABLE_NAME",
        "QSCAN_RESULTS_CONTAINER",
        "QSCAN_EVENTGRID_TOPIC_ENDPOINT",
        "QSCAN_REGISTRY_CREDENTIALS_SECRET_URI",  # only with registry_credentials_secret_name
    } <= literal_keys


def test_queue_connection_is_identity_based() -> None:
    locals_ = module_locals()
    assert locals_["queue_connection_prefix"] == "QSCAN_STORAGE"
    connection = locals_["queue_connection_settings"]
    assert set(connection) == {
        "${local.queue_connection_prefix}__queueServiceUri",
        "${local.queue_connection_prefix}__credential",
        "${local.queue_connection_prefix}__clientId",
    }
    assert connection["${local.queue_connection_prefix}__credential"] == "managedidentity"


def test_host_json_queue_settings_come_from_the_variables() -> None:
    queues = module_locals()["host_json"]["extensions"]["queues"]
    assert queues["batchSize"] == "${var.queue_batch_size}"
    assert queues["maxDequeueCount"] == "${var.queue_max_dequeue_count}"
    assert queues["visibilityTimeout"] == "${local.visibility_timeout}"
    assert queues["newBatchThreshold"] == 0


def test_host_settings_override_the_same_host_json_values() -> None:
    locals_ = module_locals()
    overridden = set()
    for key, value in locals_["host_settings"].items():
        path = key.removeprefix("AzureFunctionsJobHost__").split("__")
        node = locals_["host_json"]
        for part in path:
            node = node[part]
        inner = node.removeprefix("${").removesuffix("}")
        assert value in (node, "${tostring(" + inner + ")}"), key
        overridden.add(".".join(path))
    assert overridden == {
        "functionTimeout",
        "extensions.queues.batchSize",
        "extensions.queues.maxDequeueCount",
        "extensions.queues.visibilityTimeout",
    }
    assert "local.host_settings" in locals_["app_settings"]


def _variable_default(path: Path, name: str) -> Any:
    for variable in load_hcl(path)["variable"]:
        if name in variable:
            return variable[name].get("default")
    raise AssertionError(f"{path} has no variable {name}")


def test_the_default_python_is_the_one_make_package_builds_for() -> None:
    assert f"python{_variable_default(MODULE / 'variables.tf', 'python_version')}" == package.AZURE_RUNTIME


def test_the_environment_deploys_the_package_make_package_writes(tmp_path: Path) -> None:
    (tmp_path / "handlers" / "azure").mkdir(parents=True)
    (tmp_path / "handlers" / "azure" / "function_app.py").write_text("")
    names = {spec.name for spec in package.specs(tmp_path, None)}
    environment = ENVIRONMENT / "main.tf"
    (artifact,) = re.findall(r'artifacts\["([a-z-]+)"\]', environment.read_text(encoding="utf-8"))
    assert artifact in names


def test_the_environment_uses_every_variable() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(ENVIRONMENT.glob("*.tf")))
    declared = {name for variable in load_hcl(ENVIRONMENT / "variables.tf")["variable"] for name in variable}
    unused = {name for name in declared if f"var.{name}" not in text.replace(f'variable "{name}"', "")}
    assert unused == set()
