"""The Azure Functions app end to end on loopback: the decorated functions of handlers/azure/function_app.py
called as the worker calls them (`func.QueueMessage`, `func.EventHubEvent`), with the real handler on Azurite
(Table dedupe store, Blob results), the fake ARM server (tests/doubles/fake_arm.py, TLS) read by the real
`qscan.azure.workloads`, a docker-registry on loopback for tag -> digest, the Event Grid data-plane double
(TLS) for notifications and the fake qscanner, shipped without its exec bit as zip deploy leaves it.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import azure.functions as func
import pytest
from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from azure.functions.queue import QueueMessage
from qscan.azure.handler import AzureScanHandler, InvocationFailed
from qscan.config import Settings
from qscan.dedupe.azure_table import entity_keys
from qscan.registry.credentials import StaticCredentials

from tests.doubles.eventgrid import EventGridDouble
from tests.doubles.fake_arm import FakeArm
from tests.doubles.fake_qscanner import write_scenarios
from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.harness.oci_registry import Registry, tagged_registry

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[2] / "handlers" / "azure" / "function_app.py"
FAKE_QSCANNER = Path(__file__).resolve().parents[1] / "doubles" / "fake_qscanner.py"
SUB = "00000000-0000-0000-0000-0000000000a1"
QUALYS_TOKEN = "qualys-token-" + "q" * 40
SENDER_TOKEN = "entra-token-data-sender-" + "x" * 40
TAGS = {"shop": "1.0", "web": "2.0", "job": "3.0", "broken": "1.0", "bad": "1.0"}


class Credential:
    """A managed identity stand-in: one token for every scope (ARM, Event Grid)."""

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(SENDER_TOKEN, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, dict[str, str]]]:
    """A loopback registry with team/<name>:<name>-<tag> for every entry of TAGS, and their digests."""
    with tagged_registry(tmp_path_factory.mktemp("layouts"), TAGS) as found:
        yield found


@dataclass
class World:
    app: ModuleType
    handler: AzureScanHandler
    arm: FakeArm
    events: EventGridDouble
    registry: Registry
    digests: dict[str, str]
    azurite: Azurite
    table: str
    container: str

    def image(self, repository: str) -> str:
        return f"{self.registry.host}/team/{repository}:{repository}-{TAGS[repository]}"

    def pinned(self, repository: str) -> str:
        return f"{self.registry.host}/team/{repository}@{self.digests[repository]}"

    def function(self, name: str) -> Any:
        """The user code the worker calls (the app's functions are indexed once, as the worker does)."""
        if not hasattr(self, "_functions"):
            self._functions = {f.get_function_name(): f for f in self.app.app.get_functions()}
        return self._functions[name].get_user_function()

    def queue(self, event: dict[str, Any], *, encode: bool = False, dequeue_count: int = 1) -> Any:
        body = json.dumps(event).encode()
        message = QueueMessage(
            id=str(uuid.uuid4()), body=base64.b64encode(body) if encode else body, dequeue_count=dequeue_count
        )
        return self.function("scan_queue")(message)

    def entity(self, repository: str) -> dict[str, Any] | None:
        table = self.azurite.table_service().get_table_client(self.table)
        partition, row = entity_keys(f"image#{self.digests[repository]}")
        try:
            return dict(table.get_entity(partition, row))
        except Exception:
            return None

    def blobs(self) -> list[str]:
        return [b.name for b in self.azurite.blob_service().get_container_client(self.container).list_blobs()]


def write_event(resource_id: str, operation: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": resource_id,
        "eventTime": "2026-12-02T02:00:00Z",
        "dataVersion": "",
        "topic": f"/subscriptions/{SUB}",
        "data": {
            "operationName": operation,
            "status": "Succeeded",
            "resourceUri": resource_id,
            "subscriptionId": SUB,
            "authorization": {"scope": resource_id},
        },
    }


ACI_WRITE = "Microsoft.ContainerInstance/containerGroups/write"


@pytest.fixture
def world(
    azurite: Azurite,
    registry: tuple[Registry, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    running, digests = registry
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    table, container = "qscan" + uuid.uuid4().hex[:10], "results-" + uuid.uuid4().hex[:10]
    azurite.table_service().create_table(table)
    azurite.blob_service().create_container(container)
    package = tmp_path / "wwwroot" / "bin"
    package.mkdir(parents=True)
    shipped = package / "qscanner"  # what zip deploy leaves: no exec bit
    shipped.write_text(f'#!/bin/sh\nexec "$QSCAN_FAKE_PYTHON" {FAKE_QSCANNER} "$@"\n')
    shipped.chmod(0o444)
    host = running.host
    scenarios = write_scenarios(
        tmp_path / "scenarios.json",
        {
            f"{host}/team/web@{digests['web']}": {
                "findings": [{"qid": "1", "title": "CVE-2026-0001", "severity": 5, "cves": ["CVE-2026-0001"]}]
            },
            f"{host}/team/broken@{digests['broken']}": {"exit_code": 1},
            f"{host}/team/bad@{digests['bad']}": {"exit_code": 2},
        },
        default={},
    )
    monkeypatch.setenv("QSCAN_FAKE_PYTHON", sys.executable)
    monkeypatch.setenv("QSCAN_FAKE_QSCANNER_SCENARIOS", str(scenarios))
    monkeypatch.setenv("QUALYS_POD", "US2")
    monkeypatch.setenv("QUALYS_ACCESS_TOKEN", QUALYS_TOKEN)
    monkeypatch.setenv("QSCAN_ACTIVITY_LOG_HUB_NAME", "activity-log")
    with FakeArm() as arm, EventGridDouble(tls_dir=tmp_path / "tls", data_senders={SENDER_TOKEN}) as events:
        bundle = tmp_path / "ca.pem"
        bundle.write_text(Path(arm.ca_file).read_text() + Path(events.ca_file).read_text())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        settings = Settings.from_env(
            {
                "QSCAN_CLOUD": "azure",
                "QSCANNER_PATH": str(shipped),
                "QSCAN_STORAGE_ACCOUNT_URL": azurite.blob_endpoint,
                "QSCAN_STORAGE_TABLE_URL": azurite.table_endpoint,
                "QSCAN_DEDUPE_TABLE_NAME": table,
                "QSCAN_RESULTS_CONTAINER": container,
                "QSCAN_EVENTGRID_TOPIC_ENDPOINT": events.endpoint,
                "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
            }
        )
        handler = AzureScanHandler(
            settings,
            credential=Credential(),
            storage_credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
            arm_base_url=arm.url,
            registry_credentials=StaticCredentials({}),
            insecure_registries=frozenset({host}),
            temp_dir=str(tmp_path / "tmp"),
        )
        spec = importlib.util.spec_from_file_location("qscan_function_app_world", APP)
        assert spec is not None and spec.loader is not None
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        monkeypatch.setattr(app, "_handler", handler)
        yield World(app, handler, arm, events, running, digests, azurite, table, container)


def aci(world: World, name: str, *images: str, tags: dict[str, str] | None = None) -> str:
    return world.arm.add_container_group(
        SUB, "apps", name, [(f"c{i}", world.image(r)) for i, r in enumerate(images)], tags=tags
    )


def accounting(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    lines = [r for r in caplog.records if r.getMessage().startswith("invocation accounting")]
    assert lines, "no accounting line"
    record = lines[-1]
    assert record.closes is True  # type: ignore[attr-defined]
    return dict(record.accounting)  # type: ignore[attr-defined]


def test_aci_write_is_scanned_then_the_same_image_is_cached(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    first = aci(world, "shop", "shop")
    world.queue(write_event(first, ACI_WRITE))
    tally = accounting(caplog)
    assert (tally["events"], tally["scanned"], tally["targets"]) == (1, 1, 1)
    entity = world.entity("shop")
    assert entity is not None and entity["state"] == "complete" and entity["status"] == "success"
    assert any(name.endswith(".json") for name in world.blobs())
    assert world.arm.requests[-1].bearer == SENDER_TOKEN  # ARM read with the identity's token

    caplog.clear()
    second = aci(world, "shop-copy", "shop")  # another group, same image: base64 like Event Grid sends it
    world.queue(write_event(second, ACI_WRITE), encode=True)
    tally = accounting(caplog)
    assert (tally["events"], tally["scanned"], tally["cached"]) == (1, 0, 1)
    assert tally["accounts"] == {SUB: {"events": 1, "cached": 1}}
    assert world.events.events == []  # no findings: nobody notified


def test_findings_notify_through_event_grid(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    world.queue(write_event(aci(world, "web", "web"), ACI_WRITE))
    assert accounting(caplog)["notified"] == 1
    (event,) = world.events.events
    assert event["type"] == "com.qscan.scan.findings"
    assert event["data"]["target"]["digest"] == world.digests["web"]


def test_own_resource_and_storage_write_are_skipped(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    own = aci(world, "qscan-scan-job", "job", tags={"qscan:component": "scan-job"})
    world.queue(write_event(own, ACI_WRITE))
    assert accounting(caplog)["skipped"] == {
        "unsupported: qscan-scan-job is qscan's own resource (tagged)": 1
    }
    caplog.clear()
    storage = f"/subscriptions/{SUB}/resourceGroups/apps/providers/Microsoft.Storage/storageAccounts/st1"
    world.queue(write_event(storage, "Microsoft.Storage/storageAccounts/write"))
    (reason,) = accounting(caplog)["skipped"]
    assert reason.startswith("unsupported: Azure operation")
    assert world.entity("job") is None


def test_a_failing_scan_raises_until_the_last_attempt_which_notifies(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    event = write_event(aci(world, "broken", "broken"), ACI_WRITE)
    with pytest.raises(InvocationFailed, match=r"scan .* ended failed"):
        world.queue(event, dequeue_count=1)
    assert accounting(caplog)["failed"] == 1
    assert world.events.events == []  # attempts left: no alert yet
    entity = world.entity("broken")
    assert entity is None  # the claim is released: the retry scans again
    with pytest.raises(InvocationFailed):
        world.queue(event, dequeue_count=5)  # maxDequeueCount 5 (host.json): the host poisons it next
    (alert,) = world.events.events
    assert alert["type"] == "com.qscan.scan.failure"


def test_a_deterministic_failure_is_notified_once_and_not_raised(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    world.queue(write_event(aci(world, "bad", "bad"), ACI_WRITE))
    tally = accounting(caplog)
    assert (tally["failed"], tally["notified"]) == (1, 1)
    (alert,) = world.events.events
    assert alert["type"] == "com.qscan.scan.failure"


def test_container_app_and_job_through_the_activity_log(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    app_id = world.arm.add_container_app(SUB, "apps", "web-app", [("web", world.image("shop"))])
    job_id = world.arm.add_job(
        SUB,
        "apps",
        "nightly",
        [("main", world.image("job"))],
        init_containers=[("init", world.image("shop"))],
    )
    body = {
        "records": [
            {
                "eventDataId": str(uuid.uuid4()),
                "operationName": "MICROSOFT.APP/CONTAINERAPPS/WRITE",
                "resultType": "Success",
                "category": "Administrative",
                "resourceId": app_id.upper(),
            },
            {
                "eventDataId": str(uuid.uuid4()),
                "operationName": "MICROSOFT.APP/JOBS/WRITE",
                "resultType": "Success",
                "category": "Administrative",
                "resourceId": job_id,
            },
            {
                "eventDataId": str(uuid.uuid4()),
                "operationName": "MICROSOFT.APP/JOBS/WRITE",
                "resultType": "Start",
                "category": "Administrative",
                "resourceId": job_id,
            },
        ]
    }
    context = SimpleNamespace(retry_context=SimpleNamespace(retry_count=0, max_retry_count=5))
    world.function("activity_log")([func.EventHubEvent(body=json.dumps(body).encode())], context)
    tally = accounting(caplog)
    assert tally["events"] == 3 and tally["targets"] == 3  # app: shop; job: job + its init container's shop
    assert tally["scanned"] == 2 and tally["deduplicated"] + tally["cached"] == 0
    assert sum(tally["skipped"].values()) == 1
    assert world.entity("job") is not None and world.entity("shop") is not None


def test_secrets_never_logged(world: World, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="qscan")
    world.queue(write_event(aci(world, "web2", "web"), ACI_WRITE))
    with pytest.raises(InvocationFailed):
        world.queue(write_event(aci(world, "broken2", "broken"), ACI_WRITE), dequeue_count=5)
    text = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert QUALYS_TOKEN not in text
    assert SENDER_TOKEN not in text


def test_arm_denied_is_retried_with_the_role_it_needs(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    event = write_event(aci(world, "denied", "shop"), ACI_WRITE)
    world.arm.fail_next(403)
    with pytest.raises(InvocationFailed, match="misconfiguration"):
        world.queue(event)
    assert accounting(caplog)["failed"] == 1
    caplog.clear()
    world.queue(event, dequeue_count=2)  # the role assigned meanwhile: the retry scans
    assert accounting(caplog)["failed"] == 0


def test_an_image_the_registry_does_not_have_is_notified_not_retried(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    missing = f"{world.registry.host}/team/missing:1.0"
    group = world.arm.add_container_group(
        SUB, "apps", "ghost", [("app", missing), ("ok", world.image("shop"))]
    )
    world.queue(write_event(group, ACI_WRITE))  # not raised: a retry cannot make the image appear
    tally = accounting(caplog)
    assert (tally["events"], tally["targets"], tally["failed"], tally["notified"]) == (1, 2, 1, 1)
    (alert,) = world.events.events
    assert alert["type"] == "com.qscan.scan.failure"
    assert "team/missing" in alert["data"]["target_name"]
    assert world.entity("shop") is not None  # the other container's image was scanned all the same


def test_event_hub_failures_notify_at_the_last_retry_and_bad_bodies_are_skipped(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    group = aci(world, "broken-eh", "broken")
    record = {
        "eventDataId": str(uuid.uuid4()),
        "operationName": {"value": ACI_WRITE.upper()},
        "status": {"value": "Succeeded"},
        "resourceId": group.upper(),
    }
    events = [
        func.EventHubEvent(body=json.dumps({"records": [record]}).encode()),
        func.EventHubEvent(body=b"{"),
    ]

    def run(retry_count: int) -> None:
        context = SimpleNamespace(retry_context=SimpleNamespace(retry_count=retry_count, max_retry_count=5))
        world.function("activity_log")(events, context)

    with pytest.raises(InvocationFailed):
        run(0)
    tally = accounting(caplog)
    assert (tally["events"], tally["failed"], tally["skipped"]) == (
        2,
        1,
        {"invalid: Event Hub event is not UTF-8 JSON": 1},
    )
    assert world.events.events == []
    with pytest.raises(InvocationFailed):
        run(5)  # the retry policy's last run: the host drops the batch after it, so the failure is notified
    (alert,) = world.events.events
    assert alert["type"] == "com.qscan.scan.failure"


SPOKE_SUB = "00000000-0000-0000-0000-0000000000b2"


def test_a_spoke_subscription_write_is_scanned_and_its_result_names_the_spoke(world: World, caplog) -> None:
    """environments/azure-spoke delivers another subscription's events to the hub's queue: the hub app reads
    the workload in that subscription by the event's resource id, and the result names the subscription."""
    caplog.set_level(logging.INFO, logger="qscan")
    group = world.arm.add_container_group(SPOKE_SUB, "shop", "spoke-shop", [("c0", world.image("job"))])
    event = write_event(group, ACI_WRITE)
    event["topic"] = f"/subscriptions/{SPOKE_SUB}"
    event["data"]["subscriptionId"] = SPOKE_SUB
    world.queue(event)
    tally = accounting(caplog)
    assert tally["scanned"] == 1
    # split by the workload's subscription
    assert tally["accounts"] == {SPOKE_SUB: {"events": 1, "scanned": 1}}
    assert world.arm.requests[-1].path.startswith(f"/subscriptions/{SPOKE_SUB}/resourceGroups/shop/")
    client = world.azurite.blob_service().get_container_client(world.container)
    (name,) = [n for n in world.blobs() if n.endswith(".json")]
    result = json.loads(client.download_blob(name).readall())
    assert name.startswith(f"results/aci/{SPOKE_SUB}/")
    assert result["target"]["account"] == SPOKE_SUB
    assert result["target"]["resource_id"] == group
    assert result["status"] == "success"
