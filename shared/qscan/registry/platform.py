"""Which manifest of an image index the workload runs: `os/architecture[/variant]`, linux/amd64 by default.

The default comes from `QSCAN_IMAGE_PLATFORM` (`Settings.image_platform`); an ECS task definition's
`runtimePlatform` (`operatingSystemFamily`, `cpuArchitecture`) overrides it for its images. Candidates are the
index's image manifests as `qscan.oci.classify_manifest` lists them (`Manifest.entries`): build attestations
(`unknown/unknown`, `vnd.docker.reference.type: attestation-manifest`) are never among them. `arm64` and
`arm64/v8` are the same platform; without a wanted variant, an entry without a variant wins over the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from qscan.errors import InvalidEvent
from qscan.oci import IndexEntry, Manifest
from qscan.registry.errors import PlatformNotFound
from qscan.structs import struct

_PART = re.compile(r"[a-z0-9._-]{1,32}")
_ECS_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}


@struct
class PlatformSpec:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


DEFAULT_PLATFORM = PlatformSpec("linux", "amd64")


def parse_platform(text: object) -> PlatformSpec:
    """`linux/amd64`, `linux/arm64/v8`, ... (lower-case) or `InvalidEvent` naming the expected form."""
    parts = text.split("/") if isinstance(text, str) else []
    if len(parts) not in (2, 3) or not all(_PART.fullmatch(part) for part in parts):
        raise InvalidEvent("platform must be os/architecture[/variant], e.g. linux/amd64")
    return PlatformSpec(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def from_ecs_runtime_platform(value: object, default: PlatformSpec = DEFAULT_PLATFORM) -> PlatformSpec:
    """The platform of an ECS `runtimePlatform` (absent or partial: `default` fills in)."""
    if not isinstance(value, Mapping):
        return default
    family, arch = value.get("operatingSystemFamily"), value.get("cpuArchitecture")
    os_name = default.os
    if isinstance(family, str):
        os_name = "linux" if family.upper() == "LINUX" else "windows"
    architecture = _ECS_ARCH.get(arch.upper()) if isinstance(arch, str) else None
    if isinstance(arch, str) and architecture is None:
        raise InvalidEvent("runtimePlatform.cpuArchitecture must be X86_64 or ARM64")
    if architecture is None:
        return PlatformSpec(os_name, default.architecture, default.variant)
    return PlatformSpec(os_name, architecture)


def _variant(architecture: str, variant: str | None) -> str | None:
    return None if architecture == "arm64" and variant == "v8" else variant


def select_platform(index: Manifest, wanted: PlatformSpec) -> IndexEntry:
    """The index entry for `wanted`, or `PlatformNotFound` listing what the index has."""
    matches = [e for e in index.entries if (e.os, e.architecture) == (wanted.os, wanted.architecture)]
    if wanted.variant is not None:
        want = _variant(wanted.architecture, wanted.variant)
        matches = [e for e in matches if _variant(e.architecture, e.variant) == want]
    else:
        matches.sort(key=lambda e: _variant(e.architecture, e.variant) is not None)
    if not matches:
        offered = ", ".join(sorted({e.platform for e in index.entries})[:16]) or "no image manifests"
        raise PlatformNotFound(f"the image index has no {wanted} manifest (it has: {offered})")
    return matches[0]
