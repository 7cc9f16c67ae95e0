"""Result stores: S3 (moto in-process) and Blob (Azurite) write the JSON and raw outputs and read them back."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from qscan.errors import ConfigError, TransientError
from qscan.results.blob import BlobResultStore
from qscan.results.keys import raw_output_key, result_key
from qscan.results.model import Finding, RawOutput, ScanResult, Severity
from qscan.results.s3 import S3ResultStore
from qscan.results.schema import validate_result
from qscan.target import ScanTarget

from tests.harness.azurite import Azurite

pytestmark = pytest.mark.integration

SARIF = b'{"version": "2.1.0", "runs": []}'
RAW = b'{"Metadata": {"TargetMetadata": {}}}'


def _result(repository: str = "team/app", status: str = "success") -> ScanResult:
    target = ScanTarget(
        kind="image",
        platform="ecr",
        repository=repository,
        digest="sha256:" + "d" * 64,
        account="123456789012",
        region="eu-west-1",
    )
    result = ScanResult(target=target, backend="qscanner", status=status, exit_code=0)  # type: ignore[arg-type]
    result.with_findings([Finding(qid="1", title="t", severity=Severity.HIGH, cves=("CVE-2024-1",))])
    result.raw_outputs = (
        RawOutput("img-Report.sarif.json", "application/json", SARIF),
        RawOutput("img-ScanResult.json", "application/json", RAW),
    )
    return result


@pytest.fixture
def s3() -> Iterator[Any]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with mock.patch.dict(os.environ, env), mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="results")
        yield client


def test_s3_round_trip_with_kms_and_raw_outputs(s3: Any) -> None:
    store = S3ResultStore("results", client=s3, kms_key_id="arn:aws:kms:us-east-1:123456789012:key/abc")
    result = _result()
    location = store.put_result(result)
    key = result_key(result)
    assert location == f"s3://results/{key}" == result.result_location
    assert key.startswith("results/ecr/123456789012/eu-west-1/team/app/sha256:")

    head = s3.head_object(Bucket="results", Key=key)
    assert head["ContentType"] == "application/json"
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("key/abc")
    assert head["Metadata"] == {
        "scan-id": result.scan_id,
        "status": "success",
        "schema-version": "1.0",
        "account": "123456789012",
    }

    document = store.get_result(location)
    validate_result(document)
    assert document == json.loads(json.dumps(result.to_dict()))
    assert document["result_location"] == location
    assert document["raw_outputs"] == ["img-Report.sarif.json", "img-ScanResult.json"]
    for raw in result.raw_outputs:
        obj = s3.get_object(Bucket="results", Key=raw_output_key(result, raw.name))
        assert obj["Body"].read() == raw.body and obj["ServerSideEncryption"] == "aws:kms"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="results")["Contents"]]
    assert len(listed) == 3


def test_s3_without_kms_requests_sse_s3(s3: Any) -> None:
    store = S3ResultStore("results", client=s3)
    location = store.put_result(_result(status="failed"))
    head = s3.head_object(Bucket="results", Key=location.removeprefix("s3://results/"))
    assert head["ServerSideEncryption"] == "AES256"
    assert store.get_result(location)["status"] == "failed"
    with pytest.raises(ValueError, match="bucket"):
        store.get_result("s3://other/" + location.removeprefix("s3://results/"))


def test_s3_hostile_repository_stays_under_the_prefix(s3: Any) -> None:
    store = S3ResultStore("results", client=s3)
    location = store.put_result(_result(repository="../../../etc"))
    assert "/../" not in location
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="results")["Contents"]]
    assert all(k.startswith("results/ecr/123456789012/eu-west-1/") for k in keys)


def test_s3_invalid_result_is_not_written(s3: Any) -> None:
    result = _result()
    result.metadata = {"bad": object()}  # not JSON: caught before anything is written
    store = S3ResultStore("results", client=s3)
    with pytest.raises(TypeError):
        store.put_result(result)
    assert "Contents" not in s3.list_objects_v2(Bucket="results")
    duplicate = _result()
    duplicate.raw_outputs = duplicate.raw_outputs * 2
    with pytest.raises(ValueError, match="unique"):
        store.put_result(duplicate)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("SlowDown", 503, TransientError),
        ("InternalError", 500, TransientError),
        ("NoSuchBucket", 404, ConfigError),
    ],
)
def test_s3_errors_are_mapped(code: str, status: int, expected: type[Exception]) -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error("put_object", service_error_code=code, http_status_code=status)
    result = _result()
    result.raw_outputs = ()
    with stub, pytest.raises(expected, match=code):
        S3ResultStore("results", client=client).put_result(result)


@pytest.fixture
def container(azurite: Azurite) -> Any:
    return azurite.blob_service().create_container("results" + uuid.uuid4().hex[:8])


def test_blob_round_trip_with_raw_outputs(container: Any) -> None:
    store = BlobResultStore(container)
    result = _result()
    location = store.put_result(result)
    name = result_key(result)
    assert location == f"{container.url}/{quote(name, safe='/')}"  # the blob URL, percent-encoded
    assert result.result_location == location

    properties = container.get_blob_client(name).get_blob_properties()
    assert properties.content_settings.content_type == "application/json"
    assert properties.metadata == {"scan_id": result.scan_id, "status": "success", "schema_version": "1.0"}

    document = store.get_result(location)
    validate_result(document)
    assert document == json.loads(json.dumps(result.to_dict()))
    for raw in result.raw_outputs:
        assert container.download_blob(raw_output_key(result, raw.name)).readall() == raw.body
    assert len(list(container.list_blobs())) == 3
    with pytest.raises(ValueError, match="container"):
        store.get_result("http://elsewhere/x.json")


def test_blob_put_is_idempotent_on_retry(container: Any) -> None:
    store = BlobResultStore(container)
    result = _result()
    first = store.put_result(result)
    second = store.put_result(result)  # a retry after a transient failure overwrites, never fails
    assert first == second and len(list(container.list_blobs())) == 3


def test_blob_missing_container_is_a_config_error(azurite: Azurite) -> None:
    store = BlobResultStore(azurite.blob_service().get_container_client("missing" + uuid.uuid4().hex[:8]))
    result = _result()
    result.raw_outputs = ()
    with pytest.raises(ConfigError, match="ContainerNotFound"):
        store.put_result(result)


# ---------------------------------------------------------------- documents (inventories, reports)

BAD_KEYS = [
    "",
    "/inventory/x.json",
    "inventory/../results/x.json",
    "inventory//x.json",
    "a\\b",
    "a\nb",
    "./x",
]


def test_s3_documents_round_trip_and_missing_is_none(s3: Any) -> None:
    store = S3ResultStore("results", client=s3)
    location = store.put_document("inventory/aws/123456789012/latest.json", b'{"a":1}')
    assert location == "s3://results/inventory/aws/123456789012/latest.json"
    head = s3.head_object(Bucket="results", Key="inventory/aws/123456789012/latest.json")
    assert head["ContentType"] == "application/json" and head["ServerSideEncryption"] == "AES256"
    assert store.get_document("inventory/aws/123456789012/latest.json") == b'{"a":1}'
    store.put_document("inventory/aws/123456789012/latest.json", b"{}")  # overwrites
    assert store.get_document("inventory/aws/123456789012/latest.json") == b"{}"
    assert store.get_document("inventory/aws/999999999999/latest.json") is None


def test_s3_iter_keys_follows_continuation_tokens(s3: Any) -> None:
    store = S3ResultStore("results", client=s3)
    for index in range(1005):  # more than one ListObjectsV2 page (1,000 keys)
        s3.put_object(Bucket="results", Key=f"results/ecr/{index:05d}.json", Body=b"{}")
    s3.put_object(Bucket="results", Key="inventory/aws/x/latest.json", Body=b"{}")
    keys = list(store.iter_keys("results/"))
    assert len(keys) == 1005 and keys[0] == "results/ecr/00000.json" and keys[-1] == "results/ecr/01004.json"
    assert list(store.iter_keys("inventory/")) == ["inventory/aws/x/latest.json"]
    assert len(list(store.iter_keys(""))) == 1006


@pytest.mark.parametrize("key", BAD_KEYS)
def test_s3_document_keys_are_checked(s3: Any, key: str) -> None:
    store = S3ResultStore("results", client=s3)
    with pytest.raises(ValueError, match="key"):
        store.put_document(key, b"{}")
    with pytest.raises(ValueError, match="key"):
        store.get_document(key)
    if key:  # the empty prefix lists everything
        with pytest.raises(ValueError, match="key"):
            store.iter_keys(key)
    assert "Contents" not in s3.list_objects_v2(Bucket="results")


def test_s3_document_errors_are_mapped() -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    store = S3ResultStore("results", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        stub.add_client_error("list_objects_v2", "SlowDown", http_status_code=503)
        with pytest.raises(ConfigError, match="AccessDenied"):
            store.get_document("inventory/x.json")
        with pytest.raises(TransientError, match="SlowDown"):
            list(store.iter_keys("inventory/"))


def test_blob_documents_round_trip_and_listing(container: Any) -> None:
    store = BlobResultStore(container)
    location = store.put_document("inventory/azure/x/latest.json", b'{"a":1}')
    assert location == f"{container.url}/inventory/azure/x/latest.json"
    properties = container.get_blob_client("inventory/azure/x/latest.json").get_blob_properties()
    assert properties.content_settings.content_type == "application/json" and properties.metadata == {}
    assert store.get_document("inventory/azure/x/latest.json") == b'{"a":1}'
    assert store.get_document("inventory/azure/missing/latest.json") is None
    for index in range(7):
        container.upload_blob(f"results/aca/{index}.json", b"{}")
    assert list(store.iter_keys("results/")) == [f"results/aca/{index}.json" for index in range(7)]
    assert len(list(store.iter_keys(""))) == 8
    with pytest.raises(ValueError, match="key"):
        store.get_document("inventory/../x")


def test_blob_document_in_missing_container_is_a_config_error(azurite: Azurite) -> None:
    store = BlobResultStore(azurite.blob_service().get_container_client("missing" + uuid.uuid4().hex[:8]))
    with pytest.raises(ConfigError, match="ContainerNotFound"):
        store.get_document("inventory/x.json")
    with pytest.raises(ConfigError, match="ContainerNotFound"):
        list(store.iter_keys("inventory/"))
