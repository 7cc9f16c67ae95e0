"""qscan.azure.workloads: ARM answers -> Workload -> scan targets (the answer checks, tags, own resources;
mutated answers, with the event fuzzer's mutations, only ever raise InvalidEvent).

The ARM GET itself is replaced by the body the fake ARM server would answer (`tests.doubles.fake_arm` builders,
no socket); the SDK path (auth, retries, errors) runs against the server in tests/integration/test_fake_arm.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qscan.azure import workloads
from qscan.azure.workloads import Container, Workload, container_targets, is_own, read_workload
from qscan.errors import ConfigError, InvalidEvent, UnsupportedEvent

from tests.doubles.fake_arm import FakeArm
from tests.hypothesis_profiles import property_settings
from tests.unit.test_fuzz_events import _paths, mutated

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
GROUP = "Team-RG"
DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    """(kind, endpoint) of every ARM GET the code made."""
    return []


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, str]]) -> FakeArm:
    """The fake's resources, answered in place of the ARM GET (a resource it does not hold: KeyError)."""
    fake = FakeArm()

    def get(kind: str, platform: str, resource: Any, endpoint: str, credential: Any) -> Any:
        calls.append((kind, endpoint))
        return copy.deepcopy(fake.resources[resource.resource_id.lower()])

    monkeypatch.setattr(workloads, "_get", get)
    return fake


def test_a_container_group_lists_its_containers_and_init_containers(
    arm: FakeArm, calls: list[tuple[str, str]]
) -> None:
    rid = arm.add_container_group(
        SUB,
        GROUP,
        "web",
        [("app", "myreg.azurecr.io/team/app:1.2"), ("sidecar", f"docker.io/library/nginx@{DIGEST}")],
        init_containers=[("migrate", "ghcr.io/org/migrate:7")],
        tags={"team": "payments"},
    )
    found = read_workload(rid.upper(), credential=object())
    assert found == Workload(
        resource_id=f"/subscriptions/{SUB}/resourceGroups/{GROUP.upper()}/providers/"
        "Microsoft.ContainerInstance/containerGroups/web",
        platform="aci",
        kind="containerGroup",
        subscription=SUB,
        resource_group=GROUP.upper(),
        name="web",
        location="westeurope",
        tags={"team": "payments"},
        containers=(
            Container("app", "myreg.azurecr.io/team/app:1.2", init=False),
            Container("sidecar", f"docker.io/library/nginx@{DIGEST}", init=False),
            Container("migrate", "ghcr.io/org/migrate:7", init=True),
        ),
    )
    assert calls == [("containerGroup", "https://management.azure.com")]


@pytest.mark.parametrize(("add", "kind"), [("add_container_app", "containerApp"), ("add_job", "job")])
def test_container_apps_and_jobs_read_their_template(
    arm: FakeArm, calls: list[tuple[str, str]], add: str, kind: str
) -> None:
    rid = getattr(arm, add)(
        SUB, GROUP, "api", [("api", "myreg.azurecr.io/api:3")], init_containers=[("init", "busybox:1.36")]
    )
    found = read_workload(rid, credential=object(), base_url="https://arm.example/")
    assert (found.platform, found.kind, found.location, found.tags) == ("aca", kind, "West Europe", {})
    assert found.containers == (
        Container("api", "myreg.azurecr.io/api:3", False),
        Container("init", "busybox:1.36", True),
    )
    assert calls == [(kind, "https://arm.example")]


def test_container_targets_dedupe_by_image_and_need_digests_for_tags(arm: FakeArm) -> None:
    rid = arm.add_container_group(
        SUB,
        GROUP,
        "web",
        [("a", "myreg.azurecr.io/app:1"), ("b", "myreg.azurecr.io/app:1"), ("c", f"nginx@{DIGEST}")],
        init_containers=[("i", "myreg.azurecr.io/app:1")],
    )
    workload = read_workload(rid, credential=object())
    targets = container_targets(workload, "event-1")
    assert [t.image for t in targets] == ["myreg.azurecr.io/app:1", f"docker.io/library/nginx@{DIGEST}"]
    tagged, pinned = targets
    assert (tagged.platform, tagged.account, tagged.resource_id, tagged.event_id) == (
        "aci",
        SUB,
        workload.resource_id,
        "event-1",
    )
    assert (tagged.lookup, tagged.dedupe_key) == ("image_digest", None)
    assert (pinned.lookup, pinned.dedupe_key) == (None, f"image#{DIGEST}")


def test_a_malformed_image_reference_is_a_permanent_error_naming_the_container(arm: FakeArm) -> None:
    rid = arm.add_job(SUB, GROUP, "job", [("worker", "UPPER/Case:tag")])
    with pytest.raises(InvalidEvent, match="worker"):
        container_targets(read_workload(rid, credential=object()), None)


@pytest.mark.parametrize(
    ("tags", "own"),
    [
        ({"qscan:component": "aci-aca"}, True),
        ({"QSCAN:Component": "scan-job"}, True),  # ARM tag names are case-insensitive
        ({"qscan": "component"}, False),
        ({}, False),
    ],
)
def test_own_resources_are_recognized_by_tag(arm: FakeArm, tags: dict[str, str], own: bool) -> None:
    rid = arm.add_container_group(SUB, GROUP, "scan", [("qscanner", "qscanner:1")], tags=tags)
    assert is_own(read_workload(rid, credential=object())) is own


def test_the_own_tag_name_is_a_parameter(arm: FakeArm) -> None:
    rid = arm.add_container_app(SUB, GROUP, "scan", [("q", "q:1")], tags={"qscan:self": "true"})
    workload = read_workload(rid, credential=object())
    assert not is_own(workload)
    assert is_own(workload, tag_name="qscan:self")


def _mutations() -> list[tuple[str, Any, str]]:
    """(what to break, how, the reason expected) over an ACI body and an ACA body."""
    return [
        ("aci", lambda b: b.pop("id"), "id is missing"),
        ("aci", lambda b: b.update(id=b["id"].replace("/web", "/other")), "not the resource asked for"),
        ("aci", lambda b: b.update(location="west\neurope"), "location"),
        ("aci", lambda b: b.update(tags=["a"]), "tags is not an object"),
        ("aci", lambda b: b.update(tags={"k": 1}), "tag value"),
        ("aci", lambda b: b.update(tags={f"k{i}": "v" for i in range(51)}), "more than 50"),
        ("aci", lambda b: b["properties"].update(containers=[]), "properties.containers is missing"),
        ("aci", lambda b: b["properties"].update(containers="x"), "properties.containers"),
        ("aci", lambda b: b["properties"]["containers"][0].pop("name"), r"containers\[0\]\.name"),
        ("aci", lambda b: b["properties"]["containers"][0]["properties"].pop("image"), "properties.image"),
        ("aci", lambda b: b["properties"]["containers"][0].update(properties=None), "properties.image"),
        (
            "aci",
            lambda b: b["properties"].update(initContainers=[1]),
            r"initContainers\[0\] is not an object",
        ),
        ("aci", lambda b: b.pop("properties"), "properties is missing"),
        ("aca", lambda b: b["properties"].pop("template"), "properties.template is missing"),
        ("aca", lambda b: b["properties"]["template"]["containers"][0].update(image=""), "image is missing"),
        ("aca", lambda b: b["properties"]["template"]["containers"][0].update(image="x" * 2000), "longer"),
        (
            "aca",
            lambda b: b["properties"]["template"].update(containers=[{"name": "n", "image": "i"}] * 101),
            "above 100",
        ),
    ]


@pytest.mark.parametrize(("platform", "mutate", "reason"), _mutations())
def test_malformed_answers_are_rejected_with_a_reason(
    arm: FakeArm, platform: str, mutate: Any, reason: str
) -> None:
    if platform == "aci":
        rid = arm.add_container_group(SUB, GROUP, "web", [("app", "app:1")])
    else:
        rid = arm.add_container_app(SUB, GROUP, "web", [("app", "app:1")])
    mutate(arm.resources[rid.lower()])
    with pytest.raises(InvalidEvent, match=reason) as rejected:
        read_workload(rid, credential=object())
    assert rejected.value.reason.startswith(f"ARM GET {rid}: the answer's ")
    assert "\n" not in rejected.value.reason


def test_a_body_that_is_not_an_object_is_rejected(arm: FakeArm) -> None:
    rid = arm.put_raw(
        f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.App/jobs/j", ["not", "it"]
    )
    with pytest.raises(InvalidEvent, match="body is not a JSON object"):
        read_workload(rid, credential=object())


@pytest.mark.parametrize(
    ("resource_id", "error"),
    [
        (
            f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/s",
            UnsupportedEvent,
        ),
        ("/subscriptions/not-a-guid/resourceGroups/g/providers/Microsoft.App/jobs/j", InvalidEvent),
    ],
)
def test_only_container_resource_ids_are_read(
    arm: FakeArm, calls: list[tuple[str, str]], resource_id: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        read_workload(resource_id, credential=object())
    assert calls == []


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://management.azure.com", "management.azure.com"]
)
def test_an_arm_endpoint_that_is_not_https_is_refused_before_any_request(
    arm: FakeArm, calls: list[tuple[str, str]], base_url: str
) -> None:
    rid = arm.add_job(SUB, GROUP, "j", [("c", "c:1")])
    with pytest.raises(ConfigError, match="https"):
        read_workload(rid, credential=object(), base_url=base_url)
    assert calls == []


def _bodies() -> list[tuple[str, Any]]:
    fake = FakeArm()
    ids = [
        fake.add_container_group(
            SUB,
            GROUP,
            "web",
            [("app", "app:1")],
            init_containers=[("i", "i:1")],
            tags={"qscan:component": "x"},
        ),
        fake.add_container_app(
            SUB, GROUP, "api", [("api", f"ghcr.io/o/api@{DIGEST}")], init_containers=[("i", "i:1")]
        ),
        fake.add_job(SUB, GROUP, "job", [("job", "myreg.azurecr.io/job:2")], tags={"team": "a"}),
    ]
    return [(rid, fake.resources[rid.lower()]) for rid in ids]


_BODIES = _bodies()
_PREPARED = [(json.dumps(body), _paths(body)) for _, body in _BODIES]


@property_settings(300)
@given(index=st.integers(min_value=0, max_value=len(_BODIES) - 1), data=st.data())
def test_mutated_answers_only_ever_raise_invalid_event(index: int, data: st.DataObject) -> None:
    rid = _BODIES[index][0]
    body = data.draw(mutated([_PREPARED[index]]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workloads, "_get", lambda *_: body)
        try:
            workload = read_workload(rid, credential=object())
            targets = container_targets(workload, None)
        except InvalidEvent:
            return
    assert workload.resource_id.lower() == rid.lower()
    assert targets and all(t.resource_id == workload.resource_id for t in targets)
