"""`qscan.azure.workloads.read_workload` through the real management SDKs against the fake ARM server (TLS on
loopback, trusted through REQUESTS_CA_BUNDLE): the bearer token and api-version sent, each workload kind, a gone
resource, throttling retried by the SDK's policy (once, not twice over), denied reads naming the role."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from qscan.azure.workloads import RETRY, Container, read_workload
from qscan.errors import ConfigError, InvalidEvent, TransientError

from tests.doubles.fake_arm import FakeArm

pytestmark = pytest.mark.integration
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
GROUP = "apps"
TOKEN = "arm-token-for-tests-0123456789"


class Credential:
    """An azure-identity credential double: records the scopes asked for, answers `TOKEN`."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    with FakeArm() as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)  # trust the fake's self-signed certificate
        yield fake


@pytest.fixture
def credential() -> Credential:
    return Credential()  # a new one per test: a fresh client (clients are cached per credential)


def test_container_group_read_sends_the_bearer_token_and_an_api_version(
    arm: FakeArm, credential: Credential
) -> None:
    rid = arm.add_container_group(
        SUB, GROUP, "web", [("app", "myreg.azurecr.io/app:1")], init_containers=[("init", "busybox:1")]
    )
    found = read_workload(rid, credential=credential, base_url=arm.url)
    assert found.containers == (
        Container("app", "myreg.azurecr.io/app:1", False),
        Container("init", "busybox:1", True),
    )
    assert credential.scopes == ["https://management.azure.com/.default"]
    [request] = arm.requests
    assert (request.method, request.path, request.bearer) == ("GET", rid, TOKEN)
    assert request.api_version == "2023-05-01"  # azure-mgmt-containerinstance 10.1.0's default


@pytest.mark.parametrize(("add", "kind"), [("add_container_app", "containerApp"), ("add_job", "job")])
def test_container_apps_and_jobs_are_read_with_the_appcontainers_client(
    arm: FakeArm, credential: Credential, add: str, kind: str
) -> None:
    rid = getattr(arm, add)(SUB, GROUP, "api", [("api", "ghcr.io/org/api:2")], tags={"team": "x"})
    found = read_workload(rid, credential=credential, base_url=arm.url)
    assert (found.kind, found.platform, found.tags) == (kind, "aca", {"team": "x"})
    assert found.containers == (Container("api", "ghcr.io/org/api:2", False),)
    [request] = arm.requests
    assert request.bearer == TOKEN and request.api_version


def test_a_resource_deleted_since_its_event_is_gone(arm: FakeArm, credential: Credential) -> None:
    rid = f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.App/jobs/deleted"
    with pytest.raises(InvalidEvent, match="gone") as gone:
        read_workload(rid, credential=credential, base_url=arm.url)
    assert "ResourceNotFound" in gone.value.reason
    assert len(arm.requests) == 1  # a 404 is never retried


def test_throttling_is_retried_by_the_sdk_then_succeeds(arm: FakeArm, credential: Credential) -> None:
    rid = arm.add_container_app(SUB, GROUP, "busy", [("c", "c:1")])
    arm.fail_next(429, retry_after="0")
    arm.fail_next(500)
    found = read_workload(rid, credential=credential, base_url=arm.url)
    assert found.name == "busy"
    assert len(arm.requests) == 3


def test_throttling_beyond_the_retry_budget_is_transient_after_one_round_of_retries(
    arm: FakeArm, credential: Credential
) -> None:
    rid = arm.add_container_group(SUB, GROUP, "busy", [("c", "c:1")])
    arm.fail_next(429, times=20, retry_after="0")
    with pytest.raises(TransientError, match="HTTP 429"):
        read_workload(rid, credential=credential, base_url=arm.url)
    assert len(arm.requests) == 1 + RETRY["retry_total"]  # the SDK's retries only: nothing retries on top


@pytest.mark.parametrize("status", [401, 403])
def test_a_denied_read_names_the_role_and_never_the_token(
    arm: FakeArm, credential: Credential, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    rid = arm.add_job(SUB, GROUP, "secret", [("c", "c:1")])
    arm.fail_next(status, times=3)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError) as denied:
        read_workload(rid, credential=credential, base_url=arm.url)
    assert f"({status} " in denied.value.reason
    assert "Microsoft.App/jobs/read" in denied.value.reason
    assert TOKEN not in denied.value.reason and TOKEN not in caplog.text
    assert "injected fault" not in denied.value.reason  # ARM's message text is never echoed


@pytest.mark.parametrize(
    ("rtype", "kind"),
    [("Microsoft.App/jobs", "job"), ("Microsoft.ContainerInstance/containerGroups", "containerGroup")],
)
def test_an_answer_that_is_not_json_is_rejected(
    arm: FakeArm, credential: Credential, rtype: str, kind: str
) -> None:
    rid = arm.put_raw(f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/{rtype}/j", b"<html>")
    with pytest.raises(InvalidEvent, match=f"not a {kind} resource"):
        read_workload(rid, credential=credential, base_url=arm.url)


def test_an_unreachable_endpoint_is_transient(credential: Credential) -> None:
    rid = f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.App/jobs/j"
    with pytest.raises(TransientError):
        read_workload(rid, credential=credential, base_url="https://127.0.0.1:9")
