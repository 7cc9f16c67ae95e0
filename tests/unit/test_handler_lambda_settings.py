"""The Lambda scanner's settings: QSCAN_SELF_FUNCTION_NAMES (and the deprecated QSCAN_SELF_FUNCTION_PREFIX),
QSCAN_TAG_FUNCTIONS, QSCAN_SCAN_QUEUE_URL."""

from __future__ import annotations

import pytest
from qscan.config import Settings
from qscan.errors import ConfigError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (
        settings.self_function_names is None
    )  # the handler then uses qscan.aws.lambdas.bulk_request.DEFAULT_OWN_FUNCTIONS
    assert settings.self_function_prefix is None
    assert settings.tag_functions is False
    assert settings.scan_queue_url is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("0", False),
        (" ", False),
    ],
)
def test_tag_functions_is_a_strict_boolean(raw: str, expected: bool) -> None:
    assert Settings.from_env({"QSCAN_TAG_FUNCTIONS": raw}).tag_functions is expected


@pytest.mark.parametrize("raw", ["yes please", "2", "enabled", "truee"])
def test_tag_functions_rejects_anything_else(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^QSCAN_TAG_FUNCTIONS must be true or false"):
        Settings.from_env({"QSCAN_TAG_FUNCTIONS": raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("qscan-lambda-scanner", ("qscan-lambda-scanner",)),
        (" qscan-lambda-scanner , qscan-ecr-scanner ", ("qscan-lambda-scanner", "qscan-ecr-scanner")),
        ("a,a,B_1", ("a", "B_1")),
        ("x" * 64, ("x" * 64,)),
    ],
)
def test_self_function_names_is_a_comma_list_of_exact_names(raw: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env({"QSCAN_SELF_FUNCTION_NAMES": raw}).self_function_names == expected


@pytest.mark.parametrize(
    "raw",
    [
        "qscan-*",  # a wildcard would match customers' functions
        "a b",
        "x" * 65,
        "arn:aws:lambda:us-east-1:123456789012:function:f",  # names only: the handler adds its own ARN
        "qscan-lambda-scanner,,qscan-ecr-scanner",
        ",".join(f"f{i}" for i in range(51)),
    ],
)
def test_self_function_names_rejects_patterns_arns_and_empty_items(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^QSCAN_SELF_FUNCTION_NAMES must ") as caught:
        Settings.from_env({"QSCAN_SELF_FUNCTION_NAMES": raw})
    assert raw not in caught.value.reason  # identifiers are not echoed


@pytest.mark.parametrize("prefix", ["qscan-", "sec_tools-", "A", "x" * 64])
def test_self_function_prefix_accepts_function_name_prefixes(prefix: str) -> None:
    assert Settings.from_env({"QSCAN_SELF_FUNCTION_PREFIX": prefix}).self_function_prefix == prefix


@pytest.mark.parametrize("prefix", ["qscan-*", "a b", "x" * 65, "arn:aws:lambda:us-east-1:1:function:f"])
def test_self_function_prefix_rejects_wildcards_spaces_and_arns(prefix: str) -> None:
    with pytest.raises(
        ConfigError, match=r"^QSCAN_SELF_FUNCTION_PREFIX must be a Lambda function-name prefix"
    ):
        Settings.from_env({"QSCAN_SELF_FUNCTION_PREFIX": prefix})


def test_scan_queue_url_is_https_or_loopback_http() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/qscan-lambda-scan"
    assert Settings.from_env({"QSCAN_SCAN_QUEUE_URL": url}).scan_queue_url == url
    local = "http://127.0.0.1:5000/123456789012/qscan-lambda-scan"
    assert Settings.from_env({"QSCAN_SCAN_QUEUE_URL": local}).scan_queue_url == local
    for bad in ("http://sqs.eu-west-1.amazonaws.com/1/q", "https://user:pw@sqs.example/1/q", "sqs/1/q"):
        with pytest.raises(ConfigError, match=r"^QSCAN_SCAN_QUEUE_URL must be an https URL"):
            Settings.from_env({"QSCAN_SCAN_QUEUE_URL": bad})


def test_describe_shows_the_new_settings() -> None:
    shown = Settings.from_env(
        {"QSCAN_TAG_FUNCTIONS": "true", "QSCAN_SELF_FUNCTION_NAMES": "sec-a,sec-b"}
    ).describe()
    assert shown["QSCAN_TAG_FUNCTIONS"] is True and shown["QSCAN_SELF_FUNCTION_NAMES"] == "sec-a,sec-b"
