"""The registry-sensor flow over real HTTP against the fake Qualys API server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
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
from qscan.errors import ConfigError, InvalidEvent
from qscan.scanners import sensor_flow
from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions, QualysUnavailable
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
    sha = api.state.add_image(
        DIGEST, registry=REGISTRY, repository="shop/api", tag="2.1", vulns=vulns(7), polls=3
    )
    client = client_for(api, page_size=2)
    state: dict[str, Any] = {"target": target_json(), "role_arn": ROLE, "poll": {"max_attempts": 10}}
    state = roundtrip(sensor_flow.run_step(client, {"step": "ensure_registry", **state}))
    assert state["registry"]["uri"] == f"https://{REGISTRY}"
    assert len(api.state.calls("^/csapi/v1.3/registry$", "POST")) == 1
    state = roundtrip(sensor_flow.run_step(client, {"step": "schedule", **state}))
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
        state = roundtrip(sensor_flow.run_step(client, {"step": "poll", **state}))
        statuses.append(state["poll"]["status"])
    assert statuses == ["running", "running", "success"]
    assert state["poll"]["image_sha"] == sha
    state = roundtrip(sensor_flow.run_step(client, {"step": "fetch", **state}))
    result = state["result"]
    assert result["status"] == "success"
    jsonschema.validate(result, SCHEMA)
    assert result["backend"] == "qualys-api"
    assert len(result["findings"]) == 7
    assert result["counts"] == {"critical": 1, "high": 1, "medium": 1, "low": 2, "info": 2}
    assert result["metadata"]["qualys_vuln_counts"] == result["counts"]
    assert [c.query["pageNumber"][0] for c in api.state.calls("/vuln$")] == ["1", "2", "3", "4"]


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
    result = sensor_flow.fetch(client, state)["result"]
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


def test_bad_step_events(api: FakeQualysApi) -> None:
    with pytest.raises(InvalidEvent, match="step"):
        sensor_flow.run_step(client_for(api), {"step": "explode", "target": target_json()})
    with pytest.raises(InvalidEvent, match="registry"):
        sensor_flow.run_step(client_for(api), {"step": "schedule", "target": target_json()})


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
        sha = client.find_image_by_repo_digest("sha256:" + "d" * 64)
        assert sha is None  # the demo image appears only after a schedule
        state = requests.get(f"{url}/_control/state", timeout=5).json()
        assert len(state["images"]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


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
    api.state.inject(Fault(path="aws-base", status=500, count=99))
    assert (
        main(["qualys", "info", "--gateway-url", api.url, "--allow-insecure-loopback", "--api-timeout", "2"])
        == 1
    )
