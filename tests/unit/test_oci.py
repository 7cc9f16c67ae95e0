"""qscan.oci.classify_manifest on realistic manifests (tests/fixtures/manifests).

The fixtures are what the tools push: `docker buildx build --platform linux/amd64,linux/arm64 --push` (OCI
index, two platform manifests, two attestation manifests with in-toto SBOM + provenance layers, listed in the
index with platform unknown/unknown and `vnd.docker.reference.type: attestation-manifest`), a cosign
signature (`sha256-<digest>.sig` tag, simplesigning layer), an OCI 1.1 SBOM referrer (`artifactType`, empty
config, `subject`) and a single-arch Docker v2 image. A manifest's digest is the sha256 of its file's bytes, as
a registry computes it, and the index refers to its children by those digests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from qscan.oci import (
    ARTIFACT_REASON,
    ATTESTATION_REASON,
    INDEX_REASON,
    MAX_MANIFEST_BYTES,
    ManifestError,
    classify_manifest,
)

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"


def text(name: str) -> str:
    return (MANIFESTS / f"{name}.json").read_text()


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256((MANIFESTS / f"{name}.json").read_bytes()).hexdigest()


def test_the_buildx_index_lists_the_other_fixtures_by_their_digests() -> None:
    children = {m["digest"]: m for m in json.loads(text("buildx_index"))["manifests"]}
    names = [
        "buildx_linux_amd64",
        "buildx_linux_arm64",
        "buildx_attestation_amd64",
        "buildx_attestation_arm64",
    ]
    assert set(children) == {digest(n) for n in names}
    assert all(children[digest(n)]["size"] == len((MANIFESTS / f"{n}.json").read_bytes()) for n in names)
    attestation = children[digest("buildx_attestation_amd64")]
    assert attestation["annotations"]["vnd.docker.reference.digest"] == digest("buildx_linux_amd64")


def test_an_index_is_classified_with_its_platforms_and_attestations() -> None:
    found = classify_manifest(text("buildx_index"))
    assert (found.kind, found.scannable) == ("index", False)
    assert found.platforms == ("linux/amd64", "linux/arm64/v8")
    assert found.attestations == 2
    assert found.reason == INDEX_REASON


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("buildx_linux_amd64", "image", ""),
        ("buildx_linux_arm64", "image", ""),
        ("docker_v2_linux_amd64", "image", ""),
        ("buildx_attestation_amd64", "attestation", ATTESTATION_REASON),
        ("buildx_attestation_arm64", "attestation", ATTESTATION_REASON),
        ("cosign_signature", "artifact", ARTIFACT_REASON),
        ("oci_artifact_sbom", "artifact", ARTIFACT_REASON),
    ],
)
def test_fixture_kinds(name: str, kind: str, reason: str) -> None:
    found = classify_manifest(text(name))
    assert (found.kind, found.reason, found.scannable) == (kind, reason, kind == "image")


def test_the_registry_media_type_wins_and_a_missing_one_is_inferred() -> None:
    index = json.loads(text("buildx_index"))
    del index["mediaType"]
    assert classify_manifest(json.dumps(index)).kind == "index"
    image = json.loads(text("buildx_linux_amd64"))
    del image["mediaType"]
    assert classify_manifest(json.dumps(image)).kind == "image"
    assert classify_manifest(
        json.dumps(image), "application/vnd.docker.distribution.manifest.list.v2+json"
    ).kind == ("index")


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"config": {"mediaType": "application/vnd.cncf.helm.config.v1+json"}}, "artifact"),
        ({"artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}, "artifact"),
        ({"layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json"}]}, "attestation"),
        ({"layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"}]}, "image"),
        ({"layers": []}, "image"),  # an empty image: nothing marks it as an artifact
        ({"layers": "nope", "config": "nope"}, "artifact"),
        ({"mediaType": "application/vnd.example.unknown+json"}, "artifact"),
        ({"mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"}, "image"),
    ],
)
def test_variants(change: dict[str, object], kind: str) -> None:
    document = json.loads(text("buildx_linux_amd64")) | change
    assert classify_manifest(json.dumps(document)).kind == kind


def test_untrusted_platform_strings_never_reach_the_summary() -> None:
    index = json.loads(text("buildx_index"))
    index["manifests"][0]["platform"] = {"os": "linux\n{evil}", "architecture": "amd64"}
    index["manifests"][1]["platform"] = "not an object"
    index["manifests"].append("not a descriptor")
    found = classify_manifest(json.dumps(index))
    assert found.platforms == () and found.attestations == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [("{not json", "not valid JSON"), ("[]", "not a JSON object"), (b"\xff", "not valid JSON")],
)
def test_unreadable_manifests_raise(body: str | bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        classify_manifest(body)


def test_oversized_manifest_is_refused_before_parsing() -> None:
    with pytest.raises(ManifestError, match="larger than"):
        classify_manifest(" " * (MAX_MANIFEST_BYTES + 1))
