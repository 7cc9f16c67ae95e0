"""Qualys CS API client: gateways, auth, endpoints, pagination (fake state through a requests adapter)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from qscan.errors import ConfigError, TransientError
from qscan.results.model import Severity
from qscan.scanners.qualys_api import (
    QualysApiClient,
    QualysApiOptions,
    QualysAuthError,
    QualysNotFound,
    QualysRequestError,
    QualysResponseError,
    resolve_gateway,
)

from tests.doubles.fake_qualys_api import (
    DEFAULT_PASSWORD,
    DEFAULT_TOKEN,
    DEFAULT_USER,
    FakeClock,
    FakeQualysState,
    Fault,
    adapter_client,
)

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/qualys-ecr-read"
DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> FakeQualysState:
    return FakeQualysState(clock=clock.wall)


def vuln(qid: int, severity: int = 3, **extra: Any) -> dict[str, Any]:
    return {"qid": qid, "title": f"vuln {qid}", "severity": severity, "cveids": [f"CVE-2024-{qid}"], **extra}


# ---------------------------------------------------------------- gateway and credentials
def test_pod_maps_to_https_gateway() -> None:
    assert resolve_gateway("us2", None, False) == "https://gateway.qg2.apps.qualys.com"
    assert resolve_gateway(None, "https://gw.example.gov/", False) == "https://gw.example.gov"


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1:8080", False),  # loopback, but no explicit opt-in
        ("http://gateway.qg1.apps.qualys.com", True),  # opt-in never downgrades a real host
        ("http://10.0.0.1:80", True),
        ("http://127.0.0.1:1/?x=1", True),
        ("ftp://127.0.0.1", True),
    ],
)
def test_plain_http_only_for_loopback_with_opt_in(url: str, allow: bool) -> None:
    with pytest.raises(ConfigError):
        resolve_gateway(None, url, allow)


def test_loopback_http_with_opt_in() -> None:
    assert resolve_gateway(None, "http://127.0.0.1:5000/", True) == "http://127.0.0.1:5000"


def test_credentials_required() -> None:
    with pytest.raises(ConfigError):
        QualysApiClient(QualysApiOptions(pod="US1"))
    with pytest.raises(ConfigError):
        QualysApiClient(QualysApiOptions(pod="US1", username="u"))


def test_options_repr_hides_secrets() -> None:
    text = repr(QualysApiOptions(pod="US1", access_token="tok-123456789", password="pw-123456789"))
    assert "tok-123456789" not in text
    assert "pw-123456789" not in text


# ---------------------------------------------------------------- auth
def test_static_bearer_token(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock)
    base = client.aws_base()
    assert base.account_id == "805950163170"
    assert base.external_id == state.aws_base["externalId"]
    assert state.calls("/registry/aws-base")[0].authorization == f"Bearer {DEFAULT_TOKEN}"
    assert state.auth_calls == 0


def test_password_login_once_then_reuse(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, username=DEFAULT_USER, password=DEFAULT_PASSWORD)
    client.aws_base()
    client.aws_base()
    assert state.auth_calls == 1
    auth = state.calls("^/auth$")[0]
    assert "token=true" in auth.body


def test_jwt_refreshed_before_expiry(state: FakeQualysState, clock: FakeClock) -> None:
    state.jwt_lifetime = 3600
    client = adapter_client(state, clock, username=DEFAULT_USER, password=DEFAULT_PASSWORD)
    client.aws_base()
    clock.advance(3600 - 299)  # inside the 300 s refresh margin, still valid on the server
    client.aws_base()
    assert state.auth_calls == 2
    assert [r.path for r in state.requests].count("/csapi/v1.3/registry/aws-base") == 2  # no 401 round trip


def test_401_refreshes_once_and_retries(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, username=DEFAULT_USER, password=DEFAULT_PASSWORD)
    client.aws_base()
    state.expire_tokens()
    assert client.aws_base().account_id == "805950163170"
    assert state.auth_calls == 2
    assert len(state.calls("/registry/aws-base")) == 3  # ok, 401, ok


def test_second_401_surfaces_as_auth_error(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, username=DEFAULT_USER, password=DEFAULT_PASSWORD)
    state.inject(Fault(path="/registry/aws-base", status=401, count=5))
    with pytest.raises(QualysAuthError):
        client.aws_base()
    assert len(state.calls("/registry/aws-base")) == 2
    assert state.auth_calls == 2


def test_static_token_401_is_not_retried(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, access_token="wrong-token-123456")
    with pytest.raises(QualysAuthError) as info:
        client.aws_base()
    assert isinstance(info.value, ConfigError)
    assert not isinstance(info.value, TransientError)
    assert len(state.calls("/registry/aws-base")) == 1


def test_wrong_password(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, username=DEFAULT_USER, password="not-the-password")
    with pytest.raises(QualysAuthError, match="authentication failed"):
        client.aws_base()


# ---------------------------------------------------------------- registries
def test_registry_lookup_by_uri_encodes_once(state: FakeQualysState, clock: FakeClock) -> None:
    uuid = state.add_registry(f"https://{REGISTRY}")
    state.add_registry("https://999999999999.dkr.ecr.eu-west-1.amazonaws.com")
    client = adapter_client(state, clock)
    found = client.find_registry(f"https://{REGISTRY}")
    assert found is not None
    assert found.uuid == uuid
    call = state.calls("^/csapi/v1.3/registry$")[-1]
    assert call.query["filter"] == [f'registryUri:"https://{REGISTRY}"']
    assert "%25" not in call.raw_query  # nothing encoded twice
    assert "registryUri%3A%22https%3A%2F%2F" in call.raw_query


def test_registry_lookup_none_on_204(state: FakeQualysState, clock: FakeClock) -> None:
    assert adapter_client(state, clock).find_registry(f"https://{REGISTRY}") is None


def test_unsafe_filter_value_rejected(state: FakeQualysState, clock: FakeClock) -> None:
    with pytest.raises(QualysRequestError):
        adapter_client(state, clock).find_registry('https://x" or registryType:"AWS')
    assert state.requests == []


def test_create_ecr_registry(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock)
    created = client.create_ecr_registry(f"https://{REGISTRY}", ROLE)
    stored = state.registries[created.uuid]
    assert stored["registryUri"] == f"https://{REGISTRY}"
    assert stored["aws"] == {
        "accountId": "123456789012",
        "region": "us-east-1",
        "arn": ROLE,
        "accountType": "Private",
    }
    with pytest.raises(QualysRequestError, match="409"):
        client.create_ecr_registry(f"https://{REGISTRY}", ROLE)


@pytest.mark.parametrize(
    ("uri", "role"),
    [
        ("https://registry.example.com", ROLE),
        (f"http://{REGISTRY}", ROLE),
        (f"https://{REGISTRY}", "arn:aws:iam::123456789012:user/bob"),
    ],
)
def test_create_registry_validates(state: FakeQualysState, clock: FakeClock, uri: str, role: str) -> None:
    with pytest.raises(QualysRequestError):
        adapter_client(state, clock).create_ecr_registry(uri, role)
    assert state.requests == []


def test_aws_connectors(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock)
    client.create_aws_connector("qscan", ROLE)
    assert [c["arn"] for c in client.list_aws_connectors()] == [ROLE]


# ---------------------------------------------------------------- images
def test_schedule_then_image_lookup_by_repo_digest(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", tag="1.0", polls=2, vulns=[vuln(1, 5)])
    uuid = state.add_registry(f"https://{REGISTRY}")
    client = adapter_client(state, clock)
    assert client.find_image_by_repo_digest(DIGEST) is None  # not scanned yet
    assert client.schedule_scan(uuid, "app", "1.0", name="qscan-test")
    found = client.find_image_by_repo_digest(f"{REGISTRY}/app@{DIGEST}")
    assert found == sha
    assert found != DIGEST.split(":")[1]  # Qualys's image id differs from the manifest digest
    assert [client.image_status(sha).status for _ in range(2)] == ["running", "success"]
    assert client.image_status(sha).raw_status == "SUCCESS"


def test_schedule_unknown_registry(state: FakeQualysState, clock: FakeClock) -> None:
    with pytest.raises(QualysNotFound):
        adapter_client(state, clock).schedule_scan("reg-missing", "app", None, name="x")


def test_vulnerabilities_normalized(state: FakeQualysState, clock: FakeClock) -> None:
    vulns = [
        vuln(
            10,
            5,
            software=[
                {"name": "openssl", "version": "3.0.1", "fixVersion": "3.0.9"},
                {"name": "libssl", "version": "3.0.1"},
            ],
            cvss3Info={"baseScore": "9.8"},
        ),
        vuln(11, 2),
    ]
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", vulns=vulns, after_schedule=False)
    client = adapter_client(state, clock)
    findings = client.vulnerabilities(sha)
    assert [(f.qid, f.package_name, f.fixed_version, f.severity) for f in findings] == [
        ("10", "openssl", "3.0.9", Severity.CRITICAL),
        ("10", "libssl", None, Severity.CRITICAL),
        ("11", None, None, Severity.LOW),
    ]
    assert findings[0].cvss_score == 9.8
    assert findings[0].cves == ("CVE-2024-10",)
    counts = client.vulnerability_counts(sha)
    assert (counts.critical, counts.low, counts.medium) == (1, 1, 0)


def test_pagination_over_many_pages(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(i) for i in range(7)], after_schedule=False
    )
    client = adapter_client(state, clock, page_size=2)
    findings = client.vulnerabilities(sha)
    assert sorted(int(f.qid or -1) for f in findings) == list(range(7))
    pages = [int(c.query["pageNumber"][0]) for c in state.calls("/vuln$")]
    assert pages == [1, 2, 3, 4]
    assert {c.query["pageSize"][0] for c in state.calls("/vuln$")} == {"2"}


def test_pagination_stops_at_count(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(i) for i in range(6)], after_schedule=False
    )
    client = adapter_client(state, clock, page_size=2)
    assert len(client.vulnerabilities(sha)) == 6
    assert len(state.calls("/vuln$")) == 3  # the count says page 3 was the last


def test_pagination_is_bounded(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(i) for i in range(5)], after_schedule=False
    )
    client = adapter_client(state, clock, page_size=1, max_pages=3)
    with pytest.raises(QualysResponseError, match="more than 3 pages"):
        client.vulnerabilities(sha)
    assert len(state.calls("/vuln$")) == 3


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json", QualysResponseError),
        ('{"details": {"a": 1}}', QualysResponseError),
        ("[]", QualysResponseError),
    ],
)
def test_malformed_responses(
    state: FakeQualysState, clock: FakeClock, body: str, error: type[Exception]
) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", after_schedule=False)
    state.inject(Fault(path="/vuln$", status=200, body=body))
    with pytest.raises(error):
        adapter_client(state, clock).vulnerabilities(sha)


def test_bad_severity_is_not_guessed(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(1, 9)], after_schedule=False
    )
    with pytest.raises(QualysResponseError, match="severity"):
        adapter_client(state, clock).vulnerabilities(sha)


def test_not_found_and_bad_request(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock)
    with pytest.raises(QualysNotFound):
        client.image_status("b" * 64)
    state.inject(Fault(path="aws-base", status=400, body='{"message": "bad", "password": "hunter2-secret"}'))
    with pytest.raises(QualysRequestError) as info:
        client.aws_base()
    assert "HTTP 400" in str(info.value)
    assert "hunter2-secret" not in str(info.value)


def test_invalid_sha_never_reaches_the_api(state: FakeQualysState, clock: FakeClock) -> None:
    with pytest.raises(QualysResponseError):
        adapter_client(state, clock).image_status("../registry")
    assert state.requests == []


# ---------------------------------------------------------------- secrets never logged
def test_tokens_and_passwords_never_logged(state: FakeQualysState, clock: FakeClock, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    client = adapter_client(state, clock, username=DEFAULT_USER, password=DEFAULT_PASSWORD)
    client.aws_base()
    state.expire_tokens()
    state.inject(Fault(path="aws-base", status=503, count=1))
    client.aws_base()
    issued = list(state.issued)
    assert len(issued) == 2
    text = caplog.text
    assert "qualys auth: new token" in text
    assert "HTTP 503" in text
    for secret in [DEFAULT_PASSWORD, *issued]:
        assert secret not in text
