"""ScanTarget: the JSON contract between event normalizers, handlers, stores and the CLI.

A target is either an image (`kind="image"`) or a zip-packaged Lambda function (`kind="function"`).
Unknown values are `None`, never guessed. When a target cannot be scanned before something is looked up,
`lookup` names what the handler must resolve (see `Lookup`); `dedupe_key` is then `None` until it has.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, get_args

from qscan.errors import InvalidEvent
from qscan.structs import asdict, field, fields, replace, struct

Kind = Literal["image", "function"]
Platform = Literal["ecr", "ecs", "lambda", "aci", "aca"]
PackageType = Literal["Zip", "Image"]
Lookup = Literal[
    "image_digest",  # an image known by tag only: resolve tag -> digest in the registry
    "ecs_task_definition",  # an ECS task definition known by family:revision or ARN: read its images
    "azure_resource",  # an ACI container group / ACA app or job: read its images through ARM
    "lambda_function",  # a Lambda function known by name/ARN: read code sha, package type, layers, image
]

KINDS: tuple[str, ...] = get_args(Kind)
PLATFORMS: tuple[str, ...] = get_args(Platform)
LOOKUPS: tuple[str, ...] = get_args(Lookup)
PACKAGE_TYPES: tuple[str, ...] = get_args(PackageType)


@struct
class ScanTarget:
    """One thing to scan: an image or a Lambda function, with what identifies it and its dedupe key."""

    kind: Kind
    platform: Platform
    image: str | None = None
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None  # the manifest scanned (a platform manifest when resolved from an index)
    index_digest: str | None = None  # the image index `digest` was selected from (by platform), if any
    function_arn: str | None = None
    code_sha256: str | None = None
    layers: tuple[str, ...] = field(default_factory=tuple)
    package_type: PackageType | None = None
    account: str | None = None
    region: str | None = None
    resource_id: str | None = None
    event_id: str | None = None
    lookup: Lookup | None = None
    dedupe_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidEvent(f"target kind must be one of {KINDS}")
        if self.platform not in PLATFORMS:
            raise InvalidEvent(f"target platform must be one of {PLATFORMS}")
        if self.lookup is not None and self.lookup not in LOOKUPS:
            raise InvalidEvent(f"target lookup must be one of {LOOKUPS}")
        if self.package_type is not None and self.package_type not in PACKAGE_TYPES:
            raise InvalidEvent(f"package_type must be one of {PACKAGE_TYPES}")
        if self.dedupe_key is None and self.lookup is None:
            object.__setattr__(self, "dedupe_key", compute_dedupe_key(self))

    def resolved(self, **changes: Any) -> ScanTarget:
        """A copy with looked-up values filled in; clears `lookup` and recomputes `dedupe_key`."""
        changes.setdefault("lookup", None)
        if "layers" in changes:
            changes["layers"] = tuple(changes["layers"])
        return replace(self, dedupe_key=None, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["layers"] = list(self.layers)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanTarget:
        """Rebuild a target from its JSON form (unknown keys are rejected, not ignored)."""
        if not isinstance(data, dict):
            raise InvalidEvent("a ScanTarget must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidEvent(f"unknown ScanTarget field(s): {', '.join(unknown)[:200]}")
        values = dict(data)
        for key, value in values.items():
            if key == "layers":
                if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
                    raise InvalidEvent("ScanTarget.layers must be a list of strings")
            elif value is not None and not isinstance(value, str):
                raise InvalidEvent(f"ScanTarget.{key} must be a string or null")
        values["layers"] = tuple(values.get("layers") or ())
        return cls(**values)


def compute_dedupe_key(target: ScanTarget) -> str | None:
    """The store key of DESIGN §3 step 2, or None when the target is not yet specific enough.

    Images dedupe on their digest (a tag is mutable, so a tag alone never makes a key). Zip functions dedupe on
    ARN + code hash + layer version ARNs (a layer-only update must rescan); long layer lists are hashed so the key
    stays bounded.
    """
    if target.kind == "image":
        return f"image#{target.digest}" if target.digest else None
    if not (target.function_arn and target.code_sha256):
        return None
    layers = ",".join(sorted(target.layers))
    if len(layers) > 512:
        layers = "sha256:" + hashlib.sha256(layers.encode()).hexdigest()
    return f"lambda#{target.function_arn}#{target.code_sha256}#{layers}"
