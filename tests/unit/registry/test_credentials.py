"""Per-registry credentials: the mapping secret, ECR's authorization token, and what qscanner receives for one
scan (that registry's credential only, never an inherited one). ACR's token exchange: tests/unit/test_azure_acr.py."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from typing import Any

import pytest
from qscan.aws.ecr import EcrCredentials
from qscan.errors import ConfigError, InvalidEvent, TransientError
from qscan.redact import redact
from qscan.registry.credentials import (
    ChainCredentials,
    RegistryCredential,
    SecretCredentials,
    StaticCredentials,
    parse_mapping,
    qscanner_env,
)
from qscan.registry.errors import RegistryAccessDenied, RegistryUnavailable
from qscan.scanners.qscanner import QscannerOptions, QscannerRunner
from qscan.target import ScanTarget

PASSWORD = "pw-for-ghcr-only"


def test_the_mapping_normalizes_hosts_and_never_echoes_values() -> None:
    found = parse_mapping(
        json.dumps(
            {
                "GHCR.io": {"username": "bot", "password": PASSWORD},
                "index.docker.io": {"username": "hub", "password": "hub-pw"},
                "registry.example.com:5000": {
                    "username": "ci",
                    "password": "x",
                    "realm_hosts": ["Auth.Example.com"],
                },
            }
        ),
        "secret test",
    )
    assert sorted(found) == ["docker.io", "ghcr.io", "registry.example.com:5000"]
    assert found["registry.example.com:5000"].realm_hosts == frozenset({"auth.example.com"})
    assert PASSWORD not in repr(found["ghcr.io"])
    assert redact(f"leaked {PASSWORD}") != f"leaked {PASSWORD}"  # registered with qscan.redact


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a JSON object"),
        ("[]", "not a JSON object"),
        ('{"justaname": {"username": "u", "password": "p"}}', "not a registry host"),
        ('{"ghcr.io": "u:p"}', "expected an object"),
        ('{"ghcr.io": {"username": "u"}}', "password must be"),
        ('{"ghcr.io": {"username": "u", "password": "p", "realm_hosts": "x"}}', "realm_hosts"),
    ],
)
def test_bad_mappings_are_config_errors_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_mapping(text, "secret test")
    assert '"p"' not in info.value.reason


def test_the_named_secret_is_reread_after_its_ttl() -> None:
    texts = iter(
        [
            json.dumps({"ghcr.io": {"username": "a", "password": "one"}}),
            json.dumps({"ghcr.io": {"username": "a", "password": "two"}}),
        ]
    )
    clock = [0.0]
    source = SecretCredentials(lambda: next(texts), "secret arn:x", ttl_seconds=60, now=lambda: clock[0])
    assert source.credential_for("ghcr.io") == RegistryCredential("a", "one")
    clock[0] = 59
    assert source.credential_for("ghcr.io") == RegistryCredential("a", "one")
    assert source.credential_for("quay.io") is None
    clock[0] = 61
    assert source.credential_for("ghcr.io") == RegistryCredential("a", "two")


class _Ecr:
    def __init__(self, account: str) -> None:
        self.account, self.calls = account, 0

    def get_authorization_token(self, registryIds: list[str]) -> dict[str, Any]:
        assert registryIds == [self.account]
        self.calls += 1
        token = base64.b64encode(f"AWS:ecr-pw-{self.account}".encode()).decode()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
        return {"authorizationData": [{"authorizationToken": token, "expiresAt": expires}]}


def test_ecr_credentials_per_account_through_the_given_client_and_cached() -> None:
    clients: dict[str, _Ecr] = {}

    def client_for(account: str, region: str) -> _Ecr:
        assert region == "eu-west-1"
        return clients.setdefault(account, _Ecr(account))

    ecr = EcrCredentials(client_for)
    spoke = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
    assert ecr.credential_for(spoke) == RegistryCredential("AWS", "ecr-pw-222222222222")
    assert ecr.credential_for(spoke) == RegistryCredential("AWS", "ecr-pw-222222222222")
    assert ecr.credential_for("ghcr.io") is None
    assert clients["222222222222"].calls == 1


def test_ecr_credentials_without_a_token_are_transient() -> None:
    class Empty:
        def get_authorization_token(self, **_: Any) -> dict[str, Any]:
            return {"authorizationData": []}

    with pytest.raises(TransientError, match="no usable authorization token"):
        EcrCredentials(lambda a, r: Empty()).credential_for("111111111111.dkr.ecr.us-east-1.amazonaws.com")


def test_the_chain_answers_with_the_first_source_that_knows_the_registry() -> None:
    chain = ChainCredentials(
        [
            StaticCredentials({"ghcr.io": RegistryCredential("a", "1")}),
            StaticCredentials(
                {"ghcr.io": RegistryCredential("b", "2"), "quay.io": RegistryCredential("c", "3")}
            ),
        ]
    )
    assert chain.credential_for("ghcr.io") == RegistryCredential("a", "1")
    assert chain.credential_for("quay.io") == RegistryCredential("c", "3")
    assert chain.credential_for("docker.io") is None


def test_qscanner_gets_the_target_registry_s_credential_only_never_an_inherited_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QSCANNER_REGISTRY_USERNAME", "blanket")
    monkeypatch.setenv("QSCANNER_REGISTRY_PASSWORD", "blanket-pw")
    monkeypatch.setenv("QSCANNER_REGISTRY_TOKEN", "blanket-token")
    sources = StaticCredentials({"ghcr.io": RegistryCredential("bot", PASSWORD)})
    runner = QscannerRunner(
        QscannerOptions(
            executable=shutil.which("true") or "/bin/true",
            pod="US2",
            access_token="qualys-token",
            target_env=lambda target: qscanner_env(sources.credential_for(target.registry or "")),
        )
    )
    ghcr = ScanTarget(
        kind="image", platform="ecs", registry="ghcr.io", repository="org/app", digest="sha256:" + "a" * 64
    )
    quay = ScanTarget(
        kind="image", platform="ecs", registry="quay.io", repository="org/app", digest="sha256:" + "b" * 64
    )
    env = runner.build_env(ghcr)
    assert (env["QSCANNER_REGISTRY_USERNAME"], env["QSCANNER_REGISTRY_PASSWORD"]) == ("bot", PASSWORD)
    assert "QSCANNER_REGISTRY_TOKEN" not in env
    other = runner.build_env(quay)
    assert not {"QSCANNER_REGISTRY_USERNAME", "QSCANNER_REGISTRY_PASSWORD", "QSCANNER_REGISTRY_TOKEN"} & set(
        other
    )
    assert qscanner_env(None) == {}


def test_credential_errors_are_invalid_events_for_the_batch_accounting() -> None:
    assert issubclass(RegistryAccessDenied, InvalidEvent)
    assert issubclass(RegistryUnavailable, TransientError)
