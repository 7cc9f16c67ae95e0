"""modules/fargate/workflow.asl.json executed on moto with the real task functions (handlers/aws/fargate).

Every test deploys the workflow on a reset moto server (`tests.harness.fargate_world`: the rendered ASL with
1 s waits and retries, 2 retry attempts), registers ECR images and ECS task definitions in moto, starts an
execution with the CloudTrail-shaped ECS event EventBridge would deliver and reads what it did: per-image
outcomes, task-function invocations, dedupe records, result documents and alerts. Per execution the
accounting closes: images in = scanned + deduplicated + failed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fargate_world import Execution, FargateWorld, fargate_world
from tests.harness.moto_server import ACCOUNT_ID, REGION, MotoServer

pytestmark = pytest.mark.integration

SPOKE = "210987654321"
CRITICAL = [{"qid": "9001", "severity": 5, "packageName": "openssl", "installedVersion": "3.0.1"}]


def dispositions(execution: Execution) -> Counter[str]:
    """Per image of the execution: scanned, deduplicated (a completed scan or a live claim) or failed."""
    found: Counter[str] = Counter()
    for outcome in execution.outcomes:
        kind = outcome.get("outcome")
        found[kind if kind in ("scanned", "deduplicated", "failed") else "unaccounted"] += 1
        assert str(outcome.get("key", "")).startswith("image#sha256:"), outcome
    return found


def assert_accounting_closes(execution: Execution) -> Counter[str]:
    tally = dispositions(execution)
    images = execution.output["parsed"]["images"]
    assert sum(tally.values()) == len(images) == len(execution.outcomes), execution.outcomes
    assert tally["unaccounted"] == 0
    assert tally["scanned"] + tally["deduplicated"] + tally["failed"] == len(images)
    return tally


def failures(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for a in alerts if a["kind"] == "failure"]


@pytest.fixture
def world(moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with fargate_world(moto_server, tmp_path, monkeypatch) as deployed:
        yield deployed


def test_registered_task_definition_scans_each_unique_image_once_then_deployments_scan_nothing(
    world: FargateWorld,
) -> None:
    api, envoy = world.push("shop/api", "1.4"), world.push("shop/envoy", "1.29")
    world.scenario(api, findings=CRITICAL)
    task = world.register("checkout", [api, envoy, api])  # 3 containers, 2 images

    registered = world.execute(world.register_event(task))
    assert registered.status == "SUCCEEDED", registered.cause
    assert assert_accounting_closes(registered) == {"scanned": 2}
    assert registered.statuses() == {api.digest: "success", envoy.digest: "success"}
    assert world.steps("scan_qscanner") == [None, None]
    assert world.module.HANDLER.scanner.started == 2
    documents = world.result_documents(f"results/ecs/{ACCOUNT_ID}/{REGION}/")
    assert sorted(d["target"]["digest"] for d in documents) == sorted([api.digest, envoy.digest])
    assert {d["target"]["resource_id"] for d in documents} == {task["taskDefinitionArn"]}
    for image in (api, envoy):
        claim = world.claim(image)
        assert claim is not None and (claim["state"], claim["status"]) == ("complete", "success")
    (alert,) = world.alerts()  # the vulnerable image only (threshold HIGH), once
    assert (alert["kind"], alert["target"]["digest"], alert["counts"]["critical"]) == (
        "findings",
        api.digest,
        1,
    )

    # A service update and a task run of the same revision: both images are already scanned.
    updated = world.execute(world.update_service_event(task, "shop-prod", "checkout"))
    ran = world.execute(world.run_task_event("checkout:1", "shop-prod"))
    for execution in (updated, ran):
        assert execution.status == "SUCCEEDED", execution.cause
        assert assert_accounting_closes(execution) == {"deduplicated": 2}
        assert set(execution.statuses().values()) == {"deduplicated"}
        assert execution.entered("ScanWithQscanner") == 0
    assert world.steps("scan_qscanner") == [None, None]
    assert world.module.HANDLER.scanner.started == 2
    assert len(world.result_documents()) == 2
    assert world.alerts() == []


def test_a_transient_scan_failure_is_retried_then_notified_once_and_the_other_images_go_on(
    world: FargateWorld,
) -> None:
    broken, fine = world.push("shop/api", "2.0"), world.push("shop/worker", "2.0")
    world.scenario(broken, exit_code=1)  # a generic qscanner error on every attempt: transient
    task = world.register("jobs", [broken, fine])

    execution = world.execute(world.register_event(task))
    assert execution.status == "SUCCEEDED", execution.cause
    assert assert_accounting_closes(execution) == {"scanned": 1, "failed": 1}
    assert execution.statuses() == {broken.digest: "failed", fine.digest: "success"}
    (failed,) = [o for o in execution.outcomes if o.get("outcome") == "failed"]
    assert failed["error"]["Error"] == "TransientStepError"
    # the first attempt and both retries, then the failure path; the fine image scanned once
    assert Counter(world.steps("scan_qscanner")) == {"TransientStepError": 3, None: 1}
    assert execution.entered("ScanWithQscanner") == 2
    assert execution.transitions() == execution.entered() + 2  # each retry is billed as a transition
    assert world.steps("release") == [None] and world.steps("notify_failure") == [None]
    (alert,) = world.alerts()
    assert (alert["kind"], alert["status"], alert["target"]["digest"]) == ("failure", "failed", broken.digest)
    assert world.claim(broken) is None  # released: the next deployment scans it again
    claim = world.claim(fine)
    assert claim is not None and claim["state"] == "complete"

    world.scenario(broken)  # the registry recovers
    again = world.execute(world.update_service_event(task, "batch", "jobs"))
    assert assert_accounting_closes(again) == {"scanned": 1, "deduplicated": 1}
    assert again.statuses() == {broken.digest: "success", fine.digest: "deduplicated"}
    assert world.alerts() == []


def test_a_deterministic_scan_failure_is_not_retried_and_notifies_once(world: FargateWorld) -> None:
    image = world.push("shop/api", "3.0")
    world.scenario(image, exit_code=2)  # invalid parameter: no retry can change it
    execution = world.execute(world.register_event(world.register("api", [image])))
    assert execution.status == "SUCCEEDED", execution.cause
    assert assert_accounting_closes(execution) == {"failed": 1}
    assert world.steps("scan_qscanner") == ["PermanentStepError"]
    assert execution.entered("ScanWithQscanner") == 1
    assert world.steps("notify_failure") == [None]
    (alert,) = world.alerts()
    assert alert["kind"] == "failure" and alert["target"]["digest"] == image.digest
    assert world.claim(image) is None


def test_a_task_definition_registered_in_a_spoke_account_is_read_with_the_spoke_role(
    world: FargateWorld,
) -> None:
    api, sidecar = (
        world.push("team/api", "5.1", account=SPOKE),
        world.push("team/sidecar", "1", account=SPOKE),
    )
    task = world.register("team-api", [api, sidecar, sidecar], account=SPOKE)
    assert task["taskDefinitionArn"].split(":")[4] == SPOKE  # only the spoke account has it

    execution = world.execute(world.register_event(task))
    assert execution.status == "SUCCEEDED", execution.cause
    assert assert_accounting_closes(execution) == {"scanned": 2}
    assert world.steps("scan_qscanner") == [None, None]
    documents = world.result_documents(f"results/ecs/{SPOKE}/{REGION}/")
    assert sorted(d["target"]["digest"] for d in documents) == sorted([api.digest, sidecar.digest])
    assert world.result_documents(f"results/ecs/{ACCOUNT_ID}/") == []

    again = world.execute(world.run_task_event(task["taskDefinitionArn"], "team", account=SPOKE))
    assert assert_accounting_closes(again) == {"deduplicated": 2}
    assert world.module.HANDLER.scanner.started == 2


@pytest.fixture
def sensor_world(moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with fargate_world(moto_server, tmp_path, monkeypatch, backend="qualys-api", max_polls=3) as deployed:
        yield deployed


def test_registry_sensor_scans_after_polling_and_a_poll_timeout_fails_once(
    sensor_world: FargateWorld,
) -> None:
    world = sensor_world
    assert world.qualys is not None
    ready, slow = world.push("shop/api", "7.0"), world.push("shop/batch", "7.0")
    vulns = [{"qid": 11, "title": "openssl", "severity": 5}, {"qid": 12, "title": "zlib", "severity": 2}]
    for image, polls in ((ready, 2), (slow, 50)):  # `slow` never finishes within max_polls (3)
        world.qualys.state.add_image(
            image.digest,
            registry=image.registry,
            repository=image.repository,
            tag=image.tag,
            polls=polls,
            vulns=vulns if image is ready else [],
        )
    execution = world.execute(world.register_event(world.register("sensor", [ready, slow])))
    assert execution.status == "SUCCEEDED", execution.cause
    assert assert_accounting_closes(execution) == {"scanned": 1, "failed": 1}
    assert execution.statuses() == {ready.digest: "success", slow.digest: "failed"}
    (timed_out,) = [o for o in execution.outcomes if o.get("outcome") == "failed"]
    assert timed_out["error"] == {"Error": "qscan.PollTimeout", "Cause": "no scan result after 3 polls"}

    # ready: 2 polls (its scan finished on the second); slow: exactly max_polls, no double counting
    polled = Counter(i["image"]["target"]["digest"] for i in execution.inputs("PollScan"))
    assert polled == {ready.digest: 2, slow.digest: world.max_polls}
    assert world.steps("poll_scan") == [None] * 5
    assert execution.entered("PollScan") == execution.entered("CountPoll") == 5
    assert world.steps("fetch_results") == [None]
    assert world.steps("ensure_registry") == [None, None] and len(world.qualys.state.registries) == 1
    assert world.steps("notify_failure") == [None]
    alerts = world.alerts()
    assert len(failures(alerts)) == 1 and failures(alerts)[0]["target"]["digest"] == slow.digest
    assert [a["target"]["digest"] for a in alerts if a["kind"] == "findings"] == [ready.digest]
    assert world.claim(slow) is None
    claim = world.claim(ready)
    assert claim is not None and (claim["state"], claim["status"]) == ("complete", "success")
    (document,) = [d for d in world.result_documents() if d["status"] == "success"]
    assert (document["backend"], document["counts"]["critical"], document["counts"]["low"]) == (
        "qualys-api",
        1,
        1,
    )
