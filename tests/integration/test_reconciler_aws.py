"""The AWS reconciler over moto (in-process): missed events are found and requested once, where they belong.

The world: an ECR repository with two images pushed (one digest under two tags) and an image index, an ECS task running one of
them by tag (resolved through ECR) and a task running a public image by digest, a zip Lambda function and
qscan's own scanner function; no event was ever delivered. The real DynamoDB dedupe store, S3 results
bucket, SQS queues and a Step Functions state machine are moto's.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from qscan.aws.reconciler import AwsReconciler
from qscan.config import Settings
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.events import normalize
from qscan.reconcile.inventory import Inventory, inventory_key
from qscan.results.model import SeverityCounts

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
D_V1, D_V2, D_NGINX, D_INDEX = ("sha256:" + c * 64 for c in "abcd")
NGINX = f"public.ecr.aws/nginx/nginx@{D_NGINX}"
DAY = 24 * 3600
TTL = 7 * DAY


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    clock: Clock
    settings: Settings
    ecr_queue: str
    lambda_queue: str
    machine: str
    function_arn: str = ""
    tasks: list[str] = field(default_factory=list)

    def reconciler(self, **changes: Any) -> AwsReconciler:
        values = {**{f: getattr(self.settings, f) for f in self.settings.__slots__}, **changes}
        return AwsReconciler(Settings(**values), region=REGION, clock=self.clock, stdout=io.StringIO())

    def run(self, **changes: Any) -> dict[str, Any]:
        summary = self.reconciler(**changes).run()
        (account,) = summary["accounts"]
        return dict(account)

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        bodies: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            messages = answer.get("Messages") or []
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        found = sfn.list_executions(stateMachineArn=self.machine)["executions"]
        return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in found]

    def inventory(self) -> Inventory:
        body = boto3.client("s3", region_name=REGION).get_object(
            Bucket="results", Key=inventory_key("aws", ACCOUNT)
        )["Body"]
        return Inventory.from_json(body.read())

    def store(self) -> DynamoDBDedupeStore:
        return DynamoDBDedupeStore(
            "dedupe", client=boto3.client("dynamodb", region_name=REGION), clock=self.clock
        )


def requested_keys(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(str(normalize(body)[0].dedupe_key) for body in bodies)


@pytest.fixture
def world() -> Iterator[World]:
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    with mock.patch.dict(os.environ, env), mock_aws():
        clock = Clock()
        DynamoDBDedupeStore("dedupe", client=boto3.client("dynamodb", region_name=REGION)).create_table()
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="results")
        sqs = boto3.client("sqs", region_name=REGION)
        ecr_queue = sqs.create_queue(QueueName="ecr-scan")["QueueUrl"]
        lambda_queue = sqs.create_queue(QueueName="lambda-scan")["QueueUrl"]
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="fargate-scan",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn=role,
        )["stateMachineArn"]
        settings = Settings(
            dedupe_table="dedupe",
            results_bucket="results",
            cache_ttl_seconds=TTL,
            reconcile_ecr_queue_url=ecr_queue.replace("http://", "https://"),
            reconcile_lambda_queue_url=lambda_queue.replace("http://", "https://"),
            reconcile_state_machine_arn=machine,
            reconcile_regions=(REGION,),
        )
        w = World(clock, settings, ecr_queue, lambda_queue, machine)
        _populate(w, role)
        yield w


def _populate(world: World, role: str) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="team/app")
    for tag, digest in (("v1", D_V1), ("latest", D_V1), ("v2", D_V2)):  # one digest, two tags
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                               "digest": "sha256:" + digest[-1] * 63 + "0"}, "layers": []}  # fmt: skip
        ecr.put_image(
            repositoryName="team/app",
            imageManifest=json.dumps(manifest),
            imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
            imageDigest=digest,
            imageTag=tag,
        )
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
    ecr.put_image(  # an image index: its platform manifests are the images (as on the push path)
        repositoryName="team/app",
        imageManifest=json.dumps(index),
        imageManifestMediaType="application/vnd.oci.image.index.v1+json",
        imageDigest=D_INDEX,
        imageTag="multi",
    )
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="main")
    for family, image in (("web", f"{REGISTRY}/team/app:v1"), ("edge", NGINX)):
        ecs.register_task_definition(
            family=family, containerDefinitions=[{"name": family, "image": image, "memory": 128}]
        )
        task = ecs.run_task(cluster="main", taskDefinition=family, launchType="FARGATE")["tasks"][0]
        world.tasks.append(task["taskArn"])
    lam = boto3.client("lambda", region_name=REGION)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
    for name in ("payments", "qscan-lambda-scanner"):  # the second is qscan's own: never listed
        created = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )
        if name == "payments":
            world.function_arn = created["FunctionArn"]


def test_missed_events_are_found_and_requested_once_where_they_belong(world: World) -> None:
    summary = world.run()
    assert (summary["unique"], summary["enqueued"], summary["never_scanned"]) == (4, 4, 4)
    assert summary["complete"] and summary["truncated_by"] is None and summary["errors"] == []

    ecr_requests = world.drain(world.ecr_queue)
    assert requested_keys(ecr_requests) == [f"image#{D_V1}", f"image#{D_V2}"]  # one per digest, not per tag
    assert {normalize(body)[0].platform for body in ecr_requests} == {"ecr"}
    (execution,) = world.executions()
    (ecs_target,) = normalize(execution)
    assert (ecs_target.platform, ecs_target.dedupe_key) == ("ecs", f"image#{D_NGINX}")
    assert ecs_target.resource_id == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/edge:1"
    (function_request,) = world.drain(world.lambda_queue)
    (function,) = normalize(function_request)
    assert function.function_arn == world.function_arn and function.kind == "function"

    inventory = world.inventory()
    assert inventory.complete and inventory.scope == ACCOUNT and inventory.rescan_interval_seconds == TTL
    by_key = {a.dedupe_key: a for a in inventory.artifacts}
    v1 = by_key[f"image#{D_V1}"]
    assert v1.platform == "ecr" and v1.artifact == f"{REGISTRY}/team/app@{D_V1}"
    assert set(v1.workloads) >= {"team/app"} and len(v1.workloads) == 2  # the ECS task that runs it by tag
    assert {a.status for a in inventory.artifacts} == {"never-scanned"} and all(
        a.requested for a in inventory.artifacts
    )

    again = world.run()  # an overlapping or repeated run within the request window: nothing twice
    assert (again["enqueued"], again["already_requested"]) == (0, 4)
    assert (
        world.drain(world.ecr_queue) == []
        and world.drain(world.lambda_queue) == []
        and len(world.executions()) == 1
    )


def test_scanned_artifacts_are_fresh_then_rescanned_after_the_cache_ttl(world: World) -> None:
    world.run()
    keys = [a.dedupe_key for a in world.inventory().artifacts]
    store = world.store()
    for key in keys:  # the pipeline scanned every request
        assert store.claim(key, "scanner", 900).won
        assert store.complete(key, "scanner", "success", SeverityCounts(), f"s3://results/{key}.json", TTL)
    world.drain(world.ecr_queue)
    world.drain(world.lambda_queue)
    world.clock.now += 7 * 3600  # past the request window
    fresh = world.run()
    assert (fresh["fresh"], fresh["enqueued"]) == (4, 0)
    assert {a.status for a in world.inventory().artifacts} == {"fresh"}
    scanned_at = world.clock.now - 7 * 3600

    world.clock.now += TTL  # the completions expire: the rescan interval is the cache TTL
    stale = world.run(reconcile_lookback_days=90)
    assert (stale["stale"], stale["enqueued"]) == (4, 4)
    artifacts = world.inventory().artifacts
    assert {a.status for a in artifacts} == {"stale"}
    assert {round(a.last_scanned_at or 0) for a in artifacts} == {round(scanned_at)}
    bodies = world.drain(world.ecr_queue) + world.drain(world.lambda_queue)
    assert {body["detail"]["reason"] for body in bodies} == {"reconcile-rescan"}


def test_limits_stop_a_run_cleanly_and_the_next_run_resumes(world: World) -> None:
    first = world.run(reconcile_max_requests=1)
    assert first["truncated_by"] == "requests" and first["enqueued"] == 1
    assert not first["complete"] and not world.inventory().complete
    runs = [first]
    while runs[-1]["truncated_by"] is not None:
        runs.append(world.run(reconcile_max_requests=1))
        assert len(runs) < 10
    bodies = world.drain(world.ecr_queue) + world.drain(world.lambda_queue) + world.executions()
    keys = requested_keys(bodies)
    assert len(keys) == len(set(keys)) == 4  # each exactly once over the runs
    assert {run["enqueued"] for run in runs[:4]} == {1}
    assert world.inventory().complete

    paged = world.run(reconcile_max_pages=2)  # a page limit: the snapshot says so, the state says where
    assert (
        paged["truncated_by"] == "pages" and paged["resume_at"] == f"{ACCOUNT}/ecs/{REGION}"
    )  # ECR: 2 calls
    state = (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket="results", Key=f"inventory/aws/{ACCOUNT}/state.json")["Body"]
        .read()
    )
    assert json.loads(state)["resume_at"] == f"{ACCOUNT}/ecs/{REGION}"


def test_a_failing_service_is_reported_and_the_run_goes_on(world: World) -> None:
    from botocore.client import BaseClient  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    original = BaseClient._make_api_call

    def call(client: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "ListClusters":
            error = {"Error": {"Code": "AccessDeniedException"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
            raise ClientError(error, name)  # type: ignore[arg-type]
        return original(client, name, params)

    with mock.patch.object(BaseClient, "_make_api_call", autospec=True, side_effect=call):
        summary = world.run()
    assert summary["error_count"] == 1 and "AccessDeniedException" in summary["errors"][0]
    assert summary["errors"][0].startswith(f"{ACCOUNT}/ecs/{REGION}: ")
    assert summary["enqueued"] == 3 and not summary["complete"]  # ECR and Lambda went on
    assert not world.inventory().complete


def test_a_listed_service_needs_its_destination(world: World) -> None:
    from qscan.errors import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError, match="QSCAN_RECONCILE_STATE_MACHINE_ARN"):
        world.reconciler(reconcile_state_machine_arn=None)
    only_ecr = world.run(
        reconcile_services=("ecr",), reconcile_state_machine_arn=None, reconcile_lambda_queue_url=None
    )
    assert only_ecr["unique"] == 2


def test_another_account_is_listed_through_the_spoke_role(world: World) -> None:
    spoke = "210987654321"
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{spoke}:role/qscan-spoke-read", RoleSessionName="setup", ExternalId="x-1"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    spoke_ecr = session.client("ecr")
    spoke_ecr.create_repository(repositoryName="spoke/app")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": [],
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                           "digest": "sha256:" + "e" * 64}}  # fmt: skip
    digest = "sha256:" + "f" * 64
    spoke_ecr.put_image(repositoryName="spoke/app", imageManifest=json.dumps(manifest), imageDigest=digest)

    summary = world.reconciler(
        reconcile_accounts=(spoke,), spoke_role_name="qscan-spoke-read", spoke_external_id="x-1"
    ).run()
    own, other = summary["accounts"]
    assert (own["account"], own["enqueued"]) == (ACCOUNT, 4)
    assert (other["account"], other["unique"], other["enqueued"], other["errors"]) == (spoke, 1, 1, [])
    requests = [normalize(body)[0] for body in world.drain(world.ecr_queue)]
    (spoke_request,) = [t for t in requests if t.account == spoke]
    assert spoke_request.dedupe_key == f"image#{digest}"
    assert spoke_request.image == f"{spoke}.dkr.ecr.{REGION}.amazonaws.com/spoke/app@{digest}"
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket="results", Key=inventory_key("aws", spoke)
    )
    assert Inventory.from_json(body["Body"].read()).scope == spoke


def test_the_handler_runs_one_reconciliation_and_never_lists_itself(world: World) -> None:
    from tests.harness.handler_world import load_handler  # noqa: PLC0415

    lam = boto3.client("lambda", region_name=REGION)
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="r")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(e, c):\n    return 1\n")
    own = lam.create_function(
        FunctionName="team-reconciler", Runtime="python3.12", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]  # fmt: skip

    class Context:
        invoked_function_arn = own
        aws_request_id = "req-1"

        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    env = {
        "AWS_REGION": REGION,
        "QSCAN_DEDUPE_TABLE": "dedupe",
        "QSCAN_RESULTS_BUCKET": "results",
        "QSCAN_RECONCILE_REGIONS": REGION,
        "QSCAN_RECONCILE_ECR_QUEUE_URL": str(world.settings.reconcile_ecr_queue_url),
        "QSCAN_RECONCILE_LAMBDA_QUEUE_URL": str(world.settings.reconcile_lambda_queue_url),
        "QSCAN_RECONCILE_STATE_MACHINE_ARN": world.machine,
    }
    with mock.patch.dict(os.environ, env):
        module = load_handler("reconciler")
        summary = module.lambda_handler({"source": "aws.scheduler"}, Context())
    (account,) = summary["accounts"]
    assert account["enqueued"] == 4 and account["complete"]
    arns = [normalize(body)[0].function_arn for body in world.drain(world.lambda_queue)]
    assert arns == [world.function_arn]  # not the reconciler itself, not qscan's scanner


def test_ecr_lists_only_pushes_within_the_lookback(world: World) -> None:
    world.clock.now += 8 * DAY  # the pushes are 8 days old; the default lookback is 7 days
    summary = world.run()
    assert world.drain(world.ecr_queue) == []
    kinds = {a.platform for a in world.inventory().artifacts}
    assert (
        kinds == {"ecs", "lambda"} and summary["unique"] == 3
    )  # the task's ECR image is still listed (runs)


def test_a_run_in_which_every_account_failed_fails(world: World) -> None:
    from qscan.errors import ConfigError  # noqa: PLC0415

    reconciler = world.reconciler(results_bucket="no-such-bucket")
    with pytest.raises(ConfigError, match="NoSuchBucket"):
        reconciler.run()
    assert world.drain(world.ecr_queue) == []  # nothing was decided without the previous snapshot
