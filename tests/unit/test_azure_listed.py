"""`qscan.azure.workloads.parse_listed` and `execution_workload`: the reconciler's listing entries go through the
handler's parser, and a job execution's template replaces the job's containers (and nothing else)."""

from __future__ import annotations

from typing import Any

import pytest
from qscan.azure.workloads import execution_workload, parse_listed
from qscan.errors import InvalidEvent, UnsupportedEvent

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
JOB = f"/subscriptions/{SUB}/resourceGroups/Apps/providers/Microsoft.App/jobs/Nightly"


def job_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": JOB,
        "location": "West Europe",
        "tags": {"team": "shop"},
        "properties": {"template": {"containers": [{"name": "main", "image": "reg.example/job:1"}]}},
    }
    body.update(changes)
    return body


def execution(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{JOB}/executions/nightly-abc",
        "properties": {
            "status": "Running",
            "template": {
                "containers": [{"name": "main", "image": "reg.example/job:started"}],
                "initContainers": [{"name": "init", "image": "reg.example/init:2"}],
            },
        },
    }
    body.update(changes)
    return body


def test_a_listed_entry_is_parsed_like_a_get() -> None:
    job = parse_listed(job_body(), SUB.upper())
    assert (job.kind, job.platform, job.name, job.location) == ("job", "aca", "nightly", "West Europe")
    assert [c.image for c in job.containers] == ["reg.example/job:1"]


def test_an_entry_of_another_subscription_or_type_is_refused() -> None:
    other = JOB.replace(SUB, "0b1f6471-1bf0-4dda-aec3-999999999999")
    with pytest.raises(InvalidEvent, match="another subscription"):
        parse_listed(job_body(id=other), SUB)
    storage = f"/subscriptions/{SUB}/resourceGroups/apps/providers/Microsoft.Storage/storageAccounts/st1"
    with pytest.raises(UnsupportedEvent):
        parse_listed(job_body(id=storage), SUB)
    with pytest.raises(InvalidEvent, match="no id"):
        parse_listed({"location": "westeurope"}, SUB)


def test_an_execution_runs_its_own_template() -> None:
    job = parse_listed(job_body(), SUB)
    ran = execution_workload(job, execution())
    assert [(c.name, c.image, c.init) for c in ran.containers] == [
        ("main", "reg.example/job:started", False),
        ("init", "reg.example/init:2", True),
    ]
    assert (ran.resource_id, ran.tags, ran.location) == (job.resource_id, job.tags, job.location)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (execution(id=f"{JOB}2/executions/x"), "not an execution of the job"),
        (execution(id=JOB), "not an execution of the job"),
        (execution(properties={"status": "Running"}), "properties.template is missing"),
        (execution(properties={"template": {"containers": []}}), "containers is missing"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_a_malformed_execution_is_invalid(body: Any, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        execution_workload(parse_listed(job_body(), SUB), body)
