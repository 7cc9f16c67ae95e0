"""The Lambda-function scanner handler end to end over in-process moto (`mock_aws`) and the fake qscanner.

Each test loads `handlers/aws/lambda/handler.py` fresh (its cold start runs at import, like Lambda's init phase)
against a moto account holding the dedupe table, results bucket, alerts topic (with an SQS queue subscribed, to
read alerts back), the Qualys secret, the scan queue and real moto Lambda functions and layers (GetFunction,
UpdateFunctionConfiguration, TagResource and ListFunctions behave as AWS documents them). The CloudTrail events
are built from the responses of the real calls, like CloudTrail records them. The fake qscanner behaves per
scenario file: findings, exit codes, a token echo, an argv record.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from qscan.aws.lambdas import TAG_KEYS
from qscan.events.reconciler import SOURCE as RECONCILER_SOURCE
from qscan.metrics import DASHBOARD_METRICS
from qscan.results.schema import schema_errors

from tests.harness.handler_world import (
    BUCKET,
    REGION,
    LambdaContext,
    World,
    accounting_lines,
    batch,
    drain,
    emf_lines,
    emf_series,
    env_recording_scanner,
    image_manifest,
    moto_world,
    sqs_record,
    zipped,
)

ACCOUNT = "123456789012"
SPOKE = "222233334444"
TOKEN = "qtok-lambda-4Rt8Zq2Xw6Mn"
SCAN_QUEUE = "qscan-lambda-scan"
SELF_NAME = "qscan-lambda-scanner"
EVENT_NAMES = {
    "CreateFunction": "CreateFunction20150331",
    "UpdateFunctionCode": "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
}
BULK_REQUEST = {
    "version": "0",
    "source": "qscan.bulk-scan",
    "detail-type": "qscan Bulk Scan Request",
    "account": ACCOUNT,
    "region": REGION,
    "detail": {"platform": "lambda"},
}


def finding(qid: str, severity: int) -> dict[str, Any]:
    return {
        "qid": qid,
        "title": f"vuln {qid}",
        "severity": severity,
        "cves": [f"CVE-2024-{qid}"],
        "packageName": "requests",
        "installedVersion": "2.19.0",
        "fixedVersion": "2.31.0",
        "cvssScore": 8.1,
    }


def function_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:lambda:{REGION}:{account}:function:{name}"


# ---------------------------------------------------------------------------------------------- events


def cloudtrail(
    call: str, configuration: dict[str, Any] | None, request: dict[str, Any], account: str | None = ACCOUNT
) -> dict[str, Any]:
    """The EventBridge CloudTrail event of a Lambda call, its responseElements built from the API response."""
    response = None
    if configuration is not None:
        response = {
            "functionName": configuration["FunctionName"],
            "functionArn": configuration["FunctionArn"],
            "packageType": configuration.get("PackageType", "Zip"),
            "layers": [{"arn": layer["Arn"], "codeSize": 1} for layer in configuration.get("Layers", [])],
        }
        if response["packageType"] == "Zip":
            response["codeSha256"] = configuration["CodeSha256"]
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.lambda",
        "time": "2025-03-14T09:26:53Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "lambda.amazonaws.com",
            "eventName": EVENT_NAMES[call],
            "awsRegion": REGION,
            "requestParameters": request,
            "responseElements": response,
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
        },
    }
    if account is not None:
        event["account"] = account
    return event


def record(body: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    return sqs_record(body, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{SCAN_QUEUE}", message_id)


class FunctionContext(LambdaContext):
    function_name = SELF_NAME
    invoked_function_arn = function_arn(SELF_NAME) + ":live"  # an alias: the qualifier is ignored
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"


# ---------------------------------------------------------------------------------------------- world


@dataclass
class LambdaWorld(World):
    platform = "lambda"
    context = FunctionContext
    role_arn: str = ""
    scan_queue_url: str = ""

    def create_function(
        self, name: str, code: str = "v1", layers: tuple[str, ...] = (), client: Any = None, role: str = ""
    ) -> dict[str, Any]:
        response: dict[str, Any] = (client or boto3.client("lambda")).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role or self.role_arn,
            Handler="app.handler",
            Code={"ZipFile": zipped(code)},
            Layers=list(layers),
        )
        return response

    def result_documents(self) -> list[dict[str, Any]]:
        documents = [json.loads(body) for key, body in self.objects().items() if key.endswith(".json")]
        return [d for d in documents if isinstance(d, dict) and "schema_version" in d]  # not the raw outputs

    def tags(self, name: str, client: Any = None) -> dict[str, str]:
        arn = (client or boto3.client("lambda")).get_function(FunctionName=name)["Configuration"][
            "FunctionArn"
        ]
        tags: dict[str, str] = (client or boto3.client("lambda")).list_tags(Resource=arn)["Tags"]
        return tags


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaWorld]:
    settings = {
        "QSCAN_SERVICE_NAME": "qscan-lambda",
        "QSCAN_SELF_FUNCTION_NAMES": "qscan-lambda-scanner,qscan-ecr-scanner",
    }
    with moto_world(LambdaWorld, tmp_path, monkeypatch, TOKEN, settings) as w:
        w.scan_queue_url = boto3.client("sqs").create_queue(QueueName=SCAN_QUEUE)["QueueUrl"]
        w.role_arn = boto3.client("iam").create_role(RoleName="app-role", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        yield w


def closes(accounting: dict[str, Any]) -> bool:
    return accounting["events"] == (
        accounting["scanned"]
        + accounting["deduplicated"]
        + accounting["cached"]
        + sum(accounting["skipped"].values())
        + accounting["failed"]
        + accounting["dead_lettered"]
        + accounting["deferred"]
        + accounting["fanned_out"]
    )


def calls_to(client: Any, operation: str) -> list[dict[str, Any]]:
    """Records the parameters of every `operation` call the client makes from now on."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register(
        f"provide-client-params.lambda.{operation}", lambda params, **_: seen.append(dict(params))
    )
    return seen


def layer(name: str = "deps", content: str = "v1", client: Any = None) -> str:
    arn: str = (client or boto3.client("lambda")).publish_layer_version(
        LayerName=name, Content={"ZipFile": zipped(content)}
    )["LayerVersionArn"]
    return arn


# ---------------------------------------------------------------------------------------------- zip functions


def test_created_zip_function_is_scanned_with_qscanner_lambda(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    deps = layer()
    created = world.create_function("orders-api", layers=(deps,))
    arn = created["FunctionArn"]
    argv_file = world.tmp / "argv.json"
    world.scenario(arn, findings=[finding("1001", 2)], record_file=str(argv_file))
    world.load()
    message_id = str(uuid.uuid4())
    event = cloudtrail("CreateFunction", created, {"functionName": "orders-api"})

    assert world.invoke(batch(record(event, message_id))) == {"batchItemFailures": []}

    assert world.started == 1
    assert json.loads(argv_file.read_text())["argv"][-2:] == ["lambda", arn]
    key = f"lambda#{arn}#{created['CodeSha256']}#{deps}"
    stored = world.store().lookup(key)
    assert stored is not None and stored.state == "complete" and stored.status == "success"
    assert stored.counts is not None and stored.counts.low == 1
    (document,) = world.result_documents()
    assert schema_errors(document) == []
    assert document["target"]["kind"] == "function" and document["target"]["layers"] == [deps]
    assert document["target"]["code_sha256"] == created["CodeSha256"]
    assert stored.result_location is not None
    assert stored.result_location.removeprefix(f"s3://{BUCKET}/").startswith(
        f"results/lambda/{ACCOUNT}/{REGION}/orders-api/"
    )
    assert world.alerts() == []  # one LOW finding under the HIGH default threshold
    assert world.tags("orders-api") == {}  # tagging is off by default
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    scan_lines = [line for line in lines if line["logger"].startswith("qscan.scanners")]
    assert scan_lines and all(line["correlation_id"] == message_id for line in scan_lines)


def test_layer_only_update_is_rescanned_under_a_new_key(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    lam = boto3.client("lambda")
    first_layer = layer(content="requests==2.19")
    created = world.create_function("billing", layers=(first_layer,))
    world.load()
    assert world.invoke(
        batch(record(cloudtrail("CreateFunction", created, {"functionName": "billing"})))
    ) == {"batchItemFailures": []}
    second_layer = layer(content="requests==2.31")
    assert second_layer != first_layer
    updated = lam.update_function_configuration(FunctionName="billing", Layers=[second_layer])
    assert updated["CodeSha256"] == created["CodeSha256"]  # the code did not change, only a layer
    event = cloudtrail(
        "UpdateFunctionConfiguration", updated, {"functionName": "billing", "layers": [second_layer]}
    )

    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    assert world.started == 2
    sha = created["CodeSha256"]
    arn = created["FunctionArn"]
    assert world.store().lookup(f"lambda#{arn}#{sha}#{first_layer}") is not None
    rescanned = world.store().lookup(f"lambda#{arn}#{sha}#{second_layer}")
    assert rescanned is not None and rescanned.status == "success"
    assert [a["scanned"] for a in accounting_lines(caplog)] == [1, 1]


def test_configuration_update_without_code_or_layer_change_is_a_cache_hit(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    lam = boto3.client("lambda")
    created = world.create_function("reports", layers=(layer(),))
    world.load()
    assert world.invoke(
        batch(record(cloudtrail("CreateFunction", created, {"functionName": "reports"})))
    ) == {"batchItemFailures": []}
    updated = lam.update_function_configuration(FunctionName="reports", Timeout=60, MemorySize=512)
    event = cloudtrail("UpdateFunctionConfiguration", updated, {"functionName": "reports", "timeout": 60})

    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    assert world.started == 1
    first, second = accounting_lines(caplog)
    assert first["scanned"] == 1 and second["cached"] == 1 and second["scanned"] == 0
    assert len(world.result_documents()) == 1


def test_the_deployed_code_wins_over_a_stale_event(world: LambdaWorld) -> None:
    """An event that waited in the queue while the code changed again: the key names what is deployed now."""
    lam = boto3.client("lambda")
    created = world.create_function("search", code="v1")
    newer = lam.update_function_code(FunctionName="search", ZipFile=zipped("v2"))
    assert newer["CodeSha256"] != created["CodeSha256"]
    world.load()
    stale = cloudtrail("CreateFunction", created, {"functionName": "search"})
    assert world.invoke(batch(record(stale))) == {"batchItemFailures": []}
    arn = created["FunctionArn"]
    assert world.store().lookup(f"lambda#{arn}#{newer['CodeSha256']}#") is not None
    assert world.store().lookup(f"lambda#{arn}#{created['CodeSha256']}#") is None


def test_event_without_response_is_looked_up_by_name(world: LambdaWorld) -> None:
    """Moto-style delivery (no `account`) of a call whose response was not recorded: GetFunction by name."""
    created = world.create_function("legacy-job")
    world.load()
    event = cloudtrail("UpdateFunctionCode", None, {"functionName": "legacy-job"}, account=None)
    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}
    assert world.started == 1
    (document,) = world.result_documents()
    assert document["target"]["function_arn"] == created["FunctionArn"]
    assert document["target"]["account"] == ACCOUNT


# ---------------------------------------------------------------------------------------------- image functions


def push_image(repository: str, tag: str, client: Any = None) -> None:
    ecr = client or boto3.client("ecr")
    ecr.create_repository(repositoryName=repository)
    manifest = image_manifest("sha256:" + "ef" * 32, 7023)
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)


def test_image_function_is_scanned_as_an_image_and_deduped_on_its_digest(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    lam = boto3.client("lambda")
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    push_image("fn/resizer", "v3")
    uri = f"{registry}/fn/resizer:v3"
    created = lam.create_function(
        FunctionName="resizer", Role=world.role_arn, PackageType="Image", Code={"ImageUri": uri}
    )
    resolved = lam.get_function(FunctionName="resizer")["Code"]["ResolvedImageUri"]
    digest = resolved.split("@", 1)[1]
    argv_file = world.tmp / "argv.json"
    world.scenario(
        f"{registry}/fn/resizer@{digest}", findings=[finding("2001", 5)], record_file=str(argv_file)
    )
    world.load()
    event = cloudtrail("CreateFunction", created, {"functionName": "resizer", "code": {"imageUri": uri}})

    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    assert json.loads(argv_file.read_text())["argv"][-2:] == ["image", f"{registry}/fn/resizer@{digest}"]
    stored = world.store().lookup(f"image#{digest}")
    assert stored is not None and stored.status == "success" and stored.counts is not None
    assert stored.counts.critical == 1
    (document,) = world.result_documents()
    target = document["target"]
    assert (target["kind"], target["platform"], target["package_type"]) == ("image", "lambda", "Image")
    assert target["function_arn"] == created["FunctionArn"] and target["tag"] == "v3"
    assert stored.result_location is not None and "/results/lambda/" in stored.result_location
    (alert,) = world.alerts()  # a critical finding over the HIGH threshold
    assert alert["kind"] == "findings"

    # a second function running the same image is a cache hit: images dedupe on their digest
    twin = lam.create_function(
        FunctionName="resizer-eu", Role=world.role_arn, PackageType="Image", Code={"ImageUri": uri}
    )
    assert world.invoke(
        batch(record(cloudtrail("CreateFunction", twin, {"functionName": "resizer-eu"})))
    ) == {"batchItemFailures": []}
    assert world.started == 1
    assert accounting_lines(caplog)[-1]["cached"] == 1


# ---------------------------------------------------------------------------------------------- skips


def test_the_scanners_own_functions_are_skipped_before_any_lookup(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Own = an exact name of QSCAN_SELF_FUNCTION_NAMES, or this function's ARN; never a name prefix."""
    for name in ("sec-forwarder", "scanner-main", "qscan-billing", "sec-forwarder-v2"):
        world.create_function(name)
    module = world.load(QSCAN_SELF_FUNCTION_NAMES="sec-forwarder,qscan-lambda-scanner")
    get_calls = calls_to(module.HANDLER.clients.client("lambda"), "GetFunction")

    class OwnContext(FunctionContext):
        invoked_function_arn = function_arn("scanner-main")

    events = [
        cloudtrail("CreateFunction", None, {"functionName": "sec-forwarder"}),  # a listed name
        cloudtrail("UpdateFunctionCode", None, {"functionName": function_arn("scanner-main")}),  # itself
        cloudtrail("CreateFunction", None, {"functionName": f"{ACCOUNT}:function:qscan-lambda-scanner"}),
        cloudtrail("CreateFunction", None, {"functionName": "qscan-billing"}),  # a customer's: scanned
        cloudtrail("CreateFunction", None, {"functionName": "sec-forwarder-v2"}),  # not a prefix: scanned
    ]
    response = module.lambda_handler(batch(*(record(e) for e in events)), OwnContext())

    assert response == {"batchItemFailures": []}
    assert world.started == 2
    assert [call["FunctionName"] for call in get_calls] == [
        function_arn("qscan-billing"),
        function_arn("sec-forwarder-v2"),
    ]
    (accounting,) = accounting_lines(caplog)
    assert accounting["scanned"] == 2
    (reason,) = accounting["skipped"]
    assert accounting["skipped"][reason] == 3
    assert reason.startswith("unsupported: own function")


def test_without_the_setting_the_default_scanner_names_are_own_and_the_prefix_is_not(
    world: LambdaWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The deprecated QSCAN_SELF_FUNCTION_PREFIX is ignored (with a warning): `qscan-billing` is scanned."""
    monkeypatch.delenv("QSCAN_SELF_FUNCTION_NAMES")
    world.create_function("qscan-billing")
    with caplog.at_level(logging.WARNING):
        world.load(QSCAN_SELF_FUNCTION_PREFIX="qscan-")
    assert any(
        "QSCAN_SELF_FUNCTION_PREFIX is deprecated and ignored" in r.getMessage() for r in caplog.records
    )
    caplog.clear()
    events = [
        cloudtrail("CreateFunction", None, {"functionName": "qscan-billing"}),
        cloudtrail("CreateFunction", None, {"functionName": "qscan-ecr-scanner"}),
        cloudtrail("CreateFunction", None, {"functionName": function_arn("qscan-lambda-scanner")}),
    ]
    assert world.invoke(batch(*(record(e) for e in events))) == {"batchItemFailures": []}
    assert world.started == 1
    (accounting,) = accounting_lines(caplog)
    assert accounting["scanned"] == 1 and sum(accounting["skipped"].values()) == 2


def test_a_spoke_function_named_like_a_scanner_is_still_scanned(world: LambdaWorld) -> None:
    """A name is own only in this account: a spoke's `qscan-lambda-scanner` forwarded to a hub is scanned."""
    spoke_lambda = spoke_client("lambda")
    spoke_role = spoke_client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    created = world.create_function(SELF_NAME, client=spoke_lambda, role=spoke_role)
    world.load(QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read", QSCAN_SPOKE_EXTERNAL_ID="ext-id-5521")
    event = cloudtrail("CreateFunction", created, {"functionName": SELF_NAME}, account=SPOKE)
    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}
    assert world.started == 1


def test_a_deleted_function_is_skipped_with_its_reason(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    created = world.create_function("short-lived")
    boto3.client("lambda").delete_function(FunctionName="short-lived")
    world.load()
    message_id = str(uuid.uuid4())
    event = cloudtrail("CreateFunction", created, {"functionName": "short-lived"})
    assert world.invoke(batch(record(event, message_id))) == {"batchItemFailures": []}
    assert world.started == 0
    (accounting,) = accounting_lines(caplog)
    (reason,) = accounting["skipped"]
    assert reason.startswith("unsupported: ") and "no longer exists" in reason
    assert world.result_documents() == []


def test_events_of_other_platforms_are_skipped_quietly(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    push = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "result": "SUCCESS",
            "repository-name": "team/app",
            "action-type": "PUSH",
            "image-digest": "sha256:" + "ab" * 32,
            "image-tag": "1.0",
        },
    }
    assert world.invoke(batch(record(push))) == {"batchItemFailures": []}
    (accounting,) = accounting_lines(caplog)
    (reason,) = accounting["skipped"]
    assert reason.startswith("unsupported: ") and "Lambda handler" in reason
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------------------------------- tagging


def test_tagging_writes_the_result_onto_the_function(
    world: LambdaWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    created = world.create_function("checkout")
    world.scenario(
        created["FunctionArn"], findings=[finding("3001", 5), finding("3002", 4), finding("3003", 4)]
    )
    world.load(QSCAN_TAG_FUNCTIONS="true")
    capsys.readouterr()
    event = cloudtrail("CreateFunction", created, {"functionName": "checkout"})
    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    tags = world.tags("checkout")
    assert set(tags) == set(TAG_KEYS)
    assert tags["QualysScanStatus"] == "success"
    assert (tags["QualysCritical"], tags["QualysHigh"]) == ("1", "2")
    assert tags["QualysScanTime"].endswith("Z") and len(tags["QualysScanTime"]) == 20
    (emf,) = emf_lines(capsys.readouterr().out)
    assert emf["FunctionTagFailures"] == 0  # declared when tagging is on: a continuous series


def test_a_failed_scan_is_tagged_failed_never_clean(world: LambdaWorld) -> None:
    created = world.create_function("flaky")
    world.scenario(created["FunctionArn"], exit_code=1)
    world.load(QSCAN_TAG_FUNCTIONS="true")
    message_id = str(uuid.uuid4())
    event = cloudtrail("CreateFunction", created, {"functionName": "flaky"})
    delivery = record(event, message_id)
    delivery["attributes"]["ApproximateReceiveCount"] = "3"  # the final attempt: the failure alerts
    assert world.invoke(batch(delivery)) == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    tags = world.tags("flaky")
    assert tags["QualysScanStatus"] == "failed"
    assert (tags["QualysCritical"], tags["QualysHigh"]) == ("unknown", "unknown")
    (alert,) = world.alerts()
    assert alert["kind"] == "failure" and alert["attempts"] == 3


def test_a_tag_failure_never_fails_the_record(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    created = world.create_function("locked-down")
    module = world.load(QSCAN_TAG_FUNCTIONS="true")

    def denied(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "explicit deny in a service control policy",
                }
            },
            "TagResource",
        )

    module.HANDLER.clients.client("lambda").meta.events.register("before-call.lambda.TagResource", denied)
    capsys.readouterr()
    event = cloudtrail("CreateFunction", created, {"functionName": "locked-down"})

    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    stored = world.store().lookup(f"lambda#{created['FunctionArn']}#{created['CodeSha256']}#")
    assert stored is not None and stored.state == "complete"
    assert world.tags("locked-down") == {}
    lines = emf_lines(capsys.readouterr().out)
    emf = emf_series(lines)
    assert emf["FunctionTagFailures"] == 1 and emf["ScansSucceeded"] == 1
    assert emf_series(lines, ACCOUNT)["FunctionTagFailures"] == 1  # counted for the function's account too
    assert any("could not tag" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    (accounting,) = accounting_lines(caplog)
    assert accounting["scanned"] == 1 and accounting["failed"] == 0


def test_tagging_off_emits_no_tag_metric(world: LambdaWorld, capsys: pytest.CaptureFixture[str]) -> None:
    created = world.create_function("quiet")
    world.load(QSCAN_TAG_FUNCTIONS="false")
    capsys.readouterr()
    assert world.invoke(batch(record(cloudtrail("CreateFunction", created, {"functionName": "quiet"})))) == {
        "batchItemFailures": []
    }
    assert world.tags("quiet") == {}
    (emf,) = emf_lines(capsys.readouterr().out)
    assert "FunctionTagFailures" not in emf


# ---------------------------------------------------------------------------------------------- bulk scan


def page_list_functions(client: Any, page_size: int) -> list[dict[str, Any]]:
    """Make `client` page ListFunctions like AWS does (moto returns everything at once); returns the calls."""
    calls = calls_to(client, "ListFunctions")
    reader = boto3.client("lambda")  # an unhooked client: the full listing

    def paged(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        everything = reader.list_functions()["Functions"]
        start = int(calls[-1].get("Marker") or 0)
        page: dict[str, Any] = {"Functions": everything[start : start + page_size]}
        if start + page_size < len(everything):
            page["NextMarker"] = str(start + page_size)
        return AWSResponse("https://lambda.us-east-1.amazonaws.com", 200, {}, None), page

    client.meta.events.register("before-call.lambda.ListFunctions", paged)
    return calls


def test_bulk_scan_request_enqueues_one_scan_request_per_function_which_are_then_scanned(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    names = [f"svc-{index}" for index in range(7)]
    for name in names:
        world.create_function(name, code=name)
    world.create_function(SELF_NAME)  # the scanner itself: never enqueued
    module = world.load()
    list_calls = page_list_functions(module.HANDLER.clients.client("lambda"), page_size=3)

    assert world.invoke(batch(record(BULK_REQUEST))) == {"batchItemFailures": []}

    assert len(list_calls) == 3  # 8 functions in pages of 3
    assert [call.get("Marker") for call in list_calls] == [None, "3", "6"]
    bodies = [json.loads(body) for body in drain(world.scan_queue_url)]
    assert len(bodies) == len(names)
    assert {b["source"] for b in bodies} == {RECONCILER_SOURCE}
    assert sorted(b["detail"]["target"]["function_arn"] for b in bodies) == sorted(map(function_arn, names))
    (request_accounting,) = accounting_lines(caplog)
    assert request_accounting["fanned_out"] == 1 and request_accounting["enqueued"] == 7
    assert request_accounting["events"] == 1 and closes(request_accounting)
    assert world.started == 0

    # the scan requests come back through the queue and are scanned like deployment events
    assert world.invoke(batch(*(record(b) for b in bodies))) == {"batchItemFailures": []}
    assert world.started == 7
    scan_accounting = accounting_lines(caplog)[-1]
    assert scan_accounting["scanned"] == 7 and closes(scan_accounting)
    assert {d["target"]["function_arn"] for d in world.result_documents()} == set(map(function_arn, names))

    # a second bulk scan re-enqueues everything; the store answers from its cache
    assert world.invoke(batch(record(BULK_REQUEST))) == {"batchItemFailures": []}
    again = [json.loads(body) for body in drain(world.scan_queue_url)]
    assert world.invoke(batch(*(record(b) for b in again))) == {"batchItemFailures": []}
    assert world.started == 7
    assert accounting_lines(caplog)[-1]["cached"] == 7


def test_bulk_scan_queue_url_setting_wins_and_image_functions_are_looked_up(world: LambdaWorld) -> None:
    other = boto3.client("sqs").create_queue(QueueName="elsewhere")["QueueUrl"]
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    push_image("fn/thumbs", "1")
    boto3.client("lambda").create_function(
        FunctionName="thumbs",
        Role=world.role_arn,
        PackageType="Image",
        Code={"ImageUri": f"{registry}/fn/thumbs:1"},
    )
    world.load(QSCAN_SCAN_QUEUE_URL=other)
    assert world.invoke(batch(record(BULK_REQUEST))) == {"batchItemFailures": []}
    assert drain(world.scan_queue_url) == []
    (body,) = [json.loads(b) for b in drain(other)]
    assert body["detail"]["target"]["lookup"] == "lambda_function"
    assert world.invoke(batch(record(body))) == {"batchItemFailures": []}
    (document,) = world.result_documents()
    assert document["target"]["kind"] == "image" and document["target"]["digest"].startswith("sha256:")


def test_bulk_scan_into_an_unusable_queue_fails_the_record(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.create_function("svc-a")
    world.load(QSCAN_SCAN_QUEUE_URL=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/no-such-queue")
    message_id = str(uuid.uuid4())
    response = world.invoke(batch(record(BULK_REQUEST, message_id)))
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    (accounting,) = accounting_lines(caplog)
    assert accounting["failed"] == 1 and accounting["fanned_out"] == 0 and closes(accounting)
    assert any(
        "bulk-scan request failed" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


def test_bulk_scan_with_unknown_input_fails_the_record(world: LambdaWorld) -> None:
    world.load()
    bad = dict(BULK_REQUEST, detail={"platform": "lambda", "regions": ["us-east-1"], "everything": True})
    message_id = str(uuid.uuid4())
    assert world.invoke(batch(record(bad, message_id))) == {
        "batchItemFailures": [{"itemIdentifier": message_id}]
    }
    assert drain(world.scan_queue_url) == []


# ---------------------------------------------------------------------------------------------- cross-account


def spoke_client(service: str) -> Any:
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{SPOKE}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_cross_account_function_is_read_scanned_and_tagged_with_the_spoke_role(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spoke_lambda = spoke_client("lambda")
    spoke_role = spoke_client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    created = world.create_function("ledger", client=spoke_lambda, role=spoke_role)
    arn = created["FunctionArn"]
    assert arn == function_arn("ledger", SPOKE)
    world.scenario(arn, findings=[finding("4001", 4)])
    record_file = env_recording_scanner(world)
    module = world.load(
        QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read",
        QSCAN_SPOKE_EXTERNAL_ID="ext-id-8812",
        QSCAN_TAG_FUNCTIONS="true",
    )
    capsys.readouterr()
    assume_calls: list[dict[str, Any]] = []
    module.HANDLER.clients.client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assume_calls.append(dict(params))
    )
    event = cloudtrail("UpdateFunctionCode", created, {"functionName": arn}, account=SPOKE)

    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}

    assert len(assume_calls) == 1  # cached for the lookup, the scan and the tags
    assert assume_calls[0]["RoleArn"] == f"arn:aws:iam::{SPOKE}:role/qscan-spoke-read"
    assert assume_calls[0]["ExternalId"] == "ext-id-8812"
    credentials = module.HANDLER.accounts.credentials_for(SPOKE)
    assert json.loads(record_file.read_text()) == credentials.child_env()
    stored = world.store().lookup(f"lambda#{arn}#{created['CodeSha256']}#")
    assert stored is not None and stored.status == "success"
    assert world.tags("ledger", client=spoke_lambda)["QualysScanStatus"] == "success"
    # the result, the alert, the accounting and the metrics name the spoke
    assert stored.result_location is not None
    key = stored.result_location.removeprefix(f"s3://{BUCKET}/")
    assert key.startswith(f"results/lambda/{SPOKE}/{REGION}/ledger/")
    (alert,) = world.alerts()
    assert alert["account"] == SPOKE and alert["target"]["function_arn"] == arn
    (accounting,) = accounting_lines(caplog)
    assert accounting["accounts"] == {SPOKE: {"events": 1, "scanned": 1}}
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["account"], line["ScansSucceeded"], line["FindingsHigh"]) == (SPOKE, 1, 1)
    text = caplog.text
    assert credentials.secret_access_key not in text and credentials.session_token not in text
    assert "ext-id-8812" not in text


def test_foreign_account_without_spoke_settings_fails_loudly(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    message_id = str(uuid.uuid4())
    event = cloudtrail("CreateFunction", None, {"functionName": function_arn("ledger", SPOKE)}, account=SPOKE)
    assert world.invoke(batch(record(event, message_id))) == {
        "batchItemFailures": [{"itemIdentifier": message_id}]
    }
    assert world.started == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("QSCAN_SPOKE_ROLE_NAME" in r.getMessage() for r in errors)


# ---------------------------------------------------------------------------------------------- accounting, secrets


def test_accounting_closes_and_emf_has_the_dashboard_metrics(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    good = world.create_function("good", layers=(layer(),))
    bad = world.create_function("bad")
    gone = world.create_function("gone")
    boto3.client("lambda").delete_function(FunctionName="gone")
    world.scenario(good["FunctionArn"], findings=[finding("5001", 5), finding("5002", 4)])
    world.scenario(bad["FunctionArn"], exit_code=1)
    world.load(QSCAN_METRICS_NAMESPACE="secops/qscan")
    capsys.readouterr()
    event = batch(
        record(cloudtrail("CreateFunction", good, {"functionName": "good"})),  # scanned
        record(cloudtrail("UpdateFunctionConfiguration", good, {"functionName": "good"})),  # cached
        record(cloudtrail("CreateFunction", None, {"functionName": "qscan-ecr-scanner"})),  # skipped: own
        record(cloudtrail("CreateFunction", gone, {"functionName": "gone"})),  # skipped: gone
        record("[]"),  # skipped: invalid
        record(cloudtrail("CreateFunction", bad, {"functionName": "bad"})),  # failed
        record(BULK_REQUEST),  # fanned out
    )
    event["Records"].append({"body": "{}"})  # no messageId: cannot be retried, counted as skipped
    response = world.invoke(event)
    assert len(response["batchItemFailures"]) == 1

    (accounting,) = accounting_lines(caplog)
    assert accounting["events"] == 8
    assert (accounting["scanned"], accounting["cached"], accounting["failed"]) == (1, 1, 1)
    assert sum(accounting["skipped"].values()) == 4
    assert accounting["fanned_out"] == 1 and accounting["enqueued"] == 2  # good and bad (gone is deleted)
    assert closes(accounting)
    line = next(r for r in caplog.records if r.getMessage().startswith("batch accounting"))
    assert line.__dict__["closes"] is True

    lines = emf_lines(capsys.readouterr().out)
    for line in lines:
        directive = line["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "secops/qscan" and ["service"] in directive["Dimensions"]
        assert [m["Name"] for m in directive["Metrics"]] == list(DASHBOARD_METRICS)
        assert line["service"] == "qscan-lambda"
    assert sorted(line.get("account", "-") for line in lines) == ["-", ACCOUNT]
    emf = emf_series(lines)
    assert {name: emf[name] for name in DASHBOARD_METRICS} == {
        "ScansStarted": 2,
        "ScansSucceeded": 1,
        "ScansFailed": 0,  # attempt 1 of 3: not failed for good yet
        "ScanAttemptsFailed": 1,
        "ScansDeduplicated": 1,
        "EventsSkipped": 4,
        "EventsDeadLettered": 0,
        "FindingsCritical": 1,
        "FindingsHigh": 1,
        "FindingsMedium": 0,
        "FindingsLow": 0,
        "FindingsInformational": 0,
    }


def test_qualys_token_never_reaches_logs_results_tags_or_alerts(
    world: LambdaWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    ok = world.create_function("echo-ok")
    failing = world.create_function("echo-fail")
    world.scenario(ok["FunctionArn"], echo_token=True, findings=[finding("6001", 5)])
    world.scenario(failing["FunctionArn"], echo_token=True, exit_code=7)
    world.load(QSCAN_LOG_LEVEL="DEBUG", QSCAN_TAG_FUNCTIONS="true")
    response = world.invoke(
        batch(
            record(cloudtrail("CreateFunction", ok, {"functionName": "echo-ok"})),
            record(cloudtrail("CreateFunction", failing, {"functionName": "echo-fail"})),
        )
    )
    assert len(response["batchItemFailures"]) == 1
    objects = world.objects()
    assert any(b"***" in body for body in objects.values())  # the echoed token was there, and masked
    for key, body in objects.items():
        assert TOKEN.encode() not in body, key
    alerts = world.alerts()
    assert alerts and all(TOKEN not in json.dumps(a) for a in alerts)
    for name in ("echo-ok", "echo-fail"):
        assert TOKEN not in json.dumps(world.tags(name))
    assert caplog.text and TOKEN not in caplog.text
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err


def test_cold_start_fails_loudly_on_bad_settings(world: LambdaWorld) -> None:
    with pytest.raises(Exception, match="QSCAN_TAG_FUNCTIONS must be true or false"):
        world.load(QSCAN_TAG_FUNCTIONS="sometimes")
