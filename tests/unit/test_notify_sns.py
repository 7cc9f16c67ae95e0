"""SNS publisher against moto: an SQS queue subscribed to the topic reads the message back."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from qscan.errors import ConfigError, TransientError
from qscan.notify import notify
from qscan.notify.sns import SnsPublisher, sanitize_subject
from qscan.results.model import Finding, ScanResult, Severity
from qscan.target import ScanTarget

REGION = "eu-west-1"
TARGET = ScanTarget(
    kind="image",
    platform="ecr",
    repository="team/api",
    tag="1.4.2",
    digest="sha256:" + "c" * 64,
    account="123456789012",
)


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)


def subscribe_queue(sns, sqs, topic_arn: str, name: str, filter_policy: dict | None = None) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def receive(sqs, url: str) -> list[dict]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    return [json.loads(m["Body"]) for m in messages]


def result(status: str, *severities: Severity) -> ScanResult:
    findings = [Finding(qid=str(i), title="t", severity=s) for i, s in enumerate(severities)]
    res = ScanResult(target=TARGET, backend="qscanner", status=status)  # type: ignore[arg-type]
    return res.with_findings(findings)


def test_message_subject_and_filterable_attributes_reach_a_subscribed_queue(aws):
    sns, sqs = aws
    topic = sns.create_topic(Name="qscan-alerts")["TopicArn"]
    everything = subscribe_queue(sns, sqs, topic, "all")
    publisher = SnsPublisher(topic, client=sns)

    res = result("success", Severity.CRITICAL, Severity.HIGH, Severity.HIGH)
    published = notify(res, "HIGH", publisher)

    [envelope] = receive(sqs, everything)
    assert envelope["MessageId"] == published.message_id
    assert envelope["Subject"] == "qscan [success] 1 critical, 2 high: team/api:1.4.2 (ecr, 123456789012)"
    body = json.loads(envelope["Message"])
    assert body["scan_id"] == res.scan_id
    assert body["counts"]["high"] == 2
    assert body["target"]["digest"] == TARGET.digest
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "severity": "critical",
        "status": "success",
        "kind": "findings",
        "platform": "ecr",
        "account": TARGET.account,  # hub-spoke: subscribers filter on a spoke account's alerts
    }


def test_subscription_filter_policies_select_on_our_attributes(aws):
    sns, sqs = aws
    topic = sns.create_topic(Name="qscan-alerts")["TopicArn"]
    critical_only = subscribe_queue(sns, sqs, topic, "critical", {"severity": ["critical"]})
    failures_only = subscribe_queue(sns, sqs, topic, "failures", {"kind": ["failure"]})
    publisher = SnsPublisher(topic, client=sns)

    notify(result("success", Severity.HIGH), "HIGH", publisher)
    notify(result("success", Severity.CRITICAL), "HIGH", publisher)
    notify(result("timeout"), "NONE", publisher)

    assert [json.loads(m["Message"])["highest_severity"] for m in receive(sqs, critical_only)] == ["critical"]
    [failure] = receive(sqs, failures_only)
    assert failure["Subject"].startswith("qscan [timeout] scan timed out")


def test_below_threshold_publishes_nothing(aws):
    sns, sqs = aws
    topic = sns.create_topic(Name="qscan-alerts")["TopicArn"]
    queue = subscribe_queue(sns, sqs, topic, "all")
    assert (
        notify(result("success", Severity.MEDIUM), "HIGH", SnsPublisher(topic, client=sns)).message_id is None
    )
    assert receive(sqs, queue) == []


def test_fifo_topics_get_group_and_deduplication_ids(aws):
    sns, _ = aws
    topic = sns.create_topic(
        Name="qscan-alerts.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "false"}
    )["TopicArn"]
    publisher = SnsPublisher(topic, client=sns)
    res = result("failed")
    published = notify(res, "HIGH", publisher)
    assert published.message_id
    request = publisher.request(published.notification)
    assert request["MessageDeduplicationId"] == published.notification.notification_id
    assert (
        request["MessageDeduplicationId"].startswith("qscan-")
        and len(request["MessageDeduplicationId"]) <= 128
    )


def test_missing_topic_raises_transient_error_naming_the_topic(aws):
    sns, _ = aws
    missing = f"arn:aws:sns:{REGION}:123456789012:does-not-exist"
    with pytest.raises(
        TransientError, match=r"SNS publish to arn:aws:sns:.*:does-not-exist failed: NotFound"
    ):
        notify(result("failed"), "HIGH", SnsPublisher(missing, client=sns))


def test_connection_failures_raise_transient_error():
    client = boto3.client(
        "sns",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    publisher = SnsPublisher(f"arn:aws:sns:{REGION}:123456789012:alerts", client=client)
    with pytest.raises(TransientError, match="EndpointConnectionError"):
        notify(result("failed"), "HIGH", publisher)


@pytest.mark.parametrize(
    "arn", ["", "alerts", "arn:aws:sqs:eu-west-1:123456789012:alerts", "arn:aws:sns:eu-west-1:12:x"]
)
def test_topic_arn_is_validated(arn):
    with pytest.raises(ConfigError, match="QSCAN_ALERT_TOPIC_ARN must be an SNS topic ARN"):
        SnsPublisher(arn, client=object())


def test_sanitize_subject_enforces_sns_rules():
    assert sanitize_subject("  line one\nline\ttwo \u00e9\u2713 ") == "line one line two ??"
    assert sanitize_subject("\n\n") == "qscan notification"
    long = sanitize_subject("x" * 300)
    assert len(long) == 100
