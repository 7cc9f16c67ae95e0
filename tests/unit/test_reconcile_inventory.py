"""The inventory snapshot (`qscan.inventory/1`): exact round trip, strict parsing, keys per scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from qscan.reconcile.inventory import (
    SCHEMA,
    InvalidInventory,
    Inventory,
    InventoryArtifact,
    inventory_key,
)

SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def _artifact(**changes: Any) -> InventoryArtifact:
    values: dict[str, Any] = {
        "platform": "ecs",
        "dedupe_key": "image#sha256:" + "a" * 64,
        "artifact": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:" + "a" * 64,
        "workloads": ("arn:aws:ecs:eu-west-1:123456789012:task/main/abc",),
        "region": "eu-west-1",
        "last_scanned_at": 1764650000.5,
        "status": "fresh",
        "result_location": "s3://results/results/ecs/x.json",
        "requested": False,
    }
    values.update(changes)
    return InventoryArtifact(**values)


def _inventory(**changes: Any) -> Inventory:
    values: dict[str, Any] = {
        "cloud": "aws",
        "scope": "123456789012",
        "generated_at": "2026-12-02T05:00:00Z",
        "run_id": "run-1",
        "complete": True,
        "rescan_interval_seconds": 604800,
        "artifacts": (_artifact(), _artifact(status="never-scanned", last_scanned_at=None, requested=True)),
    }
    values.update(changes)
    return Inventory(**values)


def test_document_is_the_contract_and_round_trips() -> None:
    inventory = _inventory()
    data = json.loads(inventory.to_json())
    assert data["schema"] == SCHEMA == "qscan.inventory/1"
    assert list(data) == sorted(
        [
            "schema",
            "cloud",
            "scope",
            "generated_at",
            "run_id",
            "complete",
            "rescan_interval_seconds",
            "artifacts",
        ]
    )
    assert data["artifacts"][1] == {
        "platform": "ecs",
        "dedupe_key": "image#sha256:" + "a" * 64,
        "artifact": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:" + "a" * 64,
        "workloads": ["arn:aws:ecs:eu-west-1:123456789012:task/main/abc"],
        "region": "eu-west-1",
        "last_scanned_at": None,
        "status": "never-scanned",
        "result_location": "s3://results/results/ecs/x.json",
        "requested": True,
    }
    assert Inventory.from_json(inventory.to_json()) == inventory
    assert Inventory.from_dict(inventory.to_dict()) == inventory


def test_keys_per_cloud_and_scope() -> None:
    assert inventory_key("aws", "123456789012") == "inventory/aws/123456789012/latest.json"
    assert inventory_key("azure", SUBSCRIPTION.upper()) == f"inventory/azure/{SUBSCRIPTION}/latest.json"
    assert _inventory().key == "inventory/aws/123456789012/latest.json"
    for cloud, scope in [
        ("aws", "12345"),
        ("aws", SUBSCRIPTION),
        ("azure", "123456789012"),
        ("gcp", "x"),
        ("aws", "../123456789"),
    ]:
        with pytest.raises(InvalidInventory):
            inventory_key(cloud, scope)


def _mutated(path: tuple[Any, ...], value: Any, *, delete: bool = False) -> dict[str, Any]:
    data = _inventory().to_dict()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema",), "qscan.inventory/2"),
        (("cloud",), "gcp"),
        (("scope",), "12345678901"),
        (("generated_at",), "2026-12-02 05:00:00"),
        (("run_id",), "run id with spaces"),
        (("complete",), "true"),
        (("rescan_interval_seconds",), -1),
        (("rescan_interval_seconds",), 1.5),
        (("rescan_interval_seconds",), True),
        (("artifacts",), {}),
        (("extra",), 1),
        (("artifacts", 0, "extra"), 1),
        (("artifacts", 0, "platform"), "gke"),
        (("artifacts", 0, "status"), "unknown"),
        (("artifacts", 0, "requested"), 1),
        (("artifacts", 0, "workloads"), "arn"),
        (("artifacts", 0, "workloads"), [1]),
        (("artifacts", 0, "last_scanned_at"), "yesterday"),
        (("artifacts", 0, "last_scanned_at"), float("nan")),
        (("artifacts", 0, "last_scanned_at"), True),
        (("artifacts", 0, "dedupe_key"), ""),
        (("artifacts", 0, "artifact"), "x" * 3000),
        (("artifacts", 0, "result_location"), 5),
        (("artifacts", 0), "not an object"),
    ],
)
def test_from_dict_is_strict(path: tuple[Any, ...], value: Any) -> None:
    with pytest.raises(InvalidInventory):
        Inventory.from_dict(_mutated(path, value))


@pytest.mark.parametrize("path", [("run_id",), ("artifacts", 0, "region"), ("artifacts", 1, "requested")])
def test_missing_keys_are_rejected(path: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidInventory, match="lacks"):
        Inventory.from_dict(_mutated(path, None, delete=True))


def test_integral_scan_time_reads_as_float_and_bad_json_is_invalid() -> None:
    parsed = Inventory.from_dict(_mutated(("artifacts", 0, "last_scanned_at"), 1764650000))
    assert parsed.artifacts[0].last_scanned_at == 1764650000.0
    with pytest.raises(InvalidInventory, match="JSON"):
        Inventory.from_json(b"{not json")
    with pytest.raises(InvalidInventory, match="object"):
        Inventory.from_dict([])


def test_artifact_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from qscan.reconcile import inventory as module  # noqa: PLC0415

    monkeypatch.setattr(module, "MAX_ARTIFACTS", 2)
    data = _inventory().to_dict()
    data["artifacts"].append(data["artifacts"][0])
    with pytest.raises(InvalidInventory, match="at most 2"):
        Inventory.from_dict(data)
    Inventory.from_dict(_inventory().to_dict())  # two are fine
