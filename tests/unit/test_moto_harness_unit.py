"""Pure parts of the moto harness: the ASL structural check and the Terraform provider override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import moto_server as ms
from tests.harness.moto_shims import SHIM_NAMES, validate_asl


def test_validate_asl_nested_and_structural_errors() -> None:
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Wait"}}}],
                "End": True,
            },
        },
    }
    codes = {(d.code, d.location) for d in validate_asl(json.dumps(nested))}
    assert ("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0/States/X") in codes  # neither Next nor End
    assert ("MISSING_END_STATE", "/States/P/Branches/0") in codes
    assert validate_asl("")[0].code == "MISSING_DESCRIPTION"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True}}}
    assert [d.code for d in validate_asl(json.dumps(task))] == ["INVALID_RESOURCE"]
    choice = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "D"}],
                "Default": "E",
            },
            "D": {"Type": "Succeed"},
        },
    }
    assert [d.location for d in validate_asl(json.dumps(choice))] == ["/States/C/Default"]
    assert set(SHIM_NAMES) >= {"states:ValidateStateMachineDefinition", "sqs:RedrivePolicy"}


def test_provider_override_rendering(tmp_path: Path) -> None:
    text = ms.render_provider_override("http://127.0.0.1:5123", services=["sqs", "sfn"])
    for needle in (
        "max_retries                 = 2",
        "skip_credentials_validation = true",
        "skip_metadata_api_check     = true",
        "skip_requesting_account_id  = true",
        "s3_use_path_style           = true",
        'sfn = "http://127.0.0.1:5123"',
        'sqs = "http://127.0.0.1:5123"',
    ):
        assert needle in text
    for bad in ("https://example.com:443", "http://127.0.0.1:x", "http://10.0.0.1:80"):
        with pytest.raises(ValueError, match="moto endpoint"):
            ms.render_provider_override(bad)
    with pytest.raises(ValueError, match="service names"):
        ms.render_provider_override("http://127.0.0.1:1", services=['sqs"; evil'])
    with pytest.raises(ValueError, match=r"_override\.tf"):
        ms.write_provider_override(tmp_path, "http://127.0.0.1:1", filename="main.tf")


def test_provider_override_assumes_a_role_into_an_account() -> None:
    plain = ms.render_provider_override("http://127.0.0.1:5123", services=["sts"])
    assert "assume_role" not in plain
    text = ms.render_provider_override(
        "http://127.0.0.1:5123", services=["sts"], assume_role_account="111122223333"
    )
    assert 'role_arn = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"' in text
    for bad in ("1111", "11112222333x", "arn:aws:iam::111122223333:root"):
        with pytest.raises(ValueError, match="12-digit"):
            ms.render_provider_override("http://127.0.0.1:1", assume_role_account=bad)
