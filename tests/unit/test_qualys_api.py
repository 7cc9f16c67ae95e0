"""Qualys CS API client: gateways, auth, endpoints, response shapes (fake state through a requests adapter).

The fake follows the documented shapes (DESIGN §4): object repoDigests without `sha256:`, an unpaginated
`/vuln` answer with `vulnSummary`, bare-string POST answers, a mandatory `accountType` and `tag`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from qscan.config import Settings
from qscan.errors import ConfigError, TransientError
from qscan.redact import redact
from qscan.results.model import Severity, SeverityCounts
from qscan.scanners.qualys_api import (
    ImageMatch,
    QualysApiClient,
    QualysApiOptions,
    QualysAuthError,
    QualysIncompleteScan,
    QualysNotFound,
    QualysRequestError,
    QualysResponseError,
    repo_digests,
    resolve_gateway,
    summary_counts,
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
GOV_REGISTRY = "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"
GOV_ROLE = "arn:aws-us-gov:iam::123456789012:role/qualys-ecr-read"
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


def test_list_pagination_over_many_pages(state: FakeQualysState, clock: FakeClock) -> None:
    for n in range(7):
        state.add_registry(f"https://{n:012d}.dkr.ecr.us-east-1.amazonaws.com")
    client = adapter_client(state, clock, page_size=2)
    assert len(client.list_registries()) == 7
    pages = [int(c.query["pageNumber"][0]) for c in state.calls("^/csapi/v1.3/registry$")]
    assert pages == [1, 2, 3, 4]


def test_list_pagination_is_bounded(state: FakeQualysState, clock: FakeClock) -> None:
    for n in range(5):
        state.add_registry(f"https://{n:012d}.dkr.ecr.us-east-1.amazonaws.com")
    with pytest.raises(QualysResponseError, match="more than 3 pages"):
        adapter_client(state, clock, page_size=1, max_pages=3).list_registries()


def test_unsafe_filter_value_rejected(state: FakeQualysState, clock: FakeClock) -> None:
    with pytest.raises(QualysRequestError):
        adapter_client(state, clock).find_registry('https://x" or registryType:"AWS')
    assert state.requests == []


def test_create_ecr_registry_sends_account_type_global(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock)
    created = client.create_ecr_registry(f"https://{REGISTRY}", ROLE)
    stored = state.registries[created.uuid]
    assert stored["registryUri"] == f"https://{REGISTRY}"
    assert stored["aws"] == {
        "accountId": "123456789012",
        "region": "us-east-1",
        "arn": ROLE,
        "accountType": "Global",
    }
    with pytest.raises(QualysRequestError, match="409"):
        client.create_ecr_registry(f"https://{REGISTRY}", ROLE)


def test_create_govcloud_registry_with_us_gov(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, account_type="US_Gov")
    created = client.create_ecr_registry(f"https://{GOV_REGISTRY}", GOV_ROLE)
    assert state.registries[created.uuid]["aws"]["accountType"] == "US_Gov"


@pytest.mark.parametrize(
    ("account_type", "uri", "role"),
    [
        ("Global", f"https://{GOV_REGISTRY}", GOV_ROLE),
        ("US_Gov", f"https://{REGISTRY}", ROLE),
    ],
)
def test_account_type_mismatch_refused_before_sending(
    state: FakeQualysState, clock: FakeClock, account_type: str, uri: str, role: str
) -> None:
    with pytest.raises(ConfigError, match="QSCAN_QUALYS_ACCOUNT_TYPE"):
        adapter_client(state, clock, account_type=account_type).create_ecr_registry(uri, role)
    assert state.requests == []


def test_unknown_account_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Global, US_Gov"):
        QualysApiClient(QualysApiOptions(pod="US1", access_token="tok-123456789", account_type="Private"))


def test_account_type_setting() -> None:
    assert Settings.from_env({}).qualys_account_type == "Global"
    assert Settings.from_env({"QSCAN_QUALYS_ACCOUNT_TYPE": "us_gov"}).qualys_account_type == "US_Gov"
    with pytest.raises(ConfigError, match="QSCAN_QUALYS_ACCOUNT_TYPE"):
        Settings.from_env({"QSCAN_QUALYS_ACCOUNT_TYPE": "Private"})


@pytest.mark.parametrize("aws", [{"accountId": "123456789012", "region": "us-east-1", "arn": ROLE}])
def test_fake_requires_account_type(state: FakeQualysState, clock: FakeClock, aws: dict[str, str]) -> None:
    body = {"registryType": "AWS", "registryUri": f"https://{REGISTRY}", "aws": aws}
    with pytest.raises(QualysRequestError, match="HTTP 400"):
        adapter_client(state, clock).request("POST", "/registry", json_body=body)
    with pytest.raises(QualysRequestError, match="HTTP 400"):
        adapter_client(state, clock).request(
            "POST", "/registry", json_body={**body, "aws": {**aws, "accountType": "Private"}}
        )
    assert state.registries == {}


@pytest.mark.parametrize("answers", ["string", "object"])
def test_post_answers_bare_string_or_object(clock: FakeClock, answers: str) -> None:
    state = FakeQualysState(clock=clock.wall, post_answers=answers)
    state.add_image(DIGEST, registry=REGISTRY, repository="app", tag="1.0")
    client = adapter_client(state, clock)
    created = client.create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert created.uuid in state.registries
    schedule_id = client.schedule_scan(created.uuid, "app", "1.0")
    assert schedule_id == state.schedules[-1]["scheduleUuid"]
    raw = state.calls("^/csapi/v1.3/registry$", "POST")
    assert len(raw) == 1


def test_post_answer_as_plain_text(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(
        Fault(
            path="^/csapi/v1.3/registry$",
            method="POST",
            status=201,
            headers={"Content-Type": "text/plain"},
            body="reg-0a1b2c3d",
        )
    )
    assert (
        adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE).uuid == "reg-0a1b2c3d"
    )


@pytest.mark.parametrize("body", ['"bad uuid!"', "{}", "[]", ""])
def test_post_registry_without_a_usable_uuid(state: FakeQualysState, clock: FakeClock, body: str) -> None:
    state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", status=200, body=body))
    with pytest.raises(QualysResponseError, match="uuid"):
        adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)


def test_numeric_external_id(clock: FakeClock) -> None:
    state = FakeQualysState(clock=clock.wall, numeric_external_id=True)
    assert isinstance(state.aws_base["externalId"], int)
    base = adapter_client(state, clock).aws_base()
    assert base.external_id == str(state.aws_base["externalId"])
    assert base.external_id not in redact(f"trust policy for {base.external_id}")  # still a secret


def test_create_registry_body_follows_the_api(state: FakeQualysState, clock: FakeClock) -> None:
    adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    body = json.loads(state.calls("^/csapi/v1.3/registry$", "POST")[0].body)
    assert set(body) == {"registryType", "registryUri", "aws"}
    assert set(body["aws"]) == {"accountId", "arn", "region", "accountType"}


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
    assert client.list_aws_connectors() == []  # 204 when none
    client.create_aws_connector("qscan", ROLE)
    assert [c["arn"] for c in client.list_aws_connectors()] == [ROLE]


# ---------------------------------------------------------------- schedule
def test_schedule_body_follows_the_api(state: FakeQualysState, clock: FakeClock) -> None:
    uuid = state.add_registry(f"https://{REGISTRY}")
    adapter_client(state, clock).schedule_scan(uuid, "team/app", "1.0")
    body = json.loads(state.calls("/schedule$", "POST")[0].body)
    assert body == {
        "onDemand": True,
        "filters": [{"repoTags": [{"repo": "team/app", "tag": "1.0"}]}],
        "forceScan": True,
    }


@pytest.mark.parametrize("tag", ["", None, "bad tag", "-leading-dash"])
def test_schedule_never_sends_an_empty_or_bad_tag(
    state: FakeQualysState, clock: FakeClock, tag: str | None
) -> None:
    uuid = state.add_registry(f"https://{REGISTRY}")
    with pytest.raises(QualysRequestError, match="tag"):
        adapter_client(state, clock).schedule_scan(uuid, "app", tag)  # type: ignore[arg-type]
    assert state.calls("/schedule$") == []


@pytest.mark.parametrize(
    "repo_tags", [[{"repo": "app", "tag": ""}], [{"repo": "app"}], [{"repo": "app", "tag": None}], []]
)
def test_fake_requires_a_tag(state: FakeQualysState, clock: FakeClock, repo_tags: list[Any]) -> None:
    uuid = state.add_registry(f"https://{REGISTRY}")
    body = {"onDemand": True, "filters": [{"repoTags": repo_tags}], "forceScan": True}
    with pytest.raises(QualysRequestError, match="HTTP 400"):
        adapter_client(state, clock).request("POST", f"/registry/{uuid}/schedule", json_body=body)
    assert state.schedules == []


def test_schedule_unknown_registry(state: FakeQualysState, clock: FakeClock) -> None:
    with pytest.raises(QualysNotFound):
        adapter_client(state, clock).schedule_scan("reg-missing", "app", "1.0")


# ---------------------------------------------------------------- images
def test_schedule_then_image_lookup_by_repo_digest(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", tag="1.0", polls=2, vulns=[vuln(1, 5)])
    uuid = state.add_registry(f"https://{REGISTRY}")
    client = adapter_client(state, clock)
    assert client.find_image(REGISTRY, "app", DIGEST) is None  # not scanned yet (the fake answers 204)
    assert state.calls("^/csapi/v1.3/images$")[-1].query["filter"] == [f'repoDigests:"{"a" * 64}"']
    assert client.schedule_scan(uuid, "app", "1.0")
    found = client.find_image(REGISTRY, "app", DIGEST)
    assert found is not None
    assert found.sha == sha
    assert found.sha != DIGEST.split(":")[1]  # Qualys's image id differs from the manifest digest
    assert found.tags == ("1.0",)
    assert [client.image_status(sha).status for _ in range(2)] == ["running", "success"]
    assert client.image_status(sha).raw_status == "SUCCESS"


def test_repo_digests_are_objects_without_sha256_prefix(state: FakeQualysState, clock: FakeClock) -> None:
    state.add_image(DIGEST, registry=REGISTRY, repository="app", after_schedule=False)
    image = adapter_client(state, clock).request("GET", "/images").json()["data"][0]
    assert image["repoDigests"] == [{"registry": REGISTRY, "repository": "app", "digest": "a" * 64}]


def test_image_lookup_matches_registry_repository_and_digest(
    state: FakeQualysState, clock: FakeClock
) -> None:
    other_registry = "999999999999.dkr.ecr.eu-west-1.amazonaws.com"
    same_digest_elsewhere = state.add_image(
        DIGEST, registry=other_registry, repository="app", after_schedule=False
    )
    other_repo = state.add_image(DIGEST, registry=REGISTRY, repository="other", after_schedule=False)
    wanted = state.add_image(DIGEST, registry=REGISTRY, repository="app", tag="2.0", after_schedule=False)
    client = adapter_client(state, clock)
    assert client.find_image(REGISTRY, "app", DIGEST) == ImageMatch(wanted, ("2.0",))
    assert client.find_image(REGISTRY, "other", DIGEST) == ImageMatch(other_repo, ("latest",))
    assert client.find_image(other_registry, "app", DIGEST) == ImageMatch(same_digest_elsewhere, ("latest",))
    assert client.find_image(REGISTRY, "missing", DIGEST) is None


def test_image_lookup_accepts_legacy_string_repo_digests(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", after_schedule=False, legacy_repo_digest=True
    )
    client = adapter_client(state, clock)
    match = client.find_image(REGISTRY, "app", DIGEST)
    assert match is not None
    assert match.sha == sha
    assert client.find_image(REGISTRY, "nope", DIGEST) is None


def test_repo_digest_parsing_of_both_shapes() -> None:
    item = {
        "repoDigests": [
            {"registry": f"https://{REGISTRY}/", "repository": "app", "digest": "A" * 64},
            f"{REGISTRY}/team/api@sha256:{'b' * 64}",
            {"registry": REGISTRY, "repository": "bad", "digest": "sha256:short"},
            "no-registry@sha256:" + "c" * 64,
            42,
        ]
    }
    assert repo_digests(item) == [(REGISTRY, "app", "a" * 64), (REGISTRY, "team/api", "b" * 64)]


def test_untagged_image_has_no_tags(state: FakeQualysState, clock: FakeClock) -> None:
    state.add_image(DIGEST, registry=REGISTRY, repository="app", tag=None, after_schedule=False)
    match = adapter_client(state, clock).find_image(REGISTRY, "app", DIGEST)
    assert match is not None
    assert match.tags == ()


# ---------------------------------------------------------------- vulnerability report
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


def test_report_read_in_one_call_without_pagination(state: FakeQualysState, clock: FakeClock) -> None:
    """120 findings (more than a page of 50): one unpaginated GET, cross-checked against vulnSummary."""
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(i, 1 + i % 5) for i in range(120)],
        after_schedule=False,
    )  # fmt: skip
    report = adapter_client(state, clock).vulnerability_report(sha)
    assert sorted(int(f.qid or -1) for f in report.findings) == list(range(120))
    assert report.vuln_counts.to_dict() == {"critical": 24, "high": 24, "medium": 24, "low": 24, "info": 24}
    assert report.checked_against == "vulnSummary"
    (call,) = state.calls("/vuln$")
    assert call.query == {"type": ["ALL"]}  # no pageNumber / pageSize
    assert state.calls("/vuln/count$") == []


def test_clean_image_needs_a_complete_empty_report(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", vulns=[], after_schedule=False)
    report = adapter_client(state, clock).vulnerability_report(sha)
    assert report.findings == ()
    assert report.vuln_counts == SeverityCounts()


SUMMARY_2_CRITICAL = {"severity5Count": 2, "severity4Count": 0}


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (204, "", "HTTP 204"),
        (200, "", "HTTP 200 without a report"),
        (200, "{}", "no 'details'"),
        (200, json.dumps({"vulnSummary": SUMMARY_2_CRITICAL}), "no 'details'"),
        (200, json.dumps({"details": None, "vulnSummary": {}}), "no 'details'"),
        (200, json.dumps({"details": [], "vulnSummary": SUMMARY_2_CRITICAL}), "disagree with vulnSummary"),
        (
            200,
            json.dumps({"details": [vuln(1, 5)], "vulnSummary": SUMMARY_2_CRITICAL}),
            "critical 1.*critical 2",
        ),
    ],
)
def test_incomplete_report_is_never_clean(
    state: FakeQualysState, clock: FakeClock, status: int, body: str, why: str
) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", after_schedule=False)
    state.inject(Fault(path="/vuln$", status=status, body=body))
    with pytest.raises(QualysIncompleteScan, match=why) as info:
        adapter_client(state, clock).vulnerability_report(sha)
    assert isinstance(info.value, TransientError)  # the platform retries it


def test_fake_answers_204_before_the_scan_succeeded(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(1)], polls=3)
    client = adapter_client(state, clock)
    client.schedule_scan(state.add_registry(f"https://{REGISTRY}"), "app", "latest")
    assert client.image_status(sha).status == "running"
    with pytest.raises(QualysIncompleteScan, match="204"):
        client.vulnerability_report(sha)


def test_summary_absent_falls_back_to_vuln_count(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(1, 5), vuln(2, 3)], after_schedule=False
    )
    state.inject(Fault(path="/vuln$", status=200, body=json.dumps({"details": [vuln(1, 5), vuln(2, 3)]})))
    report = adapter_client(state, clock).vulnerability_report(sha)
    assert report.checked_against == "vuln/count"
    assert (report.vuln_counts.critical, report.vuln_counts.medium) == (1, 1)
    state.inject(Fault(path="/vuln$", status=200, body=json.dumps({"details": [vuln(1, 5)]})))
    with pytest.raises(QualysIncompleteScan, match="disagree with vuln/count"):
        adapter_client(state, clock).vulnerability_report(sha)


def test_nested_summary_shape(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", after_schedule=False)
    summary = {"confirmed": {"sev5Count": 1}, "potential": {"sev3Count": 1}, "patchAvailability": {"x": 9}}
    state.inject(
        Fault(
            path="/vuln$",
            status=200,
            body=json.dumps({"details": [vuln(1, 5), vuln(2, 3)], "vulnSummary": summary}),
        )
    )
    assert adapter_client(state, clock).vulnerability_report(sha).checked_against == "vulnSummary"


def test_unreadable_summary_and_count_are_not_clean(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(DIGEST, registry=REGISTRY, repository="app", after_schedule=False)
    state.inject(Fault(path="/vuln$", status=200, body=json.dumps({"details": [], "vulnSummary": {"x": 1}})))
    state.inject(Fault(path="/vuln/count$", status=200, body="{}"))
    with pytest.raises(QualysResponseError, match="no per-severity counts"):
        adapter_client(state, clock).vulnerability_report(sha)


def test_summary_counts_reject_bad_numbers() -> None:
    assert summary_counts({"severity5Count": 3}) == SeverityCounts(critical=3)
    assert summary_counts({"unrelated": 1}) is None
    assert summary_counts([1, 2]) is None
    with pytest.raises(QualysResponseError):
        summary_counts({"severity5Count": -1})
    with pytest.raises(QualysResponseError):
        summary_counts({"sev2Count": True})


def test_fake_vuln_ignores_paging_and_unknown_params(state: FakeQualysState, clock: FakeClock) -> None:
    sha = state.add_image(
        DIGEST, registry=REGISTRY, repository="app", vulns=[vuln(i) for i in range(5)], after_schedule=False
    )
    client = adapter_client(state, clock)
    path = f"/images/{sha}/vuln"
    first = client.request("GET", path, params={"type": "ALL"}).json()
    paged = client.request(
        "GET",
        path,
        params={"type": "ALL", "pageNumber": 2, "pageSize": 1, "sort": "x", "applyException": "true"},
    ).json()
    assert paged == first
    assert len(first["details"]) == 5
    assert set(client.request("GET", path, params={"type": "SUMMARY"}).json()) == {"vulnSummary"}
    assert set(client.request("GET", path, params={"type": "DETAILS"}).json()) == {"details"}
    with pytest.raises(QualysRequestError, match="HTTP 400"):
        client.request("GET", path, params={"type": "EVERYTHING"})


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
