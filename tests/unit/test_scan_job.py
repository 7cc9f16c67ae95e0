"""qscan.azure.scan_job without Azure: job names, the job-check message (strict, untrusted), the job's
environment (secrets only as secure values), the container group it asks ARM for, the aci-job settings and
the job entry point's input checks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from qscan.azure.scan_job import (
    EXIT_FAILED,
    JOB_COMMAND,
    OWNER_ENV,
    TARGET_ENV,
    JobCheck,
    ScanJobs,
    is_check,
    job_environment,
    job_name,
    main,
    parse_check,
    parse_target,
)
from qscan.config import Settings
from qscan.errors import ConfigError, InvalidEvent, TransientError
from qscan.registry.credentials import RegistryCredential
from qscan.secrets import QualysSecret
from qscan.target import ScanTarget

SUB = "00000000-0000-0000-0000-0000000000c3"
DIGEST = "sha256:" + "a" * 64
KEY = f"image#{DIGEST}"
TOKEN = "qualys-token-" + "t" * 40
IDENTITY = f"/subscriptions/{SUB}/resourceGroups/qscan/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
JOB_SETTINGS = {
    "QSCAN_CLOUD": "azure",
    "QSCAN_AZURE_SCAN_MODE": "aci-job",
    "QSCAN_SCAN_JOB_IMAGE": "qscanreg.azurecr.io/qscan/scan-job:1.0",
    "QSCAN_SCAN_JOB_RESOURCE_GROUP_ID": f"/subscriptions/{SUB}/resourceGroups/qscan",
    "QSCAN_SCAN_JOB_IDENTITY_ID": IDENTITY,
    "QSCAN_SCAN_JOB_LOCATION": "westeurope",
    "QSCAN_STORAGE_ACCOUNT_URL": "https://stqscan.blob.core.windows.net",
    "QSCAN_DEDUPE_TABLE_NAME": "qscandedupe",
    "QSCAN_RESULTS_CONTAINER": "results",
    "QSCAN_SCAN_QUEUE_NAME": "qscan-scan",
}


def target() -> ScanTarget:
    return ScanTarget(
        kind="image",
        platform="aci",
        image=f"myreg.azurecr.io/team/app@{DIGEST}",
        registry="myreg.azurecr.io",
        repository="team/app",
        digest=DIGEST,
    )


def check_body(**changes: Any) -> dict[str, Any]:
    name = job_name("m", KEY)
    body: dict[str, Any] = {"name": name, "key": KEY, "owner": name, "deadline": 1_800_000_000}
    body.update(changes)
    return {"qscan_job": body}


def test_job_names_are_stable_distinct_and_valid_aci_names() -> None:
    name = job_name("message-1", KEY)
    assert name == job_name("message-1", KEY)  # a redelivery names the same job (and claim owner)
    assert name != job_name("message-2", KEY)
    assert name != job_name("message-1", "image#sha256:" + "b" * 64)  # one job per image of an event
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name) and len(name) <= 63


def test_a_job_check_round_trips() -> None:
    check = JobCheck(name=job_name("m", KEY), key=KEY, owner=job_name("m", KEY), deadline=1_800_000_000)
    message = json.loads(check.body())
    assert is_check(message)
    assert parse_check(message) == check


@pytest.mark.parametrize(
    "message",
    [
        {"qscan_job": check_body()["qscan_job"], "extra": 1},
        {"qscan_job": {**check_body()["qscan_job"], "image": "x"}},
        {"qscan_job": {k: v for k, v in check_body()["qscan_job"].items() if k != "deadline"}},
        check_body(name="qscan-job-NOT-HEX"),
        check_body(name="other-group"),
        check_body(owner="someone-else"),
        check_body(key="lambda#arn"),
        check_body(deadline="1800000000"),
        check_body(deadline=True),
        check_body(deadline=-5),
        {"qscan_job": "name"},
    ],
)
def test_a_malformed_job_check_is_rejected(message: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent):
        parse_check(message)


def test_an_event_grid_event_is_not_a_check() -> None:
    assert not is_check({"id": "1", "eventType": "Microsoft.Resources.ResourceWriteSuccess"})
    assert not is_check([{"qscan_job": {}}])


def test_the_job_environment_carries_secrets_only_as_secure_values() -> None:
    settings = Settings.from_env(JOB_SETTINGS)
    env = job_environment(
        settings,
        target(),
        job_name("m", KEY),
        secret=QualysSecret(pod="US2", gateway_url=None, access_token=TOKEN),
        registry=RegistryCredential("robot", "registry-secret-value"),
        client_id="11111111-2222-3333-4444-555555555555",
    )
    secure = {name for name, _, is_secure in env if is_secure}
    assert secure == {"QUALYS_ACCESS_TOKEN", "QSCANNER_REGISTRY_USERNAME", "QSCANNER_REGISTRY_PASSWORD"}
    plain = {name: value for name, value, is_secure in env if not is_secure}
    assert TOKEN not in json.dumps(plain) and "registry-secret-value" not in json.dumps(plain)
    assert ScanTarget.from_dict(json.loads(plain[TARGET_ENV])) == target()
    assert plain[OWNER_ENV] == job_name("m", KEY)
    assert plain["QUALYS_POD"] == "US2" and plain["AZURE_CLIENT_ID"].startswith("1111")
    assert plain["QSCAN_STORAGE_ACCOUNT_URL"] == "https://stqscan.blob.core.windows.net"
    assert "QSCAN_AZURE_SCAN_MODE" not in plain  # the job scans itself: it never starts jobs
    # The job's own settings parse back (it reads them with Settings.from_env).
    assert Settings.from_env(plain).dedupe_table_name == "qscandedupe"


def test_the_job_environment_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="access_token"):
        job_environment(
            Settings.from_env(JOB_SETTINGS),
            target(),
            "o",
            secret=QualysSecret(pod="US2", gateway_url=None, username="u", password="p"),
            registry=None,
            client_id=None,
        )


def test_the_group_runs_the_job_once_as_the_identity_tagged_as_qscan_own() -> None:
    jobs = ScanJobs(
        Settings.from_env(JOB_SETTINGS), credential=object(), storage_credential=object(), queue=[]
    )
    group = jobs.group("qscan-job-x", [("A", "1", False), ("QUALYS_ACCESS_TOKEN", TOKEN, True)])
    wire = group.serialize()
    assert wire["tags"] == {"qscan:component": "scan-job"}
    assert wire["properties"]["restartPolicy"] == "Never"
    assert wire["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}}
    [container] = wire["properties"]["containers"]
    assert container["properties"]["command"] == list(JOB_COMMAND)
    assert container["properties"]["resources"]["requests"] == {"memoryInGB": 4.0, "cpu": 2.0}
    assert container["properties"]["environmentVariables"] == [
        {"name": "A", "value": "1"},
        {"name": "QUALYS_ACCESS_TOKEN", "secureValue": TOKEN},
    ]
    # The job image is in ACR: pulled with the identity, no registry password in the group.
    assert wire["properties"]["imageRegistryCredentials"] == [
        {"server": "qscanreg.azurecr.io", "identity": IDENTITY}
    ]


def test_scan_jobs_need_their_settings() -> None:
    settings = {k: v for k, v in JOB_SETTINGS.items() if k != "QSCAN_SCAN_JOB_IMAGE"}
    with pytest.raises(ConfigError, match="QSCAN_SCAN_JOB_IMAGE"):
        ScanJobs(Settings.from_env(settings), credential=object(), storage_credential=object(), queue=[])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QSCAN_AZURE_SCAN_MODE", "container"),
        ("QSCAN_SCAN_JOB_CPU", "0"),
        ("QSCAN_SCAN_JOB_CPU", "5"),
        ("QSCAN_SCAN_JOB_MEMORY_GB", "17"),
        ("QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS", "0"),
        ("QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS", "3601"),
        ("QSCAN_SCAN_JOB_RESOURCE_GROUP_ID", "/subscriptions/x/resourceGroups/rg"),
        ("QSCAN_SCAN_JOB_IDENTITY_ID", f"/subscriptions/{SUB}/resourceGroups/rg"),
        ("QSCAN_SCAN_JOB_LOCATION", "West Europe"),
        ("QSCAN_SCAN_JOB_IMAGE", "scan-job latest"),
        ("QSCAN_SCAN_QUEUE_NAME", "Scan_Queue"),
    ],
)
def test_aci_job_settings_are_validated(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**JOB_SETTINGS, name: value})


def test_aci_job_settings_defaults() -> None:
    settings = Settings.from_env({"QSCAN_CLOUD": "azure"})
    assert settings.azure_scan_mode == "function"
    assert (settings.scan_job_cpu, settings.scan_job_memory_gb, settings.scan_job_check_delay_seconds) == (
        2,
        4,
        60,
    )


@pytest.mark.parametrize(
    "text",
    [
        None,
        "not json",
        json.dumps({**target().to_dict(), "digest": None, "dedupe_key": None, "lookup": "image_digest"}),
        json.dumps({**target().to_dict(), "unknown": "x"}),
        json.dumps(
            ScanTarget(kind="function", platform="lambda", function_arn="arn", code_sha256="x").to_dict()
        ),
        "x" * 9000,
    ],
)
def test_the_job_rejects_a_target_that_is_not_a_resolved_image(text: str | None) -> None:
    with pytest.raises(InvalidEvent):
        parse_target(text)


def test_the_job_exits_2_on_invalid_input_without_building_anything() -> None:
    env = {"QSCAN_CLOUD": "azure", TARGET_ENV: json.dumps(target().to_dict()), OWNER_ENV: "not-a-job"}
    assert main(env) == 2
    assert main({"QSCAN_CLOUD": "azure", OWNER_ENV: job_name("m", KEY)}) == 2


class _Groups:
    """container_groups stand-in whose PUT answers `status`."""

    def __init__(self, status: int) -> None:
        self.status = status

    def begin_create_or_update(self, *_args: Any, **_kwargs: Any) -> Any:
        error = HttpResponseError(message="injected")
        error.status_code = self.status
        raise error


class _Pipeline:
    lease_seconds = 720

    def __init__(self) -> None:
        self.released: list[tuple[str, str]] = []

    def release(self, key: str, owner: str) -> None:
        self.released.append((key, owner))


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (500, TransientError, "HTTP 500"),
        (403, ConfigError, "scan-job role"),
        (404, ConfigError, "names no resource group"),
    ],
)
def test_a_refused_put_releases_the_claim_and_queues_no_check(
    monkeypatch: pytest.MonkeyPatch, status: int, error: type[Exception], message: str
) -> None:
    queue: list[Any] = []
    jobs = ScanJobs(
        Settings.from_env(JOB_SETTINGS), credential=object(), storage_credential=object(), queue=queue
    )
    monkeypatch.setattr(jobs, "_groups", lambda: _Groups(status))
    pipeline = _Pipeline()
    name = job_name("m", KEY)
    with pytest.raises(error, match=message):
        jobs.start(
            target(), name, pipeline, QualysSecret(pod="US2", gateway_url=None, access_token=TOKEN), None
        )  # type: ignore[arg-type]
    assert pipeline.released == [(KEY, name)]
    assert queue == []


def test_a_secret_without_a_token_releases_the_claim() -> None:
    jobs = ScanJobs(
        Settings.from_env(JOB_SETTINGS), credential=object(), storage_credential=object(), queue=[]
    )
    pipeline = _Pipeline()
    secret = QualysSecret(pod="US2", gateway_url=None, username="u", password="p")
    with pytest.raises(ConfigError):
        jobs.start(target(), "qscan-job-x", pipeline, secret, None)  # type: ignore[arg-type]
    assert pipeline.released == [(KEY, "qscan-job-x")]


def test_a_job_that_cannot_build_its_pipeline_exits_3_for_the_check_to_record() -> None:
    env = {"QSCAN_CLOUD": "azure", TARGET_ENV: json.dumps(target().to_dict()), OWNER_ENV: job_name("m", KEY)}
    assert main(env, credential=object()) == EXIT_FAILED  # no storage settings: nothing recorded
