"""QSCAN_REGISTRY_CREDENTIALS_SECRET in the AWS handlers: read once per cold start through the one Secrets
Manager reader, validated strictly, and handed to qscanner for that registry's images only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from qscan.config import Settings
from qscan.errors import ConfigError
from qscan.registry.credentials import PASSWORD_ENV, USERNAME_ENV, parse_mapping
from qscan.target import ScanTarget

from tests.harness.handler_world import World, moto_world


class EcrWorld(World):
    platform = "ecr"


GHCR_PASSWORD = "ghcr-secret-value-1"
MAPPING = {
    "ghcr.io": {"username": "bot", "password": GHCR_PASSWORD},
    "registry.example.com:5000": {"username": "ci", "password": "other-secret-value"},
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with moto_world(EcrWorld, tmp_path, monkeypatch, "token-named-secret", {}) as w:
        yield w


def _target(registry: str, account: str | None = None) -> ScanTarget:
    return ScanTarget(
        kind="image", platform="ecs", registry=registry, repository="team/app", tag="1.0", account=account
    )


def test_the_setting_is_validated() -> None:
    settings = Settings.from_env({"QSCAN_REGISTRY_CREDENTIALS_SECRET": "qscan/registries"})
    assert settings.registry_credentials_secret == "qscan/registries"
    with pytest.raises(ConfigError, match="QSCAN_REGISTRY_CREDENTIALS_SECRET"):
        Settings.from_env({"QSCAN_REGISTRY_CREDENTIALS_SECRET": "not a secret id!"})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"username": "u", "password": "p", "token": "leak-me"}, "unexpected keys \\['token'\\]"),
        ({"username": "u"}, "password must be a non-empty printable string"),
        ({"username": "u", "password": "p", "realm_hosts": "auth.example.com"}, "realm_hosts must be a list"),
    ],
)
def test_entries_are_checked_strictly_without_echoing_values(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_mapping(json.dumps({"ghcr.io": entry}), "secret x")
    assert "leak-me" not in str(caught.value)


def test_scanner_env_carries_the_named_secret_for_that_registry_only(world: World) -> None:
    boto3.client("secretsmanager").create_secret(Name="qscan/registries", SecretString=json.dumps(MAPPING))
    module = world.load(QSCAN_REGISTRY_CREDENTIALS_SECRET="qscan/registries")
    handler = module.HANDLER

    ghcr = handler.scanner_env(_target("ghcr.io"))
    assert ghcr == {USERNAME_ENV: "bot", PASSWORD_ENV: GHCR_PASSWORD}
    assert handler.scanner_env(_target("quay.io")) == {}  # not in the mapping: anonymous
    ecr = handler.scanner_env(_target("123456789012.dkr.ecr.us-east-1.amazonaws.com"))
    assert USERNAME_ENV not in ecr and PASSWORD_ENV not in ecr  # ECR pulls with the account's AWS credentials


def test_the_secret_is_read_once_per_cold_start(world: World) -> None:
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="qscan/registries", SecretString=json.dumps(MAPPING))
    handler = world.load(QSCAN_REGISTRY_CREDENTIALS_SECRET="qscan/registries").HANDLER
    calls: list[str] = []
    handler.clients.client("secretsmanager").meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue",
        lambda params, **_: calls.append(params["SecretId"]),
    )
    assert handler.registry_credential("ghcr.io").username == "bot"
    sm.put_secret_value(SecretId="qscan/registries", SecretString=json.dumps({}))
    assert handler.registry_credential("ghcr.io").username == "bot"
    assert handler.registry_credential("registry.example.com:5000").username == "ci"
    assert calls == ["qscan/registries"]


def test_without_the_setting_no_secret_is_read(world: World) -> None:
    handler = world.load().HANDLER
    with Stubber(handler.clients.client("secretsmanager")) as stub:  # any call would fail: no response queued
        assert handler.scanner_env(_target("ghcr.io")) == {}
        stub.assert_no_pending_responses()


def test_a_bad_secret_is_a_config_error_naming_the_secret_not_its_values(world: World) -> None:
    bad = {"ghcr.io": {"username": "bot", "password": GHCR_PASSWORD, "extra": GHCR_PASSWORD}}
    boto3.client("secretsmanager").create_secret(Name="qscan/registries", SecretString=json.dumps(bad))
    handler = world.load(QSCAN_REGISTRY_CREDENTIALS_SECRET="qscan/registries").HANDLER
    with pytest.raises(ConfigError, match="Secrets Manager secret qscan/registries") as caught:
        handler.scanner_env(_target("ghcr.io"))
    assert GHCR_PASSWORD not in str(caught.value)


def test_a_missing_secret_is_a_config_error(world: World) -> None:
    handler = world.load(QSCAN_REGISTRY_CREDENTIALS_SECRET="qscan/absent").HANDLER
    with pytest.raises(ConfigError, match="qscan/absent"):
        handler.registry_credential("ghcr.io")
