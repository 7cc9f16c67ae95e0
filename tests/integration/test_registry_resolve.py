"""The resolver against a real registry (docker-registry 2.8 on loopback), without auth, with htpasswd Basic
auth and with token auth: single-platform images, a multi-platform index with attestation manifests, re-pushed
tags, Docker v2 manifests and manifest lists, and the registry's own behaviour with short Accept lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from qscan.cli import main
from qscan.errors import InvalidEvent
from qscan.refs import parse_image_ref
from qscan.registry.client import DistributionClient
from qscan.registry.credentials import RegistryCredential, StaticCredentials
from qscan.registry.errors import ManifestNotFound, PlatformNotFound, RegistryAccessDenied
from qscan.registry.platform import PlatformSpec
from qscan.registry.resolver import HttpManifestSource, Resolution, Resolver

from tests.harness.oci_registry import (
    PASSWORD,
    USERNAME,
    Auth,
    OciLayout,
    Registry,
    need_tools,
    running_registry,
)

pytestmark = pytest.mark.integration
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _started(auth: Auth) -> Iterator[Registry]:
    need_tools()
    with running_registry(auth) as running:
        yield running


@pytest.fixture(scope="module", params=["none", "htpasswd", "token"])
def registry(request: pytest.FixtureRequest) -> Iterator[Registry]:
    yield from _started(request.param)


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def guarded(request: pytest.FixtureRequest) -> Iterator[Registry]:
    yield from _started(request.param)


@pytest.fixture(scope="module")
def token_registry() -> Iterator[Registry]:
    yield from _started("token")


@pytest.fixture
def layout(tmp_path: Path) -> OciLayout:
    return OciLayout.create(tmp_path)


def resolver(
    registry: Registry, password: str = PASSWORD, **client: object
) -> tuple[Resolver, DistributionClient]:
    credentials = StaticCredentials({registry.host: RegistryCredential(USERNAME, password)})
    http = DistributionClient(credentials=credentials, insecure_hosts=frozenset({registry.host}), **client)  # type: ignore[arg-type]
    return Resolver(lambda _: HttpManifestSource(http)), http


def resolve(registry: Registry, reference: str, **kwargs: object) -> Resolution:
    return resolver(registry)[0].resolve(parse_image_ref(f"{registry.host}/{reference}"), **kwargs)  # type: ignore[arg-type]


def test_a_single_platform_image_resolves_to_the_pushed_digest(registry: Registry, layout: OciLayout) -> None:
    digest = layout.tag("1.0", layout.image("single"))
    registry.push(layout, "team/single", "1.0")
    found = resolve(registry, "team/single:1.0")
    assert (found.digest, found.index_digest, found.media_type) == (digest, None, OCI_MANIFEST)
    assert resolve(registry, f"team/single@{digest}").digest == digest


def test_an_index_resolves_to_the_platform_manifest_never_an_attestation(
    registry: Registry, layout: OciLayout
) -> None:
    amd64, arm64 = layout.image("amd64"), layout.image("arm64", arch="arm64", variant="v8")
    index = layout.index([layout.attestation(amd64), amd64, arm64, layout.attestation(arm64)])
    layout.tag("multi", index)
    registry.push(layout, "team/multi", "multi")
    found = resolve(registry, "team/multi:multi")
    assert (found.digest, found.index_digest, found.platform) == (
        amd64["digest"],
        index["digest"],
        "linux/amd64",
    )
    arm = resolve(registry, "team/multi:multi", platform=PlatformSpec("linux", "arm64"))
    assert (arm.digest, arm.platform) == (arm64["digest"], "linux/arm64/v8")
    with pytest.raises(
        PlatformNotFound, match=r"no linux/s390x manifest \(it has: linux/amd64, linux/arm64/v8\)"
    ):
        resolve(registry, "team/multi:multi", platform=PlatformSpec("linux", "s390x"))
    whole = resolve(registry, "team/multi:multi", descend=False)
    assert (whole.digest, whole.index_digest) == (index["digest"], None)


def test_a_re_pushed_tag_resolves_to_the_new_digest(registry: Registry, layout: OciLayout) -> None:
    resolve_with, _ = resolver(registry)
    ref = parse_image_ref(f"{registry.host}/team/moving:latest")
    first = layout.tag("latest", layout.image("first build"))
    registry.push(layout, "team/moving", "latest")
    assert resolve_with.resolve(ref).digest == first
    second = layout.tag("latest", layout.image("second build"))
    registry.push(layout, "team/moving", "latest")
    assert second != first
    assert resolve_with.resolve(ref).digest == second


def test_docker_v2_manifests_and_lists_keep_their_own_digests(registry: Registry, layout: OciLayout) -> None:
    layout.tag("v2", layout.image("docker v2"))
    registry.push(layout, "team/docker", "v2", docker_v2=True)
    status, headers, body = registry.get("/v2/team/docker/manifests/v2", DOCKER_V2)
    assert status == 200
    v2_digest = headers["Docker-Content-Digest"]
    assert v2_digest == "sha256:" + hashlib.sha256(body).hexdigest()
    found = resolve(registry, "team/docker:v2")
    assert (found.digest, found.media_type) == (v2_digest, DOCKER_V2)
    # without the v2 type in Accept, 2.8 converts to schema 1: another digest, a body re-signed on every GET
    _, converted, first = registry.get("/v2/team/docker/manifests/v2", None)
    _, _, second = registry.get("/v2/team/docker/manifests/v2", None)
    assert converted["Content-Type"].startswith("application/vnd.docker.distribution.manifest.v1")
    assert converted["Docker-Content-Digest"] != v2_digest
    assert first != second

    amd64, arm64 = layout.image("list amd64"), layout.image("list arm64", arch="arm64")
    layout.tag("list", layout.index([arm64, amd64]))
    registry.push(layout, "team/docker", "list", docker_v2=True)
    _, list_headers, list_body = registry.get("/v2/team/docker/manifests/list", DOCKER_LIST)
    entries = {(m["platform"]["architecture"]): m["digest"] for m in json.loads(list_body)["manifests"]}
    found = resolve(registry, "team/docker:list")
    assert (found.digest, found.index_digest) == (entries["amd64"], list_headers["Docker-Content-Digest"])
    # a manifest list asked for without its type: the registry picks a platform itself (its own: amd64)
    _, own, _ = registry.get("/v2/team/docker/manifests/list", DOCKER_V2)
    assert own["Docker-Content-Digest"] == entries["amd64"]


def test_short_accept_lists_report_oci_images_as_missing(registry: Registry, layout: OciLayout) -> None:
    layout.tag("oci", layout.index([layout.image("oci amd64")]))
    registry.push(layout, "team/oci", "oci")
    status, _, body = registry.get("/v2/team/oci/manifests/oci", DOCKER_V2)
    assert (status, json.loads(body)["errors"][0]["code"]) == (404, "MANIFEST_UNKNOWN")
    assert resolve(registry, "team/oci:oci").index_digest is not None  # the full Accept list finds it


def test_a_missing_tag_or_repository_is_not_found(registry: Registry, layout: OciLayout) -> None:
    layout.tag("1", layout.image("present"))
    registry.push(layout, "team/present", "1")
    with pytest.raises(ManifestNotFound, match="manifest unknown"):
        resolve(registry, "team/present:2")
    with pytest.raises(ManifestNotFound):
        resolve(registry, "team/absent:1")


def test_wrong_credentials_are_denied_permanently(guarded: Registry, layout: OciLayout) -> None:
    registry = guarded
    layout.tag("1", layout.image("guarded"))
    registry.push(layout, "team/guarded", "1")
    wrong, _ = resolver(registry, password="not-the-password")
    with pytest.raises(RegistryAccessDenied) as denied:
        wrong.resolve(parse_image_ref(f"{registry.host}/team/guarded:1"))
    assert isinstance(denied.value, InvalidEvent)
    assert "not-the-password" not in str(denied.value)
    anonymous = DistributionClient(insecure_hosts=frozenset({registry.host}))
    with pytest.raises(RegistryAccessDenied):
        Resolver(lambda _: HttpManifestSource(anonymous)).resolve(
            parse_image_ref(f"{registry.host}/team/guarded:1")
        )


def test_a_warm_token_is_reused(token_registry: Registry, layout: OciLayout) -> None:
    registry = token_registry
    assert registry.tokens is not None
    layout.tag("1", layout.image("tokens"))
    registry.push(layout, "team/tokens", "1")
    resolve_with, _ = resolver(registry)
    ref = parse_image_ref(f"{registry.host}/team/tokens:1")
    before = registry.tokens.requests
    resolve_with.resolve(ref)
    resolve_with.resolve(ref)
    assert registry.tokens.requests == before + 1


def test_qscan_resolve_prints_the_digest_and_the_requests(
    registry: Registry, layout: OciLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    amd64 = layout.image("cli amd64")
    index = layout.index([amd64, layout.attestation(amd64)])
    layout.tag("cli", index)
    registry.push(layout, "team/cli", "cli")
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({registry.host: {"username": USERNAME, "password": PASSWORD}}))
    image = f"{registry.host}/team/cli:cli"
    argv = ["resolve", "--insecure-http-host", registry.host, "--credentials-file", str(creds), image]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"digest: {amd64['digest']}\nindex: {index['digest']}\nplatform: linux/amd64\n" in out
    assert f"image: {image}@{amd64['digest']}" in out
    assert f"request: HEAD http://{registry.host}/v2/team/cli/manifests/cli 200" in out
    assert f"request: GET http://{registry.host}/v2/team/cli/manifests/{index['digest']} 200" in out
    if registry.auth != "none":
        assert f"request: HEAD http://{registry.host}/v2/team/cli/manifests/cli 401" in out
    assert PASSWORD not in out
    assert (
        main(
            [
                "resolve",
                "--insecure-http-host",
                registry.host,
                f"{registry.host}/team/cli:gone",
                "--credentials-file",
                str(creds),
            ]
        )
        == 2
    )
    assert "manifest unknown (404" in capsys.readouterr().err
