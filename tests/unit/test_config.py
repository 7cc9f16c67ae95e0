"""Settings.from_env: defaults, validation naming the variable, require(), documentation coverage."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import qscan.config as config_module
from qscan.config import VARIABLES, Settings, parse_keyvault_secret_uri
from qscan.errors import ConfigError
from qscan.structs import FrozenInstanceError, fields

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_from_an_empty_environment():
    s = Settings.from_env({})
    assert s.cloud == "aws"
    assert s.scanner_backend == "qscanner"
    assert s.qscanner_path == "qscanner"
    assert s.scan_types == ("os", "sca", "secret")
    assert s.scan_timeout_seconds == 600
    assert s.lease_margin_seconds == 120
    assert s.lease_seconds == 720
    assert s.cache_ttl_seconds == 7 * 24 * 3600
    assert s.severity_threshold == "HIGH"
    assert s.log_level == "INFO"
    assert s.results_bucket is None and s.alert_topic_arn is None
    assert s == Settings()


def test_from_env_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("QSCAN_SCAN_TIMEOUT_SECONDS", "900")
    monkeypatch.setenv("QSCAN_CLOUD", "azure")
    s = Settings.from_env()
    assert (s.cloud, s.scan_timeout_seconds) == ("azure", 900)


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(FrozenInstanceError):
        s.cloud = "azure"  # type: ignore[misc]


def test_full_aws_environment():
    env = {
        "QSCAN_CLOUD": "AWS",
        "QSCAN_SCANNER_BACKEND": "qualys-api",
        "QSCANNER_PATH": "/opt/qscanner/qscanner",
        "QSCAN_SCAN_TYPES": " pkg , secret,pkg",
        "QSCAN_SCAN_TIMEOUT_SECONDS": "840",
        "QSCAN_LEASE_MARGIN_SECONDS": "0",
        "QSCAN_CACHE_TTL_SECONDS": "86400",
        "QSCAN_SEVERITY_THRESHOLD": "critical",
        "QSCAN_DEDUPE_TABLE": "qscan-dedupe-eu-west-1",
        "QSCAN_RESULTS_BUCKET": "qscan-results-123456789012-eu-west-1",
        "QSCAN_RESULTS_KMS_KEY_ID": "alias/qscan",
        "QSCAN_ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:qscan-alerts",
        "QSCAN_QUALYS_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:qscan/qualys-AbCdEf",
        "QSCAN_SPOKE_ROLE_NAME": "qscan-spoke-read-eu-west-1",
        "QSCAN_SPOKE_EXTERNAL_ID": "org-ext-id-123",
        "QSCAN_AWS_ENDPOINT_URL": "http://127.0.0.1:5000/",
        "QSCAN_LOG_LEVEL": "debug",
    }
    s = Settings.from_env(env)
    assert s.cloud == "aws" and s.scanner_backend == "qualys-api"
    assert s.scan_types == ("pkg", "secret")
    assert s.severity_threshold == "CRITICAL"
    assert s.lease_seconds == 840
    assert s.aws_endpoint_url == "http://127.0.0.1:5000"
    assert s.log_level == "DEBUG"
    assert s.require("results_bucket") == "qscan-results-123456789012-eu-west-1"
    assert s.describe()["QSCAN_SPOKE_EXTERNAL_ID"] == "***"
    assert s.describe()["QSCAN_SCAN_TYPES"] == "pkg,secret"


def test_full_azure_environment():
    env = {
        "QSCAN_CLOUD": "azure",
        "QSCAN_QUALYS_SECRET_URI": "https://kv-qscan.vault.azure.net/secrets/qualys",
        "QSCAN_STORAGE_ACCOUNT_URL": "https://stqscan.blob.core.windows.net",
        "QSCAN_DEDUPE_TABLE_NAME": "qscandedupe",
        "QSCAN_RESULTS_CONTAINER": "scan-results",
        "QSCAN_EVENTGRID_TOPIC_ENDPOINT": "https://qscan-alerts.westeurope-1.eventgrid.azure.net",
    }
    s = Settings.from_env(env)
    assert s.cloud == "azure"
    assert s.eventgrid_topic_endpoint == "https://qscan-alerts.westeurope-1.eventgrid.azure.net/api/events"
    assert s.require("dedupe_table_name") == "qscandedupe"


def test_azurite_storage_url_may_be_http_on_loopback_only():
    ok = Settings.from_env({"QSCAN_STORAGE_ACCOUNT_URL": "http://127.0.0.1:10000/devstoreaccount1"})
    assert ok.storage_account_url == "http://127.0.0.1:10000/devstoreaccount1"
    with pytest.raises(ConfigError, match="QSCAN_STORAGE_ACCOUNT_URL must be an https URL"):
        Settings.from_env({"QSCAN_STORAGE_ACCOUNT_URL": "http://stqscan.blob.core.windows.net"})


def test_empty_values_count_as_unset():
    s = Settings.from_env({"QSCAN_SCAN_TIMEOUT_SECONDS": "  ", "QSCAN_RESULTS_BUCKET": ""})
    assert s.scan_timeout_seconds == 600 and s.results_bucket is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QSCAN_CLOUD", "gcp", "QSCAN_CLOUD must be one of aws, azure"),
        ("QSCAN_SCANNER_BACKEND", "docker", "QSCAN_SCANNER_BACKEND must be one of qscanner, qualys-api"),
        ("QSCAN_SCAN_TYPES", "os,,sca", "QSCAN_SCAN_TYPES must be a comma list"),
        ("QSCAN_SCAN_TYPES", "os,vulns", "QSCAN_SCAN_TYPES has unknown scan type(s) vulns"),
        (
            "QSCAN_SCAN_TIMEOUT_SECONDS",
            "ten",
            "QSCAN_SCAN_TIMEOUT_SECONDS must be an integer between 30 and 21600",
        ),
        (
            "QSCAN_SCAN_TIMEOUT_SECONDS",
            "5",
            "QSCAN_SCAN_TIMEOUT_SECONDS must be an integer between 30 and 21600",
        ),
        ("QSCAN_SCAN_TIMEOUT_SECONDS", "1e3", "QSCAN_SCAN_TIMEOUT_SECONDS must be an integer"),
        (
            "QSCAN_LEASE_MARGIN_SECONDS",
            "-1",
            "QSCAN_LEASE_MARGIN_SECONDS must be an integer between 0 and 3600",
        ),
        (
            "QSCAN_CACHE_TTL_SECONDS",
            "99999999999",
            "QSCAN_CACHE_TTL_SECONDS must be an integer between 0 and",
        ),
        ("QSCAN_SEVERITY_THRESHOLD", "INFO", "QSCAN_SEVERITY_THRESHOLD must be one of CRITICAL"),
        ("QSCAN_DEDUPE_TABLE", "a b", "QSCAN_DEDUPE_TABLE must be a DynamoDB table name"),
        ("QSCAN_RESULTS_BUCKET", "Bad_Bucket", "QSCAN_RESULTS_BUCKET must be an S3 bucket name"),
        ("QSCAN_RESULTS_KMS_KEY_ID", "my key", "QSCAN_RESULTS_KMS_KEY_ID must be a KMS key id"),
        ("QSCAN_ALERT_TOPIC_ARN", "qscan-alerts", "QSCAN_ALERT_TOPIC_ARN must be an SNS topic ARN"),
        (
            "QSCAN_QUALYS_SECRET_ARN",
            "arn:aws:s3:::bucket name",
            "QSCAN_QUALYS_SECRET_ARN must be a Secrets Manager",
        ),
        (
            "QSCAN_QUALYS_SECRET_URI",
            "https://evil.example.com/secrets/x",
            "QSCAN_QUALYS_SECRET_URI must be a Key Vault",
        ),
        (
            "QSCAN_QUALYS_SECRET_URI",
            "http://kv.vault.azure.net/secrets/x",
            "QSCAN_QUALYS_SECRET_URI must be a Key Vault",
        ),
        (
            "QSCAN_QUALYS_SECRET_URI",
            "https://kv.vault.azure.net/keys/x",
            "QSCAN_QUALYS_SECRET_URI must be a Key Vault",
        ),
        ("QSCAN_STORAGE_ACCOUNT_URL", "stqscan", "QSCAN_STORAGE_ACCOUNT_URL must be an https URL"),
        ("QSCAN_DEDUPE_TABLE_NAME", "1table", "QSCAN_DEDUPE_TABLE_NAME must be an Azure Table name"),
        ("QSCAN_RESULTS_CONTAINER", "Results", "QSCAN_RESULTS_CONTAINER must be a Blob container name"),
        ("QSCAN_RESULTS_CONTAINER", "a--b", "QSCAN_RESULTS_CONTAINER must be a Blob container name"),
        (
            "QSCAN_EVENTGRID_TOPIC_ENDPOINT",
            "http://t.eventgrid.azure.net/api/events",
            "QSCAN_EVENTGRID_TOPIC_ENDPOINT must be an https",
        ),
        ("QSCAN_SPOKE_ROLE_NAME", "role/with/path", "QSCAN_SPOKE_ROLE_NAME must be an IAM role name"),
        ("QSCAN_SPOKE_EXTERNAL_ID", "x", "QSCAN_SPOKE_EXTERNAL_ID must be an ExternalId"),
        ("QSCAN_AWS_ENDPOINT_URL", "ftp://127.0.0.1", "QSCAN_AWS_ENDPOINT_URL must be an http(s) URL"),
        ("QSCAN_LOG_LEVEL", "verbose", "QSCAN_LOG_LEVEL must be one of DEBUG"),
        ("QSCANNER_PATH", "qscanner\nrm -rf /", "QSCANNER_PATH must be an executable"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_variable(name, value, message):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value})
    assert message in err.value.reason


def test_identifier_errors_never_echo_the_value():
    secretish = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:abc def"
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"QSCAN_QUALYS_SECRET_ARN": secretish})
    assert "abc def" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"QSCAN_SPOKE_EXTERNAL_ID": "sp ace"})
    assert "sp ace" not in str(err.value)


def test_require_names_the_variable_and_purpose():
    s = Settings.from_env({})
    with pytest.raises(
        ConfigError, match=r"^QSCAN_RESULTS_BUCKET is required for persisting results \(S3 bucket"
    ):
        s.require("results_bucket", "persisting results")
    with pytest.raises(ConfigError, match=r"^QSCAN_EVENTGRID_TOPIC_ENDPOINT is required"):
        s.require("eventgrid_topic_endpoint")
    with pytest.raises(ValueError):
        s.require("no_such_setting")


def test_keyvault_uri_parsing():
    assert parse_keyvault_secret_uri("https://kv1.vault.azure.net/secrets/qualys") == (
        "https://kv1.vault.azure.net",
        "qualys",
        None,
    )
    assert parse_keyvault_secret_uri("https://kv1.vault.usgovcloudapi.net/secrets/qualys/0123abcd/") == (
        "https://kv1.vault.usgovcloudapi.net",
        "qualys",
        "0123abcd",
    )


def test_every_variable_is_a_field_and_is_documented():
    field_names = {f.name for f in fields(Settings)}
    assert {v.field for v in VARIABLES} == field_names
    docstring = inspect.getdoc(config_module) or ""
    docs = (ROOT / "docs" / "configuration.md").read_text()
    for var in VARIABLES:
        assert var.env in docstring, var.env
        assert f"`{var.env}`" in docs, var.env


def test_defaults_in_the_table_match_the_dataclass_defaults():
    assert Settings.from_env({}) == Settings()
