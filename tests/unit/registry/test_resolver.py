"""The one resolution path over its manifest sources: HTTP-shaped fakes and ECR's BatchGetImage (moto)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from qscan.aws.ecr import EcrManifestSource, resolve
from qscan.oci import DOCKER_MANIFEST, OCI_INDEX, classify_manifest
from qscan.refs import parse_image_ref
from qscan.registry.errors import ManifestNotFound
from qscan.registry.platform import PlatformSpec
from qscan.registry.resolver import Fetched, Resolution, Resolver, resolved_target
from qscan.target import ScanTarget

MANIFESTS = Path(__file__).resolve().parents[2] / "fixtures" / "manifests"
ACCOUNT, REGION, REPO = "123456789012", "us-east-1", "team/app"


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class HeadOnly:
    """An HTTP-shaped source: lookups give digest and type only; reads give the body."""

    def __init__(self, bodies: dict[str, str], tags: dict[str, str]) -> None:
        self.bodies, self.tags, self.calls = bodies, tags, []  # type: ignore[var-annotated]

    def lookup(self, ref: object, reference: str) -> Fetched:
        self.calls.append(("lookup", reference))
        digest = self.tags.get(reference, reference)
        if digest not in self.bodies:
            raise ManifestNotFound("gone")
        return Fetched(digest, json.loads(self.bodies[digest]).get("mediaType"))

    def read(self, ref: object, digest: str) -> Fetched:
        self.calls.append(("read", digest))
        body = self.bodies[digest]
        return Fetched(digest, json.loads(body).get("mediaType"), classify_manifest(body))


def buildx() -> tuple[dict[str, str], str]:
    bodies = {}
    for name in ("buildx_index", "buildx_linux_amd64", "buildx_linux_arm64"):
        text = (MANIFESTS / f"{name}.json").read_text()
        bodies[digest_of(text)] = text
    return bodies, digest_of((MANIFESTS / "buildx_index.json").read_text())


def test_an_index_is_read_once_by_digest_and_resolved_to_the_platform() -> None:
    bodies, index = buildx()
    source = HeadOnly(bodies, {"1.0": index})
    found = Resolver(lambda _: source).resolve(parse_image_ref("ghcr.io/org/app:1.0"))
    entries = {e.platform: e.digest for e in classify_manifest(bodies[index]).entries}
    assert (found.digest, found.index_digest, found.platform) == (
        entries["linux/amd64"],
        index,
        "linux/amd64",
    )
    assert source.calls == [("lookup", "1.0"), ("read", index)]
    arm = Resolver(lambda _: source, PlatformSpec("linux", "arm64")).resolve(
        parse_image_ref("ghcr.io/org/app:1.0")
    )
    assert arm.digest == entries["linux/arm64/v8"]


def test_an_image_manifest_is_answered_from_the_lookup_alone() -> None:
    text = (MANIFESTS / "docker_v2_linux_amd64.json").read_text()
    source = HeadOnly({digest_of(text): text}, {"v2": digest_of(text)})
    found = Resolver(lambda _: source).resolve(parse_image_ref("nginx:v2"))
    assert (found.digest, found.media_type, found.index_digest, found.manifest) == (
        digest_of(text),
        DOCKER_MANIFEST,
        None,
        None,
    )
    assert source.calls == [("lookup", "v2")]


def test_the_resolved_target_dedupes_on_the_scanned_digest_and_records_the_index() -> None:
    target = ScanTarget(
        kind="image",
        platform="ecs",
        registry="ghcr.io",
        repository="org/app",
        tag="1.0",
        image="ghcr.io/org/app:1.0",
        lookup="image_digest",
    )
    done = resolved_target(
        target,
        Resolution("ghcr.io/org/app:1.0", "sha256:" + "a" * 64, None, "sha256:" + "b" * 64, "linux/amd64"),
    )
    assert done.dedupe_key == "image#sha256:" + "a" * 64
    assert done.index_digest == "sha256:" + "b" * 64
    assert done.image == "ghcr.io/org/app:1.0@sha256:" + "a" * 64
    assert ScanTarget.from_dict(done.to_dict()) == done


@pytest.fixture
def ecr(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPO)
        yield client


def put(client: object, name: str, tag: str | None = None) -> str:
    body = (MANIFESTS / f"{name}.json").read_text()
    params = {"repositoryName": REPO, "imageManifest": body, "imageDigest": digest_of(body)}
    if tag:
        params["imageTag"] = tag
    client.put_image(**params)  # type: ignore[attr-defined]
    return digest_of(body)


def test_ecr_resolves_through_the_same_path_with_batch_get_image(ecr: object) -> None:
    amd64 = put(ecr, "buildx_linux_amd64")
    put(ecr, "buildx_linux_arm64")
    put(ecr, "buildx_attestation_amd64")
    index = put(ecr, "buildx_index", tag="1.0")
    workload = resolve(ecr, registry_id=ACCOUNT, region=REGION, repository=REPO, tag="1.0", descend=True)
    assert (workload.digest, workload.index_digest, workload.platform) == (amd64, index, "linux/amd64")
    push = resolve(ecr, registry_id=ACCOUNT, region=REGION, repository=REPO, tag="1.0")
    assert (push.digest, push.manifest.kind, push.media_type) == (index, "index", OCI_INDEX)
    with pytest.raises(ManifestNotFound, match=r"team/app:2\.0 no longer exists"):
        resolve(ecr, registry_id=ACCOUNT, region=REGION, repository=REPO, tag="2.0")
    source = EcrManifestSource(ecr, ACCOUNT)
    ref = parse_image_ref(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPO}@{amd64}")
    assert source.read(ref, amd64).manifest.kind == "image"
