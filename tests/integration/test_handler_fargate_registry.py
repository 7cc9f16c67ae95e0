"""The Fargate parse step against a real OCI registry (docker-registry on loopback, htpasswd Basic auth) for
images outside ECR: the handler's own distribution client (plain http allowed for the loopback host only, as a
deployment never would) with the registry's credential from QSCAN_REGISTRY_CREDENTIALS_SECRET (moto Secrets
Manager). A multi-platform index resolves to the task's runtimePlatform; a wrong password is a notified
failure that names no secret, a malformed secret a permanent one that echoes none of it; an unreachable
registry fails the step transiently. The AWS side and the other steps are tests/unit/test_handler_fargate.py's.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from qscan.registry.client import DistributionClient

from tests.harness.handler_world import moto_world
from tests.harness.oci_registry import (
    PASSWORD,
    USERNAME,
    OciLayout,
    Registry,
    need_tools,
    running_registry,
)
from tests.unit.test_handler_fargate import (
    APP,
    D_APP,
    EXECUTION,
    TOKEN,
    FargateWorld,
    ecr_image,
    map_item,
    push,
    register,
    run_task,
    task_input,
)

pytestmark = pytest.mark.integration
SECRET = "qscan/registries"


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    need_tools()
    with running_registry("htpasswd") as running:
        yield running


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FargateWorld]:
    with moto_world(FargateWorld, tmp_path, monkeypatch, TOKEN, {"QSCAN_SERVICE_NAME": "qscan-fargate"}) as w:
        boto3.client("ecr").create_repository(repositoryName=APP)
        yield w


def with_registry_secret(world: FargateWorld, registry: Registry, password: str, **extra: str) -> None:
    """The named registry-credentials secret (`extra`: more keys in the registry's entry), the handler loaded
    with it, and its distribution client allowed plain http to the loopback registry (the only difference from
    the client it creates itself)."""
    entry = {"username": USERNAME, "password": password, **extra}
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps({registry.host: entry}))
    world.load(QSCAN_REGISTRY_CREDENTIALS_SECRET=SECRET)
    world.handler._http = DistributionClient(
        credentials=world.handler, insecure_hosts=frozenset({registry.host}), sleep=lambda _s: None
    )


def push_multi_platform(registry: Registry, tmp_path: Path) -> tuple[str, str, str]:
    """team/collector:2.0 as an index of linux/amd64 and linux/arm64/v8 (with attestations); the digests."""
    layout = OciLayout.create(tmp_path)
    amd64, arm64 = (
        layout.image("collector amd64"),
        layout.image("collector arm64", arch="arm64", variant="v8"),
    )
    index = layout.index([amd64, layout.attestation(amd64), arm64, layout.attestation(arm64)])
    layout.tag("2.0", index)
    registry.push(layout, "team/collector", "2.0")
    return str(index["digest"]), str(amd64["digest"]), str(arm64["digest"])


@pytest.mark.parametrize(("arch", "wanted"), [("ARM64", 2), ("X86_64", 1)])
def test_a_sidecar_index_in_another_registry_resolves_to_the_task_platform_with_its_credential(
    world: FargateWorld,
    registry: Registry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    arch: str,
    wanted: int,
) -> None:
    digests = push_multi_platform(registry, tmp_path)
    push(APP, "1.0", D_APP)
    with_registry_secret(world, registry, PASSWORD)
    sidecar = f"{registry.host}/team/collector:2.0"
    containers = [("app", ecr_image(APP, "1.0")), ("collector", sidecar), ("collector-2", sidecar)]
    arn = register("checkout", containers, arch=arch)

    parsed = world.parse(run_task(arn))

    images = {image["target"]["registry"]: image for image in parsed["images"]}
    assert set(images) == {
        registry.host,
        f"{world.handler.accounts.own_account()}.dkr.ecr.us-east-1.amazonaws.com",
    }
    target = images[registry.host]["target"]
    assert (target["digest"], target["index_digest"]) == (digests[wanted], digests[0])
    assert (
        target["image"] == f"{sidecar}@{digests[wanted]}"
        and target["dedupe_key"] == f"image#{digests[wanted]}"
    )
    assert images[registry.host]["containers"] == ["collector", "collector-2"]
    assert world.alerts() == []
    assert PASSWORD not in json.dumps(parsed) and PASSWORD not in caplog.text
    # the Map item the workflow builds from it claims the platform manifest's digest
    item = map_item(parsed, images[registry.host])
    assert world.invoke(task_input("Claim", item)) == {"claimed": True, "key": f"image#{digests[wanted]}"}


def test_a_wrong_registry_password_is_a_notified_failure_that_names_no_secret(
    world: FargateWorld, registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    push_multi_platform(registry, tmp_path)
    push(APP, "1.0", D_APP)
    wrong = "not-the-registry-password-5521"
    with_registry_secret(world, registry, wrong)
    containers = [("app", ecr_image(APP, "1.0")), ("collector", f"{registry.host}/team/collector:2.0")]
    arn = register("checkout", containers)

    parsed = world.parse(run_task(arn))

    assert [image["target"]["digest"] for image in parsed["images"]] == [D_APP]  # the others go on
    (alert,) = world.alerts()
    assert alert["kind"] == "failure" and alert["target"]["registry"] == registry.host
    assert "containers collector" in alert["reason"]
    assert any(r.levelno == logging.ERROR and "cannot be resolved" in r.getMessage() for r in caplog.records)
    for text in (json.dumps(parsed), json.dumps(alert), caplog.text):
        assert wrong not in text and PASSWORD not in text


def test_a_malformed_credentials_secret_fails_the_step_without_echoing_it(
    world: FargateWorld, registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    push_multi_platform(registry, tmp_path)
    with_registry_secret(world, registry, PASSWORD, token="leftover-field")
    arn = register("checkout", [("collector", f"{registry.host}/team/collector:2.0")])
    assert world.module is not None
    with pytest.raises(world.module.PermanentStepError, match="unexpected keys") as raised:
        world.parse(run_task(arn))
    assert PASSWORD not in str(raised.value) and "leftover-field" not in str(raised.value)
    assert PASSWORD not in caplog.text


def test_an_unreachable_registry_fails_the_step_transiently(world: FargateWorld) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{probe.getsockname()[1]}"
    module = world.load()
    world.handler._http = DistributionClient(insecure_hosts=frozenset({host}), sleep=lambda _s: None)
    arn = register("checkout", [("collector", f"{host}/team/collector:2.0")])
    with pytest.raises(module.TransientStepError, match="failed after 3 attempts"):
        world.parse(run_task(arn), EXECUTION)
    assert world.alerts() == []  # retried by the workflow, not notified as gone
