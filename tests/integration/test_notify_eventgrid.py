"""Event Grid publisher with the real azure-eventgrid client against a TLS loopback double of the data plane."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests
from azure.core.credentials import AccessToken, AzureKeyCredential
from azure.eventgrid import EventGridPublisherClient
from azure.identity import CredentialUnavailableError
from qscan.errors import TransientError
from qscan.notify import notify
from qscan.notify.eventgrid import EventGridPublisher
from qscan.notify.message import notification_id
from qscan.results.model import Finding, ScanResult, Severity
from qscan.target import ScanTarget

from tests.doubles.eventgrid import EventGridDouble

pytestmark = pytest.mark.integration

SENDER_TOKEN = "entra-token-data-sender-" + "x" * 40
READER_TOKEN = "entra-token-no-role-" + "y" * 40
SAS_KEY = "c2FzLWtleS1mb3ItdGhlLWRvdWJsZQ=="
TARGET = ScanTarget(
    kind="image",
    platform="aca",
    registry="myacr.azurecr.io",
    repository="team/web",
    tag="2.0.1",
    digest="sha256:" + "d" * 64,
    resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/web",
)


class FakeCredential:
    """A TokenCredential like ManagedIdentityCredential: returns a token for the requested scope."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_kwargs) -> AccessToken:
        self.scopes.append(scopes)
        if self.token is None:
            raise CredentialUnavailableError(
                message="ManagedIdentityCredential: no managed identity endpoint"
            )
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def double(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with EventGridDouble(
        tls_dir=tmp_path / "tls",
        sas_key=SAS_KEY,
        data_senders={SENDER_TOKEN},
        other_identities={READER_TOKEN},
    ) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)  # trust the double's self-signed certificate
        yield server


def publisher(double: EventGridDouble, token: str | None = SENDER_TOKEN, **options) -> EventGridPublisher:
    credential = FakeCredential(token)
    client = EventGridPublisherClient(double.endpoint, credential)
    pub = EventGridPublisher(double.endpoint, client, retry_backoff_factor=0.01, **options)
    pub.credential = credential  # type: ignore[attr-defined]
    return pub


def result(status: str = "success", *severities: Severity) -> ScanResult:
    findings = [Finding(qid=f"{i}", title=f"CVE finding {i}", severity=s) for i, s in enumerate(severities)]
    res = ScanResult(target=TARGET, backend="qscanner", status=status)  # type: ignore[arg-type]
    res.result_location = "https://st.blob.core.windows.net/results/aca/web.json"
    return res.with_findings(findings)


def test_publishes_one_cloudevent_with_managed_identity(double, caplog):
    pub = publisher(double)
    res = result("success", Severity.CRITICAL, Severity.HIGH)
    with caplog.at_level(logging.DEBUG):
        published = notify(res, "HIGH", pub)

    [event] = double.events
    assert published.message_id == event["id"] == notification_id(res, "findings")
    assert event["id"].startswith("qscan-")
    assert event["specversion"] == "1.0"
    assert event["type"] == "com.qscan.scan.findings"
    assert event["source"] == "/qscan/aca"
    assert event["subject"] == "image/team/web:2.0.1"
    assert event["qscanseverity"] == "critical" and event["qscanstatus"] == "success"
    assert event["data"]["scan_id"] == res.scan_id
    assert event["data"]["counts"]["critical"] == 1
    assert event["data"]["target"] == TARGET.to_dict()
    assert event["data"]["result_location"] == res.result_location

    [request] = double.requests
    assert (request.method, request.path, request.status) == ("POST", "/api/events", 200)
    assert request.query == {"api-version": ["2018-01-01"]}
    assert request.content_type.startswith("application/cloudevents-batch+json")
    assert request.auth_scheme == "Bearer"
    assert pub.credential.scopes == [("https://eventgrid.azure.net/.default",)]
    assert SENDER_TOKEN not in caplog.text
    assert SENDER_TOKEN not in repr(double.requests)


def test_failures_publish_even_with_threshold_none(double):
    notify(result("timeout"), "NONE", publisher(double))
    [event] = double.events
    assert event["type"] == "com.qscan.scan.failure"
    assert event["qscanstatus"] == "timeout"


def test_access_key_credential_also_works(double):
    client = EventGridPublisherClient(double.endpoint, AzureKeyCredential(SAS_KEY))
    notify(result("failed"), "HIGH", EventGridPublisher(double.endpoint, client))
    assert [r.auth_scheme for r in double.requests] == ["aeg-sas-key"]
    assert len(double.events) == 1


def test_unknown_identity_401_is_transient(double):
    with pytest.raises(TransientError, match=r"rejected the credential \(401\)"):
        notify(result("failed"), "HIGH", publisher(double, token="not-a-valid-token-" + "z" * 30))
    assert double.events == []


def test_identity_without_data_sender_role_403_is_transient(double):
    with pytest.raises(TransientError, match="HTTP 403"):
        notify(result("failed"), "HIGH", publisher(double, token=READER_TOKEN))


def test_no_managed_identity_is_transient_and_sends_nothing(double):
    with pytest.raises(TransientError, match=r"rejected the credential \(no token\)"):
        notify(result("failed"), "HIGH", publisher(double, token=None))
    assert double.requests == []


def test_oversized_event_413_is_transient(double):
    double.max_event_bytes = 256
    with pytest.raises(TransientError, match="HTTP 413"):
        notify(result("failed"), "HIGH", publisher(double))


def test_a_transient_503_is_retried_by_the_sdk(double):
    double.fail_next(503, times=1, retry_after="0")
    notify(result("failed"), "HIGH", publisher(double))
    assert [r.status for r in double.requests] == [503, 200]
    assert len(double.events) == 1


def test_persistent_5xx_raises_transient_after_retries(double):
    double.fail_next(500, times=5)
    with pytest.raises(TransientError, match="HTTP 500"):
        notify(result("failed"), "HIGH", publisher(double, retry_total=2))
    assert [r.status for r in double.requests] == [500, 500, 500]


def test_unreachable_topic_is_transient(double):
    pub = publisher(double, retry_total=0)
    double.stop()
    with pytest.raises(TransientError, match="ServiceRequestError"):
        notify(result("failed"), "HIGH", pub)


def test_the_double_enforces_the_documented_contract(double):
    """Proves the double would catch a wrong request, so a 200 above means something."""
    session = requests.Session()
    good_event = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": {}}
    batch = "application/cloudevents-batch+json; charset=utf-8"

    def post(
        path="/api/events?api-version=2018-01-01",
        body=None,
        content_type=batch,
        auth=f"Bearer {SENDER_TOKEN}",
    ):
        headers = {"Content-Type": content_type} | ({"Authorization": auth} if auth else {})
        data = (
            body if isinstance(body, bytes) else json.dumps([good_event] if body is None else body).encode()
        )
        return session.post(f"https://127.0.0.1:{double.port}{path}", data=data, headers=headers, timeout=5)

    assert post().status_code == 200
    assert post(path="/api/events").status_code == 400
    assert post(path="/api/events?api-version=1999-01-01").status_code == 400
    assert post(path="/events?api-version=2018-01-01").status_code == 404
    assert post(auth=None).status_code == 401
    assert post(auth=f"Bearer {READER_TOKEN}").status_code == 403
    assert post(content_type="application/json").status_code == 400
    assert post(body=[dict(good_event, specversion="0.3")]).status_code == 400
    assert post(body=[{k: v for k, v in good_event.items() if k != "source"}]).status_code == 400
    assert post(body=[dict(good_event, BadExt="x")]).status_code == 400
    assert post(body=b"not json").status_code == 400
    too_big = post(body=[dict(good_event, data={"x": "a" * (1024 * 1024)})])
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PayloadTooLarge"
    assert len(double.events) == 1
