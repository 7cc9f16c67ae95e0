"""Index platform selection (linux/amd64 by default, never an attestation) and platform parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from qscan.errors import InvalidEvent
from qscan.oci import classify_manifest
from qscan.registry.errors import PlatformNotFound
from qscan.registry.platform import (
    DEFAULT_PLATFORM,
    PlatformSpec,
    from_ecs_runtime_platform,
    parse_platform,
    select_platform,
)


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def entry(
    n: int, os_name: str, arch: str, variant: str | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    platform = {"os": os_name, "architecture": arch, **({"variant": variant} if variant else {})}
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": d(n),
        "platform": platform,
        **({"annotations": annotations} if annotations else {}),
    }


ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


def index(*entries: dict[str, Any]) -> Any:
    return classify_manifest(json.dumps({"schemaVersion": 2, "manifests": list(entries)}))


def test_the_default_is_linux_amd64_and_attestations_are_never_picked() -> None:
    found = index(
        entry(1, "unknown", "unknown", annotations=ATTESTATION),
        entry(2, "linux", "amd64", annotations=ATTESTATION),
        entry(3, "linux", "arm64", "v8"),
        entry(4, "linux", "amd64"),
    )
    assert select_platform(found, DEFAULT_PLATFORM).digest == d(4)


def test_arm64_and_arm64_v8_are_the_same_platform() -> None:
    found = index(entry(1, "linux", "arm64", "v8"))
    assert select_platform(found, PlatformSpec("linux", "arm64")).digest == d(1)
    assert select_platform(found, PlatformSpec("linux", "arm64", "v8")).digest == d(1)
    assert select_platform(index(entry(2, "linux", "arm64")), parse_platform("linux/arm64/v8")).digest == d(2)


def test_a_variant_is_matched_when_asked_and_a_plain_entry_preferred_otherwise() -> None:
    found = index(entry(1, "linux", "arm", "v6"), entry(2, "linux", "arm", "v7"), entry(3, "linux", "arm"))
    assert select_platform(found, PlatformSpec("linux", "arm", "v7")).digest == d(2)
    assert select_platform(found, PlatformSpec("linux", "arm")).digest == d(3)


def test_no_matching_platform_lists_what_the_index_has() -> None:
    found = index(
        entry(1, "linux", "arm64"),
        entry(2, "windows", "amd64"),
        entry(3, "unknown", "unknown", annotations=ATTESTATION),
    )
    with pytest.raises(
        PlatformNotFound, match=r"no linux/amd64 manifest \(it has: linux/arm64, windows/amd64\)"
    ) as info:
        select_platform(found, DEFAULT_PLATFORM)
    assert isinstance(info.value, InvalidEvent)


@pytest.mark.parametrize(
    "text", ["linux", "linux/amd64/v1/x", "Linux/AMD64", "linux/", "linux/am d64", 7, None]
)
def test_malformed_platforms_are_refused(text: object) -> None:
    with pytest.raises(InvalidEvent, match="os/architecture"):
        parse_platform(text)


def test_ecs_runtime_platform() -> None:
    assert from_ecs_runtime_platform(
        {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
    ) == PlatformSpec("linux", "arm64")
    assert from_ecs_runtime_platform({"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}) == PlatformSpec(
        "windows", "amd64"
    )
    assert from_ecs_runtime_platform(None, PlatformSpec("linux", "arm64")) == PlatformSpec("linux", "arm64")
    with pytest.raises(InvalidEvent, match="X86_64 or ARM64"):
        from_ecs_runtime_platform({"cpuArchitecture": "MIPS"})
