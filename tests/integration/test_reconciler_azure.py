"""The Azure reconciler end to end on loopback: the timer function of handlers/azure/function_app.py (and
`qscan.azure.reconciler.run_with`) with the real handler's identity, Table dedupe store, Blob results and image
resolution (Azurite, the docker-registry), the fake ARM server's paged listings read by the real SDKs, and the
scan queue on Azurite, whose messages the queue function then consumes.

Workloads whose write events never arrived (an ACI group, an ACA app, a job execution started with an image of
its own) are found and requested exactly once; a second run requests nothing; expired results are requested
again; a page limit stops a run (inventory complete=false) and the next resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.functions.queue import QueueMessage
from qscan.azure.reconciler import ReconcileFailed, run_with
from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.reconcile.core import state_key
from qscan.reconcile.inventory import Inventory, inventory_key
from qscan.structs import replace

from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.integration import test_function_app_azurite as app_tests
from tests.integration.test_function_app_azurite import SUB, World

pytestmark = pytest.mark.integration
registry, world = app_tests.registry, app_tests.world  # the app tests' fixtures: the same world

NOW = 1_796_180_400.0  # 2026-12-02T03:00:00Z: the fake ARM's default execution start is two hours before
DAY = 24 * 3600


class Queue:
    """The scan queue on Azurite: what the reconciler sends, read back as the Functions host hands it over."""

    def __init__(self, azurite: Azurite) -> None:
        self.name = "scan-" + uuid.uuid4().hex[:10]
        self.client = azurite.queue_service().get_queue_client(self.name)
        self.client.create_queue()

    def drain(self) -> list[Any]:
        messages = []
        for message in self.client.receive_messages(messages_per_page=32, visibility_timeout=60):
            messages.append(message)
            self.client.delete_message(message)
        return messages


@pytest.fixture
def queue(azurite: Azurite) -> Iterator[Queue]:
    created = Queue(azurite)
    yield created
    created.client.delete_queue()


def configure(world: World, queue: Queue, **changes: Any) -> None:
    """The reconciler's app settings on the world's handler (as the module sets them)."""
    world.handler.settings = replace(
        world.handler.settings,
        reconcile_subscription_ids=(SUB,),
        storage_queue_url=world.azurite.queue_endpoint,
        scan_queue_name=queue.name,
        **changes,
    )


def reconcile(world: World, queue: Queue, *, clock: float = NOW, store: Any | None = None) -> Any:
    if store is not None:
        world.handler.pipeline = replace(world.handler.pipeline, store=store)
    return run_with(world.handler, queue=queue.client, clock=lambda: clock)


def inventory(world: World) -> Inventory:
    body = world.handler.pipeline.results.get_document(inventory_key("azure", SUB))  # type: ignore[attr-defined]
    assert body is not None
    return Inventory.from_json(body)


def seed(world: World) -> dict[str, str]:
    """Workloads whose write events were missed: an ACI group, an ACA app, a job and an execution of it started
    with another image; plus qscan's own group (skipped) and an old execution (outside the lookback)."""
    ids = {
        "aci": world.arm.add_container_group(SUB, "apps", "shop", [("c", world.image("shop"))]),
        "app": world.arm.add_container_app(SUB, "apps", "web", [("c", world.image("web"))]),
        "own": world.arm.add_container_group(
            SUB, "qscan", "qscan-job", [("c", world.image("broken"))], tags={"qscan:component": "scan-job"}
        ),
    }
    job = world.arm.add_job(SUB, "apps", "nightly", [("main", world.image("shop"))])
    ids["job"] = job
    world.arm.add_job_execution(job, "nightly-new", [("main", world.image("job"))])
    world.arm.add_job_execution(
        job, "nightly-old", [("main", world.image("bad"))], start_time="2026-10-01T00:00:00Z"
    )
    return ids


def requested_digests(messages: list[Any]) -> list[str]:
    return sorted(json.loads(m.content)["detail"]["target"]["digest"] for m in messages)


def test_missed_workloads_are_requested_once_and_consumed_by_the_queue_function(
    world: World, queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qscan")
    configure(world, queue)
    world.arm.page_size = 1  # every listing pages through nextLink
    seed(world)
    (first,) = reconcile(world, queue)
    assert first.summary.enqueued == 3 and first.summary.error_count == 0
    messages = queue.drain()
    digests = world.digests
    # shop (the group and the job's template), web (the app), job (the execution's own image); never the own
    # group's "broken" nor the old execution's "bad"
    assert requested_digests(messages) == sorted([digests["shop"], digests["web"], digests["job"]])
    events = [json.loads(m.content) for m in messages]
    assert {e["detail"]["reason"] for e in events} == {"reconcile-missing"}
    assert all(e["source"] == "qscan.reconciler" for e in events)

    snapshot = inventory(world)
    assert snapshot.complete and snapshot.scope == SUB and snapshot.cloud == "azure"
    by_digest = {a.dedupe_key: a for a in snapshot.artifacts}
    shop = by_digest[f"image#{digests['shop']}"]
    assert shop.status == "never-scanned" and shop.requested and shop.platform in {"aci", "aca"}
    assert len(shop.workloads) == 2  # the group and the job
    assert shop.region == "westeurope"
    (line,) = [r for r in caplog.records if r.getMessage().startswith("reconcile summary")]
    assert line.reconcile["enqueued"] == 3 and line.complete is True  # type: ignore[attr-defined]
    assert line.reconcile["skipped"] == 1  # type: ignore[attr-defined]  # the own group

    # the queue function consumes the requests: scanned and stored, no ARM read
    arm_reads = len(world.arm.requests)
    for message in messages:
        world.function("scan_queue")(
            QueueMessage(id=message.id, body=message.content.encode(), dequeue_count=1)
        )
    assert len(world.arm.requests) == arm_reads
    for name in ("shop", "web", "job"):
        entity = world.entity(name)
        assert entity is not None and entity["state"] == "complete", name
    assert any(blob.endswith(".json") and not blob.startswith("inventory/") for blob in world.blobs())

    # a second run: everything is fresh, nothing is requested
    (second,) = reconcile(world, queue)
    assert (second.summary.enqueued, second.summary.fresh) == (0, 3)
    assert queue.drain() == []
    assert {a.status for a in inventory(world).artifacts} == {"fresh"}


def test_overlapping_runs_request_an_artifact_once(world: World, queue: Queue) -> None:
    configure(world, queue)
    seed(world)
    reconcile(world, queue)
    (again,) = reconcile(world, queue)  # before any scan completed: the markers hold
    assert again.summary.enqueued == 0 and again.summary.already_requested == 3
    assert len(queue.drain()) == 3


def test_expired_results_are_requested_again(world: World, queue: Queue) -> None:
    configure(world, queue, cache_ttl_seconds=7 * DAY)
    group = world.arm.add_container_group(SUB, "apps", "shop", [("c", world.image("shop"))])
    assert group
    reconcile(world, queue)
    (message,) = queue.drain()
    world.function("scan_queue")(QueueMessage(id=message.id, body=message.content.encode(), dequeue_count=1))
    (fresh,) = reconcile(world, queue)
    assert fresh.summary.fresh == 1 and queue.drain() == []

    # Past the cache TTL: the completion has expired. The scan handler wrote it on the real clock, which is
    # later than NOW from 2026-12-03 on: count from whichever is later, or the test fails by date.
    later = max(NOW, time.time()) + 8 * DAY
    table = AzureTableDedupeStore.from_endpoint(
        world.azurite.table_endpoint,
        world.table,
        AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
        clock=lambda: later,
    )
    (stale,) = reconcile(world, queue, clock=later, store=table)
    assert (stale.summary.enqueued, stale.summary.stale) == (1, 1)
    (request,) = queue.drain()
    assert json.loads(request.content)["detail"]["reason"] == "reconcile-rescan"
    (artifact,) = stale.inventory.artifacts
    assert artifact.status == "stale" and artifact.last_scanned_at is not None


def test_a_page_limit_stops_a_run_and_the_next_resumes(world: World, queue: Queue) -> None:
    configure(world, queue, reconcile_max_pages=2)
    world.arm.page_size = 1
    for name in ("shop", "web"):
        world.arm.add_container_group(SUB, "apps", f"group-{name}", [("c", world.image(name))])
    world.arm.add_container_app(SUB, "apps", "app-job", [("c", world.image("job"))])

    (first,) = reconcile(world, queue)  # two pages of container groups, then the limit
    assert (first.summary.truncated_by, first.summary.resume_at) == ("pages", "containerApps")
    assert first.summary.enqueued == 2 and first.inventory.complete is False
    assert inventory(world).complete is False
    stored = world.handler.pipeline.results.get_document(state_key("azure", SUB))  # type: ignore[attr-defined]
    assert json.loads(stored)["resume_at"] == "containerApps"

    configure(world, queue, reconcile_max_pages=20)
    listed_before = len(world.arm.requests)
    (second,) = reconcile(world, queue)
    assert "Microsoft.App/containerApps" in world.arm.requests[listed_before].path  # resumed there
    assert second.summary.truncated_by is None and second.inventory.complete
    assert second.summary.enqueued == 1 and second.summary.already_requested == 2
    digests = requested_digests(queue.drain())
    assert digests == sorted(world.digests[name] for name in ("shop", "web", "job"))  # each once in all


def test_the_timer_function_runs_the_reconciler(world: World, queue: Queue) -> None:
    configure(world, queue)
    world.arm.add_container_group(SUB, "apps", "shop", [("c", world.image("shop"))])
    world.app.reconcile(type("Timer", (), {"past_due": True})())  # the app's own scan-queue client
    (message,) = queue.drain()
    assert json.loads(message.content)["detail"]["target"]["digest"] == world.digests["shop"]


def test_an_image_that_cannot_be_resolved_is_a_run_error(world: World, queue: Queue) -> None:
    configure(world, queue)
    missing = f"{world.registry.host}/team/missing:1.0"
    world.arm.add_container_group(SUB, "apps", "ghost", [("gone", missing), ("ok", world.image("shop"))])
    with pytest.raises(
        ReconcileFailed, match=r"^1 error.*team/missing.*manifest unknown"
    ):  # the failures alert sees the run
        reconcile(world, queue)
    snapshot = inventory(world)  # written all the same
    assert snapshot.complete is False  # the next run tries the image again
    assert [a.dedupe_key for a in snapshot.artifacts] == [f"image#{world.digests['shop']}"]
    assert requested_digests(queue.drain()) == [world.digests["shop"]]  # the group's other image all the same


def test_a_spoke_subscription_is_listed_besides_the_hub(world: World, queue: Queue) -> None:
    """QSCAN_RECONCILE_SUBSCRIPTION_IDS with the hub's and a spoke's subscription (aci-aca
    spoke_subscription_ids): each is listed, gets its own inventory, and the spoke's request names it."""
    spoke = app_tests.SPOKE_SUB
    configure(world, queue)
    world.handler.settings = replace(world.handler.settings, reconcile_subscription_ids=(SUB, spoke))
    world.arm.add_container_group(SUB, "apps", "shop", [("c", world.image("shop"))])
    spoke_group = world.arm.add_container_group(spoke, "apps", "web", [("c", world.image("web"))])
    hub_run, spoke_run = reconcile(world, queue)
    assert (hub_run.summary.enqueued, spoke_run.summary.enqueued) == (1, 1)
    by_digest = {
        json.loads(m.content)["detail"]["target"]["digest"]: json.loads(m.content) for m in queue.drain()
    }
    spoke_target = by_digest[world.digests["web"]]["detail"]["target"]
    assert spoke_target["account"] == spoke and spoke_target["resource_id"] == spoke_group
    assert by_digest[world.digests["shop"]]["detail"]["target"]["account"] == SUB
    body = world.handler.pipeline.results.get_document(inventory_key("azure", spoke))  # type: ignore[attr-defined]
    assert body is not None and Inventory.from_json(body).scope == spoke
