"""handlers/azure/function_app.py without Azure: the functions the worker indexes (triggers, queue name setting,
connections, cardinality, retry policy), host.json, how each trigger hands its input to the handler, the lazy
cold start, and the handler's pieces that need no storage (body decoding, attempts, the staged qscanner binary,
the table endpoint, the settings it refuses). The scan paths against Azurite are
tests/integration/test_function_app_azurite.py's."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage as BindingQueueMessage
from qscan.azure.handler import (
    AzureScanHandler,
    _attempt,
    decode_queue_body,
    stage_executable,
    table_url,
)
from qscan.config import Settings
from qscan.errors import ConfigError, InvalidEvent

APP_DIR = Path(__file__).resolve().parents[2] / "handlers" / "azure"
EVENT = {
    "id": "5b1c6f2e-0000-4000-8000-000000000001",
    "eventType": "Microsoft.Resources.ResourceWriteSuccess",
    "subject": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/app"
    "/providers/Microsoft.ContainerInstance/containerGroups/shop",
    "data": {"operationName": "Microsoft.ContainerInstance/containerGroups/write", "status": "Succeeded"},
}


def load_app(monkeypatch: pytest.MonkeyPatch, *, event_hub: bool) -> ModuleType:
    """Import function_app.py fresh, as the worker indexes it (with or without the Event Hub setting)."""
    if event_hub:
        monkeypatch.setenv("QSCAN_ACTIVITY_LOG_HUB_NAME", "activity-log")
    else:
        monkeypatch.delenv("QSCAN_ACTIVITY_LOG_HUB_NAME", raising=False)
    name = f"qscan_function_app_{'eh' if event_hub else 'queue'}"
    spec = importlib.util.spec_from_file_location(name, APP_DIR / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def functions(module: ModuleType) -> dict[str, Any]:
    return {f.get_function_name(): f for f in module.app.get_functions()}


def binding(function: Any) -> dict[str, Any]:
    (only,) = json.loads(function.get_function_json())["bindings"]
    return dict(only)


# ---------------------------------------------------------------------------------------------- indexing


def test_queue_trigger_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    found = functions(load_app(monkeypatch, event_hub=False))
    assert set(found) == {"scan_queue"}  # the Event Hub function exists only with its setting
    assert binding(found["scan_queue"]) == {
        "direction": "IN",
        "type": "queueTrigger",
        "name": "msg",
        "queueName": "%QSCAN_SCAN_QUEUE_NAME%",
        "connection": "QSCAN_STORAGE",
    }
    assert found["scan_queue"].get_settings_dict("retry_policy") is None  # the queue retries itself


def test_event_hub_trigger_binding_and_retry_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    found = functions(load_app(monkeypatch, event_hub=True))
    assert set(found) == {"scan_queue", "activity_log"}
    assert binding(found["activity_log"]) == {
        "direction": "IN",
        "type": "eventHubTrigger",
        "name": "events",
        "connection": "QSCAN_ACTIVITY_LOG",
        "eventHubName": "%QSCAN_ACTIVITY_LOG_HUB_NAME%",
        "cardinality": "MANY",
        "consumerGroup": "%QSCAN_ACTIVITY_LOG_CONSUMER_GROUP%",
    }
    assert found["activity_log"].get_settings_dict("retry_policy") == {
        "setting_name": "retry_policy",
        "strategy": "exponential_backoff",
        "max_retry_count": "5",
        "minimum_interval": "00:00:10",
        "maximum_interval": "00:15:00",
    }


def test_import_is_lean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexing needs azure.functions only: no handler, no SDK client, no credential."""
    for name in [m for m in sys.modules if m.startswith(("qscan.azure.handler", "azure.identity"))]:
        monkeypatch.delitem(sys.modules, name)
    module = load_app(monkeypatch, event_hub=True)
    assert module._handler is None
    assert "qscan.azure.handler" not in sys.modules
    assert "azure.identity" not in sys.modules


# ---------------------------------------------------------------------------------------------- host.json


def test_host_json_queue_settings_are_the_module_defaults() -> None:
    host = json.loads((APP_DIR / "host.json").read_text())
    assert host["version"] == "2.0"
    queues = host["extensions"]["queues"]
    assert queues == {
        "batchSize": 4,
        "newBatchThreshold": 0,  # at most batchSize scans per instance
        "maxDequeueCount": 5,
        "visibilityTimeout": "00:01:00",
        "messageEncoding": "none",  # the body reaches the handler as sent: JSON or base64, tried in that order
    }
    assert host["functionTimeout"] == "00:12:00"  # QSCAN_SCAN_TIMEOUT_SECONDS' 600 s + 2 min
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["logging"]["applicationInsights"]["samplingSettings"]["isEnabled"] is False


def test_max_dequeue_count_follows_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_app(monkeypatch, event_hub=False)
    monkeypatch.delenv(module.MAX_DEQUEUE_OVERRIDE, raising=False)
    assert module.max_dequeue_count() == 5
    monkeypatch.setenv(module.MAX_DEQUEUE_OVERRIDE, "8")  # the module's app-setting override of host.json
    assert module.max_dequeue_count() == 8


# ---------------------------------------------------------------------------------------------- the triggers


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def handle_queue(self, body: bytes, **kwargs: Any) -> None:
        self.calls.append(("queue", body, kwargs))

    def handle_event_hub(self, bodies: list[bytes], **kwargs: Any) -> None:
        self.calls.append(("event_hub", bodies, kwargs))


def test_queue_function_passes_body_id_and_dequeue_count(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_app(monkeypatch, event_hub=False)
    monkeypatch.delenv(module.MAX_DEQUEUE_OVERRIDE, raising=False)
    recorder = Recorder()
    monkeypatch.setattr(module, "_handler", recorder)
    user = functions(module)["scan_queue"].get_user_function()
    body = json.dumps(EVENT).encode()
    user(BindingQueueMessage(id="m-1", body=body, dequeue_count=3))
    user(func.QueueMessage(id="m-2", body=body))  # no dequeue count: the first attempt
    assert recorder.calls == [
        ("queue", body, {"message_id": "m-1", "dequeue_count": 3, "max_dequeue_count": 5}),
        ("queue", body, {"message_id": "m-2", "dequeue_count": None, "max_dequeue_count": 5}),
    ]


def test_event_hub_function_passes_bodies_and_retry_context(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_app(monkeypatch, event_hub=True)
    recorder = Recorder()
    monkeypatch.setattr(module, "_handler", recorder)
    user = functions(module)["activity_log"].get_user_function()
    events = [func.EventHubEvent(body=b'{"records": []}'), func.EventHubEvent(body=b'{"records": [{}]}')]
    user(events, SimpleNamespace(retry_context=SimpleNamespace(retry_count=2, max_retry_count=5)))
    user(events[:1], SimpleNamespace(retry_context=None))
    assert recorder.calls == [
        ("event_hub", [b'{"records": []}', b'{"records": [{}]}'], {"retry_count": 2, "max_retry_count": 5}),
        ("event_hub", [b'{"records": []}'], {"retry_count": 0, "max_retry_count": 5}),
    ]


def test_cold_start_failure_is_logged_raised_and_tried_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = load_app(monkeypatch, event_hub=False)
    monkeypatch.setenv("QSCAN_CLOUD", "aws")
    user = functions(module)["scan_queue"].get_user_function()
    with caplog.at_level(logging.CRITICAL), pytest.raises(ConfigError, match="QSCAN_CLOUD must be azure"):
        user(func.QueueMessage(id="m-1", body=json.dumps(EVENT).encode()))
    assert any("cold start failed" in r.getMessage() for r in caplog.records)
    assert module._handler is None  # not cached: the next invocation builds it again
    with pytest.raises(ConfigError):
        user(func.QueueMessage(id="m-1", body=json.dumps(EVENT).encode()))


# ---------------------------------------------------------------------------------------------- handler pieces


def test_queue_body_json_or_base64() -> None:
    text = json.dumps(EVENT).encode()
    assert decode_queue_body(text) == EVENT
    assert decode_queue_body(base64.b64encode(text)) == EVENT
    assert decode_queue_body(base64.b64encode(text) + b"\n") == EVENT
    with pytest.raises(InvalidEvent, match="neither JSON nor base64"):
        decode_queue_body(b"not json, not base64!")
    with pytest.raises(InvalidEvent, match="base64 queue message is not UTF-8 JSON"):
        decode_queue_body(base64.b64encode(b"\xff\xfe plain"))
    with pytest.raises(InvalidEvent, match="larger than"):
        decode_queue_body(b" " * (200 * 1024))


def test_attempts() -> None:
    first = _attempt(0, 4)  # dequeue count 1 of maxDequeueCount 5
    assert (first.number, first.of, first.last, first.fail_fast) == (1, 5, False, True)
    assert _attempt(4, 4).last
    assert _attempt(9, 4).number == 5  # never beyond the last
    assert _attempt(0, 0).last  # no retry policy: the only attempt


def test_staged_qscanner_is_executable_outside_the_read_only_package(tmp_path: Path) -> None:
    package = tmp_path / "wwwroot" / "bin"
    package.mkdir(parents=True)
    shipped = package / "qscanner"
    shipped.write_text("#!/bin/sh\necho staged-ok\n")
    shipped.chmod(0o444)  # zip deploy: no exec bit; the app root is read-only
    package.chmod(0o555)
    try:
        staged = stage_executable(str(shipped), str(tmp_path / "tmp" / "bin"))
        again = stage_executable(str(shipped), str(tmp_path / "tmp" / "bin"))  # a second worker process
    finally:
        package.chmod(0o755)
    assert staged == again == str(tmp_path / "tmp" / "bin" / "qscanner")
    assert stat.S_IMODE(os.stat(staged).st_mode) == 0o700
    assert os.listdir(tmp_path / "tmp" / "bin") == ["qscanner"]  # no partial copies left behind
    assert subprocess.run([staged], capture_output=True, text=True, check=True).stdout == "staged-ok\n"
    with pytest.raises(ConfigError, match="QSCANNER_PATH"):
        stage_executable(str(tmp_path / "missing"), str(tmp_path / "tmp" / "bin"))


def test_table_url_from_the_blob_endpoint() -> None:
    blob = Settings(cloud="azure", storage_account_url="https://stqscan.blob.core.windows.net")
    assert table_url(blob) == "https://stqscan.table.core.windows.net"
    explicit = Settings(
        cloud="azure",
        storage_account_url="http://127.0.0.1:10000/devstoreaccount1",
        storage_table_url="http://127.0.0.1:10002/devstoreaccount1",
    )
    assert table_url(explicit) == "http://127.0.0.1:10002/devstoreaccount1"
    with pytest.raises(ConfigError, match="QSCAN_STORAGE_TABLE_URL is required"):
        table_url(Settings(cloud="azure", storage_account_url="http://127.0.0.1:10000/devstoreaccount1"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(cloud="aws"), "QSCAN_CLOUD must be azure"),
        (Settings(cloud="azure", scanner_backend="qualys-api"), "QSCAN_SCANNER_BACKEND must be qscanner"),
        (Settings(cloud="azure"), "QSCAN_STORAGE_ACCOUNT_URL is required"),
    ],
)
def test_handler_refuses_settings(settings: Settings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AzureScanHandler(settings, credential=object())


# ---------------------------------------------------------------------------------------------- cold start


TOKEN = "kv-qualys-token-" + "k" * 32
SECRET_URI = "https://kv-qscan.vault.azure.net/secrets/qualys"


class Identity:
    """A managed identity stand-in (never asked here: building the clients sends nothing)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError(f"no token is needed to build the handler ({scopes})")


class Vault:
    """A Key Vault SecretClient stand-in: the secret JSON it holds, and the vaults it was asked for."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.vaults: list[str] = []
        self.registries: dict[str, Any] = {}  # the registry-credentials secret's JSON
        self.reads: list[str] = []

    def client(self, vault_url: str) -> Any:
        self.vaults.append(vault_url)
        return self

    def get_secret(self, name: str, version: str | None) -> Any:
        assert version is None and name in ("qualys", "registries")
        self.reads.append(name)
        if name == "registries":
            return SimpleNamespace(value=json.dumps(self.registries))
        return SimpleNamespace(value=json.dumps({"pod": "US2", "access_token": self.token}))


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[AzureScanHandler, Vault]:
    """A handler built offline: clients are created, nothing is called (the Key Vault is a stand-in)."""
    from qscan.secrets import clear_cache  # noqa: PLC0415

    clear_cache()
    shipped = tmp_path / "qscanner"
    shipped.write_text("#!/bin/sh\nexit 0\n")
    shipped.chmod(0o444)
    vault = Vault(TOKEN)
    settings = Settings.from_env(
        {
            "QSCAN_CLOUD": "azure",
            "QSCANNER_PATH": str(shipped),
            "QSCAN_STORAGE_ACCOUNT_URL": "https://stqscan.blob.core.windows.net",
            "QSCAN_DEDUPE_TABLE_NAME": "qscandedupe",
            "QSCAN_RESULTS_CONTAINER": "results",
            "QSCAN_EVENTGRID_TOPIC_ENDPOINT": "https://qscan.westeurope-1.eventgrid.azure.net/api/events",
            "QSCAN_QUALYS_SECRET_URI": SECRET_URI,
        }
    )
    handler = AzureScanHandler(
        settings, credential=Identity(), key_vault_client=vault.client, temp_dir=str(tmp_path / "tmp")
    )
    yield handler, vault
    clear_cache()


def test_cold_start_reads_the_qualys_secret_from_key_vault(built: tuple[AzureScanHandler, Vault]) -> None:
    handler, vault = built
    assert vault.vaults == ["https://kv-qscan.vault.azure.net"]
    assert (handler.secret.pod, handler.secret.access_token) == ("US2", TOKEN)
    assert handler.executable == str(Path(handler.base) / "bin" / "qscanner")
    assert os.access(handler.executable, os.X_OK)
    assert TOKEN not in repr(handler.secret)


def test_a_rotated_token_rebuilds_the_runner(built: tuple[AzureScanHandler, Vault]) -> None:
    from qscan.secrets import clear_cache  # noqa: PLC0415

    handler, vault = built
    before = handler.pipeline.scanner
    assert handler.current_pipeline().scanner is before  # cached secret, unchanged: same runner
    vault.token = "kv-rotated-token-" + "r" * 32
    clear_cache()  # what the 15-minute cache expiry does
    assert handler.current_pipeline().scanner is not before
    assert handler.secret.access_token == vault.token


def test_registry_credentials_reach_qscanner_for_that_registry_only(
    built: tuple[AzureScanHandler, Vault],
) -> None:
    from qscan.azure.acr import AcrCredentials  # noqa: PLC0415
    from qscan.registry.credentials import RegistryCredential, StaticCredentials  # noqa: PLC0415
    from qscan.target import ScanTarget  # noqa: PLC0415

    handler, _ = built
    chain = handler.credentials()  # the default: ACR through the identity, nothing else
    assert [type(source) for source in chain._sources] == [AcrCredentials]
    handler._registry_credentials = StaticCredentials(
        {"myacr.azurecr.io": RegistryCredential("00000000-0000-0000-0000-000000000000", "acr-refresh")}
    )
    acr = ScanTarget(kind="image", platform="aci", registry="myacr.azurecr.io", repository="shop", tag="1")
    hub = ScanTarget(kind="image", platform="aci", registry="docker.io", repository="library/nginx", tag="1")
    assert handler.scanner_env(acr) == {
        "QSCANNER_REGISTRY_USERNAME": "00000000-0000-0000-0000-000000000000",
        "QSCANNER_REGISTRY_PASSWORD": "acr-refresh",
    }
    assert handler.scanner_env(hub) == {}


def test_other_registries_use_the_key_vault_registry_secret_entry_of_their_host(
    built: tuple[AzureScanHandler, Vault],
) -> None:
    """QSCAN_REGISTRY_CREDENTIALS_SECRET_URI: read through the same identity on first use, and qscanner gets
    only the entry of the image's own registry (ACR stays with the identity)."""
    from qscan.structs import replace  # noqa: PLC0415
    from qscan.target import ScanTarget  # noqa: PLC0415

    handler, vault = built
    handler.settings = replace(
        handler.settings,
        registry_credentials_secret_uri="https://kv-qscan.vault.azure.net/secrets/registries",
    )
    handler._registry_credentials = None
    vault.registries = {
        "registry.example.com": {"username": "robot", "password": "registry-password-" + "p" * 20},
        "other.example.com": {"username": "someone", "password": "other-password-" + "o" * 20},
    }
    assert "registries" not in vault.reads  # nothing read before an image needs it
    private = ScanTarget(
        kind="image", platform="aca", registry="registry.example.com", repository="a", tag="1"
    )
    public = ScanTarget(kind="image", platform="aca", registry="docker.io", repository="library/x", tag="1")
    assert handler.scanner_env(private) == {
        "QSCANNER_REGISTRY_USERNAME": "robot",
        "QSCANNER_REGISTRY_PASSWORD": "registry-password-" + "p" * 20,
    }
    assert handler.scanner_env(public) == {}
    assert vault.reads.count("registries") == 1  # cached


def test_identity_is_the_user_assigned_managed_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415
    from qscan.azure.handler import identity_credential  # noqa: PLC0415

    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    assert isinstance(identity_credential(), ManagedIdentityCredential)
    monkeypatch.delenv("AZURE_CLIENT_ID")
    assert isinstance(identity_credential(), DefaultAzureCredential)
