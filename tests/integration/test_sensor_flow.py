"""The registry-sensor flow over real HTTP against the fake Qualys API server on 127.0.0.1.

The fake answers the documented shapes (DESIGN §4): object repoDigests without `sha256:`, one unpaginated
`/vuln` answer with `vulnSummary`, bare-string POST answers, 400 without `accountType` or `tag`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from qscan.cli import main
from qscan.errors import ConfigError, InvalidEvent, TransientError
from qscan.scanners import sensor_flow
from qscan.scanners.qualys_api import (
    QualysApiClient,
    QualysApiOptions,
    QualysIncompleteScan,
    QualysUnavailable,
    never_reached_server,
)
from qscan.target import ScanTarget

from tests.doubles.fake_qualys_api import DEFAULT_TOKEN, FakeQualysApi, Fault

pytestmark = pytest.mark.integration

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/qualys-ecr-read"
DIGEST = "sha256:" + "c" * 64
SCHEMA = json.loads((Path(__file__).parents[2] / "shared/qscan/schemas/scan-result.schema.json").read_text())


@pytest.fixture
def api() -> Iterator[FakeQualysApi]:
    with FakeQualysApi() as server:
        yield server


def client_for(api: FakeQualysApi, **options: Any) -> QualysApiClient:
    slept: list[float] = []
    client = QualysApiClient(
        QualysApiOptions(
            gateway_url=api.url, allow_insecure_loopback=True, access_token=DEFAULT_TOKEN, **options
        ),
        sleep=slept.append,
    )
    client.slept = slept  # type: ignore[attr-defined]
    return client


def target_json(**changes: Any) -> dict[str, Any]:
    target = ScanTarget(
        kind="image",
        platform="ecs",
        image=f"{REGISTRY}/shop/api:2.1",
        registry=REGISTRY,
        repository="shop/api",
        tag="2.1",
        digest=DIGEST,
    )
    return {**target.to_dict(), **changes}


def vulns(n: int) -> list[dict[str, Any]]:
    return [
        {"qid": 1000 + i, "title": f"v{i}", "severity": 1 + i % 5, "cveids": [f"CVE-2024-{i}"]}
        for i in range(n)
    ]


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """What Step Functions does between tasks: JSON out, JSON in."""
    return dict(json.loads(json.dumps(state)))


def test_steps_one_by_one_with_json_between(api: FakeQualysApi) -> None:
    """60 findings (more than a page): the old paginated read refused to truncate; now one call."""
    sha = api.state.add_image(
        DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(60), polls=3
    )
    client = client_for(api)
    state: dict[str, Any] = {"target": target_json(), "role_arn": ROLE, "poll": {"max_attempts": 10}}
    state = roundtrip(sensor_flow.ensure_registry(client, state))
    assert state["registry"]["uri"] == f"https://{REGISTRY}"
    (created,) = api.state.registries.values()
    assert created["aws"]["accountType"] == "Global"
    state = roundtrip(sensor_flow.schedule(client, state))
    assert state["schedule"]["tag"] == "2.1"
    assert state["schedule"]["id"] == api.state.schedules[0]["scheduleUuid"]  # from a bare-string answer
    assert state["poll"] == {
        "attempts": 0,
        "max_attempts": 10,
        "interval_seconds": 30,
        "done": False,
        "status": "pending",
        "image_sha": None,
    }
    statuses = []
    while not state["poll"]["done"]:
        state = roundtrip(sensor_flow.poll(client, state))
        statuses.append(state["poll"]["status"])
    assert statuses == ["running", "running", "success"]
    assert state["poll"]["image_sha"] == sha
    result = roundtrip(sensor_flow.build_result(client, state).to_dict())
    assert result["status"] == "success"
    jsonschema.validate(result, SCHEMA)
    assert result["backend"] == "qualys-api"
    assert len(result["findings"]) == 60
    assert result["counts"] == {"critical": 12, "high": 12, "medium": 12, "low": 12, "info": 12}
    assert result["metadata"]["qualys_vuln_counts"] == result["counts"]
    assert result["metadata"]["qualys_counts_checked_against"] == "vulnSummary"
    assert [c.query for c in api.state.calls("/vuln$")] == [{"type": ["ALL"]}]


def test_existing_registry_is_reused(api: FakeQualysApi) -> None:
    uuid = api.state.add_registry(f"https://{REGISTRY}")
    state = sensor_flow.ensure_registry(client_for(api), {"target": target_json()})
    assert state["registry"]["uuid"] == uuid
    assert api.state.calls("/registry$", "POST") == []


def test_missing_registry_without_role_is_a_config_error(api: FakeQualysApi) -> None:
    with pytest.raises(ConfigError, match="role_arn"):
        sensor_flow.ensure_registry(client_for(api), {"target": target_json()})


def test_poll_attempt_counted_once_across_a_transient_failure(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", polls=5)
    client = client_for(api, max_attempts=2)
    state = sensor_flow.schedule(
        client, sensor_flow.ensure_registry(client, {"target": target_json(), "role_arn": ROLE})
    )
    state = roundtrip(sensor_flow.poll(client, state))
    assert state["poll"]["attempts"] == 1
    fault = Fault(path="/images/", status=503, count=2)
    api.state.inject(fault)
    with pytest.raises(QualysUnavailable):
        sensor_flow.poll(client, state)
    assert fault.count == 0
    retried = sensor_flow.poll(client, state)  # the platform's retry re-runs the step with the same input
    assert retried["poll"]["attempts"] == 2
    assert state["poll"]["attempts"] == 1  # the input was not mutated


def test_polling_is_bounded_and_ends_in_timeout(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", polls=1000)
    client = client_for(api)
    state = {"target": target_json(), "role_arn": ROLE, "poll": {"max_attempts": 3}}
    state = sensor_flow.schedule(client, sensor_flow.ensure_registry(client, state))
    for _ in range(3):
        state = sensor_flow.poll(client, state)
    assert state["poll"]["done"] is True
    assert state["poll"]["status"] == "timeout"
    result = sensor_flow.build_result(client, state).to_dict()
    assert result["status"] == "timeout"
    jsonschema.validate(result, SCHEMA)
    assert result["findings"] == []
    assert "after 3 poll" in result["reason"]


def test_image_never_seen_times_out(api: FakeQualysApi) -> None:
    client = client_for(api)
    state = {"target": target_json(), "role_arn": ROLE, "poll": {"max_attempts": 2}}
    state = sensor_flow.schedule(client, sensor_flow.ensure_registry(client, state))
    state = sensor_flow.poll(client, sensor_flow.poll(client, state))
    assert (state["poll"]["status"], state["poll"]["image_sha"]) == ("timeout", None)


def test_failed_qualys_scan(api: FakeQualysApi) -> None:
    api.state.add_image(
        DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", polls=1, final_status="FAILED"
    )
    scanner = sensor_flow.QualysApiScanner(client_for(api), role_arn=ROLE, sleep=lambda _s: None)
    result = scanner.scan(ScanTarget.from_dict(target_json()))
    assert result.status == "failed"
    assert not result.complete
    assert result.reason == "Qualys reported the image scan as failed"


def test_scanner_end_to_end_sleeps_between_polls(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(3), polls=2)
    slept: list[float] = []
    scanner = sensor_flow.QualysApiScanner(
        client_for(api), role_arn=ROLE, poll_interval_seconds=5, sleep=slept.append
    )
    result = scanner.scan(ScanTarget.from_dict(target_json()))
    assert result.status == "success"
    assert len(result.findings) == 3
    assert slept == [5]  # one wait between the two polls
    assert result.duration_seconds is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"registry": "docker.io", "repository": "library/nginx"},
        {"digest": None},
        {"kind": "function", "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
    ],
)
def test_unsupported_targets(api: FakeQualysApi, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent):
        sensor_flow.ensure_registry(client_for(api), {"target": target_json(**changes)})


def test_schedule_before_the_registry_step_is_refused(api: FakeQualysApi) -> None:
    with pytest.raises(InvalidEvent, match="registry"):
        sensor_flow.schedule(client_for(api), {"target": target_json()})


def test_control_api_faults_over_http(api: FakeQualysApi) -> None:
    fault = {"path": "aws-base", "status": 429, "count": 1, "headers": {"X-RateLimit-ToWait-Sec": "2"}}
    assert requests.post(f"{api.url}/_control/faults", json=fault, timeout=5).status_code == 200
    client = client_for(api)
    assert client.aws_base().account_id
    assert client.slept == [2.0]  # type: ignore[attr-defined]


def test_real_read_timeout_is_retried(api: FakeQualysApi) -> None:
    api.state.inject(Fault(path="aws-base", delay=1.5))
    client = client_for(api, read_timeout=0.3)
    started = time.monotonic()
    assert client.aws_base().account_id
    assert time.monotonic() - started < 5
    assert len(api.state.calls("aws-base")) == 2


def test_fake_server_cli_prints_url_and_stops() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles.fake_qualys_api", "--port", "0", "--demo"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = QualysApiClient(
            QualysApiOptions(gateway_url=url, allow_insecure_loopback=True, access_token=DEFAULT_TOKEN)
        )
        found = client.find_image(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com", "demo/app", "sha256:" + "d" * 64
        )
        assert found is None  # the demo image appears only after a schedule
        state = requests.get(f"{url}/_control/state", timeout=5).json()
        assert len(state["images"]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


# ---------------------------------------------------------------- repoDigests matching (item 1)
def test_sensor_scan_matches_object_repo_digests_only_for_its_repository(api: FakeQualysApi) -> None:
    """Same manifest digest in another repository: not ours; ours is found through the object repoDigests."""
    api.state.add_image(
        DIGEST, registry=REGISTRY, repository="shop/other", tag="2.1", vulns=vulns(9), polls=1
    )
    ours = api.state.add_image(
        DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(2), polls=1
    )
    scanner = sensor_flow.QualysApiScanner(client_for(api), role_arn=ROLE, max_polls=3, sleep=lambda _s: None)
    result = scanner.scan(ScanTarget.from_dict(target_json()))
    assert (result.status, len(result.findings)) == ("success", 2)
    assert result.metadata["image_sha"] == ours


# ---------------------------------------------------------------- tags for digest-only targets (item 4)
def digest_only_state(**extra: Any) -> dict[str, Any]:
    return {
        "target": target_json(tag=None, image=f"{REGISTRY}/shop/api@{DIGEST}"),
        "role_arn": ROLE,
        **extra,
    }


def test_digest_only_target_uses_the_tag_the_caller_resolved(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", polls=1)
    client = client_for(api)
    state = sensor_flow.schedule(client, sensor_flow.ensure_registry(client, digest_only_state(tag="2.1")))
    assert state["schedule"]["tag"] == "2.1"
    assert api.state.schedules[0]["repos"] == [("shop/api", "2.1")]


def test_digest_only_target_uses_a_tag_qualys_knows(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", after_schedule=False)
    client = client_for(api)
    state = sensor_flow.schedule(client, sensor_flow.ensure_registry(client, digest_only_state()))
    assert state["schedule"]["tag"] == "2.1"


@pytest.mark.parametrize("known", [False, True])
def test_digest_only_target_without_any_tag_fails_permanently(api: FakeQualysApi, known: bool) -> None:
    if known:  # Qualys knows the digest, but only untagged
        api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag=None, after_schedule=False)
    client = client_for(api)
    state = sensor_flow.ensure_registry(client, digest_only_state())
    with pytest.raises(InvalidEvent, match="no tag") as info:
        sensor_flow.schedule(client, state)
    assert not isinstance(info.value, TransientError)
    assert api.state.calls("/schedule$") == []  # never an empty tag on the wire


def test_invalid_tag_in_the_state_is_rejected(api: FakeQualysApi) -> None:
    client = client_for(api)
    state = sensor_flow.ensure_registry(client, digest_only_state(tag="bad tag"))
    with pytest.raises(InvalidEvent, match="not a valid image tag"):
        sensor_flow.schedule(client, state)


# ---------------------------------------------------------------- never a false clean (items 2, 3)
def finished_state(api: FakeQualysApi, client: QualysApiClient, n: int = 3) -> dict[str, Any]:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(n), polls=1)
    state = sensor_flow.schedule(
        client, sensor_flow.ensure_registry(client, {"target": target_json(), "role_arn": ROLE})
    )
    state = roundtrip(sensor_flow.poll(client, state))
    assert (state["poll"]["done"], state["poll"]["status"]) == (True, "success")
    return state


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (204, ""),
        (200, json.dumps({"vulnSummary": {"severity5Count": 1}})),
        (200, json.dumps({"details": [], "vulnSummary": {"severity5Count": 1}})),
    ],
)
def test_fetch_of_an_incomplete_report_raises_with_the_state_untouched(
    api: FakeQualysApi, status: int, body: str
) -> None:
    """What Step Functions sees: the fetch fails with QualysIncompleteScan, retried from the same input."""
    client = client_for(api)
    state = finished_state(api, client)
    api.state.inject(Fault(path="/vuln$", status=status, body=body, count=99))
    before = json.dumps(state, sort_keys=True)
    with pytest.raises(QualysIncompleteScan) as info:
        sensor_flow.build_result(client, state)
    assert isinstance(info.value, TransientError)
    assert json.dumps(state, sort_keys=True) == before  # the retry re-runs fetch from the same input


def test_fetch_recovers_when_the_report_completes(api: FakeQualysApi) -> None:
    client = client_for(api)
    state = finished_state(api, client, n=4)
    api.state.inject(Fault(path="/vuln$", status=204, count=1))
    with pytest.raises(QualysIncompleteScan):
        sensor_flow.build_result(client, state)
    result = sensor_flow.build_result(client, state)  # the Step Functions retry
    assert (result.status, len(result.findings)) == ("success", 4)


def test_scanner_never_returns_a_false_clean(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(3), polls=1)
    api.state.inject(Fault(path="/vuln$", status=204, count=99))
    slept: list[float] = []
    scanner = sensor_flow.QualysApiScanner(
        client_for(api), role_arn=ROLE, poll_interval_seconds=7, fetch_attempts=3, sleep=slept.append
    )
    result = scanner.scan(ScanTarget.from_dict(target_json()))
    assert result.status == "failed"
    assert not result.complete  # the pipeline raises ScanFailed: retried, notified, never cached as clean
    assert result.reason is not None
    assert "incomplete Qualys report after 3 attempt(s)" in result.reason
    assert "204" in result.reason
    assert len(api.state.calls("/vuln$")) == 3
    assert slept == [7, 7]
    jsonschema.validate(result.to_dict(), SCHEMA)


def test_scanner_malformed_report_is_failed(api: FakeQualysApi) -> None:
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", polls=1)
    api.state.inject(Fault(path="/vuln$", status=200, body='{"details": "nope"}', count=99))
    scanner = sensor_flow.QualysApiScanner(client_for(api), role_arn=ROLE, sleep=lambda _s: None)
    result = scanner.scan(ScanTarget.from_dict(target_json()))
    assert (result.status, result.complete) == ("failed", False)
    assert "unusable Qualys report" in (result.reason or "")


# ---------------------------------------------------------------- POST retries on a real socket (item 5)
def test_post_over_a_dropped_connection_is_not_retried(api: FakeQualysApi) -> None:
    api.state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", error="disconnected"))
    client = client_for(api)
    with pytest.raises(QualysUnavailable, match="after 1 attempt"):
        sensor_flow.ensure_registry(client, {"target": target_json(), "role_arn": ROLE})
    assert len(api.state.calls("^/csapi/v1.3/registry$", "POST")) == 1
    # The platform retries the step: it finds the registry the lost answer created; no duplicate.
    state = sensor_flow.ensure_registry(client, {"target": target_json(), "role_arn": ROLE})
    assert state["registry"]["uuid"] in api.state.registries
    assert len(api.state.registries) == 1
    assert len(api.state.calls("^/csapi/v1.3/registry$", "POST")) == 1


def test_post_to_a_refused_port_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slept: list[float] = []
    client = QualysApiClient(
        QualysApiOptions(
            gateway_url=f"http://127.0.0.1:{port}",
            allow_insecure_loopback=True,
            access_token=DEFAULT_TOKEN,
            max_attempts=3,
            backoff_base_seconds=0.01,
        ),
        sleep=slept.append,
    )
    with pytest.raises(QualysUnavailable, match="ConnectionError after 3 attempt"):
        client.create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert len(slept) == 2


def test_real_requests_errors_are_classified(api: FakeQualysApi) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"http://127.0.0.1:{port}/x", json={}, timeout=2)
    assert never_reached_server(refused.value)
    for error in ("disconnected", "reset", "chunked"):
        api.state.inject(Fault(path="aws-base", error=error))
        with pytest.raises(requests.RequestException) as sent:
            requests.get(f"{api.url}/csapi/v1.3/registry/aws-base", timeout=2)
        assert not never_reached_server(sent.value), error


# ---------------------------------------------------------------- CLI against the fake server
@pytest.fixture
def cli_env(monkeypatch: Any) -> None:
    for name in (
        "QSCAN_QUALYS_SECRET_ARN",
        "QSCAN_QUALYS_SECRET_URI",
        "QUALYS_GATEWAY_URL",
        "QUALYS_USERNAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QSCAN_CLOUD", "aws")
    monkeypatch.setenv("QUALYS_POD", "US1")
    monkeypatch.setenv("QUALYS_ACCESS_TOKEN", DEFAULT_TOKEN)


def test_cli_qualys_info_and_registries(api: FakeQualysApi, cli_env: None, capsys: Any) -> None:
    api.state.add_registry(f"https://{REGISTRY}")
    flags = ["--gateway-url", api.url, "--allow-insecure-loopback"]
    assert main(["qualys", "info", *flags]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {
        "gateway": api.url,
        "account_id": "805950163170",
        "external_id": api.state.aws_base["externalId"],
    }
    assert main(["qualys", "registries", *flags]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["uri"] for line in lines] == [f"https://{REGISTRY}"]
    # Plain http without the explicit opt-in is a configuration error, not a silent downgrade.
    assert main(["qualys", "info", "--gateway-url", api.url]) == 2
    assert "https" in capsys.readouterr().err


def test_cli_scan_with_qualys_api_backend(
    api: FakeQualysApi, cli_env: None, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("QSCAN_SCANNER_BACKEND", "qualys-api")
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(2), polls=1)
    ref = f"{REGISTRY}/shop/api:2.1@{DIGEST}"
    flags = [
        "--gateway-url",
        api.url,
        "--allow-insecure-loopback",
        "--role-arn",
        ROLE,
        "--poll-interval",
        "1",
    ]
    assert main(["scan", ref, *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["backend"], out["status"], len(out["findings"])) == ("qualys-api", "success", 2)
    assert [r["aws"]["accountType"] for r in api.state.registries.values()] == ["Global"]
    api.state.inject(Fault(path="aws-base", status=500, count=99))
    assert (
        main(["qualys", "info", "--gateway-url", api.url, "--allow-insecure-loopback", "--api-timeout", "2"])
        == 1
    )


def test_cli_scan_account_type_and_tag(
    api: FakeQualysApi, cli_env: None, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("QSCAN_SCANNER_BACKEND", "qualys-api")
    flags = [
        "--gateway-url",
        api.url,
        "--allow-insecure-loopback",
        "--role-arn",
        ROLE,
        "--poll-interval",
        "1",
    ]
    # A commercial registry under US_Gov is a configuration error (exit 2), before anything is registered.
    monkeypatch.setenv("QSCAN_QUALYS_ACCOUNT_TYPE", "US_Gov")
    assert main(["scan", f"{REGISTRY}/shop/api:2.1@{DIGEST}", *flags]) == 2
    assert "QSCAN_QUALYS_ACCOUNT_TYPE" in capsys.readouterr().err
    assert api.state.registries == {}
    monkeypatch.setenv("QSCAN_QUALYS_ACCOUNT_TYPE", "Private")
    assert main(["scan", f"{REGISTRY}/shop/api:2.1@{DIGEST}", *flags]) == 2
    assert "QSCAN_QUALYS_ACCOUNT_TYPE must be one of Global, US_Gov" in capsys.readouterr().err
    # --account-type wins over the setting; a digest-only reference scans with --tag.
    api.state.add_image(DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(1), polls=1)
    monkeypatch.setenv("QSCAN_QUALYS_ACCOUNT_TYPE", "US_Gov")
    digest_only = f"{REGISTRY}/shop/api@{DIGEST}"
    assert main(["scan", digest_only, *flags, "--account-type", "Global", "--tag", "2.1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["metadata"]["schedule_tag"]) == ("success", "2.1")
    # Without a tag anywhere the scan is invalid input (exit 2), never a schedule with an empty tag.
    api.state.add_image("sha256:" + "e" * 64, registry=REGISTRY, repository="shop/api", tag=None, polls=1)
    assert main(["scan", f"{REGISTRY}/shop/api@sha256:{'e' * 64}", *flags, "--account-type", "Global"]) == 2
    assert "no tag" in capsys.readouterr().err
    assert all(tag for schedule in api.state.schedules for _repo, tag in schedule["repos"])
