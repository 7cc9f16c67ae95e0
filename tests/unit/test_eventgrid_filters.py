"""The Event Grid subscription of modules/aci-aca-spoke (which modules/aci-aca calls for the hub's own
subscription, so hub and spokes share it), read from the HCL, against sample events, rendered in the hub's
subscription and in a spoke's (environments/azure-spoke applies it there).

The filter values are evaluated from the spoke module's main.tf (tests/harness/hcl_eval.py), then applied with the
advanced-filter semantics (tests/harness/eventgrid_filter.py): container group, container app and job writes
are delivered; a storage account write, a write in the scanner's own resource group, a failed write and a
delete are not.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.hcl import load_hcl
from tests.harness.eventgrid_filter import (
    MAX_FILTER_VALUES,
    AdvancedFilter,
    Subscription,
    delivers,
    filter_passes,
    subscription_from_hcl,
)
from tests.harness.hcl_eval import Evaluator, UnsupportedExpression

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "modules" / "aci-aca"
SPOKE = ROOT / "modules" / "aci-aca-spoke"
EVENTS = ROOT / "tests" / "fixtures" / "events"
SUBSCRIPTION_ID = "8f2c6a1e-3b5d-4e7f-9a0c-2d4e6f8a0b1c"  # the fixtures' subscription: the hub's
SPOKE_SUBSCRIPTION_ID = "3c9d1f2e-7a4b-4c6d-8e0f-1a2b3c4d5e6f"
SUBSCRIPTIONS = pytest.mark.parametrize(
    "subscription", [SUBSCRIPTION_ID, SPOKE_SUBSCRIPTION_ID], ids=["hub", "spoke"]
)
SCANNER_GROUP = "rg-qscan"


def module_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(SPOKE.glob("*.tf")):
        for block in load_hcl(path).get("locals", []):
            merged.update(block)
    return merged


def event_subscription_body() -> dict[str, Any]:
    for resource in load_hcl(SPOKE / "main.tf")["resource"]:
        bodies = resource.get("azurerm_eventgrid_system_topic_event_subscription")
        if bodies:
            body: dict[str, Any] = bodies["this"]
            return body
    raise AssertionError("main.tf has no azurerm_eventgrid_system_topic_event_subscription.this")


def module_subscription(
    excluded: list[str] | None = None, subscription: str = SUBSCRIPTION_ID
) -> Subscription:
    """The event subscription as the module renders it in `subscription`."""
    evaluator = Evaluator(
        module_locals(),
        {
            "data.azurerm_client_config.current.subscription_id": subscription,
            "var.resource_group_name": SCANNER_GROUP,
            "var.excluded_subject_prefixes": excluded or [],
        },
    )
    return subscription_from_hcl(event_subscription_body(), evaluator.value)


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    event: dict[str, Any] = data[0] if isinstance(data, list) else data
    return event


def written(resource_id: str, operation: str, base: str = "azure_eventgrid_aci_write.json") -> dict[str, Any]:
    """The ACI write sample re-pointed at another resource and operation (every place the id appears)."""
    event = copy.deepcopy(fixture(base))
    event["subject"] = resource_id
    event["data"]["resourceUri"] = resource_id
    event["data"]["authorization"]["scope"] = resource_id
    event["data"]["operationName"] = operation
    event["data"]["authorization"]["action"] = operation
    return event


def rid(group: str, provider_path: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/{provider_path}"


def in_subscription(event: dict[str, Any], subscription: str) -> dict[str, Any]:
    """The event as `subscription`'s system topic sends it (every place the fixtures' subscription appears)."""
    moved: dict[str, Any] = json.loads(json.dumps(event).replace(SUBSCRIPTION_ID, subscription))
    return moved


JOB_ID = rid("rg-shop-batch", "Microsoft.App/jobs/invoice-export")

POSITIVE = {
    "aci container group write": fixture("azure_eventgrid_aci_write.json"),
    "aca container app write": fixture("azure_eventgrid_aca_app_write_array.json"),
    "aca job write": written(JOB_ID, "Microsoft.App/jobs/write"),
    "operation in other casing": written(JOB_ID, "MICROSOFT.APP/JOBS/WRITE"),
    "group whose name extends the scanner's": written(
        rid("rg-qscan2", "Microsoft.ContainerInstance/containerGroups/web"),
        "Microsoft.ContainerInstance/containerGroups/write",
    ),
}

NEGATIVE = {
    "storage account write": written(
        rid("rg-shop-prod", "Microsoft.Storage/storageAccounts/shopdata"),
        "Microsoft.Storage/storageAccounts/write",
    ),
    "container group in the scanner's group": written(
        rid(SCANNER_GROUP, "Microsoft.ContainerInstance/containerGroups/qscan-job"),
        "Microsoft.ContainerInstance/containerGroups/write",
    ),
    "scanner's group in upper case": written(
        rid(SCANNER_GROUP.upper(), "Microsoft.App/containerApps/x").replace(
            "resourceGroups", "RESOURCEGROUPS"
        ),
        "Microsoft.App/containerApps/write",
    ),
    "failed write": fixture("azure_eventgrid_write_failure.json"),
    "container group delete": {
        **written(
            rid("rg-shop-prod", "Microsoft.ContainerInstance/containerGroups/nightly-report"),
            "Microsoft.ContainerInstance/containerGroups/delete",
        ),
        "eventType": "Microsoft.Resources.ResourceDeleteSuccess",
    },
    "container group restart action": written(
        rid("rg-shop-prod", "Microsoft.ContainerInstance/containerGroups/nightly-report"),
        "Microsoft.ContainerInstance/containerGroups/restart/action",
    ),
}


@SUBSCRIPTIONS
@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_container_writes_are_delivered(name: str, subscription: str) -> None:
    event = in_subscription(POSITIVE[name], subscription)
    assert delivers(module_subscription(subscription=subscription), event)


@SUBSCRIPTIONS
@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_other_events_are_filtered_out(name: str, subscription: str) -> None:
    event = in_subscription(NEGATIVE[name], subscription)
    assert not delivers(module_subscription(subscription=subscription), event)


@SUBSCRIPTIONS
def test_the_filters_read_from_the_hcl(subscription: str) -> None:
    rendered = module_subscription(subscription=subscription)
    assert rendered.included_event_types == ("Microsoft.Resources.ResourceWriteSuccess",)
    assert rendered.advanced_filters == (
        AdvancedFilter(
            "string_in",
            "data.operationName",
            (
                "Microsoft.ContainerInstance/containerGroups/write",
                "Microsoft.App/containerApps/write",
                "Microsoft.App/jobs/write",
            ),
        ),
        AdvancedFilter(
            "string_not_begins_with",
            "subject",
            (f"/subscriptions/{subscription}/resourceGroups/{SCANNER_GROUP}/",),
        ),
    )


@SUBSCRIPTIONS
def test_excluded_prefixes_from_the_variable_filter_too(subscription: str) -> None:
    sandbox = f"/subscriptions/{subscription}/resourceGroups/rg-shop-prod/"
    group, job = (
        in_subscription(POSITIVE[n], subscription) for n in ("aci container group write", "aca job write")
    )
    assert delivers(module_subscription(subscription=subscription), group)
    assert not delivers(module_subscription([sandbox], subscription), group)
    assert delivers(module_subscription([sandbox], subscription), job)


def _variable_limit(module: Path) -> int:
    for variable in load_hcl(module / "variables.tf")["variable"]:
        if "excluded_subject_prefixes" in variable:
            for validation in variable["excluded_subject_prefixes"]["validation"]:
                match = re.search(
                    r"length\(var\.excluded_subject_prefixes\) <= (\d+)", validation["condition"]
                )
                if match:
                    return int(match.group(1))
    raise AssertionError("excluded_subject_prefixes has no length validation")


@pytest.mark.parametrize("module", [MODULE, SPOKE], ids=["aci-aca", "aci-aca-spoke"])
def test_the_variable_limit_keeps_the_subscription_within_25_values(module: Path) -> None:
    limit = _variable_limit(module)
    assert module_subscription().value_count + limit == MAX_FILTER_VALUES
    fullest = [f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-{n}/" for n in range(limit)]
    assert module_subscription(fullest).value_count == MAX_FILTER_VALUES


# ------------------------------------------------------------------ the evaluator itself
def test_string_in_is_case_insensitive_and_ored() -> None:
    f = AdvancedFilter("string_in", "data.operationName", ("A/write", "B/write"))
    assert filter_passes({"data": {"operationName": "b/WRITE"}}, f)
    assert not filter_passes({"data": {"operationName": "C/write"}}, f)
    assert not filter_passes({"data": {"operationName": "A/write/x"}}, f)
    assert not filter_passes({"data": {}}, f)


def test_string_not_begins_with_is_case_insensitive() -> None:
    f = AdvancedFilter("string_not_begins_with", "subject", ("/a/", "/b/"))
    assert not filter_passes({"subject": "/B/x"}, f)
    assert filter_passes({"subject": "/c/x"}, f)
    assert filter_passes({}, f)


def test_filters_are_anded_and_event_types_checked() -> None:
    subscription = Subscription(
        ("Type.One",),
        (
            AdvancedFilter("string_in", "k", ("v",)),
            AdvancedFilter("string_not_begins_with", "subject", ("/x",)),
        ),
    )
    assert delivers(subscription, {"eventType": "type.one", "k": "V", "subject": "/y"})
    assert not delivers(subscription, {"eventType": "Type.Two", "k": "v", "subject": "/y"})
    assert not delivers(subscription, {"eventType": "Type.One", "k": "v", "subject": "/x/1"})


def test_an_unimplemented_operator_raises() -> None:
    with pytest.raises(ValueError, match="string_contains"):
        filter_passes({"k": "v"}, AdvancedFilter("string_contains", "k", ("v",)))


def test_hcl_eval_subset() -> None:
    evaluator = Evaluator(
        {"a": "x-${var.b}", "l": ["${local.a}", "z"], "c": '${concat(["${local.a}/"], var.m)}'},
        {"var.b": "y", "var.m": ["m1"]},
    )
    assert evaluator.value("${local.l}") == ["x-y", "z"]
    assert evaluator.value("${local.c}") == ["x-y/", "m1"]
    with pytest.raises(UnsupportedExpression):
        evaluator.value('${merge(var.b, {"k" = "v"})}')
    with pytest.raises(UnsupportedExpression):
        evaluator.value("${var.unset}")
