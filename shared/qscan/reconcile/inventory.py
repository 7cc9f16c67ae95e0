"""The inventory snapshot a reconciler run writes per scope (one AWS account, one Azure subscription).

Stored in the results store at `inventory/<cloud>/<scope>/latest.json` (`inventory_key`), overwritten by every
run. Document (`Inventory.to_dict`):

    {"schema": "qscan.inventory/1", "cloud": "aws", "scope": "123456789012",
     "generated_at": "2026-12-02T05:00:00Z", "run_id": "<id>", "complete": true,
     "rescan_interval_seconds": 604800,
     "artifacts": [
       {"platform": "ecr"|"ecs"|"lambda"|"aci"|"aca",
        "dedupe_key": "<ScanTarget.dedupe_key>",
        "artifact": "<image ref with @sha256 digest, or the function ARN>",
        "workloads": ["<task ARN | function ARN | ARM resource id | repository>", ...],
        "region": "<region or Azure location>",
        "last_scanned_at": <epoch float or null>, "status": "fresh"|"stale"|"never-scanned",
        "result_location": "<location or null>", "requested": true|false}]}

`complete` is false when a limit cut the run short (the artifacts are what the run saw). `status`: `fresh` = a
live completion in the dedupe store (scanned within the rescan interval); `stale` = no live completion, but
this scope's previous snapshot knew when it was last scanned (the completion expired: a rescan is due);
`never-scanned` = no live completion and no earlier scan known. `requested` = this run enqueued a scan request.

`Inventory.from_dict` is strict: unknown or missing keys, wrong types, another schema string, more than
`MAX_ARTIFACTS` artifacts are `InvalidInventory` (a `ValueError`). Readers use these classes; nobody parses
the JSON by hand.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal, get_args

from qscan.structs import struct
from qscan.target import PLATFORMS

SCHEMA = "qscan.inventory/1"
MAX_ARTIFACTS = 1_000_000
MAX_WORKLOADS = 10_000
MAX_TEXT = 2048
Cloud = Literal["aws", "azure"]
Status = Literal["fresh", "stale", "never-scanned"]
CLOUDS: tuple[str, ...] = get_args(Cloud)
STATUSES: tuple[str, ...] = get_args(Status)
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_SCOPE_RE = {
    "aws": r"[0-9]{12}",
    "azure": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}
_TIME_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z"
_RUN_ID_RE = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
ARTIFACT_KEYS = (
    "platform",
    "dedupe_key",
    "artifact",
    "workloads",
    "region",
    "last_scanned_at",
    "status",
    "result_location",
    "requested",
)
INVENTORY_KEYS = (
    "schema",
    "cloud",
    "scope",
    "generated_at",
    "run_id",
    "complete",
    "rescan_interval_seconds",
    "artifacts",
)


class InvalidInventory(ValueError):
    """An inventory document (or a value for one) that does not follow `qscan.inventory/1`."""


def check_scope(cloud: str, scope: str) -> str:
    """`scope` if it is a valid scope of `cloud` (a 12-digit account id, or a subscription id GUID)."""
    if cloud not in CLOUDS:
        raise InvalidInventory(f"cloud must be one of {CLOUDS}")
    if not isinstance(scope, str) or not re.fullmatch(_SCOPE_RE[cloud], scope):
        raise InvalidInventory(f"scope is not a valid {cloud} scope")
    return scope


def inventory_key(cloud: str, scope: str) -> str:
    """The results-store key of a scope's snapshot: `inventory/<cloud>/<scope>/latest.json`."""
    return f"inventory/{cloud}/{check_scope(cloud, scope).lower()}/latest.json"


@struct
class InventoryArtifact:
    """One artifact the reconciler saw, with its scan status at the time of the run."""

    platform: str
    dedupe_key: str
    artifact: str
    workloads: tuple[str, ...]
    region: str
    last_scanned_at: float | None
    status: Status
    result_location: str | None
    requested: bool

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise InvalidInventory(f"artifact platform must be one of {PLATFORMS}")
        for name in ("dedupe_key", "artifact", "region"):
            _text(getattr(self, name), f"artifact.{name}")
        if not isinstance(self.workloads, tuple) or len(self.workloads) > MAX_WORKLOADS:
            raise InvalidInventory(f"artifact.workloads must be a list of at most {MAX_WORKLOADS}")
        for workload in self.workloads:
            _text(workload, "artifact.workloads[]")
        if self.last_scanned_at is not None and (
            isinstance(self.last_scanned_at, bool)
            or not isinstance(self.last_scanned_at, int | float)
            or not math.isfinite(self.last_scanned_at)
            or self.last_scanned_at < 0
        ):
            raise InvalidInventory("artifact.last_scanned_at must be epoch seconds or null")
        if self.status not in STATUSES:
            raise InvalidInventory(f"artifact.status must be one of {STATUSES}")
        if self.result_location is not None:
            _text(self.result_location, "artifact.result_location")
        if not isinstance(self.requested, bool):
            raise InvalidInventory("artifact.requested must be a boolean")

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "dedupe_key": self.dedupe_key,
            "artifact": self.artifact,
            "workloads": list(self.workloads),
            "region": self.region,
            "last_scanned_at": self.last_scanned_at,
            "status": self.status,
            "result_location": self.result_location,
            "requested": self.requested,
        }

    @classmethod
    def from_dict(cls, data: object) -> InventoryArtifact:
        values = _exact(data, ARTIFACT_KEYS, "artifact")
        workloads = values["workloads"]
        if not isinstance(workloads, list):
            raise InvalidInventory("artifact.workloads must be a list")
        last = values["last_scanned_at"]
        if isinstance(last, int) and not isinstance(last, bool):
            last = float(last)
        return cls(**{**values, "workloads": tuple(workloads), "last_scanned_at": last})


@struct
class Inventory:
    """The snapshot of one scope: what runs or was pushed there, and whether each artifact is covered."""

    cloud: Cloud
    scope: str
    generated_at: str
    run_id: str
    complete: bool
    rescan_interval_seconds: int
    artifacts: tuple[InventoryArtifact, ...]

    def __post_init__(self) -> None:
        check_scope(self.cloud, self.scope)
        if not isinstance(self.generated_at, str) or not re.fullmatch(_TIME_RE, self.generated_at):
            raise InvalidInventory("generated_at must be an ISO 8601 UTC time ending in Z")
        if not isinstance(self.run_id, str) or not re.fullmatch(_RUN_ID_RE, self.run_id):
            raise InvalidInventory("run_id must be 1-128 characters of [A-Za-z0-9._:-]")
        if not isinstance(self.complete, bool):
            raise InvalidInventory("complete must be a boolean")
        seconds = self.rescan_interval_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidInventory("rescan_interval_seconds must be a whole number >= 0")
        if not isinstance(self.artifacts, tuple) or len(self.artifacts) > MAX_ARTIFACTS:
            raise InvalidInventory(f"an inventory holds at most {MAX_ARTIFACTS} artifacts")
        if not all(isinstance(item, InventoryArtifact) for item in self.artifacts):
            raise InvalidInventory("artifacts must be InventoryArtifact values")

    @property
    def key(self) -> str:
        return inventory_key(self.cloud, self.scope)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "cloud": self.cloud,
            "scope": self.scope,
            "generated_at": self.generated_at,
            "run_id": self.run_id,
            "complete": self.complete,
            "rescan_interval_seconds": self.rescan_interval_seconds,
            "artifacts": [item.to_dict() for item in self.artifacts],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: object) -> Inventory:
        values = _exact(data, INVENTORY_KEYS, "inventory")
        if values.pop("schema") != SCHEMA:
            raise InvalidInventory(f"inventory schema must be {SCHEMA!r}")
        artifacts = values["artifacts"]
        if not isinstance(artifacts, list):
            raise InvalidInventory("inventory.artifacts must be a list")
        if len(artifacts) > MAX_ARTIFACTS:
            raise InvalidInventory(f"an inventory holds at most {MAX_ARTIFACTS} artifacts")
        return cls(**{**values, "artifacts": tuple(InventoryArtifact.from_dict(item) for item in artifacts)})

    @classmethod
    def from_json(cls, body: bytes) -> Inventory:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInventory("inventory is not JSON") from exc
        return cls.from_dict(data)


def _exact(data: object, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInventory(f"{what} must be a JSON object")
    unknown = sorted(str(key)[:40] for key in data if key not in keys)
    if unknown:
        raise InvalidInventory(f"{what} has unknown key(s): {', '.join(unknown[:5])}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise InvalidInventory(f"{what} lacks key(s): {', '.join(missing)}")
    return dict(data)


def _text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidInventory(f"{name} must be a non-empty string of at most {MAX_TEXT} characters")
