"""The Fargate workflow's task functions (handlers/aws/fargate/handler.py) over in-process moto and doubles.

Each test loads the handler fresh (its cold start runs at import) in a moto account holding the dedupe table,
results bucket, alerts topic (an SQS queue subscribed, to read alerts back), the Qualys secret, ECS task
definitions and ECR repositories (tests/harness/handler_world.py), and calls one step at a time with the input
the workflow (modules/fargate/workflow.asl.json) passes it. The fake qscanner (tests/doubles) scans; the fake
Qualys API (tests/doubles/fake_qualys_api.py) answers the registry-sensor steps through its requests adapter,
mounted on the handler's own Qualys client (so the token from the secret is what authenticates). Images in
registries other than ECR are resolved by `RegistryDouble` here (the real distribution client against a real
registry is tests/integration/test_handler_fargate_registry.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from qscan.metrics import DASHBOARD_METRICS
from qscan.oci import OCI_INDEX, OCI_MANIFEST
from qscan.refs import ImageRef
from qscan.registry.client import ManifestAnswer
from qscan.registry.errors import ManifestNotFound
from qscan.results.schema import schema_errors

from tests.doubles.fake_qualys_api import FakeQualysAdapter, FakeQualysState, Fault
from tests.harness.fargate_world import cloudtrail_event
from tests.harness.handler_world import (
    BUCKET,
    REGION,
    LambdaContext,
    World,
    emf_lines,
    image_manifest,
    moto_world,
)
from tests.unit.test_fargate_workflow import VALUES, all_states, render

ACCOUNT = "123456789012"
SPOKE = "222233334444"
TOKEN = "qtok-Fg8wT2mZq5Lr9NvX3cKd7HbY"
EXECUTION = "ecs-4d2d0a22-7a6b-4c5d-9e8f-1a2b3c4d5e6f"
OTHER_EXECUTION = "ecs-9e8f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
SPOKE_REGISTRY = f"{SPOKE}.dkr.ecr.{REGION}.amazonaws.com"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/qualys-ecr-read"
GATEWAY = "https://gateway.qg2.apps.qualys.com"  # the secret's pod US2
APP, ENVOY, METRICS = "shop/app", "shop/envoy", "shop/metrics"
D_APP, D_ENVOY, D_METRICS = ("sha256:" + c * 64 for c in "abc")
D_AMD64, D_ARM64 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
D_FLUENT, D_XRAY = "sha256:" + "f" * 64, "sha256:" + "e" * 64
FLUENT, XRAY = "docker.io/fluent/fluent-bit:3.0.7", "public.ecr.aws/xray/aws-xray-daemon:3.3"


class FargateContext(LambdaContext):
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:qscan-fargate-tasks"


class RegistryDouble:
    """The handler's distribution client for registries other than ECR: known manifests by (registry,
    repository, tag or digest); anything else is `ManifestNotFound`, as from a registry's 404."""

    def __init__(self, manifests: dict[tuple[str, str, str], str]) -> None:
        self.manifests = manifests
        self.asked: list[str] = []

    def head_manifest(self, ref: ImageRef, reference: str) -> ManifestAnswer:
        self.asked.append(f"{ref.registry}/{ref.repository}:{reference}")
        digest = self.manifests.get((ref.registry, ref.repository, reference))
        if digest is None:
            raise ManifestNotFound(f"{ref.registry}/{ref.repository}:{reference} not found")
        return ManifestAnswer(digest, OCI_MANIFEST)

    def get_manifest(self, ref: ImageRef, reference: str) -> ManifestAnswer:
        raise AssertionError("only an index is read by digest, and this double serves none")


class FargateWorld(World):
    platform = "fargate"
    context = FargateContext

    def step(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.invoke({"step": name, **fields})

    def parse(self, event: dict[str, Any], execution: str = EXECUTION) -> dict[str, Any]:
        return self.invoke(task_input("ParseEvent", event, execution))

    def task(self, state: str, data: dict[str, Any]) -> dict[str, Any]:
        """Run the workflow's Task `state` on its input `data`; its output lands at its ResultPath in `data`."""
        output = self.invoke(task_input(state, data))
        result_path = TASKS[state]["ResultPath"]
        assert result_path.count(".") == 1, result_path
        data[result_path[2:]] = output
        return output

    def fail(self, state: str, data: dict[str, Any]) -> BaseException:
        """Run Task `state` expecting a step error; what its Catch (ResultPath $.error) puts into `data`."""
        assert self.module is not None
        with pytest.raises((self.module.TransientStepError, self.module.PermanentStepError)) as raised:
            self.invoke(task_input(state, data))
        data["error"] = caught(raised.value)
        return raised.value

    def result_documents(self) -> dict[str, dict[str, Any]]:
        """The normalized result documents by key (not the raw qscanner outputs beside them)."""
        return {
            key: json.loads(body)
            for key, body in self.objects().items()
            if key.endswith(".json") and not key.endswith(("-ScanResult.json", ".sarif.json"))
        }

    def use_registry(self, manifests: dict[tuple[str, str, str], str]) -> RegistryDouble:
        double = RegistryDouble(manifests)
        self.handler._http = double  # the client the handler would create on first use
        return double

    def use_qualys(self) -> FakeQualysState:
        """The fake Qualys API behind the handler's own client (a requests adapter: no socket, no sleep)."""
        state = FakeQualysState(tokens=(TOKEN,))
        self.handler.api._session.mount(GATEWAY + "/", FakeQualysAdapter(state))
        return state


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FargateWorld]:
    with moto_world(FargateWorld, tmp_path, monkeypatch, TOKEN, {"QSCAN_SERVICE_NAME": "qscan-fargate"}) as w:
        ecr = boto3.client("ecr")
        for repository in (APP, ENVOY, METRICS):
            ecr.create_repository(repositoryName=repository)
        yield w


# ---------------------------------------------------------------------------------------------- AWS side


def push(repository: str, tag: str | None, digest: str, ecr: Any | None = None) -> None:
    """An image manifest in ECR under `digest` (moto does not hash the manifest: the digest is ours)."""
    extra = {"imageTag": tag} if tag else {}
    (ecr or boto3.client("ecr")).put_image(
        repositoryName=repository,
        imageManifest=image_manifest("sha256:" + digest[-1] * 63 + "0", 1469),
        imageDigest=digest,
        **extra,
    )


AMD64_ENTRY = {
    "mediaType": OCI_MANIFEST,
    "digest": D_AMD64,
    "size": 480,
    "platform": {"os": "linux", "architecture": "amd64"},
}
ARM64_ENTRY = {"mediaType": OCI_MANIFEST, "digest": D_ARM64, "size": 480,
               "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}  # fmt: skip


def push_index(repository: str, tag: str, entries: list[dict[str, Any]]) -> None:
    """An OCI image index of these platform manifests under `tag` (its digest is moto's own)."""
    boto3.client("ecr").put_image(
        repositoryName=repository,
        imageManifest=json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
        imageManifestMediaType=OCI_INDEX,
        imageTag=tag,
    )


def register(
    family: str, containers: list[tuple[str, str]], *, ecs: Any | None = None, arch: str | None = None
) -> str:
    """Register a task definition revision (containers as (name, image)); returns its ARN."""
    extra = {"runtimePlatform": {"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"}} if arch else {}
    answer = (ecs or boto3.client("ecs")).register_task_definition(
        family=family,
        containerDefinitions=[{"name": n, "image": i, "memory": 256} for n, i in containers],
        requiresCompatibilities=["FARGATE"],
        **extra,
    )
    return str(answer["taskDefinition"]["taskDefinitionArn"])


def ecr_image(repository: str, reference: str, registry: str = REGISTRY) -> str:
    separator = "@" if reference.startswith("sha256:") else ":"
    return f"{registry}/{repository}{separator}{reference}"


def ecs_call(
    name: str, request: dict[str, Any], response: dict[str, Any] | None, account: str = ACCOUNT
) -> dict[str, Any]:
    """An ECS CloudTrail call as EventBridge delivers it (DESIGN §4 event shapes)."""
    return cloudtrail_event(account, name, request, response)


def registered(arn: str, containers: list[tuple[str, str]]) -> dict[str, Any]:
    """RegisterTaskDefinition with its response recorded."""
    family = arn.rsplit("/", 1)[1].split(":", maxsplit=1)[0]
    definitions = [{"name": n, "image": i} for n, i in containers]
    return ecs_call(
        "RegisterTaskDefinition",
        {"family": family, "containerDefinitions": definitions},
        {"taskDefinition": {"taskDefinitionArn": arn, "containerDefinitions": definitions}},
    )


def run_task(task_definition: str, account: str = ACCOUNT) -> dict[str, Any]:
    """RunTask whose response was not recorded: only the request's task definition is known."""
    return ecs_call("RunTask", {"cluster": "shop-prod", "taskDefinition": task_definition}, None, account)


def by_digest(images: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {image["target"]["digest"]: image for image in images}


def first_item(world: FargateWorld, backend: str = "qscanner") -> dict[str, Any]:
    """Parse a task definition running one ECR image (shop/app:1.0 -> D_APP): its Map item."""
    containers = [("app", ecr_image(APP, "1.0"))]
    push(APP, "1.0", D_APP)
    arn = register("checkout", containers)
    parsed = world.parse(registered(arn, containers))
    (image,) = parsed["images"]
    return map_item(parsed, image, backend)


def item_of(world: FargateWorld, execution: str, backend: str = "qscanner") -> dict[str, Any]:
    """The Map item of another execution for the task definition `first_item` registered."""
    parsed = world.parse(run_task("checkout"), execution)
    (image,) = parsed["images"]
    return map_item(parsed, image, backend)


SCAN_REF = f"{REGISTRY}/{APP}@{D_APP}"  # what qscanner is asked to pull for D_APP (the fake's scenario key)


def finding(qid: str, severity: int) -> dict[str, Any]:
    return {"qid": qid, "title": f"vuln {qid}", "severity": severity, "cves": [f"CVE-2026-{qid}"],
            "packageName": "openssl", "installedVersion": "3.0.1", "fixedVersion": "3.0.9", "cvssScore": 7.5}  # fmt: skip


# ---------------------------------------------------------------------------------------------- the workflow


def task_input(state: str, data: dict[str, Any], execution: str = EXECUTION) -> dict[str, Any]:
    """The input the workflow's Task `state` passes the function: its Parameters filled from `data` (the
    state's input), as Step Functions does for the JSONPath forms the template uses."""
    return _filled(TASKS[state]["Parameters"], data, {"$$.Execution.Name": execution})


def _filled(parameters: dict[str, Any], data: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """`parameters` with every `key.$` replaced by `key` = the value at its path (`known`: the context
    object's paths, e.g. `$$.Execution.Name`)."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key.endswith(".$"):
            out[key[:-2]] = _at(value, data, known)
        else:
            out[key] = _filled(value, data, known) if isinstance(value, dict) else value
    return out


def _at(path: str, data: dict[str, Any], known: dict[str, Any]) -> Any:
    if path in known:
        return known[path]
    if path == "$":
        return data
    assert path.startswith("$."), f"the template uses a path this helper does not evaluate: {path}"
    value: Any = data
    for part in path[2:].split("."):
        value = value[part]
    return value


TASKS = {name: state for name, state in all_states(render(VALUES)["States"]) if state["Type"] == "Task"}
ITEM_SELECTOR = render(VALUES)["States"]["ScanImages"]["ItemSelector"]


def map_item(parsed: dict[str, Any], image: dict[str, Any], backend: str = "qscanner") -> dict[str, Any]:
    """One Map item as `ScanImages` builds it (ItemSelector) from the parse output and one of its images."""
    item = _filled(ITEM_SELECTOR, {"parsed": parsed}, {"$$.Map.Item.Value": image})
    item["backend"] = backend  # the template's ${backend}, rendered as qualys-api here
    return item


def caught(exc: BaseException) -> dict[str, str]:
    """A Catch's `$.error` for a Lambda task that raised `exc`: Error = errorType, Cause = the error JSON."""
    name = type(exc).__name__
    return {
        "Error": name,
        "Cause": json.dumps({"errorMessage": str(exc), "errorType": name, "stackTrace": []}),
    }


def test_every_task_of_the_workflow_names_a_step_and_every_step_is_used(world: FargateWorld) -> None:
    world.load()
    assert {state["Parameters"]["step"] for state in TASKS.values()} == set(world.handler.steps)


# ---------------------------------------------------------------------------------------------- parse


def ten_containers() -> list[tuple[str, str]]:
    """Ten containers, five images: one ECR image by tag (three containers) and by its digest (one more),
    one by digest only, one more ECR tag, and two sidecars from registries other than ECR."""
    return [
        ("app", ecr_image(APP, "1.0")),
        ("app-worker", ecr_image(APP, "1.0")),
        ("app-init", ecr_image(APP, "1.0")),
        ("app-migrate", ecr_image(APP, D_APP)),
        ("envoy", ecr_image(ENVOY, D_ENVOY)),
        ("envoy-admin", ecr_image(ENVOY, D_ENVOY)),
        ("metrics", ecr_image(METRICS, "2.1")),
        ("log-router", FLUENT),
        ("log-shipper", "fluent/fluent-bit:3.0.7"),  # the same image, Docker Hub's short form
        ("xray", XRAY),
    ]


def test_register_task_definition_gives_one_image_per_digest_with_its_containers(world: FargateWorld) -> None:
    push(APP, "1.0", D_APP)
    push(ENVOY, None, D_ENVOY)
    push(METRICS, "2.1", D_METRICS)
    world.load()
    registry = world.use_registry({
        ("docker.io", "fluent/fluent-bit", "3.0.7"): D_FLUENT,
        ("public.ecr.aws", "xray/aws-xray-daemon", "3.3"): D_XRAY,
    })  # fmt: skip
    arn = register("checkout", ten_containers())
    event = registered(arn, ten_containers())

    parsed = world.parse(event)

    assert parsed["context"] == {
        "owner": EXECUTION,
        "event_id": event["id"],
        "account": ACCOUNT,
        "region": REGION,
        "event_name": "RegisterTaskDefinition",
        "cluster": None,
    }
    images = by_digest(parsed["images"])
    assert {digest: image["containers"] for digest, image in images.items()} == {
        D_APP: ["app", "app-init", "app-migrate", "app-worker"],
        D_ENVOY: ["envoy", "envoy-admin"],
        D_METRICS: ["metrics"],
        D_FLUENT: ["log-router", "log-shipper"],
        D_XRAY: ["xray"],
    }
    app = images[D_APP]["target"]
    assert (app["registry"], app["repository"], app["tag"], app["account"]) == (REGISTRY, APP, "1.0", ACCOUNT)
    assert app["image"] == f"{REGISTRY}/{APP}:1.0@{D_APP}" and app["dedupe_key"] == f"image#{D_APP}"
    assert (app["lookup"], app["platform"], app["resource_id"], app["event_id"]) == (
        None,
        "ecs",
        arn,
        event["id"],
    )
    fluent = images[D_FLUENT]["target"]
    assert (fluent["registry"], fluent["image"]) == (
        "docker.io",
        f"docker.io/fluent/fluent-bit:3.0.7@{D_FLUENT}",
    )
    assert sorted(registry.asked) == sorted(
        ["docker.io/fluent/fluent-bit:3.0.7", "public.ecr.aws/xray/aws-xray-daemon:3.3"]
    )
    assert world.alerts() == []


def test_the_task_definition_is_read_now_not_taken_from_the_event(world: FargateWorld) -> None:
    """The event's container list is only what the caller sent; the step describes the task definition."""
    push(APP, "1.0", D_APP)
    push(METRICS, "2.1", D_METRICS)
    world.load()
    arn = register("checkout", [("metrics", ecr_image(METRICS, "2.1"))])
    parsed = world.parse(registered(arn, [("app", ecr_image(APP, "1.0"))]))
    assert [(i["target"]["digest"], i["containers"]) for i in parsed["images"]] == [(D_METRICS, ["metrics"])]


def test_run_task_with_a_bare_family_reads_the_latest_revision(world: FargateWorld) -> None:
    push(APP, "1.0", D_APP)
    push(METRICS, "2.1", D_METRICS)
    world.load()
    register("checkout", [("app", ecr_image(APP, "1.0"))])
    latest = register("checkout", [("app", ecr_image(METRICS, "2.1"))])
    assert latest.endswith(":2")
    parsed = world.parse(run_task("checkout"))
    ((digest, target),) = [(i["target"]["digest"], i["target"]) for i in parsed["images"]]
    assert (digest, target["resource_id"]) == (D_METRICS, latest)
    assert parsed["context"]["cluster"] == "shop-prod" and parsed["context"]["event_name"] == "RunTask"
    # family:revision still names the older one
    (older,) = world.parse(run_task("checkout:1"))["images"]
    assert older["target"]["digest"] == D_APP


@pytest.mark.parametrize("name", ["CreateService", "UpdateService"])
def test_services_name_their_task_definition(world: FargateWorld, name: str) -> None:
    push(APP, "1.0", D_APP)
    world.load()
    arn = register("checkout", [("app", ecr_image(APP, "1.0"))])
    service = {
        "serviceName": "checkout",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop",
        "taskDefinition": arn,
    }
    event = ecs_call(
        name, {"cluster": "shop", "service": "checkout", "taskDefinition": "checkout"}, {"service": service}
    )
    parsed = world.parse(event)
    assert [i["target"]["digest"] for i in parsed["images"]] == [D_APP]
    assert parsed["context"]["event_name"] == name and parsed["context"]["cluster"] == "shop"


def spoke_clients() -> tuple[Any, Any]:
    """ECS and ECR clients acting in the spoke account (moto: assume_role into it gives its keys)."""
    keys = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{SPOKE}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name=REGION,
    )
    return session.client("ecs"), session.client("ecr")


def test_a_task_definition_of_another_account_is_read_with_the_spoke_role(world: FargateWorld) -> None:
    ecs, ecr = spoke_clients()
    ecr.create_repository(repositoryName=APP)
    push(APP, "3.0", D_ENVOY, ecr)
    image = ecr_image(APP, "3.0", SPOKE_REGISTRY)
    arn = register("payments", [("api", image)], ecs=ecs)
    assert f":{SPOKE}:" in arn
    assert boto3.client("ecs").list_task_definitions()["taskDefinitionArns"] == []  # not in the hub
    module = world.load(QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read", QSCAN_SPOKE_EXTERNAL_ID="ext-id-4471")
    assumed: list[dict[str, Any]] = []
    module.HANDLER.clients.client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assumed.append(dict(params))
    )

    parsed = world.parse(run_task(arn, account=SPOKE))

    (found,) = parsed["images"]
    assert (found["target"]["digest"], found["target"]["account"], found["containers"]) == (
        D_ENVOY,
        SPOKE,
        ["api"],
    )
    assert parsed["context"]["account"] == SPOKE
    assert {call["RoleArn"] for call in assumed} == {f"arn:aws:iam::{SPOKE}:role/qscan-spoke-read"}
    assert len(assumed) == 1  # the ECS and the ECR read share the cached credentials
    assert "ext-id-4471" not in json.dumps(parsed)
    # scanned, its result and its alert name the spoke
    world.scenario(f"{SPOKE_REGISTRY}/{APP}@{D_ENVOY}", findings=[finding("2001", 5)])
    item = map_item(parsed, found, "qscanner")
    assert world.task("Claim", item)["claimed"] is True
    scan = world.task("ScanWithQscanner", item)
    assert scan["result_location"].startswith(f"s3://{BUCKET}/results/ecs/{SPOKE}/{REGION}/{APP}/{D_ENVOY}/")
    (alert,) = world.alerts()
    assert (alert["account"], alert["target"]["account"], alert["region"]) == (SPOKE, SPOKE, REGION)


def test_a_task_definition_arn_is_read_in_its_own_region(world: FargateWorld) -> None:
    """The event's region is where it was delivered (a hub bus in another region); the ARN says where it is."""
    west = "eu-west-1"
    boto3.client("ecr", region_name=west).create_repository(repositoryName=APP)
    push(APP, "1.0", D_APP, boto3.client("ecr", region_name=west))
    image = ecr_image(APP, "1.0", f"{ACCOUNT}.dkr.ecr.{west}.amazonaws.com")
    arn = register("checkout", [("app", image)], ecs=boto3.client("ecs", region_name=west))
    world.load()
    parsed = world.parse(run_task(arn))
    (found,) = parsed["images"]
    assert (found["target"]["digest"], found["target"]["region"]) == (D_APP, west)
    assert parsed["context"]["region"] == REGION


def test_another_account_without_the_spoke_role_fails_loudly(
    world: FargateWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A misconfiguration, not an input problem: permanent (no retries), so NotifyEventFailure reports it."""
    ecs, _ = spoke_clients()
    arn = register("payments", [("api", ecr_image(APP, "3.0", SPOKE_REGISTRY))], ecs=ecs)
    module = world.load()
    with pytest.raises(module.PermanentStepError, match="QSCAN_SPOKE_ROLE_NAME"):
        world.parse(run_task(arn, account=SPOKE))
    assert any(
        "QSCAN_SPOKE_ROLE_NAME" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


@pytest.mark.parametrize(
    "event",
    [
        ecs_call("DeregisterTaskDefinition", {"taskDefinition": "checkout:1"}, None),
        ecs_call("StopTask", {"cluster": "shop", "task": "abc"}, None),
        {**ecs_call("RunTask", {"taskDefinition": "checkout"}, None), "detail-type": "ECS Task State Change"},
    ],
    ids=["deregister", "stop-task", "not-cloudtrail"],
)
def test_a_call_that_deploys_nothing_gives_no_images(world: FargateWorld, event: dict[str, Any]) -> None:
    world.load()
    parsed = world.parse(event)
    assert parsed["images"] == [] and parsed["skipped"]
    assert parsed["context"]["owner"] == EXECUTION
    assert world.alerts() == []


def test_a_failed_call_gives_no_images(world: FargateWorld) -> None:
    world.load()
    event = run_task("checkout")
    event["detail"]["errorCode"] = "AccessDeniedException"
    parsed = world.parse(event)
    assert parsed["images"] == [] and "AccessDeniedException" in parsed["skipped"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (run_task("arn:aws:ecs:us-east-1:123456789012:task-definition/bad name:1"), "task definition"),
        (ecs_call("RunTask", {"cluster": "shop"}, None), "names no task definition"),
        ({**run_task("checkout"), "detail": "not an object"}, "detail"),
    ],
    ids=["malformed-arn", "no-task-definition", "detail-not-an-object"],
)
def test_a_malformed_event_is_a_permanent_step_error(
    world: FargateWorld, event: dict[str, Any], reason: str
) -> None:
    module = world.load()
    with pytest.raises(module.PermanentStepError, match=reason):
        world.parse(event)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event": "not an object", "execution": EXECUTION}, "'event'"),
        ({"event": run_task("checkout")}, "context.owner"),
        ({"event": run_task("checkout"), "execution": ""}, "context.owner"),
    ],
    ids=["event-not-an-object", "no-execution", "empty-execution"],
)
def test_parse_needs_the_event_and_the_execution(
    world: FargateWorld, fields: dict[str, Any], reason: str
) -> None:
    module = world.load()
    with pytest.raises(module.PermanentStepError, match=reason):
        world.step("parse", **fields)


def test_a_task_definition_that_does_not_exist_is_a_permanent_step_error(world: FargateWorld) -> None:
    module = world.load()
    with pytest.raises(module.PermanentStepError, match=r"\(ClientException\): no such task definition"):
        world.parse(run_task("no-such-family"))


def test_an_image_whose_tag_is_gone_is_notified_and_the_others_go_on(world: FargateWorld) -> None:
    push(APP, "1.0", D_APP)
    world.load()
    containers = [("app", ecr_image(APP, "1.0")), ("metrics", ecr_image(METRICS, "9.9")), ("sidecar", FLUENT)]
    world.use_registry({})  # the sidecar's tag is gone from its registry too
    arn = register("checkout", containers)

    parsed = world.parse(registered(arn, containers))

    assert [i["target"]["digest"] for i in parsed["images"]] == [D_APP]
    # accounting: every image the task definition names is an image or an unresolved one
    assert sorted((u["image"], u["containers"]) for u in parsed["unresolved"]) == [
        (ecr_image(METRICS, "9.9"), ["metrics"]),
        (FLUENT, ["sidecar"]),
    ]
    alerts = sorted(world.alerts(), key=lambda a: a["target"]["repository"])
    assert [(a["kind"], a["status"], a["target"]["repository"]) for a in alerts] == [
        ("failure", "failed", "fluent/fluent-bit"),
        ("failure", "failed", METRICS),
    ]
    fluent, metrics = alerts
    assert "containers metrics" in metrics["reason"] and "no longer exists" in metrics["reason"]
    assert "containers sidecar" in fluent["reason"]
    assert world.result_documents() == {}  # nothing was scanned: nothing persisted


@pytest.mark.parametrize(("arch", "digest"), [("ARM64", D_ARM64), ("X86_64", D_AMD64), (None, D_AMD64)])
def test_an_image_index_resolves_to_the_task_platform(
    world: FargateWorld, arch: str | None, digest: str
) -> None:
    push_index(APP, "multi", [AMD64_ENTRY, ARM64_ENTRY])
    world.load()
    arn = register("checkout", [("app", ecr_image(APP, "multi"))], arch=arch)
    (image,) = world.parse(run_task(arn))["images"]
    target = image["target"]
    assert target["digest"] == digest and target["dedupe_key"] == f"image#{digest}"
    assert target["index_digest"] not in (None, digest)  # the index it was selected from (moto's own digest)
    assert target["image"] == f"{REGISTRY}/{APP}:multi@{digest}"


def test_an_index_without_the_task_platform_is_notified(world: FargateWorld) -> None:
    push_index(APP, "amd64-only", [AMD64_ENTRY])
    world.load()
    arn = register("checkout", [("app", ecr_image(APP, "amd64-only"))], arch="ARM64")
    assert world.parse(run_task(arn))["images"] == []
    (alert,) = world.alerts()
    assert alert["kind"] == "failure" and "no linux/arm64 manifest" in alert["reason"]


# ---------------------------------------------------------------------------------------------- claim / scan / record


def test_a_new_image_is_scanned_recorded_and_then_cached_for_the_next_execution(world: FargateWorld) -> None:
    world.scenario(SCAN_REF, findings=[finding("1001", 4), finding("1002", 2)])
    world.load()
    item = first_item(world)

    assert world.task("Claim", item) == {"claimed": True, "key": f"image#{D_APP}"}
    scan = world.task("ScanWithQscanner", item)

    assert world.started == 1
    assert (scan["outcome"], scan["key"]) == ("scanned", f"image#{D_APP}")
    assert scan["status"] == "success" and scan["notified"] is True  # one HIGH: the default threshold
    assert scan["counts"] == {"critical": 0, "high": 1, "medium": 0, "low": 1, "info": 0}
    ((key, document),) = world.result_documents().items()
    assert key.startswith(f"results/ecs/{ACCOUNT}/{REGION}/{APP}/{D_APP}/")
    assert scan["result_location"] == f"s3://{BUCKET}/{key}" and scan["scan_id"] == document["scan_id"]
    assert schema_errors(document) == []
    assert (document["status"], document["target"]["digest"]) == ("success", D_APP)
    stored = world.store().lookup(f"image#{D_APP}")
    assert stored is not None and (stored.state, stored.status) == ("complete", "success")
    assert stored.result_location == scan["result_location"]
    (alert,) = world.alerts()
    assert alert["kind"] == "findings" and alert["counts"]["high"] == 1

    other = item_of(world, OTHER_EXECUTION)
    assert world.task("Claim", other) == {"claimed": False, "key": f"image#{D_APP}", "disposition": "cached"}
    assert world.started == 1


def test_a_live_claim_deduplicates_other_executions_and_its_own_retry_wins_it_again(
    world: FargateWorld,
) -> None:
    world.load()
    item = first_item(world)
    assert world.task("Claim", item)["claimed"] is True
    other = item_of(world, OTHER_EXECUTION)
    claim = world.task("Claim", other)
    assert (claim["claimed"], claim["disposition"]) == (False, "deduplicated")
    # even if the other execution reached the scan, it would not scan what the first one holds
    assert world.invoke(task_input("ScanWithQscanner", other)) == {
        "outcome": "deduplicated",
        "key": f"image#{D_APP}",
        "disposition": "deduplicated",
    }
    assert world.started == 0
    # the first execution's scan (e.g. retried after the function timed out) wins its own live claim again
    assert world.task("ScanWithQscanner", item)["status"] == "success"
    assert world.started == 1


def test_a_transient_scanner_failure_releases_the_claim_notifies_nothing_and_the_retry_scans(
    world: FargateWorld,
) -> None:
    world.scenario(SCAN_REF, exit_code=1)
    module = world.load()
    item = first_item(world)
    world.task("Claim", item)

    with pytest.raises(module.TransientStepError, match="ended failed"):
        world.task("ScanWithQscanner", item)

    assert world.store().lookup(f"image#{D_APP}") is None  # released: the Retry scans again at once
    assert world.alerts() == []  # the failure is NotifyImageFailure's, once, after the retries
    assert [d["status"] for d in world.result_documents().values()] == ["failed"]  # every attempt persisted
    world.scenario(SCAN_REF)
    assert world.task("ScanWithQscanner", item)["status"] == "success"  # the Retry, same execution
    assert world.started == 2


def test_a_deterministic_scanner_failure_is_permanent_and_the_failure_path_notifies_once(
    world: FargateWorld,
) -> None:
    world.scenario(SCAN_REF, exit_code=5)  # artifact stage: the image cannot be read
    module = world.load()
    item = first_item(world)
    world.task("Claim", item)

    error = world.fail("ScanWithQscanner", item)

    assert isinstance(error, module.PermanentStepError)
    assert world.store().lookup(f"image#{D_APP}") is None
    assert world.alerts() == []
    # the Catch path: ReleaseClaim, then NotifyImageFailure
    assert world.task("ReleaseClaim", item) == {"released": True}
    assert world.task("NotifyImageFailure", item) == {"notified": True}
    (alert,) = world.alerts()
    assert (alert["kind"], alert["status"], alert["target"]["digest"]) == ("failure", "failed", D_APP)
    assert alert["reason"].startswith("the scan failed: PermanentStepError: scan ")
    assert "SCAN_STAGE_FAILED_5" in alert["reason"]
    assert world.started == 1


# ---------------------------------------------------------------------------------------------- failure path


def test_notify_failure_for_an_image_persists_the_result_and_keeps_its_id_when_retried(
    world: FargateWorld,
) -> None:
    world.load()
    item = first_item(world)
    item["error"] = {"Error": "qscan.PollTimeout", "Cause": "no scan result after 30 polls"}

    assert world.task("NotifyImageFailure", item) == {"notified": True}
    (alert,) = world.alerts()
    assert alert["reason"] == "the scan failed: qscan.PollTimeout: no scan result after 30 polls"
    ((key, document),) = world.result_documents().items()
    assert document["status"] == "failed" and document["reason"] == alert["reason"]
    assert alert["result_location"] == f"s3://{BUCKET}/{key}"
    assert world.store().lookup(f"image#{D_APP}") is None  # notifying claims nothing

    world.task("NotifyImageFailure", item)  # the Task retried (e.g. the first answer was lost)
    (again,) = world.alerts()
    assert again["notification_id"] == alert["notification_id"]  # subscribers drop the duplicate


def test_notify_failure_for_the_event(world: FargateWorld) -> None:
    world.load()
    event = run_task("checkout")
    context = {"owner": EXECUTION, "event_id": event["id"], "account": ACCOUNT, "region": REGION}
    error = {"Error": "PermanentStepError", "Cause": json.dumps({"errorMessage": "task definition gone"})}

    answer = world.step("notify_failure", context=context, image=None, error=error)

    assert answer == {"notified": True}
    (alert,) = world.alerts()
    assert alert["reason"] == "the ECS event failed: PermanentStepError: task definition gone"
    assert (alert["target"]["platform"], alert["target"]["event_id"]) == ("ecs", event["id"])
    assert world.result_documents() == {}  # no image: nothing the store can key


def test_notify_failure_for_the_event_with_the_input_the_workflow_builds(world: FargateWorld) -> None:
    world.load()
    event = run_task("checkout")
    event["error"] = {
        "Error": "PermanentStepError",
        "Cause": json.dumps({"errorMessage": "task definition gone"}),
    }
    assert world.invoke(task_input("NotifyEventFailure", event)) == {"notified": True}
    assert len(world.alerts()) == 1


def test_release_frees_a_held_claim_and_is_a_no_op_without_one(world: FargateWorld) -> None:
    world.load()
    item = first_item(world)
    other = item_of(world, OTHER_EXECUTION)
    assert world.task("ReleaseClaim", item) == {"released": False}  # the Map item starts unclaimed

    world.task("Claim", item)
    world.task("Claim", other)  # claimed: false
    assert world.task("ReleaseClaim", other) == {"released": False}
    held = world.store().lookup(f"image#{D_APP}")
    assert held is not None and held.owner == EXECUTION  # the other execution's failure kept it
    other["claim"] = {"claimed": True}  # even a claim the other execution does not hold
    world.task("ReleaseClaim", other)
    assert world.store().lookup(f"image#{D_APP}") is not None  # frees only its owner's

    assert world.task("ReleaseClaim", item) == {"released": True}
    assert world.store().lookup(f"image#{D_APP}") is None
    assert world.task("Claim", other)["claimed"] is True  # free again


# ---------------------------------------------------------------------------------------------- registry sensor


def qualys_vuln(qid: int, severity: int) -> dict[str, Any]:
    return {"qid": qid, "title": f"vuln {qid}", "severity": severity, "cveids": [f"CVE-2026-{qid}"],
            "software": [{"name": "openssl", "version": "3.0.1", "fixVersion": "3.0.9"}]}  # fmt: skip


def sensor_world(world: FargateWorld, **env: str) -> tuple[FakeQualysState, dict[str, Any]]:
    """The handler on the qualys-api backend, the fake Qualys API behind it and one image's Map item."""
    world.load(QSCAN_SCANNER_BACKEND="qualys-api", **env)
    state = world.use_qualys()
    return state, first_item(world, backend="qualys-api")


def test_the_registry_sensor_steps_schedule_poll_without_counting_and_record(world: FargateWorld) -> None:
    state, item = sensor_world(world, QSCAN_QUALYS_REGISTRY_ROLE_ARN=ROLE_ARN)
    sha = state.add_image(
        D_APP,
        registry=REGISTRY,
        repository=APP,
        tag="1.0",
        vulns=[qualys_vuln(1, 5), qualys_vuln(2, 3)],
        polls=2,
    )
    world.task("Claim", item)

    sensor = world.task("EnsureRegistry", item)
    (registry,) = state.registries.values()
    assert registry["registryUri"] == f"https://{REGISTRY}" and registry["aws"]["arn"] == ROLE_ARN
    assert sensor["registry"]["uuid"] == registry["registryUuid"]

    sensor = world.task("ScheduleScan", item)
    assert sensor["schedule"]["tag"] == "1.0" and sensor["poll"]["attempts"] == 0
    (scheduled,) = state.calls(r"/schedule$", "POST")
    assert json.loads(scheduled.body)["filters"][0]["repoTags"] == [{"repo": APP, "tag": "1.0"}]

    item["polls"] = {"count": 0}  # StartPolling
    first = world.task("PollScan", item)
    assert (first["poll"]["done"], first["poll"]["attempts"], first["poll"]["image_sha"]) == (False, 0, sha)
    item["polls"] = {"count": 1}  # CountPoll: the workflow counts, the step does not
    second = world.task("PollScan", item)
    assert (second["poll"]["done"], second["poll"]["status"], second["poll"]["attempts"]) == (
        True,
        "success",
        0,
    )

    scan = world.task("FetchResults", item)

    assert scan["status"] == "success" and scan["counts"]["critical"] == 1 and scan["counts"]["medium"] == 1
    (document,) = world.result_documents().values()
    assert (document["backend"], document["metadata"]["image_sha"]) == ("qualys-api", sha)
    stored = world.store().lookup(f"image#{D_APP}")
    assert stored is not None and (stored.state, stored.status) == ("complete", "success")
    assert scan["notified"] is True and [a["kind"] for a in world.alerts()] == ["findings"]
    assert world.started == 0  # no qscanner on this backend


def test_ensure_registry_without_a_role_finds_a_connected_registry_or_fails_saying_why(
    world: FargateWorld,
) -> None:
    state, item = sensor_world(world)
    module = world.module
    assert module is not None
    with pytest.raises(module.PermanentStepError, match="not connected to Qualys and no role_arn was given"):
        world.task("EnsureRegistry", item)
    assert state.registries == {}
    uuid = state.add_registry(f"https://{REGISTRY}")  # connected by hand in Qualys
    assert world.task("EnsureRegistry", item)["registry"]["uuid"] == uuid


def finished_sensor(world: FargateWorld, state: FakeQualysState, item: dict[str, Any]) -> None:
    """Claim, register, schedule and poll until Qualys reports the scan finished."""
    state.add_image(D_APP, registry=REGISTRY, repository=APP, tag="1.0", vulns=[qualys_vuln(7, 2)], polls=1)
    state.add_registry(f"https://{REGISTRY}")
    for name in ("Claim", "EnsureRegistry", "ScheduleScan"):
        world.task(name, item)
    item["polls"] = {"count": 0}
    assert world.task("PollScan", item)["poll"]["done"] is True


def test_an_incomplete_report_is_transient_and_releases_the_claim(world: FargateWorld) -> None:
    state, item = sensor_world(world)
    finished_sensor(world, state, item)
    summary = {f"severity{n}Count": int(n == 2) for n in range(1, 6)}
    state.inject(Fault(path=r"/vuln$", status=200, body=json.dumps({"vulnSummary": summary})))  # no details
    module = world.module
    assert module is not None

    with pytest.raises(module.TransientStepError, match="details"):
        world.task("FetchResults", item)

    assert world.store().lookup(f"image#{D_APP}") is None
    assert world.result_documents() == {} and world.alerts() == []  # never recorded as clean
    assert world.task("FetchResults", item)["counts"]["low"] == 1  # the Retry: the report is whole now


def test_a_scan_qualys_reports_failed_is_recorded_and_not_retried(world: FargateWorld) -> None:
    """Qualys's own final answer: a retry of FetchResults cannot change it, so the failure path runs at once."""
    state, item = sensor_world(world)
    state.add_image(D_APP, registry=REGISTRY, repository=APP, tag="1.0", polls=1, final_status="FAILED")
    state.add_registry(f"https://{REGISTRY}")
    for name in ("Claim", "EnsureRegistry", "ScheduleScan"):
        world.task(name, item)
    item["polls"] = {"count": 0}
    assert world.task("PollScan", item)["poll"]["status"] == "failed"
    module = world.module
    assert module is not None

    with pytest.raises(module.PermanentStepError, match="Qualys reported the image scan as failed"):
        world.task("FetchResults", item)

    assert [d["status"] for d in world.result_documents().values()] == ["failed"]  # recorded, never clean
    assert world.store().lookup(f"image#{D_APP}") is None and world.alerts() == []  # the failure path alerts


@pytest.mark.parametrize("step", ["ensure_registry", "schedule_scan", "poll_scan", "fetch_results"])
def test_the_registry_sensor_steps_need_the_qualys_api_backend(world: FargateWorld, step: str) -> None:
    module = world.load()
    item = first_item(world)
    with pytest.raises(module.PermanentStepError, match="QSCAN_SCANNER_BACKEND=qualys-api"):
        world.step(step, context=item["context"], image=item["image"], sensor={})


def test_the_registry_sensor_scans_ecr_images_only(world: FargateWorld) -> None:
    world.load(QSCAN_SCANNER_BACKEND="qualys-api")
    world.use_qualys()
    world.use_registry({("docker.io", "fluent/fluent-bit", "3.0.7"): D_FLUENT})
    arn = register("logs", [("log-router", FLUENT)])
    parsed = world.parse(run_task(arn))
    item = map_item(parsed, parsed["images"][0], "qualys-api")
    assert world.module is not None
    with pytest.raises(world.module.PermanentStepError, match="ECR images only"):
        world.task("EnsureRegistry", item)


# ---------------------------------------------------------------------------------------------- secrets


def test_the_qualys_token_never_reaches_an_output_an_error_or_a_log(
    world: FargateWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.scenario(SCAN_REF, exit_code=1, echo_token=True, stderr=f"auth with {TOKEN} failed")
    module = world.load()
    item = first_item(world)
    outputs = [world.task("Claim", item)]
    with pytest.raises(module.TransientStepError) as raised:
        world.task("ScanWithQscanner", item)
    item["error"] = caught(raised.value)
    outputs += [world.task("ReleaseClaim", item), world.task("NotifyImageFailure", item)]

    assert TOKEN not in str(raised.value) and TOKEN not in json.dumps(outputs)
    assert all(TOKEN.encode() not in body for body in world.objects().values())
    (failed,) = [d for d in world.result_documents().values() if d["exit_code"] == 1]
    assert "auth with *** failed" in failed["logs"]["stderr"]  # the scanner's stderr is kept, masked
    assert TOKEN not in json.dumps(world.alerts()) and TOKEN not in caplog.text


def test_the_qualys_token_never_reaches_a_sensor_output_or_error(
    world: FargateWorld, caplog: pytest.LogCaptureFixture
) -> None:
    state, item = sensor_world(world, QSCAN_QUALYS_REGISTRY_ROLE_ARN=ROLE_ARN)
    state.add_image(D_APP, registry=REGISTRY, repository=APP, tag="1.0", polls=1)
    echo = json.dumps({"message": f"bad request from token {TOKEN}"})
    state.inject(Fault(path=r"/schedule$", status=400, body=echo))
    outputs = [world.task(name, item) for name in ("Claim", "EnsureRegistry")]
    module = world.module
    assert module is not None

    with pytest.raises(module.PermanentStepError) as raised:
        world.task("ScheduleScan", item)
    outputs += [world.task("ScheduleScan", item)]  # the fault answered once

    assert [r.authorization for r in state.calls(r"/schedule$")] == [
        f"Bearer {TOKEN}"
    ] * 2  # the secret's token
    assert TOKEN not in str(raised.value) and TOKEN not in json.dumps(outputs) and TOKEN not in caplog.text
    assert "***" in str(raised.value), str(raised.value)  # the reason is kept, the token masked


# ---------------------------------------------------------------------------------------------- bad input


IMAGE = {"target": {"kind": "image", "platform": "ecs", "registry": REGISTRY, "repository": APP,
                    "digest": D_APP, "image": f"{REGISTRY}/{APP}@{D_APP}"}, "containers": ["app"]}  # fmt: skip
CONTEXT = {"owner": EXECUTION}


UNRESOLVED = {**IMAGE["target"], "lookup": "image_digest", "digest": None}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(
            {}, "the input's 'step' must be one of claim, ensure_registry, fetch_results, ", id="no-step"
        ),
        pytest.param(
            {"step": "persist", "context": CONTEXT, "image": IMAGE}, "'step' must be one of", id="old-step"
        ),
        pytest.param("not an object", "the input's 'step' must be one of", id="not-an-object"),
        pytest.param({"step": "claim", "context": CONTEXT}, "needs the object 'image'", id="no-image"),
        pytest.param({"step": "claim", "image": IMAGE}, "needs the object 'context'", id="no-context"),
        pytest.param(
            {"step": "scan_qscanner", "image": IMAGE, "context": {}},
            r"context.owner \(the execution name\) is missing or malformed",
            id="no-owner",
        ),
        pytest.param(
            {"step": "release", "image": IMAGE, "context": {"owner": "x" * 257}},
            "context.owner",
            id="long-owner",
        ),
        pytest.param(
            {"step": "claim", "context": CONTEXT, "image": {"target": "no"}}, "image.target: ", id="str"
        ),
        pytest.param(
            {"step": "claim", "context": CONTEXT, "image": {"target": {**IMAGE["target"], "kind": "vm"}}},
            "image.target: target kind must be one of",
            id="bad-kind",
        ),
        pytest.param(
            {"step": "claim", "context": CONTEXT, "image": {"target": {**IMAGE["target"], "digest": None}}},
            "image.target must be an image resolved to its digest",
            id="no-digest",
        ),
        pytest.param(
            {"step": "scan_qscanner", "context": CONTEXT, "image": {"target": UNRESOLVED}},
            "image.target must be an image resolved to its digest",
            id="unresolved",
        ),
        pytest.param(
            {"step": "notify_failure", "image": None, "error": {}},
            "needs the object 'context'",
            id="notify-no-context",
        ),
    ],
)
def test_bad_input_is_a_permanent_step_error_with_a_clear_message(
    world: FargateWorld, event: Any, reason: str
) -> None:
    module = world.load()
    with pytest.raises(module.PermanentStepError, match=reason):
        world.invoke(event)
    assert world.started == 0 and world.alerts() == []


def test_schedule_scan_needs_the_sensor_state(world: FargateWorld) -> None:
    world.load(QSCAN_SCANNER_BACKEND="qualys-api")
    assert world.module is not None
    with pytest.raises(world.module.PermanentStepError, match="'sensor'"):
        world.step("schedule_scan", context=CONTEXT, image=IMAGE)
    with pytest.raises(world.module.PermanentStepError, match="'registry' from an earlier step"):
        world.step("schedule_scan", context=CONTEXT, image=IMAGE, sensor={})


def test_a_reconciler_request_is_its_one_image(world: FargateWorld) -> None:
    from qscan.events.reconciler import scan_request_event  # noqa: PLC0415
    from qscan.target import ScanTarget  # noqa: PLC0415

    world.load()
    image = f"public.ecr.aws/nginx/nginx@{D_AMD64}"
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3"
    target = ScanTarget(kind="image", platform="ecs", image=image, digest=D_AMD64, account=ACCOUNT,
                        region=REGION, resource_id=task)  # fmt: skip
    parsed = world.parse(scan_request_event(target, reason="reconcile-missing"))
    assert [i["target"]["dedupe_key"] for i in parsed["images"]] == [f"image#{D_AMD64}"]
    assert parsed["images"][0]["target"]["resource_id"] == task and parsed["unresolved"] == []
    assert parsed["context"]["account"] == ACCOUNT and parsed["context"]["event_name"] == "ScanRequest"


def test_a_reconciler_request_for_another_platform_is_refused(world: FargateWorld) -> None:
    from qscan.events.reconciler import scan_request_event  # noqa: PLC0415
    from qscan.target import ScanTarget  # noqa: PLC0415

    module = world.load()
    target = ScanTarget(kind="image", platform="ecr", image=ecr_image(APP, D_AMD64), digest=D_AMD64)
    with pytest.raises(module.PermanentStepError, match="ECS image"):
        world.parse(scan_request_event(target))


def test_the_failure_of_a_spoke_event_names_the_spoke(world: FargateWorld) -> None:
    world.load(QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read", QSCAN_SPOKE_EXTERNAL_ID="ext-id-4471")
    event = run_task("payments", account=SPOKE)
    context = {"owner": EXECUTION, "event_id": event["id"], "account": SPOKE, "region": REGION}
    error = {"Error": "PermanentStepError", "Cause": json.dumps({"errorMessage": "task definition gone"})}
    subscriber = boto3.client("sqs")
    assert world.step("notify_failure", context=context, image=None, error=error) == {"notified": True}
    (message,) = subscriber.receive_message(QueueUrl=world.alerts_queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == f"qscan [failed] scan failed: unknown image (ecs, {SPOKE})"
    assert envelope["MessageAttributes"]["account"]["Value"] == SPOKE
    assert json.loads(envelope["Message"])["account"] == SPOKE


# ---------------------------------------------------------------------------------------------- metrics


def emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF lines printed since the last call (one invocation's, in these tests)."""
    return emf_lines(capsys.readouterr().out)


def only_line(capsys: pytest.CaptureFixture[str], account: str | None) -> dict[str, float]:
    """The one EMF line an invocation flushed, checked for its shape: the dashboards' names, the `service`
    dimension and, for an account, the [service, account] set; its values."""
    (line,) = emitted(capsys)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert [m["Name"] for m in directive["Metrics"]] == list(DASHBOARD_METRICS)
    assert line["service"] == "qscan-fargate" and line.get("account") == account
    assert directive["Dimensions"] == (
        [["service"]] if account is None else [["service"], ["service", "account"]]
    )
    return {name: line[name] for name in DASHBOARD_METRICS}


def nonzero(values: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in values.items() if value}


def test_a_spoke_images_scan_is_counted_for_the_spoke_account(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs, ecr = spoke_clients()
    ecr.create_repository(repositoryName=APP)
    push(APP, "3.0", D_ENVOY, ecr)
    arn = register("payments", [("api", ecr_image(APP, "3.0", SPOKE_REGISTRY))], ecs=ecs)
    world.load(QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read", QSCAN_SPOKE_EXTERNAL_ID="ext-id-4471")
    world.scenario(f"{SPOKE_REGISTRY}/{APP}@{D_ENVOY}", findings=[finding("2001", 5), finding("2002", 4)])
    emitted(capsys)

    parsed = world.parse(run_task(arn, account=SPOKE))
    assert nonzero(only_line(capsys, SPOKE)) == {}  # every name, as 0: a continuous series per account
    item = map_item(parsed, parsed["images"][0])
    world.task("Claim", item)
    assert nonzero(only_line(capsys, SPOKE)) == {}
    world.task("ScanWithQscanner", item)
    assert nonzero(only_line(capsys, SPOKE)) == {
        "ScansStarted": 1,
        "ScansSucceeded": 1,
        "FindingsCritical": 1,
        "FindingsHigh": 1,
    }
    other = map_item(world.parse(run_task(arn, account=SPOKE), OTHER_EXECUTION), parsed["images"][0])
    emitted(capsys)
    assert world.task("Claim", other)["claimed"] is False
    assert nonzero(only_line(capsys, SPOKE)) == {"ScansDeduplicated": 1}


def test_a_failing_step_still_emits_and_the_failure_path_counts_the_failure_once(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.scenario(SCAN_REF, exit_code=5)
    world.load()
    item = first_item(world)
    world.task("Claim", item)
    emitted(capsys)

    world.fail("ScanWithQscanner", item)  # raises: the flush is in a finally
    assert nonzero(only_line(capsys, ACCOUNT)) == {"ScansStarted": 1, "ScanAttemptsFailed": 1}
    world.task("ReleaseClaim", item)
    assert nonzero(only_line(capsys, ACCOUNT)) == {}
    world.task("NotifyImageFailure", item)
    assert nonzero(only_line(capsys, ACCOUNT)) == {"ScansFailed": 1}


def test_a_poll_timeout_is_a_failed_attempt_and_a_failure(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.load()
    item = first_item(world)
    item["error"] = {"Error": "qscan.PollTimeout", "Cause": "no scan result after 30 polls"}
    emitted(capsys)
    world.task("NotifyImageFailure", item)
    assert nonzero(only_line(capsys, ACCOUNT)) == {"ScanAttemptsFailed": 1, "ScansFailed": 1}


def test_the_parse_step_counts_skipped_events_failures_and_unresolved_images_for_the_events_account(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.load()
    emitted(capsys)
    world.parse(ecs_call("StopTask", {"cluster": "shop", "task": "abc"}, None, SPOKE))
    assert nonzero(only_line(capsys, SPOKE)) == {"EventsSkipped": 1}
    # an `account` that is not an AWS account id is refused and no dimension value: the line has [service] only
    with pytest.raises(Exception, match="12-digit AWS account id"):
        world.parse({**ecs_call("StopTask", {"cluster": "shop", "task": "abc"}, None), "account": "n/a"})
    assert nonzero(only_line(capsys, None)) == {"ScanAttemptsFailed": 1}

    with pytest.raises(Exception, match="names no task definition"):
        world.parse(ecs_call("RunTask", {"cluster": "shop"}, None, SPOKE))
    assert nonzero(only_line(capsys, SPOKE)) == {"ScanAttemptsFailed": 1}

    arn = register("checkout", [("metrics", ecr_image(METRICS, "9.9"))])  # no such tag: unresolved
    assert world.parse(run_task(arn))["images"] == []
    assert nonzero(only_line(capsys, ACCOUNT)) == {"ScansFailed": 1}

    event = run_task("checkout", account=SPOKE)
    context = {"owner": EXECUTION, "event_id": event["id"], "account": SPOKE, "region": REGION}
    error = {"Error": "PermanentStepError", "Cause": json.dumps({"errorMessage": "task definition gone"})}
    world.step("notify_failure", context=context, image=None, error=error)
    assert nonzero(only_line(capsys, SPOKE)) == {"ScansFailed": 1}


def test_the_registry_sensor_counts_the_scan_when_it_is_scheduled(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    state, item = sensor_world(world)
    state.add_image(D_APP, registry=REGISTRY, repository=APP, tag="1.0", vulns=[qualys_vuln(7, 2)], polls=1)
    state.add_registry(f"https://{REGISTRY}")
    for name in ("Claim", "EnsureRegistry", "ScheduleScan"):
        emitted(capsys)
        world.task(name, item)
        counted = nonzero(only_line(capsys, ACCOUNT))
        assert counted == ({"ScansStarted": 1} if name == "ScheduleScan" else {}), name
    item["polls"] = {"count": 0}
    world.task("PollScan", item)
    assert nonzero(only_line(capsys, ACCOUNT)) == {}
    world.task("FetchResults", item)
    assert nonzero(only_line(capsys, ACCOUNT)) == {"ScansSucceeded": 1, "FindingsLow": 1}


def test_the_service_dimension_is_qscan_service_name(
    world: FargateWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.load(QSCAN_SERVICE_NAME="prod-fargate", QSCAN_METRICS_NAMESPACE="secops/qscan")
    emitted(capsys)
    world.parse(ecs_call("StopTask", {"cluster": "shop", "task": "abc"}, None))
    (line,) = emitted(capsys)
    assert line["service"] == "prod-fargate"
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "secops/qscan"
    world.monkeypatch.delenv("QSCAN_SERVICE_NAME")
    world.load()
    emitted(capsys)
    world.parse(ecs_call("StopTask", {"cluster": "shop", "task": "abc"}, None))
    (line,) = emitted(capsys)
    assert line["service"] == "qscan-fargate"  # the handler's own name without the setting
