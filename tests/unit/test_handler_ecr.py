"""The ECR Lambda handler end to end over in-process moto (`mock_aws`) and the fake qscanner.

Each test loads `handlers/aws/ecr/handler.py` fresh (its cold start runs at import, like Lambda's init phase)
against a moto account holding the dedupe table, results bucket, alerts topic (with an SQS queue subscribed, to
read alerts back), the Qualys secret and an ECR repository. The fake qscanner (tests/doubles) behaves per
scenario file: findings, exit codes, a token echo.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from qscan import secrets as qscan_secrets
from qscan.aws.ecr import fetch_manifest
from qscan.errors import ConfigError, TransientError
from qscan.metrics import DASHBOARD_METRICS
from qscan.oci import ARTIFACT_REASON, ATTESTATION_REASON, INDEX_REASON
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
)

ACCOUNT = "123456789012"
SPOKE = "222233334444"
TOKEN = "qtok-7Hc2vQ9xLr4NwZ8pKd3mYb6T"
REPO = "team/app"
DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def image_ref(digest: str = DIGEST, account: str = ACCOUNT, repo: str = REPO) -> str:
    return f"{account}.dkr.ecr.{REGION}.amazonaws.com/{repo}@{digest}"


def finding(qid: str, severity: int) -> dict[str, Any]:
    return {
        "qid": qid,
        "title": f"vuln {qid}",
        "severity": severity,
        "cves": [f"CVE-2024-{qid}"],
        "packageName": "openssl",
        "installedVersion": "3.0.1",
        "fixedVersion": "3.0.9",
        "cvssScore": 7.5,
    }


# ---------------------------------------------------------------------------------------------- events


def push_event(
    digest: str | None = DIGEST, tag: str | None = "1.0", account: str | None = ACCOUNT, action: str = "PUSH"
) -> dict[str, Any]:
    detail: dict[str, Any] = {"result": "SUCCESS", "repository-name": REPO, "action-type": action}
    if digest is not None:
        detail["image-digest"] = digest
    if tag is not None:
        detail["image-tag"] = tag
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "time": "2025-03-14T09:26:53Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }
    if account is not None:
        event["account"] = account
    return event


def put_image_tag_only(tag: str, account: str = ACCOUNT) -> dict[str, Any]:
    """A CloudTrail PutImage call whose response was not recorded: only the tag is known."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecr",
        "account": account,
        "time": "2025-03-14T09:31:07Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventSource": "ecr.amazonaws.com",
            "eventName": "PutImage",
            "awsRegion": REGION,
            "requestParameters": {"repositoryName": REPO, "imageTag": tag, "registryId": account},
            "responseElements": None,
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsApiCall",
        },
    }


def record(body: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    return sqs_record(body, f"arn:aws:sqs:{REGION}:{ACCOUNT}:qscan-ecr-scan", message_id)


class EcrContext(LambdaContext):
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:qscan-ecr-scanner"


# ---------------------------------------------------------------------------------------------- world


class EcrWorld(World):
    platform = "ecr"
    context = EcrContext

    def result_documents(self) -> list[dict[str, Any]]:
        return [
            json.loads(body) for key, body in self.objects().items() if key.endswith(".json") and "/" in key
        ]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EcrWorld]:
    with moto_world(EcrWorld, tmp_path, monkeypatch, TOKEN, {"QSCAN_SERVICE_NAME": "qscan-ecr"}) as w:
        boto3.client("ecr").create_repository(repositoryName=REPO)
        yield w


def push_image(tag: str, account_client: Any | None = None) -> str:
    """Push a manifest to the ECR repository in moto; returns its digest."""
    ecr = account_client or boto3.client("ecr")
    manifest = image_manifest("sha256:" + "ef" * 32, 7023)
    return str(
        ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
            "imageDigest"
        ]
    )


# ---------------------------------------------------------------------------------------------- tests


def test_clean_push_is_scanned_stored_and_completed(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.scenario(image_ref(), findings=[finding("1001", 2)])
    world.load()
    message_id = str(uuid.uuid4())
    response = world.invoke(batch(record(push_event(), message_id)))

    assert response == {"batchItemFailures": []}
    assert world.started == 1
    stored = world.store().lookup(f"image#{DIGEST}")
    assert stored is not None and stored.state == "complete" and stored.status == "success"
    assert stored.counts is not None and stored.counts.low == 1
    documents = world.result_documents()
    assert len(documents) == 1
    document = documents[0]
    assert schema_errors(document) == []
    assert document["status"] == "success"
    assert document["target"]["digest"] == DIGEST and document["target"]["registry"] == REGISTRY
    assert stored.result_location is not None
    key = stored.result_location.removeprefix(f"s3://{BUCKET}/")
    assert key.startswith(f"results/ecr/{ACCOUNT}/{REGION}/team/app/{DIGEST}/")
    assert world.alerts() == []  # one LOW finding under the HIGH default threshold
    # every log line of the record carries the SQS messageId as correlation id
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
    scan_lines = [line for line in lines if line["logger"].startswith("qscan.scanners")]
    assert scan_lines and all(line["correlation_id"] == message_id for line in scan_lines)


def test_moto_style_event_without_account_uses_own_account(world: EcrWorld) -> None:
    world.scenario(image_ref(), findings=[])
    world.load()
    response = world.invoke(batch(record(push_event(account=None))))
    assert response == {"batchItemFailures": []}
    assert world.started == 1
    (document,) = world.result_documents()
    assert document["target"]["account"] == ACCOUNT
    assert document["target"]["image"] == f"{REGISTRY}/{REPO}:1.0@{DIGEST}"


def test_duplicate_in_flight_is_deduplicated_without_scanning(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    # another invocation (another message) is scanning this digest right now
    assert world.store().claim(f"image#{DIGEST}", "other-message", 600).won
    response = world.invoke(batch(record(push_event())))
    assert response == {"batchItemFailures": []}
    assert world.started == 0
    (accounting,) = accounting_lines(caplog)
    assert accounting["deduplicated"] == 1 and accounting["scanned"] == 0


def test_same_digest_twice_in_a_batch_scans_once(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load()
    response = world.invoke(batch(record(push_event(tag="1.0")), record(push_event(tag="latest"))))
    assert response == {"batchItemFailures": []}
    assert world.started == 1
    (accounting,) = accounting_lines(caplog)
    assert (accounting["scanned"], accounting["cached"], accounting["events"]) == (1, 1, 2)


def test_redelivery_after_success_is_a_cache_hit(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load()
    assert world.invoke(batch(record(push_event()))) == {"batchItemFailures": []}
    assert world.invoke(batch(record(push_event()))) == {"batchItemFailures": []}
    assert world.started == 1
    first, second = accounting_lines(caplog)
    assert first["scanned"] == 1 and second["cached"] == 1 and second["scanned"] == 0
    assert len(world.result_documents()) == 1


def test_bad_event_is_skipped_with_reason_not_retried(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    bad_digest = push_event(digest="sha256:XYZ")
    response = world.invoke(batch(record(bad_digest), record("not json {")))
    assert response == {"batchItemFailures": []}
    assert world.started == 0
    (accounting,) = accounting_lines(caplog)
    assert sum(accounting["skipped"].values()) == 2
    assert all(reason.startswith("invalid: ") for reason in accounting["skipped"])
    assert any("digest" in reason for reason in accounting["skipped"])
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.getMessage().startswith("skipped")
    ]
    assert len(warnings) == 2


def test_unsupported_event_is_skipped_quietly(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load()
    response = world.invoke(batch(record(push_event(action="DELETE"))))
    assert response == {"batchItemFailures": []}
    (accounting,) = accounting_lines(caplog)
    (reason,) = accounting["skipped"]
    assert reason.startswith("unsupported: ") and "DELETE" in reason
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_scanner_failure_fails_only_that_record_releases_claim_and_is_retried_quietly(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.scenario(image_ref(OTHER_DIGEST), exit_code=1)
    world.load()
    failing = str(uuid.uuid4())
    response = world.invoke(batch(record(push_event()), record(push_event(digest=OTHER_DIGEST), failing)))

    assert response == {"batchItemFailures": [{"itemIdentifier": failing}]}
    assert world.store().lookup(f"image#{OTHER_DIGEST}") is None  # released: the retry scans again
    assert world.store().lookup(f"image#{DIGEST}") is not None  # the neighbour completed
    assert world.alerts() == []  # attempt 1 of 3: the failure alert comes at the final attempt
    statuses = sorted(d["status"] for d in world.result_documents())
    assert statuses == ["failed", "success"]
    (accounting,) = accounting_lines(caplog)
    assert accounting["failed"] == 1 and accounting["scanned"] == 1
    # the redelivery scans again instead of trusting a cache
    world.scenario(image_ref(OTHER_DIGEST))
    assert world.invoke(batch(record(push_event(digest=OTHER_DIGEST), failing))) == {"batchItemFailures": []}
    assert world.started == 3


def test_partial_scan_is_never_cached_as_clean_and_alerts_once_at_the_final_attempt(world: EcrWorld) -> None:
    world.scenario(image_ref(), exit_code=40)
    world.load()
    message_id = str(uuid.uuid4())
    for attempt in (1, 2, 3):
        delivery = record(push_event(), message_id)
        delivery["attributes"]["ApproximateReceiveCount"] = str(attempt)
        response = world.invoke(batch(delivery))
        # no dead-letter queue configured here: the queue's redrive policy dead-letters after the last
        assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}, attempt
        alerts = world.alerts()
        assert len(alerts) == (1 if attempt == 3 else 0), attempt  # one alert per failed artifact
    (alert,) = alerts
    assert (alert["kind"], alert["status"], alert["attempts"], alert["max_attempts"]) == (
        "failure",
        "partial",
        3,
        3,
    )
    assert "VULN_REPORT_FAILED" in alert["reason"] and alert["retryable"] is True
    assert world.started == 3  # scanned on every delivery
    assert world.store().lookup(f"image#{DIGEST}") is None
    assert {d["status"] for d in world.result_documents()} == {"partial"}  # every attempt persisted


@pytest.mark.parametrize(("threshold", "expected_alerts"), [("CRITICAL", 0), ("HIGH", 1)])
def test_alert_threshold(world: EcrWorld, threshold: str, expected_alerts: int) -> None:
    world.scenario(image_ref(), findings=[finding("2001", 4), finding("2002", 3)])
    world.load(QSCAN_SEVERITY_THRESHOLD=threshold)
    assert world.invoke(batch(record(push_event()))) == {"batchItemFailures": []}
    alerts = world.alerts()
    assert len(alerts) == expected_alerts
    if alerts:
        assert alerts[0]["kind"] == "findings" and alerts[0]["counts"]["high"] == 1


def test_tag_only_target_is_resolved_to_its_digest(world: EcrWorld) -> None:
    digest = push_image("2.0")
    world.scenario(image_ref(digest), findings=[finding("3001", 5)])
    world.load()
    assert world.invoke(batch(record(put_image_tag_only("2.0")))) == {"batchItemFailures": []}
    assert world.started == 1
    stored = world.store().lookup(f"image#{digest}")
    assert stored is not None and stored.status == "success" and stored.counts is not None
    assert stored.counts.critical == 1
    (document,) = world.result_documents()
    assert document["target"]["digest"] == digest and document["target"]["tag"] == "2.0"
    assert document["target"]["image"] == f"{REGISTRY}/{REPO}:2.0@{digest}"


def test_tag_that_no_longer_exists_is_skipped(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load()
    assert world.invoke(batch(record(put_image_tag_only("gone")))) == {"batchItemFailures": []}
    (accounting,) = accounting_lines(caplog)
    (reason,) = accounting["skipped"]
    assert "no longer exists" in reason


def test_cross_account_image_is_read_with_the_spoke_role(
    world: EcrWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spoke = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{SPOKE}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    spoke_ecr = boto3.client(
        "ecr",
        aws_access_key_id=spoke["AccessKeyId"],
        aws_secret_access_key=spoke["SecretAccessKey"],
        aws_session_token=spoke["SessionToken"],
    )
    spoke_ecr.create_repository(repositoryName=REPO)
    digest = push_image("7.1", spoke_ecr)
    world.scenario(image_ref(digest, account=SPOKE), findings=[finding("4001", 5)])
    record_file = env_recording_scanner(world)
    module = world.load(QSCAN_SPOKE_ROLE_NAME="qscan-spoke-read", QSCAN_SPOKE_EXTERNAL_ID="ext-id-8812")
    capsys.readouterr()
    assume_calls: list[dict[str, Any]] = []
    module.HANDLER.clients.client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assume_calls.append(dict(params))
    )

    assert world.invoke(batch(record(put_image_tag_only("7.1", account=SPOKE)))) == {"batchItemFailures": []}

    assert len(assume_calls) == 1  # cached for the lookup and the scan
    assert assume_calls[0]["RoleArn"] == f"arn:aws:iam::{SPOKE}:role/qscan-spoke-read"
    assert assume_calls[0]["ExternalId"] == "ext-id-8812"
    assert assume_calls[0]["DurationSeconds"] == 3600
    credentials = module.HANDLER.accounts.credentials_for(SPOKE)
    child = json.loads(record_file.read_text())
    assert child == credentials.child_env()
    assert child["AWS_ACCESS_KEY_ID"] != "testing"
    stored = world.store().lookup(f"image#{digest}")
    assert stored is not None and stored.status == "success"
    (document,) = world.result_documents()
    assert document["target"]["account"] == SPOKE
    assert document["target"]["registry"] == f"{SPOKE}.dkr.ecr.{REGION}.amazonaws.com"  # the spoke's registry
    # the result names the spoke: its key and its metadata
    assert stored.result_location is not None
    key = stored.result_location.removeprefix(f"s3://{BUCKET}/")
    assert key.startswith(f"results/ecr/{SPOKE}/{REGION}/")
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key=key)["Metadata"]["account"] == SPOKE
    # the alert names it: subject, attribute and body
    (envelope,) = [json.loads(body) for body in drain(world.alerts_queue_url)]
    assert envelope["Subject"].endswith(f"(ecr, {SPOKE})")
    assert envelope["MessageAttributes"]["account"]["Value"] == SPOKE
    assert json.loads(envelope["Message"])["account"] == SPOKE
    # the accounting and the metrics count it for the spoke
    (accounting,) = accounting_lines(caplog)
    assert accounting["accounts"] == {SPOKE: {"events": 1, "scanned": 1}}
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["account"] == SPOKE
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "account"]]
    assert (line["ScansStarted"], line["ScansSucceeded"], line["FindingsCritical"]) == (1, 1, 1)
    # the assumed secrets never reach a log line
    text = caplog.text
    assert credentials.secret_access_key not in text and credentials.session_token not in text
    assert "ext-id-8812" not in text


def test_foreign_account_without_spoke_settings_fails_loudly(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.load()
    message_id = str(uuid.uuid4())
    response = world.invoke(batch(record(push_event(account=SPOKE), message_id)))
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert world.started == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("QSCAN_SPOKE_ROLE_NAME" in r.getMessage() for r in errors)
    assert world.store().lookup(f"image#{DIGEST}") is None


def test_accounting_closes_and_emf_has_the_dashboard_metrics(
    world: EcrWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    world.scenario(image_ref(), findings=[finding("5001", 5), finding("5002", 4), finding("5003", 4)])
    world.scenario(image_ref(OTHER_DIGEST), exit_code=1)
    world.load(QSCAN_METRICS_NAMESPACE="secops/qscan")
    capsys.readouterr()
    event = batch(
        record(push_event()),  # scanned
        record(push_event(tag="again")),  # cached
        record(push_event(action="DELETE")),  # skipped (unsupported)
        record("[]"),  # skipped (invalid)
        record(push_event(digest=OTHER_DIGEST)),  # failed
    )
    event["Records"].append({"body": "{}"})  # no messageId: cannot be retried, counted as skipped
    response = world.invoke(event)
    assert len(response["batchItemFailures"]) == 1

    (accounting,) = accounting_lines(caplog)
    assert accounting["events"] == 6
    assert (accounting["scanned"], accounting["cached"], accounting["failed"]) == (1, 1, 1)
    assert sum(accounting["skipped"].values()) == 3
    total = (
        accounting["scanned"]
        + accounting["deduplicated"]
        + accounting["cached"]
        + sum(accounting["skipped"].values())
        + accounting["failed"]
    )
    assert total == accounting["events"]
    line = next(r for r in caplog.records if r.getMessage().startswith("batch accounting"))
    assert line.__dict__["closes"] is True

    # the own account's line (both dimension sets) and the account-less one (the two unreadable records)
    unknown, own = sorted(emf_lines(capsys.readouterr().out), key=lambda line: "account" in line)
    assert own["account"] == ACCOUNT and "account" not in unknown
    for line, dimensions in ((own, [["service"], ["service", "account"]]), (unknown, [["service"]])):
        directive = line["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "secops/qscan"
        assert directive["Dimensions"] == dimensions
        assert [m["Name"] for m in directive["Metrics"]] == list(DASHBOARD_METRICS)
        assert all(m["Unit"] == "Count" for m in directive["Metrics"])
        assert isinstance(line["_aws"]["Timestamp"], int)
        assert line["service"] == "qscan-ecr"
    assert unknown["EventsSkipped"] == 2 and emf_series([own])["EventsSkipped"] == 1  # DELETE: its account's
    emf = emf_series([own, unknown])
    assert {name: emf[name] for name in DASHBOARD_METRICS} == {
        "ScansStarted": 2,
        "ScansSucceeded": 1,
        "ScansFailed": 0,  # attempt 1 of 3: not failed for good yet
        "ScanAttemptsFailed": 1,
        "ScansDeduplicated": 1,
        "EventsSkipped": 3,
        "EventsDeadLettered": 0,
        "FindingsCritical": 1,
        "FindingsHigh": 2,
        "FindingsMedium": 0,
        "FindingsLow": 0,
        "FindingsInformational": 0,
    }


def test_qualys_token_never_reaches_logs_results_or_alerts(
    world: EcrWorld, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    world.scenario(image_ref(), echo_token=True, findings=[finding("6001", 5)])
    world.scenario(image_ref(OTHER_DIGEST), echo_token=True, exit_code=7)
    world.load(QSCAN_LOG_LEVEL="DEBUG")
    response = world.invoke(batch(record(push_event()), record(push_event(digest=OTHER_DIGEST))))
    assert len(response["batchItemFailures"]) == 1
    objects = world.objects()
    assert objects  # results and raw outputs were written
    assert any(b"***" in body for body in objects.values())  # the echoed token was there, and masked
    for key, body in objects.items():
        assert TOKEN.encode() not in body, key
    alerts = world.alerts()
    assert alerts and all(TOKEN not in json.dumps(a) for a in alerts)
    formatted = caplog.text
    assert formatted and TOKEN not in formatted
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err


def test_non_batch_event_is_skipped_not_crashed(world: EcrWorld, caplog: pytest.LogCaptureFixture) -> None:
    world.load()
    assert world.invoke({"hello": "world"}) == {"batchItemFailures": []}
    (accounting,) = accounting_lines(caplog)
    assert accounting["events"] == 1 and sum(accounting["skipped"].values()) == 1


def test_cold_start_fails_loudly_on_missing_settings(world: EcrWorld) -> None:
    world.monkeypatch.delenv("QSCAN_DEDUPE_TABLE")
    with pytest.raises(Exception, match="QSCAN_DEDUPE_TABLE is required"):
        world.load()


def test_rotated_qualys_secret_rebuilds_the_scanner(world: EcrWorld) -> None:
    module = world.load()
    assert world.invoke(batch(record(push_event()))) == {"batchItemFailures": []}
    first_runner = module.HANDLER.scanner.inner
    rotated = "qtok-rotated-5Gx8Wq2Rn7Tz"
    boto3.client("secretsmanager").put_secret_value(
        SecretId=os.environ["QSCAN_QUALYS_SECRET_ARN"],
        SecretString=json.dumps({"pod": "US2", "access_token": rotated}),
    )
    assert world.invoke(batch(record(push_event(digest=OTHER_DIGEST)))) == {"batchItemFailures": []}
    assert module.HANDLER.scanner.inner is first_runner  # still within the secret cache TTL
    qscan_secrets.clear_cache()  # the 15-minute cache expired
    assert world.invoke(batch(record(push_event(digest="sha256:" + "ee" * 32)))) == {"batchItemFailures": []}
    assert module.HANDLER.scanner.inner is not first_runner
    assert module.HANDLER.scanner.inner.build_env()["QUALYS_ACCESS_TOKEN"] == rotated
    assert world.started == 3


def test_the_scanner_cache_cap_setting_reaches_the_runner(world: EcrWorld) -> None:
    module = world.load(QSCAN_SCANNER_CACHE_MAX_MB="64")
    options = module.HANDLER.scanner.inner._opts
    assert options.cache_max_bytes == 64 * 1024 * 1024
    assert options.cache_dir and options.work_dir  # both under the temp dir, where the cap matters


# ---------------------------------------------------------------------------------------------- multi-arch
MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def put_manifest(name: str, tag: str | None = None, client: Any | None = None) -> str:
    """Push tests/fixtures/manifests/<name>.json into moto's ECR under its real digest (sha256 of the bytes)."""
    body = (MANIFESTS / f"{name}.json").read_text()
    digest = "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    params: dict[str, Any] = {"repositoryName": REPO, "imageManifest": body, "imageDigest": digest}
    if tag is not None:
        params["imageTag"] = tag
    (client or boto3.client("ecr")).put_image(**params)
    return digest


def push_event_for(
    digest: str,
    tag: str | None = None,
    manifest_type: str = OCI_MANIFEST,
    artifact_type: str | None = OCI_CONFIG,
) -> dict[str, Any]:
    """The `ECR Image Action` event ECR emits for one pushed manifest (untagged children carry no tag)."""
    event = push_event(digest=digest, tag=tag)
    event["detail"]["manifest-media-type"] = manifest_type
    if artifact_type is not None:
        event["detail"]["artifact-media-type"] = artifact_type
    return event


def skipped(caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    return dict(accounting_lines(caplog)[-1]["skipped"])


def test_multi_arch_push_scans_each_platform_once_never_the_index_or_attestations(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    amd64, arm64 = put_manifest("buildx_linux_amd64"), put_manifest("buildx_linux_arm64")
    attestations = [put_manifest("buildx_attestation_amd64"), put_manifest("buildx_attestation_arm64")]
    index = put_manifest("buildx_index", tag="1.8.3")
    world.scenario(image_ref(amd64), findings=[finding("7001", 4)])
    world.scenario(image_ref(arm64), findings=[finding("7002", 2)])
    world.load()
    # what ECR emits for one `docker buildx build --platform linux/amd64,linux/arm64 --push`: one event per
    # manifest, children untagged first, the tagged index last; plus the CloudTrail PutImage of the index
    events = [
        push_event_for(amd64),
        push_event_for(attestations[0]),
        push_event_for(arm64),
        push_event_for(attestations[1]),
        push_event_for(
            index, tag="1.8.3", manifest_type="application/vnd.oci.image.index.v1+json", artifact_type=None
        ),
        put_image_tag_only("1.8.3"),
    ]
    response = world.invoke(batch(*(record(e) for e in events)))

    assert response == {"batchItemFailures": []}
    assert world.started == 2
    scanned = sorted(d["target"]["digest"] for d in world.result_documents())
    assert scanned == sorted([amd64, arm64])
    for digest in (amd64, arm64):
        stored = world.store().lookup(f"image#{digest}")
        assert stored is not None and stored.state == "complete"
    for digest in (*attestations, index):
        assert world.store().lookup(f"image#{digest}") is None
    assert skipped(caplog) == {
        f"unsupported: ECR {ATTESTATION_REASON}": 2,
        f"unsupported: ECR {INDEX_REASON}": 2,  # the native event (by media type) and CloudTrail (by manifest)
    }
    (alert,) = world.alerts()  # the HIGH finding on amd64
    assert alert["kind"] == "findings"


def test_a_platform_pushed_again_under_a_new_tag_is_a_cache_hit(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    amd64 = put_manifest("buildx_linux_amd64")
    world.load()
    assert world.invoke(batch(record(push_event_for(amd64)))) == {"batchItemFailures": []}
    assert world.invoke(batch(record(push_event_for(amd64, tag="stable")))) == {"batchItemFailures": []}
    assert world.started == 1


@pytest.mark.parametrize(
    ("name", "tag", "reason"),
    [
        ("cosign_signature", "sha256-" + "ab" * 32 + ".sig", ARTIFACT_REASON),
        ("oci_artifact_sbom", None, ARTIFACT_REASON),
        ("buildx_attestation_amd64", None, ATTESTATION_REASON),
    ],
)
def test_artifacts_the_event_does_not_mark_are_skipped_by_their_manifest(
    world: EcrWorld, caplog: pytest.LogCaptureFixture, name: str, tag: str | None, reason: str
) -> None:
    digest = put_manifest(name, tag=tag)
    world.load()
    event = push_event(digest=digest, tag=tag)  # an event without media types (older events, reconciler)
    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}
    assert world.started == 0
    assert skipped(caplog) == {f"unsupported: ECR {reason}": 1}
    assert world.store().lookup(f"image#{digest}") is None


def test_a_single_arch_docker_image_is_scanned(world: EcrWorld) -> None:
    digest = put_manifest("docker_v2_linux_amd64", tag="3.2.1")
    world.load()
    event = push_event_for(
        digest,
        tag="3.2.1",
        manifest_type="application/vnd.docker.distribution.manifest.v2+json",
        artifact_type="application/vnd.docker.container.image.v1+json",
    )
    assert world.invoke(batch(record(event))) == {"batchItemFailures": []}
    assert world.started == 1


def test_a_digest_ecr_no_longer_has_is_scanned_unverified(
    world: EcrWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    world.load()
    assert world.invoke(batch(record(push_event()))) == {"batchItemFailures": []}
    assert world.started == 1
    assert any("scanned unverified" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [("ThrottlingException", 400, TransientError), ("AccessDeniedException", 403, ConfigError)],
)
def test_manifest_lookup_errors_fail_the_record_for_a_retry(
    world: EcrWorld, caplog: pytest.LogCaptureFixture, code: str, status: int, error: type[Exception]
) -> None:
    amd64 = put_manifest("buildx_linux_amd64")
    module = world.load()

    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": code, "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": status}},
            "BatchGetImage",
        )

    module.HANDLER.clients.client("ecr").meta.events.register("before-call.ecr.BatchGetImage", refuse)
    message_id = str(uuid.uuid4())
    assert world.invoke(batch(record(push_event_for(amd64), message_id))) == {
        "batchItemFailures": [{"itemIdentifier": message_id}]
    }
    assert world.started == 0
    assert world.store().lookup(f"image#{amd64}") is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"ecr batch_get_image 123456789012/team/app: {code}" in e for e in errors), errors
    with pytest.raises(error):
        fetch_manifest(
            module.HANDLER.clients.client("ecr"), registry_id=ACCOUNT, repository=REPO, digest=amd64
        )
