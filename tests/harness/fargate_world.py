"""The Fargate/ECS scan workflow (modules/fargate) executed on a shimmed moto server with the real task functions.

`fargate_world(server, tmp_path, monkeypatch, ...)` builds, on a reset moto server:
- the store every handler needs (dedupe table, results bucket, alert topic with an SQS queue subscribed to read
  the alerts, Qualys secret: `tests.harness.handler_world.server_stores`);
- the task function (any zip: moto keeps it, `tests.harness.lambda_runner` runs the real handler) and the
  Standard state machine from modules/fargate/workflow.asl.json rendered as `templatefile` renders it
  (`tests.unit.test_fargate_workflow.render`), with timings small enough for a test (1 s poll and retry
  intervals, 2 retry attempts, `max_polls` polls);
- the handler's environment as modules/fargate's `task_environment` sets it (the core's store variables, the
  backend, threshold, scan timeout, lease margin, spoke role, service name) plus QSCAN_AWS_ENDPOINT_URL and the
  fake qscanner (tests/doubles/bin/qscanner with a scenario file), and a cold start of
  handlers/aws/fargate/handler.py with it, served to moto's Invoke by `running_function`.

With the qualys-api backend the registry-sensor client is pointed at the fake Qualys API server
(tests/doubles/fake_qualys_api.py): the cold start builds it from the secret and, rightly, refuses a plain-http
gateway, which the loopback fake is; the test swaps in the same client options with the fake's URL.

The world then registers ECR images (with their manifest's real sha256 as `imageDigest`: moto's own digest is
not one, DESIGN §5) and ECS task definitions in any account (moto routes by the assumed-role keys of that
account), builds the CloudTrail-shaped ECS events EventBridge would deliver, starts executions and waits for
them, and reads what they did: the execution output's per-image `outcomes`, the history's state transitions,
the dedupe records, the result documents and the alerts.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.doubles.fake_qscanner import SCENARIOS_ENV, write_scenarios
from tests.doubles.fake_qualys_api import FakeQualysApi, FakeQualysState
from tests.harness.handler_world import (
    SERVER_BUCKET,
    TABLE,
    image_manifest,
    load_server_handler,
    queue_arn,
    receive_all,
    server_stores,
)
from tests.harness.lambda_runner import Runner, running_function
from tests.harness.moto_server import ACCOUNT_ID, REGION, MotoServer, finished_execution
from tests.unit.test_fargate_workflow import render

FUNCTION = "qscan-fargate-tasks"
MACHINE = "qscan-fargate-scan"
TOKEN = "qtok-fargate-7Hd2Kq9Lm4Pz"
SPOKE_ROLE = "qscan-spoke-read"
SPOKE_EXTERNAL_ID = "qscan-ext-4711"
QUALYS_REGISTRY_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/qualys-ecr-read"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def workflow_values(function_arn: str, backend: str, max_polls: int) -> dict[str, str | int]:
    """The template's values with test timings: every wait and retry interval 1 s, 2 attempts."""
    return {
        "task_function_arn": function_arn,
        "backend": backend,
        "max_concurrency": 4,
        "max_polls": max_polls,
        "poll_interval_seconds": 1,
        "task_timeout_seconds": 60,
        "scan_timeout_seconds": 120,
        "execution_timeout_seconds": 600,
        "retry_interval_seconds": 1,
        "retry_max_attempts": 2,
        "retry_max_delay_seconds": 2,
    }


def tiny_zip() -> bytes:
    """Any package: moto stores it, the runner runs the real handler instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def registry_host(account: str = ACCOUNT_ID, region: str = REGION) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


@dataclass(frozen=True)
class Image:
    """An image pushed to moto's ECR: `ref` is what a container definition names (by tag)."""

    account: str
    repository: str
    tag: str
    digest: str

    @property
    def registry(self) -> str:
        return registry_host(self.account)

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def pinned(self) -> str:
        """What qscanner is asked to pull (and the fake qscanner's scenario key): repository@digest."""
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def dedupe_key(self) -> str:
        return f"image#{self.digest}"


@dataclass
class Execution:
    """A finished execution: its description, output and history."""

    arn: str
    status: str
    output: dict[str, Any]
    history: list[dict[str, Any]]
    error: str | None = None
    cause: str | None = None

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = self.output.get("outcomes", [])
        return outcomes

    def statuses(self) -> dict[str, str]:
        """Per image (digest): failed, deduplicated, or the scan's own status for a scanned image."""
        found: dict[str, str] = {}
        for outcome in self.outcomes:
            digest = str(outcome["key"]).removeprefix("image#")
            found[digest] = outcome["status"] if outcome["outcome"] == "scanned" else outcome["outcome"]
        return found

    def inputs(self, state: str) -> list[dict[str, Any]]:
        """The input of every entry into the state named `state`, in order."""
        return [
            json.loads(event["stateEnteredEventDetails"]["input"])
            for event in self.history
            if event["type"].endswith("StateEntered") and event["stateEnteredEventDetails"]["name"] == state
        ]

    def transitions(self) -> int:
        """Billed state transitions of a Standard workflow: every state entered plus every retry attempt
        (Lambda invocations scheduled beyond one per Task entered)."""
        types = Counter(event["type"] for event in self.history)
        return self.entered() + types["LambdaFunctionScheduled"] - types["TaskStateEntered"]

    def entered(self, state: str | None = None) -> int:
        """State transitions: the states entered (all, or those named `state`)."""
        return sum(
            1
            for event in self.history
            if event["type"].endswith("StateEntered")
            and (state is None or event["stateEnteredEventDetails"]["name"] == state)
        )


@dataclass
class FargateWorld:
    server: MotoServer
    tmp: Path
    backend: str
    max_polls: int
    module: ModuleType
    runner: Runner
    machine_arn: str
    alerts_url: str
    scenario_file: Path
    qualys: FakeQualysApi | None = None
    scenarios: dict[str, Any] = field(default_factory=dict)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ scanner behaviour
    def scenario(self, image: Image, **spec: Any) -> None:
        """The fake qscanner's behaviour for `image` (fake_qscanner scenario keys); the default is clean."""
        self.scenarios[image.pinned] = spec
        write_scenarios(self.scenario_file, self.scenarios, default={})

    # ------------------------------------------------------------------ accounts, ECR, ECS
    def client(self, service: str, account: str = ACCOUNT_ID) -> Any:
        """A client acting in `account` (moto routes by the assumed-role keys of that account), made once."""
        key = (service, account)
        if key not in self.clients:
            if account == ACCOUNT_ID:
                self.clients[key] = self.server.client(service)
            else:
                keys = self.client("sts").assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="fargate-world"
                )["Credentials"]
                self.clients[key] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.server.endpoint,
                    region_name=REGION,
                    aws_access_key_id=keys["AccessKeyId"],
                    aws_secret_access_key=keys["SecretAccessKey"],
                    aws_session_token=keys["SessionToken"],
                )
        return self.clients[key]

    def push(self, repository: str, tag: str, *, account: str = ACCOUNT_ID) -> Image:
        """An image in `account`'s ECR whose digest is its manifest's sha256 (passed explicitly to moto)."""
        ecr = self.client("ecr", account)
        with suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
        # A distinct config digest per (repository, tag): every image has a manifest (and digest) of its own.
        config = "sha256:" + hashlib.sha256(f"{account}/{repository}:{tag}".encode()).hexdigest()
        manifest = image_manifest(config, 1)
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest)
        return Image(account, repository, tag, digest)

    def register(self, family: str, images: list[Image], *, account: str = ACCOUNT_ID) -> dict[str, Any]:
        """Register a Fargate task definition with one container per entry of `images` (in order)."""
        answer = self.client("ecs", account).register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            containerDefinitions=[
                {"name": f"c{index}", "image": image.ref, "memory": 128, "essential": index == 0}
                for index, image in enumerate(images)
            ],
        )
        task: dict[str, Any] = json.loads(json.dumps(answer["taskDefinition"], default=str))
        return task

    # ------------------------------------------------------------------ events (CloudTrail-shaped)
    def register_event(self, task: dict[str, Any]) -> dict[str, Any]:
        """RegisterTaskDefinition as CloudTrail records it (the response carries the task definition)."""
        account = task["taskDefinitionArn"].split(":")[4]
        request = {k: task[k] for k in ("family", "containerDefinitions", "networkMode", "cpu", "memory")}
        return cloudtrail_event(account, "RegisterTaskDefinition", request, {"taskDefinition": task})

    def update_service_event(self, task: dict[str, Any], cluster: str, service: str) -> dict[str, Any]:
        """UpdateService to `task`'s revision (the response names the task definition and the cluster)."""
        arn = task["taskDefinitionArn"]
        account = arn.split(":")[4]
        cluster_arn = f"arn:aws:ecs:{REGION}:{account}:cluster/{cluster}"
        request = {"cluster": cluster, "service": service, "taskDefinition": arn}
        response = {
            "service": {
                "serviceArn": f"arn:aws:ecs:{REGION}:{account}:service/{cluster}/{service}",
                "serviceName": service,
                "clusterArn": cluster_arn,
                "taskDefinition": arn,
                "status": "ACTIVE",
            }
        }
        return cloudtrail_event(account, "UpdateService", request, response)

    def run_task_event(
        self, family_revision: str, cluster: str, *, account: str = ACCOUNT_ID
    ) -> dict[str, Any]:
        """RunTask of `family[:revision]` with no recorded response (the handler describes it)."""
        request = {"cluster": cluster, "count": 1, "launchType": "FARGATE", "taskDefinition": family_revision}
        return cloudtrail_event(account, "RunTask", request, None)

    # ------------------------------------------------------------------ executions
    def start(self, event: dict[str, Any], name: str | None = None) -> str:
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.machine_arn,
            name=name or f"x-{uuid.uuid4().hex[:16]}",
            input=json.dumps(event),
        )["executionArn"]
        return arn

    def wait(self, arn: str, limit: float = 90.0) -> Execution:
        described = finished_execution(self.client("stepfunctions"), arn, limit)
        return Execution(
            arn,
            described["status"],
            json.loads(described.get("output") or "{}"),
            self.history(arn),
            described.get("error"),
            described.get("cause"),
        )

    def execute(self, event: dict[str, Any], name: str | None = None) -> Execution:
        return self.wait(self.start(event, name))

    def history(self, arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = sfn.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    # ------------------------------------------------------------------ what the executions did
    def steps(self, step: str) -> list[str | None]:
        """The error type (None: it returned) of every task-function invocation of `step`, in order."""
        with self.runner.lock:
            return [error for name, error in self.runner.calls if name == step]

    def claim(self, image: Image) -> dict[str, Any] | None:
        """The dedupe record of `image` as stored (None when there is none)."""
        item = self.client("dynamodb").get_item(
            TableName=TABLE, Key={"pk": {"S": image.dedupe_key}}, ConsistentRead=True
        )
        if "Item" not in item:
            return None
        return {k: next(iter(v.values())) for k, v in item["Item"].items()}

    def result_documents(self, prefix: str = "results/ecs/") -> list[dict[str, Any]]:
        """The result documents under `prefix` (not the raw qscanner outputs stored beside them)."""
        s3 = self.client("s3")
        listing = s3.list_objects_v2(Bucket=SERVER_BUCKET, Prefix=prefix).get("Contents", [])
        return [
            json.loads(s3.get_object(Bucket=SERVER_BUCKET, Key=o["Key"])["Body"].read())
            for o in listing
            if o["Key"].endswith(".json") and not o["Key"].endswith(("-ScanResult.json", ".sarif.json"))
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert published since the last call (received and deleted from the subscribed queue)."""
        sqs = self.client("sqs")
        alerts = []
        for message in receive_all(sqs, self.alerts_url, limit=100):
            alerts.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=self.alerts_url, ReceiptHandle=message["ReceiptHandle"])
        return alerts


def cloudtrail_event(
    account: str, name: str, request: dict[str, Any], response: dict[str, Any] | None
) -> dict[str, Any]:
    """An ECS CloudTrail call as EventBridge delivers it (DESIGN §4 event shapes)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs",
        "account": account,
        "time": "2026-12-02T01:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "eventSource": "ecs.amazonaws.com",
            "eventName": name,
            "awsRegion": REGION,
            "requestParameters": request,
            "responseElements": response,
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
            "recipientAccountId": account,
        },
    }


def _task_environment(values: dict[str, str | int], stores: dict[str, str]) -> dict[str, str]:
    """modules/fargate's `task_environment` (main.tf) for the workflow's `values`, on the moto server's stores."""
    backend, max_polls, interval = values["backend"], values["max_polls"], values["poll_interval_seconds"]
    env = {
        **stores,
        "QSCAN_SCANNER_BACKEND": str(backend),
        "QSCAN_SEVERITY_THRESHOLD": "HIGH",
        "QSCAN_SCAN_TIMEOUT_SECONDS": str(int(values["scan_timeout_seconds"]) - 30),
        "QSCAN_QUALYS_REGISTRY_ROLE_ARN": QUALYS_REGISTRY_ROLE,
        "QSCAN_SPOKE_ROLE_NAME": SPOKE_ROLE,
        "QSCAN_SPOKE_EXTERNAL_ID": SPOKE_EXTERNAL_ID,
        "QSCAN_SERVICE_NAME": "qscan-fargate",
    }
    if backend == "qualys-api":
        env["QSCAN_LEASE_MARGIN_SECONDS"] = str(min(3600, int(max_polls) * int(interval) + 120))
        env.pop("QSCANNER_PATH")
    return env


def _point_at_fake_qualys(module: ModuleType, qualys: FakeQualysApi) -> None:
    from qscan.scanners.qualys_api import QualysApiClient  # noqa: PLC0415
    from qscan.structs import replace  # noqa: PLC0415

    handler = module.HANDLER
    options = replace(handler.api.options, pod=None, gateway_url=qualys.url, allow_insecure_loopback=True)
    handler.api = QualysApiClient(options)


@contextmanager
def fargate_world(
    server: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    backend: str = "qscanner",
    max_polls: int = 3,
) -> Iterator[FargateWorld]:
    """The workflow deployed on the (reset) moto server with the real task functions (see the module doc)."""
    stores = server_stores(server, TOKEN)
    with ExitStack() as stack:
        qualys = (
            stack.enter_context(FakeQualysApi(FakeQualysState(tokens=(TOKEN,))))
            if backend == "qualys-api"
            else None
        )
        sqs = server.client("sqs")
        alerts_url = sqs.create_queue(QueueName="fargate-alerts")["QueueUrl"]
        server.client("sns").subscribe(
            TopicArn=stores["QSCAN_ALERT_TOPIC_ARN"], Protocol="sqs", Endpoint=queue_arn(server, alerts_url)
        )
        role = server.client("iam").create_role(
            RoleName=FUNCTION, AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        function_arn = server.client("lambda").create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": tiny_zip()},
        )["FunctionArn"]
        values = workflow_values(function_arn, backend, max_polls)
        machine_arn = server.client("stepfunctions").create_state_machine(
            name=MACHINE, definition=json.dumps(render(values)), roleArn=role, type="STANDARD"
        )["stateMachineArn"]
        scenario_file = write_scenarios(tmp_path / "scenarios.json", {}, default={})
        env = _task_environment(values, stores) | {SCENARIOS_ENV: str(scenario_file)}
        module = load_server_handler("fargate", env, monkeypatch, tmp_path)
        if qualys is not None:
            _point_at_fake_qualys(module, qualys)
        runner = stack.enter_context(running_function(server, FUNCTION, module.lambda_handler))
        yield FargateWorld(
            server,
            tmp_path,
            backend,
            max_polls,
            module,
            runner,
            machine_arn,
            alerts_url,
            scenario_file,
            qualys,
        )
