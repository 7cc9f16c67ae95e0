"""Dedupe backends map throttling/5xx to TransientError and missing resources to ConfigError (no servers)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from botocore.config import Config
from botocore.stub import Stubber
from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.errors import ConfigError, TransientError
from qscan.results.model import SeverityCounts

KEY = "image#sha256:" + "0" * 64


def _dynamo() -> tuple[DynamoDBDedupeStore, Stubber]:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )
    return DynamoDBDedupeStore("t", client=client, clock=lambda: 1000.0), Stubber(client)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_dynamodb_throttling_and_5xx_are_transient(code: str, status: int) -> None:
    store, stub = _dynamo()
    stub.add_client_error("put_item", service_error_code=code, http_status_code=status)
    with stub, pytest.raises(TransientError, match=code) as caught:
        store.claim(KEY, "a", 60)
    assert "sha256" not in str(caught.value)  # the message names the action, not the data


def test_dynamodb_missing_table_is_a_config_error() -> None:
    store, stub = _dynamo()
    stub.add_client_error("get_item", service_error_code="ResourceNotFoundException", http_status_code=400)
    with stub, pytest.raises(ConfigError, match="ResourceNotFoundException"):
        store.lookup(KEY)


def test_dynamodb_lost_race_is_an_outcome_not_an_error() -> None:
    store, stub = _dynamo()
    blocking = {
        "pk": {"S": KEY},
        "state": {"S": "complete"},
        "owner": {"S": "other"},
        "expires_at": {"N": "5000"},
        "claimed_at": {"N": "900"},
        "completed_at": {"N": "950"},
        "status": {"S": "success"},
        "counts": {"M": {"critical": {"N": "2"}}},
        "result_location": {"S": "s3://b/k.json"},
    }
    stub.add_client_error(
        "put_item",
        service_error_code="ConditionalCheckFailedException",
        http_status_code=400,
        response_meta={},
        modeled_fields={"Item": blocking},
    )
    with stub:
        claim = store.claim(KEY, "a", 60)
    assert claim.outcome == "cached" and claim.counts == SeverityCounts(critical=2)
    assert claim.result_location == "s3://b/k.json"


def test_dynamodb_lost_race_without_returned_item_reads_the_record() -> None:
    store, stub = _dynamo()
    stub.add_client_error(
        "put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400
    )
    live = {
        "pk": {"S": KEY},
        "state": {"S": "claimed"},
        "owner": {"S": "other"},
        "expires_at": {"N": "1060"},
        "claimed_at": {"N": "1000"},
    }
    stub.add_response("get_item", {"Item": live})
    with stub:
        claim = store.claim(KEY, "a", 60)
    assert claim.outcome == "claimed" and claim.record.owner == "other"


class _FailingTable:
    table_name = "dedupe"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_entity(self, **_: Any) -> Any:
        raise self.error

    create_entity = update_entity = delete_entity = get_entity


def _http_error(status: int, code: str | None = None) -> HttpResponseError:
    error = HttpResponseError(message="server said no")
    error.status_code = status
    error.error_code = code
    return error


@pytest.mark.parametrize(
    "error", [_http_error(503), _http_error(500), _http_error(429), ServiceRequestError("x")]
)
def test_azure_table_throttling_5xx_and_network_are_transient(error: Exception) -> None:
    store = AzureTableDedupeStore(_FailingTable(error), clock=lambda: 1000.0)
    with pytest.raises(TransientError, match="get_entity"):
        store.claim(KEY, "a", 60)


def test_azure_table_missing_table_and_denied_are_config_errors() -> None:
    missing = ResourceNotFoundError(message="no table")
    missing.status_code = 404
    missing.error_code = "TableNotFound"
    with pytest.raises(ConfigError, match="TableNotFound"):
        AzureTableDedupeStore(_FailingTable(missing)).lookup(KEY)
    with pytest.raises(ConfigError, match="403"):
        AzureTableDedupeStore(_FailingTable(_http_error(403, "AuthorizationFailure"))).lookup(KEY)


def test_azure_table_missing_entity_is_absent() -> None:
    missing = ResourceNotFoundError(message="no entity")
    missing.status_code = 404
    missing.error_code = "ResourceNotFound"
    assert AzureTableDedupeStore(_FailingTable(missing)).lookup(KEY) is None
