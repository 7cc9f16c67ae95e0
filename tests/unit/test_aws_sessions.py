"""qscan.aws.sessions and qscan.aws.ecr over moto: own account, assumed-role caching, failures, tag lookup."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from qscan import secrets as qscan_secrets
from qscan.aws.ecr import fetch_manifest, resolve_tag_digest
from qscan.aws.sessions import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    READ_TIMEOUT_SECONDS,
    Accounts,
    ClientFactory,
    client_config,
    partition_from_arn,
)
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import ConfigError, InvalidEvent, TransientError
from qscan.notify import sns
from qscan.redact import redact
from qscan.refs import aws_partition
from qscan.results.s3 import S3ResultStore

SPOKE = "222233334444"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def accounts(clock: Clock | None = None, **kwargs: Any) -> tuple[Accounts, list[dict[str, Any]]]:
    factory = ClientFactory(region="us-east-1")
    calls: list[dict[str, Any]] = []
    factory.client("sts").meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(dict(params))
    )
    options: dict[str, Any] = {"role_name": "qscan-spoke-read", "external_id": "ext-4411", "partition": "aws"}
    options.update(kwargs)
    if clock is not None:
        options["clock"] = clock
    return Accounts(factory, **options), calls


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), (None, "aws")],
)
def test_aws_partition(region: str | None, partition: str) -> None:
    assert aws_partition(region) == partition


def test_partition_from_arn() -> None:
    assert partition_from_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:x") == "aws-cn"
    assert partition_from_arn("nope") is None


def test_own_account_needs_no_role(aws: None) -> None:
    acc, calls = accounts(role_name=None, external_id=None)
    assert acc.own_account() == "123456789012"
    assert acc.credentials_for("123456789012") is None and acc.credentials_for(None) is None
    assert acc.child_env("123456789012") == {}
    assert calls == []


def test_foreign_account_without_settings_is_a_config_error(aws: None) -> None:
    acc, _ = accounts(role_name=None, external_id=None)
    with pytest.raises(ConfigError, match="QSCAN_SPOKE_ROLE_NAME and QSCAN_SPOKE_EXTERNAL_ID"):
        acc.credentials_for(SPOKE)


def test_bad_account_id_is_invalid(aws: None) -> None:
    acc, _ = accounts()
    with pytest.raises(InvalidEvent):
        acc.credentials_for("12345")


def test_assumed_credentials_are_cached_until_close_to_expiry(aws: None) -> None:
    clock = Clock()
    acc, calls = accounts(clock, partition="aws-us-gov", min_validity_seconds=900)
    first = acc.credentials_for(SPOKE)
    assert first is not None
    clock.now = first.expires_at - 901
    assert acc.credentials_for(SPOKE) is first
    assert len(calls) == 1
    assert calls[0] == {
        "RoleArn": f"arn:aws-us-gov:iam::{SPOKE}:role/qscan-spoke-read",
        "RoleSessionName": "qscan-scanner",
        "ExternalId": "ext-4411",
        "DurationSeconds": 3600,
    }
    clock.now = first.expires_at - 899  # a scan started now could outlive them: refresh
    second = acc.credentials_for(SPOKE)
    assert len(calls) == 2 and second is not None
    # secrets are registered for redaction and hidden from repr
    assert first.secret_access_key not in repr(first) and first.session_token not in repr(first)
    assert redact(f"x {first.session_token} y") == "x *** y"
    assert set(first.child_env()) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def test_min_validity_is_capped_below_the_session_length(aws: None) -> None:
    acc, _ = accounts(min_validity_seconds=20000)
    assert acc.min_validity_seconds == 3300


def test_access_denied_on_assume_role_is_a_config_error_with_a_hint(aws: None) -> None:
    acc, _ = accounts()
    sts = acc.clients.client("sts")

    def deny(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {"Code": "AccessDenied", "Message": "not authorized"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            },
            "AssumeRole",
        )

    sts.meta.events.register("before-call.sts.AssumeRole", deny)
    with pytest.raises(ConfigError, match="requires this ExternalId") as info:
        acc.credentials_for(SPOKE)
    assert "ext-4411" not in info.value.reason


def _push(client: Any, tag: str) -> str:
    client.create_repository(repositoryName="team/app")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "1" * 64},
            "layers": [],
        }
    )
    return str(
        client.put_image(repositoryName="team/app", imageManifest=manifest, imageTag=tag)["image"]["imageId"][
            "imageDigest"
        ]
    )


def test_tag_lookup_reads_the_spoke_registry_with_assumed_credentials(aws: None) -> None:
    acc, _ = accounts()
    digest = _push(acc.client("ecr", SPOKE), "1.0")
    assert (
        resolve_tag_digest(acc.client("ecr", SPOKE), registry_id=SPOKE, repository="team/app", tag="1.0")
        == digest
    )
    # the function's own credentials cannot see the spoke's repository: the registry id is passed explicitly
    with pytest.raises(InvalidEvent, match="no longer exists"):
        resolve_tag_digest(boto3.client("ecr"), registry_id=SPOKE, repository="team/app", tag="1.0")


def test_tag_lookup_of_a_missing_tag_is_invalid(aws: None) -> None:
    ecr = boto3.client("ecr")
    _push(ecr, "1.0")
    with pytest.raises(InvalidEvent, match=r"team/app:2\.0 no longer exists"):
        resolve_tag_digest(ecr, registry_id="123456789012", repository="team/app", tag="2.0")


# ---------------------------------------------------------------- one botocore Config for every client
SHIPPED = Path(__file__).resolve().parents[2]


def _assert_shared_config(client: Any) -> None:
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)


def test_every_shipped_client_gets_standard_retries_and_explicit_timeouts(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qscan_secrets, "_sm_clients", {})
    monkeypatch.setattr(sns, "_clients", {})
    factory = ClientFactory(region="us-east-1", endpoint_url=None)
    acc, _ = accounts()
    clients = {
        "factory s3": factory.client("s3"),
        "factory sqs (assumed credentials)": acc.client("sqs", SPOKE),
        "secrets manager": qscan_secrets.secretsmanager_client(),
        "sns publisher": sns.sns_client(),
        "s3 result store": S3ResultStore("qscan-results-test")._client,
        "dynamodb dedupe store": DynamoDBDedupeStore("qscan-dedupe")._client,
    }
    for name, client in clients.items():
        try:
            _assert_shared_config(client)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    # a stalled endpoint fails within seconds, not after botocore's 60 s defaults
    assert CONNECT_TIMEOUT_SECONDS < 60 and READ_TIMEOUT_SECONDS < 60
    assert client_config() is client_config()


def test_no_shipped_code_creates_a_boto3_client_on_its_own() -> None:
    """Every client goes through qscan.aws.sessions.boto3_client, so none can miss the shared Config."""
    offenders = []
    for root in ("shared/qscan", "handlers"):
        for path in sorted((SHIPPED / root).rglob("*.py")):
            if path == SHIPPED / "shared/qscan/aws/sessions.py":
                continue  # boto3_client itself
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"boto3\.(client|resource)\(|Session\([^)]*\)\.(client|resource)\(", line):
                    offenders.append(f"{path.relative_to(SHIPPED)}:{number}")
    assert offenders == []


def test_importing_the_sessions_module_does_not_import_boto3() -> None:
    code = "import sys, qscan.aws.sessions; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


class CannedEcr:
    """Answers `batch_get_image` with a fixed response in the documented ECR shape (`images`, `failures` with
    `failureCode`), for the failure codes moto never produces; records the request."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []

    def batch_get_image(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return self.response


def _failure(code: str) -> dict[str, Any]:
    return {"images": [], "failures": [{"imageId": {"imageDigest": DIGEST}, "failureCode": code}]}


DIGEST = "sha256:" + "4" * 64


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (_failure("ImageNotFound"), None),
        (_failure("InvalidImageDigest"), InvalidEvent),
        (_failure("KmsError"), TransientError),
        (_failure("UpstreamTooManyRequests"), TransientError),
        ({"images": [], "failures": []}, TransientError),
        (
            {"images": [{"imageId": {"imageDigest": "sha256:" + "5" * 64}, "imageManifest": "{}"}]},
            TransientError,
        ),
        ({"images": [{"imageId": {"imageDigest": "nope"}}]}, InvalidEvent),
    ],
)
def test_manifest_lookup_failures(response: dict[str, Any], outcome: type[Exception] | None) -> None:
    client = CannedEcr(response)
    if outcome is None:
        assert fetch_manifest(client, registry_id=SPOKE, repository="team/app", digest=DIGEST) is None
    else:
        with pytest.raises(outcome):
            fetch_manifest(client, registry_id=SPOKE, repository="team/app", digest=DIGEST)
    (call,) = client.calls
    assert call["registryId"] == SPOKE and call["imageIds"] == [{"imageDigest": DIGEST}]
    assert "application/vnd.oci.image.index.v1+json" in call["acceptedMediaTypes"]


def test_an_unreadable_manifest_is_returned_unclassified() -> None:
    client = CannedEcr({"images": [{"imageId": {"imageDigest": DIGEST}, "imageManifest": "{broken"}]})
    found = fetch_manifest(client, registry_id=SPOKE, repository="team/app", digest=DIGEST)
    assert found is not None and (found.digest, found.manifest) == (DIGEST, None)
