"""Qualys secret: shape validation, sources (moto Secrets Manager, a Key Vault SecretClient double, env), cache."""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import CredentialUnavailableError
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from qscan import secrets
from qscan.config import Settings
from qscan.errors import ConfigError, TransientError
from qscan.redact import redact
from qscan.registry.credentials import SecretCredentials
from qscan.secrets import QualysSecret, load_qualys_secret, parse_secret_text

REGION = "eu-west-1"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJxc2Nhbi10ZXN0In0.c2lnbmF0dXJl-token-value"
PASSWORD = "S3cr3t!pass-w0rd"
KV_URI = "https://kv-qscan.vault.azure.net/secrets/qualys"


@pytest.fixture(autouse=True)
def fresh_cache():
    secrets.clear_cache()
    yield
    secrets.clear_cache()


@pytest.fixture
def sm(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def aws_settings(secret_id: str) -> Settings:
    return Settings.from_env({"QSCAN_QUALYS_SECRET_ARN": secret_id})


# ---------------------------------------------------------------- shape


def test_canonical_shape_and_gateway_resolution():
    s = parse_secret_text(json.dumps({"pod": "us2", "access_token": TOKEN}), "test")
    assert (s.pod, s.access_token, s.username, s.password) == ("us2", TOKEN, None, None)
    assert s.gateway == "https://gateway.qg2.apps.qualys.com"


def test_seed_keys_are_accepted_for_migration():
    a = parse_secret_text(json.dumps({"qualys_pod": "EU1", "qualys_access_token": TOKEN}), "seed")
    b = parse_secret_text(
        json.dumps({"qualys_gateway_url": "https://gw.private.example", "qualys_token": TOKEN}), "s"
    )
    assert (a.pod, a.access_token, a.gateway) == ("EU1", TOKEN, "https://gateway.qg1.apps.qualys.eu")
    assert (b.gateway_url, b.access_token, b.gateway) == (
        "https://gw.private.example",
        TOKEN,
        "https://gw.private.example",
    )


def test_username_password_without_token_is_valid_for_the_api_backend():
    s = parse_secret_text(json.dumps({"pod": "US1", "username": "svc_qscan", "password": PASSWORD}), "t")
    assert s.access_token is None and s.password == PASSWORD


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"pod": "US1"}, "needs access_token, or username and password"),
        ({"access_token": TOKEN}, "either a Qualys POD"),
        ({"pod": "XX9", "access_token": TOKEN}, "unknown Qualys POD"),
        ({"gateway_url": "http://gw.example", "access_token": TOKEN}, "gateway_url must be an https URL"),
        ({"pod": "US1", "access_token": TOKEN, "username": "u"}, "username and password go together"),
        ({"pod": "US1", "access_token": "has space inside"}, "access_token must be printable ASCII"),
        ({"pod": "US1", "access_token": 12345678}, "access_token must be a string"),
        ({"pod": "US1", "access_token": TOKEN, "qualys_token": TOKEN + "x"}, "conflicting values"),
        (["US1", TOKEN], "must be a JSON object"),
    ],
)
def test_invalid_shapes_raise_config_error_with_a_reason_and_no_value(data, reason):
    with pytest.raises(ConfigError) as err:
        parse_secret_text(json.dumps(data), "Secrets Manager secret qscan/qualys")
    assert reason in err.value.reason
    assert "Secrets Manager secret qscan/qualys" in err.value.reason
    assert TOKEN not in str(err.value)


def test_non_json_secret_is_rejected_without_echoing_and_gets_registered():
    bare = "bare-token-stored-by-mistake-0123456789"
    with pytest.raises(ConfigError) as err:
        parse_secret_text(bare, "src")
    assert "not valid JSON" in err.value.reason
    assert bare not in str(err.value)
    assert redact(f"x {bare} y") == "x *** y"


def test_unknown_keys_are_ignored_and_only_their_names_logged(caplog):
    with caplog.at_level("WARNING", logger="qscan.secrets"):
        s = parse_secret_text(
            json.dumps({"pod": "US1", "access_token": TOKEN, "api_url": "hidden-value"}), "src"
        )
    assert s.access_token == TOKEN
    assert "api_url" in caplog.text and "hidden-value" not in caplog.text


def test_repr_and_str_mask_secrets():
    s = QualysSecret(pod="US1", gateway_url=None, access_token=TOKEN, username="svc_qscan", password=PASSWORD)
    for text in (repr(s), str(s), f"{s}", repr([s])):
        assert TOKEN not in text and PASSWORD not in text and "svc_qscan" not in text
        assert "pod='US1'" in text and "access_token='***'" in text


def test_loaded_values_are_registered_for_redaction():
    token = "registered-token-" + "Q" * 30
    parse_secret_text(json.dumps({"pod": "US1", "access_token": token}), "src")
    assert redact(f"qscanner --access-token {token}") == "qscanner --access-token ***"


# ---------------------------------------------------------------- Secrets Manager (moto)


def test_secrets_manager_by_arn_and_cache(sm):
    arn = sm.create_secret(
        Name="qscan/qualys", SecretString=json.dumps({"pod": "US3", "access_token": TOKEN})
    )["ARN"]
    settings = aws_settings(arn)
    first = load_qualys_secret(settings, sm_client=sm)
    assert (first.pod, first.access_token) == ("US3", TOKEN)

    sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert load_qualys_secret(settings, sm_client=sm) is first  # cached per cold start: no second fetch

    secrets.clear_cache()
    with pytest.raises(
        ConfigError, match=r"Secrets Manager secret arn:aws:secretsmanager:.*qscan/qualys.* was not found"
    ):
        load_qualys_secret(settings, sm_client=sm)


def test_cache_expires_after_the_ttl(sm):
    sm.create_secret(Name="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": TOKEN}))
    clock = [1000.0]
    settings = aws_settings("qscan/qualys")
    load_qualys_secret(settings, sm_client=sm, now=lambda: clock[0])
    rotated = TOKEN + "-rotated"
    sm.put_secret_value(
        SecretId="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": rotated})
    )
    clock[0] += secrets.CACHE_TTL_SECONDS - 1
    assert load_qualys_secret(settings, sm_client=sm, now=lambda: clock[0]).access_token == TOKEN
    clock[0] += 2
    assert load_qualys_secret(settings, sm_client=sm, now=lambda: clock[0]).access_token == rotated


def test_secrets_manager_binary_secret(sm):
    body = json.dumps({"pod": "CA1", "access_token": TOKEN}).encode()
    sm.create_secret(Name="qscan/qualys-bin", SecretBinary=body)
    assert load_qualys_secret(aws_settings("qscan/qualys-bin"), sm_client=sm).gateway.endswith("qualys.ca")


def test_secret_scheduled_for_deletion_is_a_config_error(sm):
    sm.create_secret(Name="qscan/qualys", SecretString=json.dumps({"pod": "US1", "access_token": TOKEN}))
    sm.delete_secret(SecretId="qscan/qualys", RecoveryWindowInDays=7)
    with pytest.raises(ConfigError, match=r"is not usable .*InvalidRequestException"):
        load_qualys_secret(aws_settings("qscan/qualys"), sm_client=sm)


class FailingSecretsManager:
    def __init__(self, code: str, status: int) -> None:
        self.code, self.status = code, status

    def get_secret_value(self, **_kwargs):
        raise ClientError(
            {
                "Error": {"Code": self.code, "Message": "boom"},
                "ResponseMetadata": {"HTTPStatusCode": self.status},
            },
            "GetSecretValue",
        )


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, TransientError),
        ("InternalServiceError", 500, TransientError),
        ("AccessDeniedException", 400, ConfigError),
        ("DecryptionFailure", 400, ConfigError),
    ],
)
def test_secrets_manager_error_classification(code, status, error):
    with pytest.raises(error) as err:
        load_qualys_secret(aws_settings("qscan/qualys"), sm_client=FailingSecretsManager(code, status))
    assert code in err.value.reason and "qscan/qualys" in err.value.reason


def test_secrets_manager_connection_failure_is_transient():
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(TransientError, match="EndpointConnectionError"):
        load_qualys_secret(aws_settings("qscan/qualys"), sm_client=client)


# ---------------------------------------------------------------- Key Vault (SecretClient double)


class FakeResponse:
    """Just enough of azure.core's HttpResponse for HttpResponseError to parse the Key Vault error body."""

    def __init__(self, status: int, reason: str, code: str, message: str) -> None:
        self.status_code, self.reason = status, reason
        self.headers = {"content-type": "application/json; charset=utf-8"}
        self.content_type = "application/json"
        self._body = json.dumps({"error": {"code": code, "message": message}})
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._body


class FakeSecretClient:
    """Behaves like azure.keyvault.secrets.SecretClient.get_secret for the cases qscan handles.

    Stored secrets are returned as objects with `.name`, `.value` and `.properties.version`; the latest version
    when `version` is None. Failure modes raise what the SDK raises: 404 -> ResourceNotFoundError (code
    SecretNotFound), 403 -> HttpResponseError (code Forbidden, RBAC), 429 -> HttpResponseError (Throttled),
    no credential -> CredentialUnavailableError, network -> ServiceRequestError.
    """

    def __init__(
        self, vault_url: str, secrets_by_name: dict[str, list[str]], fail: str | None = None
    ) -> None:
        self.vault_url = vault_url
        self._secrets = secrets_by_name
        self.fail = fail
        self.calls: list[tuple[str, str | None]] = []

    def get_secret(self, name: str, version: str | None = None, **_kwargs):
        self.calls.append((name, version))
        if self.fail == "forbidden":
            raise HttpResponseError(
                response=FakeResponse(403, "Forbidden", "Forbidden", "Caller is not authorized")
            )
        if self.fail == "throttled":
            raise HttpResponseError(
                response=FakeResponse(429, "Too Many Requests", "Throttled", "Request was throttled")
            )
        if self.fail == "server":
            raise HttpResponseError(
                response=FakeResponse(503, "Service Unavailable", "ServiceUnavailable", "retry")
            )
        if self.fail == "no-credential":
            raise CredentialUnavailableError(message="DefaultAzureCredential failed to retrieve a token")
        if self.fail == "network":
            raise ServiceRequestError("Connection refused")
        versions = self._secrets.get(name)
        if not versions or (version is not None and not version.isdigit()):
            raise ResourceNotFoundError(
                response=FakeResponse(
                    404, "Not Found", "SecretNotFound", f"A secret with (name/id) {name} was not found"
                )
            )
        index = int(version) if version is not None else len(versions) - 1
        return SimpleNamespace(
            name=name, value=versions[index], properties=SimpleNamespace(version=str(index))
        )


def kv_settings(uri: str = KV_URI) -> Settings:
    return Settings.from_env({"QSCAN_CLOUD": "azure", "QSCAN_QUALYS_SECRET_URI": uri})


def test_key_vault_latest_and_pinned_versions():
    client = FakeSecretClient(
        "https://kv-qscan.vault.azure.net",
        {
            "qualys": [
                json.dumps({"pod": "US1", "access_token": TOKEN}),
                json.dumps({"pod": "US4", "access_token": TOKEN}),
            ]
        },
    )
    factory_urls: list[str] = []

    def factory(url: str) -> FakeSecretClient:
        factory_urls.append(url)
        return client

    latest = load_qualys_secret(kv_settings(), kv_client_factory=factory)
    pinned = load_qualys_secret(kv_settings(KV_URI + "/0"), kv_client_factory=factory)
    assert (latest.pod, pinned.pod) == ("US4", "US1")
    assert factory_urls == ["https://kv-qscan.vault.azure.net"] * 2
    assert client.calls == [("qualys", None), ("qualys", "0")]
    load_qualys_secret(kv_settings(), kv_client_factory=factory)
    assert len(client.calls) == 2  # cached


@pytest.mark.parametrize(
    ("fail", "error", "reason"),
    [
        ("missing", ConfigError, "was not found (404)"),
        ("forbidden", ConfigError, "not readable by this identity (403"),
        ("no-credential", ConfigError, "no Azure credential is available (CredentialUnavailableError)"),
        ("throttled", TransientError, "HTTP 429"),
        ("server", TransientError, "HTTP 503"),
        ("network", TransientError, "ServiceRequestError"),
    ],
)
def test_key_vault_error_classification(fail, error, reason):
    client = FakeSecretClient(
        "https://kv-qscan.vault.azure.net", {}, fail=None if fail == "missing" else fail
    )
    with pytest.raises(error) as err:
        load_qualys_secret(kv_settings(), kv_client_factory=lambda _url: client)
    assert reason in err.value.reason
    assert "Key Vault secret https://kv-qscan.vault.azure.net/secrets/qualys" in err.value.reason


def test_key_vault_sdk_exception_types_are_what_the_double_raises():
    # the double must raise the SDK's real exception hierarchy, or the classification above proves nothing
    assert issubclass(CredentialUnavailableError, ClientAuthenticationError)
    client = FakeSecretClient("https://kv", {}, fail="forbidden")
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("x")
    assert err.value.status_code == 403 and err.value.error.code == "Forbidden"


# ---------------------------------------------------------------- environment and source choice


def test_environment_source_for_local_runs():
    env = {"QUALYS_POD": "UK1", "QUALYS_ACCESS_TOKEN": TOKEN}
    s = load_qualys_secret(Settings.from_env({}), env=env)
    assert (s.pod, s.gateway) == ("UK1", "https://gateway.qg1.apps.qualys.co.uk")


def test_no_source_at_all_says_what_to_set():
    with pytest.raises(ConfigError, match=r"set QSCAN_QUALYS_SECRET_ARN .* or QSCAN_QUALYS_SECRET_URI"):
        load_qualys_secret(Settings.from_env({}), env={})


def test_cross_cloud_secret_settings_are_rejected():
    with pytest.raises(ConfigError, match="QSCAN_QUALYS_SECRET_URI is an Azure setting"):
        load_qualys_secret(Settings.from_env({"QSCAN_QUALYS_SECRET_URI": KV_URI}), env={})
    azure = Settings.from_env({"QSCAN_CLOUD": "azure", "QSCAN_QUALYS_SECRET_ARN": "qscan/qualys"})
    with pytest.raises(ConfigError, match="QSCAN_QUALYS_SECRET_ARN is an AWS setting"):
        load_qualys_secret(azure, env={})


def test_key_vault_text_feeds_registry_credentials_and_never_echoes_the_value():
    """The one Key Vault reader also serves a registry credentials secret (the Azure app wires it, issue 16)."""
    mapping = {"ghcr.io": {"username": "bot", "password": "kv-registry-password-1"}}
    client = FakeSecretClient("https://kv-qscan.vault.azure.net", {"registries": [json.dumps(mapping)]})
    uri = "https://kv-qscan.vault.azure.net/secrets/registries"
    source = SecretCredentials(
        lambda: secrets.key_vault_text(uri, lambda _url: client), f"Key Vault secret {uri}"
    )
    credential = source.credential_for("ghcr.io")
    assert credential is not None and credential.username == "bot"
    assert source.credential_for("docker.io") is None
    assert client.calls == [("registries", None)]  # read once, then cached

    denied = FakeSecretClient("https://kv-qscan.vault.azure.net", {}, fail="forbidden")
    with pytest.raises(ConfigError, match="Key Vault Secrets User") as caught:
        secrets.key_vault_text(uri, lambda _url: denied)
    assert "kv-registry-password-1" not in str(caught.value)
    empty = FakeSecretClient("https://kv-qscan.vault.azure.net", {"registries": [None]})  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="has no value"):
        secrets.key_vault_text(uri, lambda _url: empty)
