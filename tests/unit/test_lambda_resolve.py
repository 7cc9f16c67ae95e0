"""qscan.aws.lambdas.resolve: GetFunction resolution against moto, error mapping with botocore's Stubber."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from qscan.aws.lambdas import (
    FunctionGone,
    function_lookup_target,
    is_own_function,
    locate_function,
    resolve_function,
    unqualified_function_arn,
)
from qscan.errors import ConfigError, InvalidEvent, TransientError, UnsupportedEvent
from qscan.events import normalize_reconciler, scan_request_event
from qscan.target import ScanTarget

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def zip_bytes(text: str = "def handler(event, context):\n    return 1\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="fn-role",
            AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        client.qscan_role = role  # type: ignore[attr-defined]
        yield client


def create_zip(client: Any, name: str, layers: list[str] | None = None) -> dict[str, Any]:
    return client.create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime="python3.12",
        Role=client.qscan_role,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes(name)},
        Layers=layers or [],
    )


def publish_layer(client: Any, name: str) -> str:
    response = client.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes(name)})
    return str(response["LayerVersionArn"])


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


# ------------------------------------------------------------------------------------------ zip functions


def test_zip_function_with_layers_resolves_to_a_complete_function_target(aws: Any) -> None:
    first = publish_layer(aws, "deps")
    second = publish_layer(aws, "deps")  # version 2: the version ARN, not the layer ARN, is recorded
    other = publish_layer(aws, "tools")
    created = create_zip(aws, "orders-api", [second, other])
    assert first.endswith(":1") and second.endswith(":2")

    target = function_lookup_target("orders-api", account=ACCOUNT, region=REGION, event_id="evt-1")
    resolved = resolve_function(target, aws)

    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
    assert resolved.kind == "function" and resolved.platform == "lambda"
    assert resolved.lookup is None
    assert resolved.function_arn == arn
    assert resolved.code_sha256 == created["CodeSha256"]
    assert resolved.layers == (second, other)
    assert resolved.package_type == "Zip"
    assert (resolved.account, resolved.region, resolved.event_id) == (ACCOUNT, REGION, "evt-1")
    assert resolved.resource_id == "orders-api"
    assert resolved.dedupe_key == f"lambda#{arn}#{created['CodeSha256']}#{','.join(sorted([second, other]))}"


def test_code_and_layer_updates_change_the_dedupe_key(aws: Any) -> None:
    layer_v1 = publish_layer(aws, "deps")
    create_zip(aws, "worker", [layer_v1])
    target = function_lookup_target(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker")
    before = resolve_function(target, aws)

    aws.update_function_code(FunctionName="worker", ZipFile=zip_bytes("changed"))
    after_code = resolve_function(target, aws)
    layer_v2 = publish_layer(aws, "deps")
    aws.update_function_configuration(FunctionName="worker", Layers=[layer_v2])
    after_layer = resolve_function(target, aws)

    keys = {before.dedupe_key, after_code.dedupe_key, after_layer.dedupe_key}
    assert len(keys) == 3
    assert after_layer.layers == (layer_v2,)
    assert after_layer.code_sha256 == after_code.code_sha256


def test_qualified_arn_and_partial_arn_resolve_to_the_unqualified_function(aws: Any) -> None:
    create_zip(aws, "billing")
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:billing"
    qualified = ScanTarget(
        kind="function", platform="lambda", function_arn=arn + ":$LATEST", lookup="lambda_function"
    )
    partial = ScanTarget(
        kind="function",
        platform="lambda",
        resource_id=f"{ACCOUNT}:function:billing",
        region=REGION,
        lookup="lambda_function",
    )
    for target in (qualified, partial):
        resolved = resolve_function(target, aws)
        assert resolved.function_arn == arn
        assert resolved.account == ACCOUNT and resolved.region == REGION


def test_resolved_zip_target_round_trips_through_a_reconciler_event(aws: Any) -> None:
    create_zip(aws, "round-trip", [publish_layer(aws, "deps")])
    resolved = resolve_function(function_lookup_target("round-trip", region=REGION), aws)
    (back,) = normalize_reconciler(scan_request_event(resolved, event_id="req-1"))
    assert back.dedupe_key == resolved.dedupe_key
    assert back.layers == resolved.layers


# ---------------------------------------------------------------------------------------- image functions


def test_image_function_resolves_to_an_image_target_with_the_deployed_digest(aws: Any) -> None:
    uri = f"{ECR_HOST}/team/api:1.4.2"
    aws.create_function(
        FunctionName="img-fn", Role=aws.qscan_role, PackageType="Image", Code={"ImageUri": uri}
    )
    code = aws.get_function(FunctionName="img-fn")["Code"]
    digest = "sha256:" + hashlib.sha256(uri.encode()).hexdigest()  # what moto's stub ECR reports
    assert code["ResolvedImageUri"] == f"{ECR_HOST}/team/api@{digest}"

    # the CloudTrail normalizer may hand over a *function* target needing the lookup: it becomes an image
    target = function_lookup_target("img-fn", account=ACCOUNT, region=REGION)
    resolved = resolve_function(target, aws)

    assert resolved.kind == "image" and resolved.platform == "lambda"
    assert resolved.package_type == "Image"
    assert resolved.digest == digest
    assert (resolved.registry, resolved.repository, resolved.tag) == (ECR_HOST, "team/api", "1.4.2")
    assert resolved.image == f"{ECR_HOST}/team/api:1.4.2@{digest}"
    assert resolved.function_arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:img-fn"
    assert resolved.code_sha256 is None and resolved.layers == ()
    assert resolved.dedupe_key == f"image#{digest}"
    (back,) = normalize_reconciler(scan_request_event(resolved, event_id="req-2"))
    assert back.dedupe_key == resolved.dedupe_key and back.image == resolved.image


class FakeLambda:
    """Returns a fixed GetFunction response (shapes as the Lambda API documents them)."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []

    def get_function(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.response


ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
DIGEST = "sha256:" + "d" * 64


def image_response(code: dict[str, Any]) -> dict[str, Any]:
    return {"Configuration": {"FunctionArn": ARN, "PackageType": "Image"}, "Code": code}


def test_image_tag_is_dropped_when_the_requested_uri_names_another_repository() -> None:
    client = FakeLambda(
        image_response(
            {"ImageUri": f"{ECR_HOST}/other:v1", "ResolvedImageUri": f"{ECR_HOST}/team/api@{DIGEST}"}
        )
    )
    resolved = resolve_function(function_lookup_target(ARN), client)
    assert resolved.image == f"{ECR_HOST}/team/api@{DIGEST}" and resolved.tag is None
    assert client.calls == [{"FunctionName": ARN}]


def test_image_uri_with_digest_is_used_when_not_resolved_yet() -> None:
    client = FakeLambda(image_response({"ImageUri": f"{ECR_HOST}/team/api@{DIGEST}"}))
    assert resolve_function(function_lookup_target(ARN), client).digest == DIGEST


def test_image_without_digest_is_transient() -> None:
    client = FakeLambda(image_response({"ImageUri": f"{ECR_HOST}/team/api:latest"}))
    with pytest.raises(TransientError, match="not resolved to a digest"):
        resolve_function(function_lookup_target(ARN), client)


def test_malformed_resolved_image_uri_is_invalid() -> None:
    client = FakeLambda(image_response({"ResolvedImageUri": "bad uri with spaces"}))
    with pytest.raises(InvalidEvent, match=r"Code\.ResolvedImageUri"):
        resolve_function(function_lookup_target(ARN), client)


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        ({"FunctionArn": ARN, "PackageType": "Zip"}, TransientError, "CodeSha256"),
        ({"PackageType": "Zip", "CodeSha256": "a" * 64}, TransientError, "FunctionArn"),
        (
            {"FunctionArn": ARN, "PackageType": "Zip", "CodeSha256": "a" * 64, "Layers": [{"Arn": "x"}]},
            InvalidEvent,
            "Layers",
        ),
        ({"FunctionArn": ARN, "PackageType": "Wasm", "CodeSha256": "a" * 64}, UnsupportedEvent, "package"),
    ],
)
def test_incomplete_or_unknown_responses_are_typed(config: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        resolve_function(function_lookup_target(ARN), FakeLambda({"Configuration": config}))


def test_missing_package_type_defaults_to_zip() -> None:
    config = {"FunctionArn": ARN, "CodeSha256": "a" * 64}
    resolved = resolve_function(function_lookup_target(ARN), FakeLambda({"Configuration": config}))
    assert resolved.kind == "function" and resolved.package_type == "Zip"


# -------------------------------------------------------------------------------------------- errors


def test_deleted_function_is_a_skippable_unsupported_event(aws: Any) -> None:
    create_zip(aws, "short-lived")
    aws.delete_function(FunctionName="short-lived")
    with pytest.raises(FunctionGone, match="short-lived no longer exists") as info:
        resolve_function(function_lookup_target("short-lived", region=REGION), aws)
    assert isinstance(info.value, UnsupportedEvent)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("TooManyRequestsException", 429, TransientError),
        ("ThrottlingException", 400, TransientError),
        ("ServiceException", 500, TransientError),
        ("AccessDeniedException", 403, ConfigError),
        ("InvalidParameterValueException", 400, InvalidEvent),
        ("ResourceNotFoundException", 404, FunctionGone),
    ],
)
def test_service_errors_map_to_typed_errors(code: str, status: int, error: type) -> None:
    client, stubber = stubbed()
    stubber.add_client_error(
        "get_function",
        service_error_code=code,
        service_message="secret-looking message that must not leak",
        http_status_code=status,
        expected_params={"FunctionName": ARN},
    )
    with stubber, pytest.raises(error) as info:
        resolve_function(function_lookup_target(ARN), client)
    assert "secret-looking" not in info.value.reason
    stubber.assert_no_pending_responses()


def test_function_of_another_account_than_the_target_is_a_config_error(aws: Any) -> None:
    create_zip(aws, "shared-name")
    target = function_lookup_target("shared-name", account="111111111111", region=REGION)
    with pytest.raises(ConfigError, match="reads account 123456789012"):
        resolve_function(target, aws)


def test_resolve_refuses_other_lookups() -> None:
    target = ScanTarget(kind="image", platform="ecr", image=f"{ECR_HOST}/a:1", lookup="image_digest")
    with pytest.raises(ValueError, match="image_digest"):
        resolve_function(target, FakeLambda({}))


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (ScanTarget(kind="function", platform="lambda", lookup="lambda_function"), "names no Lambda"),
        (
            ScanTarget(kind="function", platform="lambda", resource_id="bad name!", lookup="lambda_function"),
            "not a Lambda function name",
        ),
        (
            ScanTarget(
                kind="function",
                platform="lambda",
                function_arn=ARN,
                account="999999999999",
                lookup="lambda_function",
            ),
            "account differs",
        ),
        (
            ScanTarget(
                kind="function",
                platform="lambda",
                function_arn=ARN,
                region="us-east-1",
                lookup="lambda_function",
            ),
            "region differs",
        ),
    ],
)
def test_locate_function_rejects_unusable_targets(target: ScanTarget, match: str) -> None:
    with pytest.raises(InvalidEvent, match=match):
        locate_function(target)


def test_unqualified_function_arn() -> None:
    assert unqualified_function_arn(ARN + ":prod") == ARN
    assert unqualified_function_arn(ARN) == ARN
    with pytest.raises(InvalidEvent):
        unqualified_function_arn("arn:aws:s3:::bucket")


# ------------------------------------------------------------------------------------------- self-skip


def fn(arn_or_name: str, account: str | None = None, region: str | None = None) -> ScanTarget:
    if arn_or_name.startswith("arn:"):
        return ScanTarget(
            kind="function", platform="lambda", function_arn=arn_or_name, lookup="lambda_function"
        )
    return ScanTarget(
        kind="function",
        platform="lambda",
        resource_id=arn_or_name,
        account=account,
        region=region,
        lookup="lambda_function",
    )


OWN_NAMES = ("qscan-ecr-scanner", "qscan-lambda-scanner")
SPOKE = "222222222222"


def test_own_functions_match_by_exact_name_never_by_prefix() -> None:
    own = {"own_account": ACCOUNT, "own_region": REGION}
    assert is_own_function(
        fn(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:qscan-ecr-scanner"), OWN_NAMES, **own
    )
    assert is_own_function(fn("qscan-lambda-scanner", ACCOUNT, REGION), OWN_NAMES, **own)
    assert is_own_function(
        fn(f"{ACCOUNT}:function:qscan-lambda-scanner:$LATEST", region=REGION), OWN_NAMES, **own
    )
    # a customer's function that merely shares the deployment's name prefix is scanned
    assert not is_own_function(fn("qscan-billing", ACCOUNT, REGION), OWN_NAMES, **own)
    assert not is_own_function(fn("qscan-lambda-scanner-v2", ACCOUNT, REGION), OWN_NAMES, **own)
    assert not is_own_function(
        fn("QSCAN-lambda-scanner", ACCOUNT, REGION), OWN_NAMES, **own
    )  # case-sensitive
    # a prefix-looking entry is a name like any other: it matches only a function called exactly that
    assert not is_own_function(fn("qscan-app", ACCOUNT, REGION), "qscan-", **own)


def test_own_functions_match_by_exact_arn_ignoring_qualifiers() -> None:
    own = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:scanner"
    assert is_own_function(fn(own + ":7"), own, own_account=ACCOUNT)
    assert is_own_function(fn(own), own + ":$LATEST", own_account=ACCOUNT)
    assert not is_own_function(fn(own + "-two"), own, own_account=ACCOUNT)  # an ARN entry is exact
    assert not is_own_function(fn("scanner"), own, own_account=ACCOUNT)  # a bare name is not proven that ARN
    assert is_own_function(fn("scanner", ACCOUNT, REGION), own, own_account=ACCOUNT)  # name + where = the ARN
    # an ARN names one account: the same name in a spoke is not it, whatever own_account says
    assert not is_own_function(fn(f"arn:aws:lambda:{REGION}:{SPOKE}:function:scanner"), own, own_account=None)


def test_names_match_only_in_the_own_account_and_region() -> None:
    own = {"own_account": ACCOUNT, "own_region": REGION}
    spoke = fn(f"arn:aws:lambda:{REGION}:{SPOKE}:function:qscan-lambda-scanner")
    assert not is_own_function(spoke, OWN_NAMES, **own)  # a hub scans a spoke's same-named function
    assert not is_own_function(fn("qscan-lambda-scanner", SPOKE, REGION), OWN_NAMES, **own)
    assert not is_own_function(fn(f"{SPOKE}:function:qscan-lambda-scanner"), OWN_NAMES, **own)
    other_region = fn(f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:qscan-lambda-scanner")
    assert not is_own_function(other_region, OWN_NAMES, **own)
    assert is_own_function(other_region, OWN_NAMES, own_account=ACCOUNT)  # no region given: any region
    # where the target does not say, it is where the caller reads it: the own account and region
    assert is_own_function(fn("qscan-lambda-scanner"), OWN_NAMES, **own)
    # own_account=None: a caller that only sees its own account (a ListFunctions listing)
    assert is_own_function(spoke, OWN_NAMES, own_account=None)


def test_self_skip_input_checks() -> None:
    image = ScanTarget(kind="image", platform="ecr", digest=DIGEST)
    assert not is_own_function(image, OWN_NAMES, own_account=ACCOUNT)  # names no function
    for bad in ("", "qscan-*", "a b", "x" * 65, "arn:aws:s3:::bucket"):
        with pytest.raises(ValueError):
            is_own_function(fn("x"), bad, own_account=ACCOUNT)
