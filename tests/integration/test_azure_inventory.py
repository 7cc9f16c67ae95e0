"""The ARM listings of the Azure reconciler (`qscan.azure.inventory`) against the fake ARM server over TLS, read
by the real management SDKs: nextLink paging, `PAGE` before each request, job executions within the lookback,
entries checked by the handler's parser, qscan's own resources skipped, ARM errors mapped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from qscan.azure.inventory import ListedPage, listings
from qscan.errors import ConfigError, TransientError
from qscan.reconcile.core import PAGE

from tests.doubles.fake_arm import FakeArm

pytestmark = pytest.mark.integration

SUB = "00000000-0000-0000-0000-0000000000b2"
NOW = 1_796_180_400.0  # 2026-12-02T03:00:00Z
TOKEN = "arm-token-" + "t" * 40


class Credential:
    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeArm() as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
        yield fake


def listing(arm: FakeArm, name: str, *, lookback_days: int = 7) -> Any:
    found = listings(
        SUB,
        credential=Credential(),
        base_url=arm.url,
        lookback_seconds=lookback_days * 86400,
        now=lambda: NOW,
    )
    return next(item for item in found if item.name == name)


def listed(arm: FakeArm, name: str, *, lookback_days: int = 7) -> list[Any]:
    return list(listing(arm, name, lookback_days=lookback_days).pages())


def workloads(items: list[Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (w.name, tuple(c.image for c in w.containers))
        for page in items
        if isinstance(page, ListedPage)
        for w in page.workloads
    ]


def test_the_sdk_follows_next_link_and_a_page_marker_precedes_each_request(arm: FakeArm) -> None:
    arm.page_size = 2
    for index in range(5):
        arm.add_container_group(SUB, "apps", f"g{index}", [("c", f"reg.example/app:{index}")])
    items = listed(arm, "containerGroups")
    assert [item is PAGE for item in items] == [True, False] * 3  # 2 + 2 + 1 entries: three requests
    assert len(arm.requests) == 3
    assert all(r.bearer == TOKEN and r.api_version for r in arm.requests)
    assert [name for name, _ in workloads(items)] == [f"g{index}" for index in range(5)]


def test_the_listing_is_lazy(arm: FakeArm) -> None:
    arm.page_size = 1
    for index in range(3):
        arm.add_container_app(SUB, "apps", f"app{index}", [("c", "reg.example/web:1")])
    pages = listing(arm, "containerApps").pages()
    assert next(pages) is PAGE and arm.requests == []  # nothing fetched before the caller asks
    assert isinstance(next(pages), ListedPage) and len(arm.requests) == 1


def test_job_executions_within_the_lookback_carry_their_own_images(arm: FakeArm) -> None:
    job = arm.add_job(SUB, "Apps", "nightly", [("main", "reg.example/job:template")])
    arm.add_job_execution(
        job, "nightly-1", [("main", "reg.example/job:started")], start_time="2026-12-01T00:00:00Z"
    )
    arm.add_job_execution(
        job, "nightly-0", [("main", "reg.example/job:old")], start_time="2026-11-01T00:00:00Z"
    )
    arm.add_job_execution(job, "nightly-2", [("main", "reg.example/job:running")], status="Running")
    items = listed(arm, "jobs")
    assert workloads(items) == [
        ("nightly", ("reg.example/job:template",)),
        ("nightly", ("reg.example/job:started",)),
        ("nightly", ("reg.example/job:running",)),
    ]
    assert any(r.path.endswith("/jobs/nightly/executions") for r in arm.requests)
    assert workloads(listed(arm, "jobs", lookback_days=60))[-1] == ("nightly", ("reg.example/job:running",))
    assert len(workloads(listed(arm, "jobs", lookback_days=60))) == 4  # the old one is inside 60 days


def test_own_and_malformed_entries_are_skipped_with_their_reason(arm: FakeArm) -> None:
    arm.add_container_group(
        SUB, "qscan", "qscan-job", [("c", "reg.example/q:1")], tags={"QSCAN:component": "x"}
    )
    rid = (
        f"/subscriptions/{SUB}/resourceGroups/apps/providers/Microsoft.ContainerInstance/containerGroups/bad"
    )
    arm.put_raw(rid, {"id": rid, "location": "westeurope", "properties": {"containers": []}})
    arm.add_container_group(SUB, "apps", "ok", [("c", "reg.example/ok:1")])
    (_, page) = listed(arm, "containerGroups")
    assert [w.name for w in page.workloads] == ["ok"]
    assert page.skipped[0] == "unsupported: qscan-job is qscan's own resource (tagged)"
    assert page.skipped[1].startswith("invalid: ARM list entry") and "containers" in page.skipped[1]


def test_denied_names_the_action_and_throttling_is_transient(arm: FakeArm) -> None:
    arm.fail_next(403)
    with pytest.raises(ConfigError, match=r"Microsoft\.App/containerApps/read"):
        listed(arm, "containerApps")
    arm.fail_next(503, times=4)  # more than the SDK's retries
    with pytest.raises(TransientError):
        listed(arm, "containerApps")


def test_a_job_deleted_since_its_listing_ends_its_executions(arm: FakeArm) -> None:
    job = arm.add_job(SUB, "apps", "gone", [("main", "reg.example/job:1")])
    items = []
    pages = listing(arm, "jobs").pages()
    items.append(next(pages))  # PAGE
    items.append(next(pages))  # the job page
    del arm.resources[job.lower()]  # deleted before its executions are listed: 404
    items.extend(pages)
    assert workloads(items) == [("gone", ("reg.example/job:1",))]
