"""aci-job mode end to end on loopback: the Azure handler on Azurite (Table, Blob, the scan queue), the fake ARM
server creating, running and deleting the scan-job container groups (each job a real `qscan.azure.scan_job`
process, tests/doubles/scan_job_entry.py, running the fake qscanner), a loopback registry for tag -> digest and
the Event Grid double for notifications.

Each test: an ACI write event -> the handler claims the image for its job and PUTs the group (the token only as
a secureValue, tagged as qscan's own) and queues a job check -> the job runs -> the checks (received from the
scan queue as the trigger would) delete the group once it terminated: success, a scan failure the job records
itself, a job that dies without recording, and one that outlives its deadline."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from qscan.azure.handler import AzureScanHandler, InvocationFailed
from qscan.azure.scan_job import OWNER_ENV, TARGET_ENV, job_name
from qscan.config import Settings
from qscan.dedupe.azure_table import entity_keys
from qscan.pipeline import Accounting
from qscan.registry.credentials import RegistryCredential, StaticCredentials

from tests.doubles.eventgrid import EventGridDouble
from tests.doubles.fake_arm import FakeArm, ImageRun
from tests.doubles.fake_qscanner import write_scenarios
from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.harness.oci_registry import Registry, tagged_registry

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FAKE_QSCANNER = REPO / "tests" / "doubles" / "fake_qscanner.py"
SUB = "00000000-0000-0000-0000-0000000000b2"
SCANNER_RG = "qscan-scanner"
IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/{SCANNER_RG}/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/qscan-app"
)
QUALYS_TOKEN = "qualys-token-" + "j" * 40
REGISTRY_PASSWORD = "registry-password-" + "p" * 30
BEARER = "entra-token-job-" + "b" * 40
JOB_IMAGE = "scanjobs.example/qscan/scan-job:1"
TAGS = {"shop": "1.0", "broken": "1.0"}
ACI_WRITE = "Microsoft.ContainerInstance/containerGroups/write"


class Credential:
    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(BEARER, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, dict[str, str]]]:
    """A loopback registry with team/<name>:<name>-<tag> for every entry of TAGS, and their digests."""
    with tagged_registry(tmp_path_factory.mktemp("layouts"), TAGS) as found:
        yield found


@dataclass
class World:
    handler: AzureScanHandler
    arm: FakeArm
    events: EventGridDouble
    registry: Registry
    digests: dict[str, str]
    azurite: Azurite
    table: str
    container: str
    queue: str

    def image(self, repository: str) -> str:
        return f"{self.registry.host}/team/{repository}:{repository}-{TAGS[repository]}"

    def write(self, resource_id: str, message_id: str) -> Accounting:
        event = {
            "id": str(uuid.uuid4()),
            "eventType": "Microsoft.Resources.ResourceWriteSuccess",
            "subject": resource_id,
            "eventTime": "2026-12-02T05:00:00Z",
            "dataVersion": "",
            "topic": f"/subscriptions/{SUB}",
            "data": {"operationName": ACI_WRITE, "status": "Succeeded", "resourceUri": resource_id},
        }
        return self.handler.handle_queue(
            json.dumps(event).encode(), message_id=message_id, dequeue_count=1, max_dequeue_count=5
        )

    def next_check(self, timeout: float = 60.0) -> Accounting:
        """Receive the next job check from the scan queue (once its delay passed) and handle it."""
        client = self.azurite.queue_service().get_queue_client(self.queue)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in client.receive_messages(visibility_timeout=30, max_messages=1):
                accounting = self.handler.handle_queue(
                    message.content.encode(), message_id=message.id, dequeue_count=1, max_dequeue_count=5
                )
                client.delete_message(message)
                return accounting
            time.sleep(0.2)
        raise AssertionError("no job check arrived on the scan queue")

    def until_done(self) -> Accounting:
        """Handle checks until one finds the job terminated (a running job queues the next check)."""
        for _ in range(200):
            accounting = self.next_check()
            if accounting.skipped.get("scan job running") != 1:
                return accounting
        raise AssertionError("the job never terminated")

    def entity(self, repository: str) -> dict[str, Any] | None:
        table = self.azurite.table_service().get_table_client(self.table)
        partition, row = entity_keys(f"image#{self.digests[repository]}")
        try:
            return dict(table.get_entity(partition, row))
        except Exception:
            return None

    def group_get(self, name: str) -> requests.Response:
        path = f"/subscriptions/{SUB}/resourceGroups/{SCANNER_RG}/providers/Microsoft.ContainerInstance/containerGroups"
        return requests.get(
            f"{self.arm.url}{path}/{name}?api-version=2023-05-01",
            headers={"Authorization": f"Bearer {BEARER}"},
            verify=self.arm.ca_file,
            timeout=10,
        )


def _argv(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def world(
    azurite: Azurite,
    registry: tuple[Registry, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    """`request.param` (indirect) picks what the job image runs: the real job (default), a crash, a sleep."""
    running, digests = registry
    job = getattr(request, "param", "job")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    suffix = uuid.uuid4().hex[:10]
    table, container, queue = "qscan" + suffix, "results-" + suffix, "scan-" + suffix
    azurite.table_service().create_table(table)
    azurite.blob_service().create_container(container)
    azurite.queue_service().create_queue(queue)
    shipped = tmp_path / "image" / "qscanner"
    shipped.parent.mkdir()
    shipped.write_text(f'#!/bin/sh\nexec "$QSCAN_FAKE_PYTHON" {FAKE_QSCANNER} "$@"\n')
    shipped.chmod(0o755)
    host = running.host
    scenarios = write_scenarios(
        tmp_path / "scenarios.json", {f"{host}/team/broken@{digests['broken']}": {"exit_code": 1}}, default={}
    )
    with FakeArm() as arm, EventGridDouble(tls_dir=tmp_path / "tls", data_senders={BEARER}) as events:
        bundle = tmp_path / "ca.pem"
        bundle.write_text(Path(arm.ca_file).read_text() + Path(events.ca_file).read_text())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        image_env = {  # the scan-job image's own ENV, and what stands in for its managed identity
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "HOME": str(tmp_path / "job-home"),
            "QSCANNER_PATH": str(shipped),
            "QSCAN_FAKE_PYTHON": sys.executable,
            "QSCAN_FAKE_QSCANNER_SCENARIOS": str(scenarios),
            "REQUESTS_CA_BUNDLE": str(bundle),
            "NO_PROXY": "127.0.0.1,localhost",
            "QSCAN_TEST_BEARER": BEARER,
            "QSCAN_TEST_TEMP_DIR": str(tmp_path / "job-tmp"),
        }
        runs = {
            "job": ImageRun([sys.executable, "-m", "tests.doubles.scan_job_entry"], image_env),
            "crash": ImageRun(_argv("raise SystemExit(3)"), image_env),
            "sleep": ImageRun(_argv("import time; time.sleep(300)"), image_env),
        }
        arm.images[JOB_IMAGE] = runs[job]
        settings = Settings.from_env(
            {
                "QSCAN_CLOUD": "azure",
                "QSCANNER_PATH": str(shipped),
                "QSCAN_STORAGE_ACCOUNT_URL": azurite.blob_endpoint,
                "QSCAN_STORAGE_TABLE_URL": azurite.table_endpoint,
                "QSCAN_STORAGE_QUEUE_URL": azurite.queue_endpoint,
                "QSCAN_SCAN_QUEUE_NAME": queue,
                "QSCAN_DEDUPE_TABLE_NAME": table,
                "QSCAN_RESULTS_CONTAINER": container,
                "QSCAN_EVENTGRID_TOPIC_ENDPOINT": events.endpoint,
                "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
                "QSCAN_AZURE_SCAN_MODE": "aci-job",
                "QSCAN_SCAN_JOB_IMAGE": JOB_IMAGE,
                "QSCAN_SCAN_JOB_RESOURCE_GROUP_ID": f"/subscriptions/{SUB}/resourceGroups/{SCANNER_RG}",
                "QSCAN_SCAN_JOB_IDENTITY_ID": IDENTITY,
                "QSCAN_SCAN_JOB_LOCATION": "westeurope",
                "QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS": "1",
            }
        )
        monkeypatch.setenv("QUALYS_POD", "US2")
        monkeypatch.setenv("QUALYS_ACCESS_TOKEN", QUALYS_TOKEN)
        monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
        handler = AzureScanHandler(
            settings,
            credential=Credential(),
            storage_credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
            arm_base_url=arm.url,
            registry_credentials=StaticCredentials({host: RegistryCredential("robot", REGISTRY_PASSWORD)}),
            insecure_registries=frozenset({host}),
            temp_dir=str(tmp_path / "tmp"),
        )
        yield World(handler, arm, events, running, digests, azurite, table, container, queue)


def _env(put: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [container] = put["properties"]["containers"]
    return {v["name"]: v for v in container["properties"]["environmentVariables"]}


def test_a_job_scans_records_and_its_group_is_deleted(world: World) -> None:
    group = world.arm.add_container_group(SUB, "apps", "shop", [("app", world.image("shop"))])
    accounting = world.write(group, "message-1")
    assert accounting.skipped == {"scan job started": 1}
    name = job_name("message-1", f"image#{world.digests['shop']}")

    [put] = world.arm.puts
    env = _env(put)
    assert env["QUALYS_ACCESS_TOKEN"] == {"name": "QUALYS_ACCESS_TOKEN", "secureValue": QUALYS_TOKEN}
    assert env["QSCANNER_REGISTRY_PASSWORD"] == {
        "name": "QSCANNER_REGISTRY_PASSWORD",
        "secureValue": REGISTRY_PASSWORD,
    }
    assert env[OWNER_ENV]["value"] == name
    assert json.loads(env[TARGET_ENV]["value"])["digest"] == world.digests["shop"]
    visible = json.dumps({k: v for k, v in put.items() if k != "properties"}) + json.dumps(
        [{k: v for k, v in e.items() if k != "secureValue"} for e in env.values()]
    )
    assert QUALYS_TOKEN not in visible and REGISTRY_PASSWORD not in visible  # only ever a secureValue
    assert QUALYS_TOKEN not in json.dumps(put["properties"]["containers"][0]["properties"]["command"])
    assert put["tags"] == {"qscan:component": "scan-job"}
    assert put["properties"]["restartPolicy"] == "Never"
    assert put["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}}

    answer = world.group_get(name)
    assert answer.status_code == 200
    assert "secureValue" not in answer.text and QUALYS_TOKEN not in answer.text  # ACI never returns them

    # The job's own group raises a write event too: skipped by its tag.
    own = world.write(answer.json()["id"], "message-own")
    assert own.skipped == {"unsupported: " + name + " is qscan's own resource (tagged)": 1}

    done = world.until_done()
    assert done.scanned == 1, world.arm.job_output(name)
    entity = world.entity("shop")
    assert entity is not None and entity["state"] == "complete" and entity["owner"] == name
    assert [b.name for b in world.azurite.blob_service().get_container_client(world.container).list_blobs()]
    assert world.group_get(name).status_code == 404  # deleted by the check
    # A redelivered check finds the group gone: nothing to do, nothing raised.
    again = world.handler.handle_queue(
        json.dumps(
            {
                "qscan_job": {
                    "name": name,
                    "key": f"image#{world.digests['shop']}",
                    "owner": name,
                    "deadline": int(time.time()) + 600,
                }
            }
        ).encode(),
        message_id="redelivered",
        dequeue_count=2,
        max_dequeue_count=5,
    )
    assert again.skipped == {"scan job gone": 1}


def test_a_failing_scan_releases_the_claim_notifies_once_and_the_group_is_deleted(world: World) -> None:
    group = world.arm.add_container_group(SUB, "apps", "broken", [("app", world.image("broken"))])
    world.write(group, "message-2")
    name = job_name("message-2", f"image#{world.digests['broken']}")
    done = world.until_done()
    assert done.failed == 1, world.arm.job_output(name)
    assert world.entity("broken") is None  # released: the next event scans again
    [alert] = world.events.events
    assert alert["data"]["status"] == "failed"
    assert world.group_get(name).status_code == 404


@pytest.mark.parametrize("world", ["crash"], indirect=True)
def test_a_job_that_dies_without_recording_is_released_and_notified_by_the_check(world: World) -> None:
    group = world.arm.add_container_group(SUB, "apps", "shop", [("app", world.image("shop"))])
    world.write(group, "message-3")
    name = job_name("message-3", f"image#{world.digests['shop']}")
    entity = world.entity("shop")
    assert entity is not None and entity["owner"] == name  # the job's claim
    done = world.until_done()
    assert done.failed == 1
    assert world.entity("shop") is None
    [alert] = world.events.events
    assert alert["data"]["status"] == "failed" and "exited with 3" in json.dumps(alert["data"])
    assert world.group_get(name).status_code == 404


@pytest.mark.parametrize("world", ["sleep"], indirect=True)
def test_a_job_past_its_deadline_is_deleted_released_and_notified(world: World) -> None:
    group = world.arm.add_container_group(SUB, "apps", "shop", [("app", world.image("shop"))])
    world.write(group, "message-4")
    name = job_name("message-4", f"image#{world.digests['shop']}")
    assert world.next_check().skipped == {"scan job running": 1}  # before its deadline: checked again
    assert world.handler.jobs is not None
    later = time.time() + 3600
    world.handler.jobs.clock = lambda: later
    done = world.next_check()
    assert done.failed == 1
    assert world.entity("shop") is None
    [alert] = world.events.events
    assert alert["data"]["status"] == "timeout"
    assert world.group_get(name).status_code == 404  # deleted (its process killed)


def _check_message(name: str, key: str, **extra: Any) -> bytes:
    body = {"name": name, "key": key, "owner": name, "deadline": int(time.time()) + 600, **extra}
    return json.dumps({"qscan_job": body}).encode()


def test_a_malformed_check_is_skipped_not_retried(world: World) -> None:
    name = job_name("m", f"image#{world.digests['shop']}")
    accounting = world.handler.handle_queue(
        _check_message(name, f"image#{world.digests['shop']}", image="x"),
        message_id="bad-check",
        dequeue_count=1,
        max_dequeue_count=5,
    )
    assert accounting.events == 1 and sum(accounting.skipped.values()) == 1
    assert next(iter(accounting.skipped)).startswith("invalid: a job check has exactly the fields")
    assert world.arm.requests == []  # nothing asked of ARM


def test_a_check_without_aci_job_mode_is_retried(world: World) -> None:
    name = job_name("m", f"image#{world.digests['shop']}")
    world.handler.jobs = None  # the app switched back to function mode while a job ran
    with pytest.raises(InvocationFailed, match="QSCAN_AZURE_SCAN_MODE is not aci-job"):
        world.handler.handle_queue(
            _check_message(name, f"image#{world.digests['shop']}"),
            message_id="check",
            dequeue_count=1,
            max_dequeue_count=5,
        )
