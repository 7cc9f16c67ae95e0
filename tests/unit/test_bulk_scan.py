"""qscan.aws.lambdas.bulk_scan: listing (Stubber-checked paging), filtering, enqueueing into a moto queue, failures."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from qscan.aws.lambdas.bulk_request import is_bulk_scan_request
from qscan.aws.lambdas.bulk_scan import (
    BulkScanOptions,
    QueueUnusable,
    bulk_scan,
    listing_target,
    name_matches,
    options_from_input,
    scheduled_bulk_scan,
    validate_queue_url,
)
from qscan.errors import ConfigError
from qscan.events import normalize_sqs_record
from qscan.target import ScanTarget

from tests.unit.test_lambda_resolve import ACCOUNT, REGION, aws, create_zip, publish_layer  # noqa: F401

OTHER_REGION = "us-east-1"
SHA = "q" * 43 + "="  # base64 SHA-256 shape, as Lambda reports CodeSha256


def arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def entry(
    name: str, region: str = REGION, package: str = "Zip", layers: tuple[str, ...] = ()
) -> dict[str, Any]:
    data: dict[str, Any] = {"FunctionName": name, "FunctionArn": arn(name, region), "PackageType": package}
    if package == "Zip":
        data["CodeSha256"] = SHA
        data["Layers"] = [{"Arn": layer} for layer in layers]
    return data


def stubbed_lambda(pages: list[list[dict[str, Any]]], page_size: int) -> tuple[Any, Stubber]:
    """A lambda client whose ListFunctions answers `pages` and insists on MaxItems and the right Marker."""
    client = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for index, functions in enumerate(pages):
        response: dict[str, Any] = {"Functions": functions}
        if index < len(pages) - 1:
            response["NextMarker"] = f"marker-{index + 1}"
        expected: dict[str, Any] = {"MaxItems": page_size}
        if index:
            expected["Marker"] = f"marker-{index}"
        stubber.add_response("list_functions", response, expected)
    stubber.activate()
    return client, stubber


@pytest.fixture
def queue(aws: Any) -> tuple[Any, str]:  # noqa: F811 - `aws` is the moto fixture (mock_aws active)
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs, sqs.create_queue(QueueName="scan-queue")["QueueUrl"]


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return messages
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)


def targets_of(messages: list[dict[str, Any]]) -> list[ScanTarget]:
    """Parse messages the way the SQS handler does (an SQS record whose body is an EventBridge event)."""
    targets = []
    for message in messages:
        record = {"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"}
        targets.extend(normalize_sqs_record(record))
    return targets


def options(url: str | None, **kwargs: Any) -> BulkScanOptions:
    kwargs.setdefault("regions", (REGION,))
    kwargs.setdefault("retry_delay_seconds", 0)
    return BulkScanOptions(queue_url=url, **kwargs)


# ------------------------------------------------------------------------------------------ paging + queue


def test_three_pages_are_listed_with_markers_and_every_function_is_enqueued(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    layer = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:3"
    pages = [
        [entry("a1", layers=(layer,)), entry("a2"), entry("qscan-ecr-scanner")],
        [entry("b1"), entry("b2", package="Image"), entry("b3")],
        [entry("c1")],
    ]
    client, stubber = stubbed_lambda(pages, page_size=3)

    summary = bulk_scan(options(url, page_size=3), lambda_client=lambda region: client, sqs_client=sqs)

    stubber.assert_no_pending_responses()  # all three pages were asked for, with the right markers
    assert summary.to_dict() | {"failures": []} == {
        "dry_run": False,
        "regions": [REGION],
        "listed": 7,
        "matched": 6,
        "skipped": {"own-function": 1},
        "planned": 0,
        "enqueued": 6,
        "failed": 0,
        "truncated": [],
        "region_errors": {},
        "failures": [],
        "ok": True,
    }
    messages = drain(sqs, url)
    targets = {t.function_arn: t for t in targets_of(messages)}
    assert set(targets) == {arn(n) for n in ("a1", "a2", "b1", "b2", "b3", "c1")}
    zip_target = targets[arn("a1")]
    assert zip_target.lookup is None and zip_target.layers == (layer,)
    assert zip_target.dedupe_key == f"lambda#{arn('a1')}#{SHA}#{layer}"
    image_target = targets[arn("b2")]
    assert (image_target.kind, image_target.lookup, image_target.package_type) == (
        "image",
        "lambda_function",
        "Image",
    )
    bodies = [json.loads(m["Body"]) for m in messages]
    assert {b["detail"]["reason"] for b in bodies} == {"bulk-scan"}
    assert {(b["account"], b["region"]) for b in bodies} == {(ACCOUNT, REGION)}
    assert len({b["id"] for b in bodies}) == 6  # one distinct event id per message


def test_moto_functions_end_to_end_with_include_and_exclude(aws: Any, queue: tuple[Any, str]) -> None:  # noqa: F811
    sqs, url = queue
    layer = publish_layer(aws, "deps")
    for name in ("payments-api", "payments-canary", "orders-api", "qscan-lambda-scanner", "qscan-payments"):
        create_zip(aws, name, [layer] if name == "payments-api" else None)
    aws.create_function(
        FunctionName="payments-img",
        Role=aws.qscan_role,
        PackageType="Image",
        Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/pay:1"},
    )

    summary = bulk_scan(
        options(url, include=("payments-*", "qscan-*"), exclude=("*-canary",)),
        lambda_client=lambda region: aws,
        sqs_client=sqs,
    )

    assert (summary.listed, summary.matched, summary.enqueued, summary.failed) == (6, 3, 3, 0)
    assert summary.skipped == {"not-included": 1, "excluded": 1, "own-function": 1}
    targets = {t.function_arn: t for t in targets_of(drain(sqs, url))}
    # qscan-payments shares the deployment's name prefix but is not one of qscan's functions: scanned
    assert set(targets) == {arn("payments-api"), arn("payments-img"), arn("qscan-payments")}
    config = aws.get_function(FunctionName="payments-api")["Configuration"]
    assert targets[arn("payments-api")].code_sha256 == config["CodeSha256"]
    assert targets[arn("payments-api")].layers == (layer,)
    assert targets[arn("payments-img")].kind == "image"


def test_dry_run_lists_but_sends_nothing(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, _ = stubbed_lambda([[entry("a"), entry("b")], [entry("c")]], page_size=2)
    planned: list[ScanTarget] = []
    lines: list[str] = []

    summary = bulk_scan(
        options(url, dry_run=True, page_size=2, progress_every=1),
        lambda_client=lambda region: client,
        sqs_client=sqs,
        progress=lines.append,
        on_planned=planned.append,
    )

    assert (summary.planned, summary.enqueued, summary.matched) == (3, 0, 3)
    assert [t.function_arn for t in planned] == [arn("a"), arn("b"), arn("c")]
    assert drain(sqs, url) == []
    assert len(lines) == 4 and lines[-1].endswith("region done (3 listed)")
    assert "3 planned" in lines[-1]


def test_dry_run_needs_no_queue() -> None:
    client, _ = stubbed_lambda([[entry("a")]], page_size=50)
    summary = bulk_scan(options(None, dry_run=True), lambda_client=lambda region: client, sqs_client=None)
    assert summary.planned == 1 and summary.ok


def test_progress_every_n_functions() -> None:
    client, _ = stubbed_lambda([[entry(f"f{i}") for i in range(5)]], page_size=50)
    lines: list[str] = []
    bulk_scan(
        options(None, dry_run=True, progress_every=2),
        lambda_client=lambda region: client,
        sqs_client=None,
        progress=lines.append,
    )
    assert [line.split(": ")[2].split(",")[0] for line in lines] == ["2 listed", "4 listed", "5 listed"]


def test_listing_stops_at_max_functions(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, stubber = stubbed_lambda([[entry("a"), entry("b"), entry("c")], [entry("d"), entry("e")]], 3)
    summary = bulk_scan(
        options(url, page_size=3, max_functions=4), lambda_client=lambda r: client, sqs_client=sqs
    )
    assert (summary.listed, summary.enqueued, summary.truncated) == (4, 4, [REGION])
    stubber.assert_no_pending_responses()


def test_a_region_that_cannot_be_listed_is_reported_and_the_others_go_on(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    good, _ = stubbed_lambda([[entry("x", region=OTHER_REGION)]], 50)
    denied = boto3.client("lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(denied)
    stubber.add_client_error(
        "list_functions", service_error_code="AccessDeniedException", http_status_code=403
    )
    stubber.activate()
    clients = {REGION: denied, OTHER_REGION: good}

    summary = bulk_scan(
        options(url, regions=(REGION, OTHER_REGION)), lambda_client=clients.__getitem__, sqs_client=sqs
    )

    assert summary.region_errors == {
        REGION: f"lambda list_functions {REGION}: AccessDeniedException (HTTP 403)"
    }
    assert summary.enqueued == 1 and not summary.ok
    assert [t.region for t in targets_of(drain(sqs, url))] == [OTHER_REGION]


# ---------------------------------------------------------------------------------------- send failures


class FlakySqs:
    """Forwards to a real (moto) SQS client, but fails chosen entries or whole calls, call by call.

    `plan[n]` for the n-th SendMessageBatch call: a dict entry Id -> SenderFault (those entries fail with the
    response shape SQS uses), or an error code string (the whole call raises that ClientError).
    """

    def __init__(self, real: Any, plan: list[dict[str, bool] | str]) -> None:
        self.real = real
        self.plan = plan
        self.calls: list[list[dict[str, str]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append(Entries)
        step = self.plan[len(self.calls) - 1] if len(self.calls) <= len(self.plan) else {}
        if isinstance(step, str):
            raise ClientError(
                {"Error": {"Code": step, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "SendMessageBatch",
            )
        passing = [e for e in Entries if e["Id"] not in step]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else {}
        failed = [
            {
                "Id": key,
                "SenderFault": fault,
                "Code": "InternalError" if not fault else "InvalidParameterValue",
            }
            for key, fault in step.items()
        ]
        return {"Successful": response.get("Successful", []), "Failed": failed}


def test_failed_entries_are_retried_once_then_reported(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, _ = stubbed_lambda([[entry(f"f{i}") for i in range(10)]], 50)
    flaky = FlakySqs(sqs, [{"1": False, "3": False, "5": True}, {"1": False}])

    summary = bulk_scan(options(url), lambda_client=lambda r: client, sqs_client=flaky)

    # the retry carries only the retryable entries (f1, f3); f5 is a sender fault; f3 fails again
    assert [len(call) for call in flaky.calls] == [10, 2]
    retried = [json.loads(e["MessageBody"])["detail"]["target"]["function_arn"] for e in flaky.calls[1]]
    assert retried == [arn("f1"), arn("f3")]
    assert (summary.enqueued, summary.failed, summary.ok) == (8, 2, False)
    assert summary.failures == [
        {"function_arn": arn("f5"), "reason": "sqs: InvalidParameterValue"},
        {"function_arn": arn("f3"), "reason": "sqs: InternalError"},  # Id "1" of the retry batch
    ]
    assert len(drain(sqs, url)) == 8


def test_a_throttled_call_is_retried_once(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, _ = stubbed_lambda([[entry(f"f{i}") for i in range(12)]], 50)
    flaky = FlakySqs(sqs, ["ThrottlingException"])
    summary = bulk_scan(options(url), lambda_client=lambda r: client, sqs_client=flaky)
    assert [len(call) for call in flaky.calls] == [10, 10, 2]
    assert (summary.enqueued, summary.failed) == (12, 0)
    assert len(drain(sqs, url)) == 12


def test_a_call_throttled_twice_fails_its_entries(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, _ = stubbed_lambda([[entry(f"f{i}") for i in range(3)]], 50)
    flaky = FlakySqs(sqs, ["ThrottlingException", "ThrottlingException"])
    summary = bulk_scan(options(url), lambda_client=lambda r: client, sqs_client=flaky)
    assert (summary.enqueued, summary.failed) == (0, 3)
    assert summary.failures[0]["reason"] == "sqs send_message_batch: ThrottlingException (HTTP 400)"


def test_a_missing_queue_stops_the_job(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    sqs.delete_queue(QueueUrl=url)
    client, _ = stubbed_lambda([[entry("a")]], 50)
    with pytest.raises(QueueUnusable, match="does not exist"):
        bulk_scan(options(url), lambda_client=lambda r: client, sqs_client=sqs)


# ------------------------------------------------------------------------------------------ pure parts


def test_listing_target_shapes() -> None:
    complete = listing_target(entry("a"))
    assert complete is not None and complete.lookup is None and complete.dedupe_key is not None
    odd = listing_target({"FunctionArn": arn("b"), "PackageType": "Zip", "CodeSha256": "short"})
    assert odd is not None and odd.lookup == "lambda_function" and odd.kind == "function"
    image = listing_target(entry("c", package="Image"))
    assert image is not None and image.kind == "image" and image.resource_id == arn("c")
    assert listing_target({"FunctionArn": arn("d") + ":3"}) is None  # listings hold unqualified ARNs
    assert listing_target({"FunctionName": "e"}) is None


def test_invalid_listing_entries_are_skipped_not_fatal() -> None:
    client, _ = stubbed_lambda([[entry("ok"), {"FunctionName": "broken"}]], 50)
    summary = bulk_scan(options(None, dry_run=True), lambda_client=lambda r: client, sqs_client=None)
    assert summary.skipped == {"invalid-entry": 1} and summary.planned == 1


@pytest.mark.parametrize(
    ("name", "include", "exclude", "expected"),
    [
        ("payments-api", (), (), None),
        ("payments-api", ("payments-*",), (), None),
        ("orders-api", ("payments-*",), (), "not-included"),
        ("payments-canary", ("payments-*",), ("*-canary",), "excluded"),
        ("Payments-api", ("payments-*",), (), "not-included"),  # case-sensitive
        ("svc-1", ("svc-[0-9]",), ("svc-[!1]",), None),
    ],
)
def test_name_patterns(
    name: str, include: tuple[str, ...], exclude: tuple[str, ...], expected: str | None
) -> None:
    assert name_matches(name, include, exclude) == expected


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"regions": ()}, "at least one region"),
        ({"regions": ("eu-west-1", "Mars")}, "region name"),
        ({"include": ("a b",)}, "include"),
        ({"exclude": ("",)}, "exclude"),
        ({"queue_url": None}, "queue_url is required"),
        ({"queue_url": "https://sqs.eu-west-1.amazonaws.com/123/q"}, "SQS queue URL"),
        ({"queue_url": "http://sqs.eu-west-1.amazonaws.com/123456789012/q"}, "SQS queue URL"),
        ({"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo"}, "FIFO"),
        ({"page_size": 51}, "page_size"),
        ({"max_functions": 0}, "max_functions"),
        ({"own_functions": ("",)}, "own_functions"),
        ({"own_functions": ("qscan-*",)}, "own_functions"),
        ({"own_functions": ("a b",)}, "own_functions"),
        ({"own_functions": ("arn:aws:s3:::b",)}, "own_functions"),
        ({"own_account": "12"}, "own_account"),
        ({"own_region": "Mars"}, "own_region"),
    ],
)
def test_options_are_validated(kwargs: dict[str, Any], match: str) -> None:
    base: dict[str, Any] = {
        "regions": (REGION,),
        "queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q",
    }
    with pytest.raises(ConfigError, match=match):
        BulkScanOptions(**(base | kwargs))


def test_queue_urls_accepted() -> None:
    assert validate_queue_url(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/scan-queue")
    assert validate_queue_url(f"http://127.0.0.1:5000/{ACCOUNT}/scan-queue")  # moto, loopback only


def test_options_from_scheduled_input() -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    defaults = options_from_input(scheduled, default_regions=[REGION], default_queue_url=url)
    assert (defaults.regions, defaults.queue_url, defaults.include, defaults.dry_run) == (
        (REGION,),
        url,
        (),
        False,
    )
    given = options_from_input(
        {"regions": [OTHER_REGION, OTHER_REGION], "include": "svc-*", "dry_run": True, "max_functions": 5},
        default_regions=[REGION],
        own_functions=["scanner-fn"],
    )
    assert given.regions == (OTHER_REGION,) and given.include == ("svc-*",)
    assert given.own_functions == ("scanner-fn",) and given.max_functions == 5 and given.queue_url is None
    with pytest.raises(ConfigError, match="unknown bulk scan input"):
        options_from_input({"regions": [REGION], "force": True})
    with pytest.raises(ConfigError, match="dry_run"):
        options_from_input({"regions": [REGION], "dry_run": "yes"})
    with pytest.raises(ConfigError, match="list of strings"):
        options_from_input({"regions": [1]})


def test_scheduled_bulk_scan_returns_the_summary(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    client, _ = stubbed_lambda([[entry("a"), entry("scanner-fn")]], 50)
    result = scheduled_bulk_scan(
        {},
        lambda_client=lambda r: client,
        sqs_client=sqs,
        default_regions=[REGION],
        default_queue_url=url,
        own_functions=[arn("scanner-fn")],
    )
    assert (result["enqueued"], result["skipped"], result["ok"]) == (1, {"own-function": 1}, True)
    assert len(drain(sqs, url)) == 1


def test_own_names_are_exact_and_bound_to_the_own_account_and_region(queue: tuple[Any, str]) -> None:
    """The scheduled bulk scan skips qscan's own names only in the handler's account and region."""
    sqs, url = queue
    spoke = "222233334444"
    own_elsewhere = {
        "FunctionName": "qscan-lambda-scanner",
        "FunctionArn": f"arn:aws:lambda:{REGION}:{spoke}:function:qscan-lambda-scanner",
        "PackageType": "Zip",
        "CodeSha256": SHA,
    }
    listing = [entry("qscan-lambda-scanner"), entry("qscan-billing"), own_elsewhere]
    client, _ = stubbed_lambda([listing], 50)
    other_region, _ = stubbed_lambda([[entry("qscan-lambda-scanner", region=OTHER_REGION)]], 50)
    result = scheduled_bulk_scan(
        {"regions": [REGION, OTHER_REGION]},
        lambda_client=lambda r: client if r == REGION else other_region,
        sqs_client=sqs,
        default_queue_url=url,
        own_functions=["qscan-lambda-scanner", "qscan-ecr-scanner"],
        own_account=ACCOUNT,
        own_region=REGION,
    )
    assert (result["enqueued"], result["skipped"], result["ok"]) == (3, {"own-function": 1}, True)
    assert {t.function_arn for t in targets_of(drain(sqs, url))} == {
        arn("qscan-billing"),
        own_elsewhere["FunctionArn"],
        arn("qscan-lambda-scanner", OTHER_REGION),
    }


def test_options_from_the_lambda_modules_bulk_scan_request() -> None:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"
    request = {
        "version": "0",
        "source": "qscan.bulk-scan",
        "detail-type": "qscan Bulk Scan Request",
        "account": ACCOUNT,
        "region": OTHER_REGION,
        "detail": {"platform": "lambda"},
    }
    assert is_bulk_scan_request(request) and not is_bulk_scan_request({"source": "qscan.reconciler"})
    parsed = options_from_input(request, default_regions=[REGION], default_queue_url=url)
    assert parsed.regions == (OTHER_REGION,) and parsed.queue_url == url  # the request's region wins
    narrowed = options_from_input(
        request | {"detail": {"platform": "lambda", "regions": [REGION], "exclude": ["*-test"]}},
        default_queue_url=url,
    )
    assert narrowed.regions == (REGION,) and narrowed.exclude == ("*-test",)
    for bad, match in [
        (request | {"detail": {"platform": "azure"}}, "platform"),
        (request | {"detail-type": "other"}, "detail-type"),
        (request | {"detail": {"platform": "lambda", "force": 1}}, "unknown"),
        (request | {"region": "Mars"}, "region"),
    ]:
        with pytest.raises(ConfigError, match=match):
            options_from_input(bad, default_queue_url=url)
