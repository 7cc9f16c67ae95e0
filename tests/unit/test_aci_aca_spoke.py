"""modules/aci-aca-spoke and environments/azure-spoke read from their HCL: the hub's `spoke_config` contract,
the one code path the hub and the spokes share, every role assignment and why, what the spoke environment hands
the module (the event filters, rendered in a spoke's subscription, are tested in test_eventgrid_filters.py).

The azurerm provider cannot be installed here (no plan): these tests read the HCL with python-hcl2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scripts.hcl import load_hcl

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "modules" / "aci-aca"
SPOKE = ROOT / "modules" / "aci-aca-spoke"
HUB_ENVIRONMENT = ROOT / "environments" / "azure"
SPOKE_ENVIRONMENT = ROOT / "environments" / "azure-spoke"
TOPIC = "${local.system_topic_principal_id}"

# name -> (role, scope, principal, why it is needed)
ROLES: dict[str, tuple[str, str, str, str]] = {
    "topic_queue_sender": (
        "Storage Queue Data Message Sender",
        "${var.hub.scan_queue.id}",
        TOPIC,
        "Event Grid delivers the subscription's write events to the hub's scan queue with the topic's identity",
    ),
    "topic_dead_letter_writer": (
        "Storage Blob Data Contributor",
        "${var.hub.dead_letter.id}",
        TOPIC,
        "Event Grid dead-letters undeliverable events to the hub's container with the topic's identity",
    ),
    "app_reader": (
        "${local.reader_role_definition_id}",
        "/subscriptions/${local.subscription_id}",
        "${var.hub.app_principal_id}",
        "events carry no container list: the hub app reads this subscription's workloads through ARM",
    ),
}


def blocks(directory: Path, kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.tf")):
        found.extend(load_hcl(path).get(kind, []))
    return found


def resources(directory: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """type -> name -> body over every .tf file of the directory."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for entry in blocks(directory, "resource"):
        for kind, named in entry.items():
            for name, body in named.items():
                found.setdefault(kind, {})[name] = body
    return found


def named(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """name -> body of the module, variable or output blocks."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in blocks(directory, kind):
        merged.update(entry)
    return merged


def module_locals(directory: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in blocks(directory, "locals"):
        merged.update(block)
    return merged


# ------------------------------------------------------------------ type expressions
_TOKEN = re.compile(r"\s*(object\(\{|\}\)|,|[A-Za-z_][A-Za-z0-9_]*\s*=|[a-z]+(?:\([a-z]+\))?)")


def object_type(expression: str) -> dict[str, Any]:
    """`object({a = string, b = object({c = bool})})` as {"a": "string", "b": {"c": "bool"}}."""
    text = expression.removeprefix("${").removesuffix("}")
    tokens = [m.group(1).replace(" ", "") for m in _TOKEN.finditer(text)]
    assert "".join(tokens) == re.sub(r"\s+", "", text), f"unparsed type: {text}"
    position = 0

    def parse() -> Any:
        nonlocal position
        token = tokens[position]
        position += 1
        if token != "object({":
            return token
        fields: dict[str, Any] = {}
        while tokens[position] != "})":
            name = tokens[position].removesuffix("=")
            position += 1
            fields[name] = parse()
            if tokens[position] == ",":
                position += 1
        position += 1
        return fields

    result = parse()
    assert isinstance(result, dict) and position == len(tokens)
    return result


def shape(value: Any) -> Any:
    """A config literal's attribute names, nested (leaves become None)."""
    return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else None


# ------------------------------------------------------------------ the contract
def test_the_hub_config_has_exactly_the_attributes_the_spoke_reads() -> None:
    hub_type = object_type(named(SPOKE, "variable")["hub"]["type"])
    spoke_config = module_locals(HUB)["spoke_config"]
    assert shape(spoke_config) == shape(hub_type)


def test_the_spoke_environment_takes_the_module_type_verbatim() -> None:
    module_type = object_type(named(SPOKE, "variable")["hub"]["type"])
    environment_type = object_type(named(SPOKE_ENVIRONMENT, "variable")["hub"]["type"])
    assert environment_type == module_type
    assert named(SPOKE_ENVIRONMENT, "module")["spoke"]["hub"] == "${var.hub}"


def test_the_hub_outputs_the_config_its_environment_hands_on() -> None:
    assert named(HUB, "output")["spoke_config"]["value"] == "${local.spoke_config}"
    assert named(HUB_ENVIRONMENT, "output")["spoke_config"]["value"] == "${module.aci_aca.spoke_config}"


def test_the_config_names_the_hub_queue_and_dead_letter_container() -> None:
    config = module_locals(HUB)["spoke_config"]
    assert config["scan_queue"] == {
        "id": "${azurerm_storage_queue.scan.id}",
        "name": "${azurerm_storage_queue.scan.name}",
        "storage_account_id": "${azurerm_storage_account.data.id}",
    }
    assert config["dead_letter"] == {
        "id": "${azurerm_storage_container.dead_letter.id}",
        "container_name": "${azurerm_storage_container.dead_letter.name}",
        "storage_account_id": "${azurerm_storage_account.data.id}",
    }
    assert config["app_principal_id"] == "${azurerm_user_assigned_identity.this.principal_id}"
    assert config["reader_role"] == {
        "definition_id": "${azurerm_role_definition.reader.role_definition_resource_id}",
        "assign_per_subscription": "${!local.reader_at_management_group}",
    }


def test_the_hub_environment_passes_the_spoke_subscriptions() -> None:
    call = named(HUB_ENVIRONMENT, "module")["aci_aca"]
    assert call["spoke_subscription_ids"] == "${var.spoke_subscription_ids}"
    assert call["reader_scope"] == "${var.reader_scope}"
    reconcile = module_locals(HUB)["reconcile_subscription_ids"]
    assert "concat([local.subscription_id], var.spoke_subscription_ids)" in reconcile
    scopes = module_locals(HUB)["reader_assignable_scopes"]
    assert "var.spoke_subscription_ids" in scopes


# ------------------------------------------------------------------ one code path for hub and spokes
SPOKE_OWNED = {
    "azurerm_eventgrid_system_topic.this",
    "azurerm_role_assignment.topic_queue_sender",
    "azurerm_role_assignment.topic_dead_letter_writer",
    "azurerm_eventgrid_system_topic_event_subscription.this",
}


def test_the_hub_subscription_goes_through_the_spoke_module() -> None:
    call = named(HUB, "module")["subscription_events"]
    assert call["source"] == "../aci-aca-spoke"
    assert call["resource_group_name"] == "${var.resource_group_name}"
    assert call["existing_system_topic"] == "${var.existing_system_topic}"
    assert call["excluded_subject_prefixes"] == "${var.excluded_subject_prefixes}"
    # The hub assigns the reader role at reader_scope itself (rbac.tf), not again through the module.
    assert "assign_per_subscription = false" in call["hub"]
    hub_resources = resources(HUB)
    assert "azurerm_eventgrid_system_topic" not in hub_resources
    assert "azurerm_eventgrid_system_topic_event_subscription" not in hub_resources


def test_every_resource_that_left_the_hub_module_is_moved() -> None:
    moved = {
        block["from"].removeprefix("${").removesuffix("}"): block["to"].removeprefix("${").removesuffix("}")
        for block in blocks(HUB, "moved")
        if block["to"].startswith("${module.subscription_events.")
    }
    assert moved == {address: f"module.subscription_events.{address}" for address in SPOKE_OWNED}
    spoke_addresses = {f"{kind}.{name}" for kind, bodies in resources(SPOKE).items() for name in bodies}
    assert spoke_addresses - {"azurerm_role_assignment.app_reader"} == SPOKE_OWNED


# ------------------------------------------------------------------ roles
def test_every_role_assignment_has_a_reason() -> None:
    assert set(resources(SPOKE)["azurerm_role_assignment"]) == set(ROLES), "add or remove the row, with why"


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_assignment(name: str) -> None:
    role, scope, principal, why = ROLES[name]
    body = resources(SPOKE)["azurerm_role_assignment"][name]
    assert body.get("role_definition_name", body.get("role_definition_id")) == role, why
    assert body["scope"] == scope, why
    assert body["principal_id"] == principal, why
    assert body["principal_type"] == "ServicePrincipal"
    assert str(body["description"]).startswith("qscan: ")


def test_the_reader_is_assigned_only_where_no_management_group_covers_it() -> None:
    body = resources(SPOKE)["azurerm_role_assignment"]["app_reader"]
    assert body["count"] == "${var.hub.reader_role.assign_per_subscription ? 1 : 0}"


def test_the_reader_role_is_named_under_the_spoke_subscription() -> None:
    # Azure reads an assignment's role back under the assignment's subscription (azurerm issue 4847).
    assert module_locals(SPOKE)["reader_role_definition_id"] == (
        "/subscriptions/${local.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/"
        "${basename(var.hub.reader_role.definition_id)}"
    )


def test_the_event_subscription_waits_for_the_topic_roles() -> None:
    body = resources(SPOKE)["azurerm_eventgrid_system_topic_event_subscription"]["this"]
    assert set(body["depends_on"]) == {
        "${azurerm_role_assignment.topic_queue_sender}",
        "${azurerm_role_assignment.topic_dead_letter_writer}",
    }
    assert body["delivery_identity"] == [{"type": "SystemAssigned"}]
    assert body["dead_letter_identity"] == [{"type": "SystemAssigned"}]
    assert body["storage_queue_endpoint"] == [
        {
            "storage_account_id": "${var.hub.scan_queue.storage_account_id}",
            "queue_name": "${var.hub.scan_queue.name}",
        }
    ]
    assert body["storage_blob_dead_letter_destination"] == [
        {
            "storage_account_id": "${var.hub.dead_letter.storage_account_id}",
            "storage_blob_container_name": "${var.hub.dead_letter.container_name}",
        }
    ]
    (retry,) = body["retry_policy"]
    assert retry == {
        "max_delivery_attempts": "${var.hub.event_delivery.max_delivery_attempts}",
        "event_time_to_live": "${var.hub.event_delivery.time_to_live_minutes}",
    }


# ------------------------------------------------------------------ a spoke's events
def test_the_spoke_environment_renders_the_filters_in_its_own_group() -> None:
    """environments/azure-spoke hands the module its resource group and exclusions; the filters themselves (the
    same HCL for the hub's subscription and a spoke's) are tested in both in tests/unit/test_eventgrid_filters.py."""
    call = named(SPOKE_ENVIRONMENT, "module")["spoke"]
    assert call["resource_group_name"] == "${azurerm_resource_group.this.name}"
    assert call["excluded_subject_prefixes"] == "${var.excluded_subject_prefixes}"
