"""Lambda CloudTrail calls: zip and image functions, layers, lookups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qscan.errors import InvalidEvent, InvalidReference, UnsupportedEvent
from qscan.events import detect, normalize, normalize_lambda_cloudtrail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"
ARN = "arn:aws:lambda:us-east-1:111122223333:function:orders-api-handler"
LAYERS = (
    "arn:aws:lambda:us-east-1:111122223333:layer:orders-shared-deps:12",
    "arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:49",
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_create_zip_function_is_complete() -> None:
    event = load("lambda_create_function_zip.json")
    assert detect(event) == "lambda_cloudtrail"
    [target] = normalize(event)
    sha = event["detail"]["responseElements"]["codeSha256"]
    assert target.kind == "function" and target.platform == "lambda"
    assert target.function_arn == ARN and target.code_sha256 == sha
    assert target.layers == LAYERS
    assert target.package_type == "Zip" and target.lookup is None
    assert target.dedupe_key == f"lambda#{ARN}#{sha}#{','.join(sorted(LAYERS))}"
    assert (target.account, target.region, target.event_id) == ("111122223333", "us-east-1", event["id"])


def test_layer_only_update_changes_the_dedupe_key() -> None:
    [code] = normalize(load("lambda_update_function_code_zip.json"))
    [config] = normalize(load("lambda_update_function_configuration_layers.json"))
    assert code.code_sha256 == config.code_sha256
    assert code.dedupe_key != config.dedupe_key
    assert "orders-shared-deps:13" in (config.dedupe_key or "")


def test_image_function_with_tag_needs_lambda_lookup() -> None:
    event = load("lambda_create_function_image.json")
    [target] = normalize(event)
    assert target.kind == "image" and target.platform == "lambda"
    assert target.image == "111122223333.dkr.ecr.us-east-1.amazonaws.com/invoice-renderer:1.4.0"
    assert target.function_arn == "arn:aws:lambda:us-east-1:111122223333:function:invoice-renderer"
    assert target.lookup == "lambda_function" and target.dedupe_key is None
    assert target.package_type == "Image"


def test_image_function_with_digest_is_complete() -> None:
    [target] = normalize(load("lambda_update_function_code_image_digest.json"))
    assert target.kind == "image" and target.lookup is None
    assert target.dedupe_key == f"image#{target.digest}"


def test_image_function_without_uri_needs_lookup() -> None:
    event = load("lambda_create_function_image.json")
    event["detail"]["eventName"] = "UpdateFunctionConfiguration20150331v2"
    event["detail"]["requestParameters"] = {"functionName": "invoice-renderer", "memorySize": 2048}
    [target] = normalize(event)
    assert target.kind == "image" and target.image is None
    assert target.lookup == "lambda_function"
    assert target.resource_id == target.function_arn


def test_no_response_means_lookup_with_derived_arn_and_request_layers() -> None:
    event = load("lambda_create_function_zip.json")
    event["detail"]["responseElements"] = None
    [target] = normalize(event)
    assert target.kind == "function" and target.lookup == "lambda_function"
    assert target.function_arn == ARN  # account + region + name: derived, not guessed
    assert target.layers == LAYERS
    assert target.code_sha256 is None and target.dedupe_key is None


def test_name_without_account_stays_a_name() -> None:
    event = load("lambda_update_function_code_zip.json")
    event["detail"]["responseElements"] = None
    del event["account"], event["detail"]["recipientAccountId"]
    [target] = normalize(event)
    assert target.function_arn is None
    assert target.resource_id == "orders-api-handler"
    assert target.lookup == "lambda_function"


def test_partial_arn_and_china_partition() -> None:
    event = load("lambda_update_function_code_zip.json")
    event["detail"]["responseElements"] = None
    event["region"] = "cn-north-1"
    event["detail"]["requestParameters"]["functionName"] = "999988887777:function:orders"
    [target] = normalize(event)
    assert target.function_arn == "arn:aws-cn:lambda:cn-north-1:999988887777:function:orders"


def test_unknown_package_type_is_not_guessed() -> None:
    event = load("lambda_update_function_code_zip.json")
    del event["detail"]["responseElements"]["packageType"]
    [target] = normalize(event)
    assert target.package_type is None and target.lookup == "lambda_function"


def test_newer_api_version_suffix_is_accepted() -> None:
    event = load("lambda_update_function_code_zip.json")
    event["detail"]["eventName"] = "UpdateFunctionCode20240101v3"
    assert normalize(event)[0].function_arn == ARN


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update({"errorCode": "AccessDenied"}), "failed"),
        (lambda d: d.update({"eventName": "Invoke"}), "does not deploy code"),
        (lambda d: d.update({"eventName": "DeleteFunction20150331"}), "does not deploy code"),
        (lambda d: d["requestParameters"].update({"dryRun": True}), "dry run"),
    ],
)
def test_unsupported_calls(mutate: Any, reason: str) -> None:
    event = load("lambda_update_function_code_zip.json")
    mutate(event["detail"])
    with pytest.raises(UnsupportedEvent, match=reason):
        normalize_lambda_cloudtrail(event)


@pytest.mark.parametrize(
    ("mutate", "error", "reason"),
    [
        (
            lambda d: d["responseElements"].update({"functionArn": "arn:aws:s3:::bucket"}),
            InvalidEvent,
            "function ARN",
        ),
        (lambda d: d["responseElements"].update({"codeSha256": "abc"}), InvalidEvent, "SHA-256"),
        (lambda d: d["responseElements"].update({"packageType": "Jar"}), InvalidEvent, "package type"),
        (
            lambda d: d["responseElements"].update({"layers": [{"arn": "arn:aws:lambda:x"}]}),
            InvalidEvent,
            "layer",
        ),
        (lambda d: d["responseElements"].update({"layers": ["a"]}), InvalidEvent, "must be an object"),
        (
            lambda d: d["requestParameters"].update({"functionName": "bad name!"}),
            InvalidEvent,
            "functionName",
        ),
        (lambda d: d.update({"requestParameters": "x"}), InvalidEvent, "requestParameters must be an object"),
    ],
)
def test_malformed_calls(mutate: Any, error: type[Exception], reason: str) -> None:
    event = load("lambda_create_function_zip.json")
    if "functionName" in reason:
        event["detail"]["responseElements"] = None
    mutate(event["detail"])
    with pytest.raises(error, match=reason):
        normalize(event)


def test_image_uri_is_validated() -> None:
    event = load("lambda_create_function_image.json")
    event["detail"]["requestParameters"]["code"]["imageUri"] = "repo:v1;id"
    with pytest.raises(InvalidReference, match=r"Lambda image URI: .*metacharacter"):
        normalize(event)


def test_no_function_named_is_invalid() -> None:
    event = load("lambda_create_function_zip.json")
    event["detail"]["responseElements"] = None
    del event["detail"]["requestParameters"]["functionName"]
    with pytest.raises(InvalidEvent, match="names no function"):
        normalize(event)
