"""The hub-spoke role name and ExternalId travel from one place to the scanners and to the spokes.

The seeds' hub read `..._ARN` where the template set `..._NAME` and so never assumed a spoke role. Here the
chain is read from the HCL (scripts/hcl.py) and ends in the core's own code: modules/aws-hub names the role,
environments/aws-hub gives that name (and the hub bus) to every platform module, each platform module sets the
environment variable qscan.config reads for it, Settings/Accounts turn it into the role ARN they assume, and
modules/aws-spoke creates the role under the name in the hub's spoke_config, which environments/aws-spoke
passes through unchanged. `terraform test` (environments/aws-spoke/tests) checks the values; this checks the
names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from qscan.aws.sessions import Accounts, ClientFactory
from qscan.config import ENV_NAMES, Settings

from scripts.hcl import load_hcl

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("ecr", "lambda", "fargate")
# The module variable of each setting and the qscan.config field it feeds.
SETTINGS = {"spoke_role_name": "spoke_role_name", "spoke_external_id": "spoke_external_id"}


def _blocks(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for entry in load_hcl(path).get(kind, []) for name, body in entry.items()}


def _resource(path: Path, kind: str, name: str) -> dict[str, Any]:
    for entry in load_hcl(path)["resource"]:
        if kind in entry and name in entry[kind]:
            body: dict[str, Any] = entry[kind][name]
            return body
    raise AssertionError(f"{path}: no resource {kind}.{name}")


def _output(path: Path, name: str) -> Any:
    return _blocks(path, "output")[name]["value"]


def _env_names_for(path: Path, variable: str) -> set[str]:
    """The environment variable names a module sets to var.<variable> (in any local, for expressions too)."""
    text = path.read_text(encoding="utf-8")
    return set(re.findall(rf"\b([A-Z][A-Z0-9_]*)\s*=\s*var\.{variable}\b", text))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_hub_root_gives_every_platform_the_hub_settings(platform: str) -> None:
    module = _blocks(ROOT / "environments" / "aws-hub" / "main.tf", "module")[platform]
    for variable in ("spoke_role_name", "spoke_external_id", "organization_id", "event_bus_name"):
        assert module[variable] == f"${{module.hub.{variable}}}", (platform, variable)


@pytest.mark.parametrize(
    ("path", "variable"),
    [
        (ROOT / "modules" / "aws-lambda-worker" / "main.tf", "spoke_role_name"),
        (ROOT / "modules" / "aws-lambda-worker" / "main.tf", "spoke_external_id"),
        (ROOT / "modules" / "fargate" / "main.tf", "spoke_role_name"),
        (ROOT / "modules" / "fargate" / "main.tf", "spoke_external_id"),
    ],
)
def test_scanners_set_the_variable_the_core_reads(path: Path, variable: str) -> None:
    assert _env_names_for(path, variable) == {ENV_NAMES[SETTINGS[variable]]}


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_worker_platforms_pass_the_settings_to_the_worker(platform: str) -> None:
    worker = _blocks(ROOT / "modules" / platform / "main.tf", "module")["worker"]
    for variable in SETTINGS:
        assert worker[variable] == f"${{var.{variable}}}"


def test_hub_names_one_role_for_scanners_and_spokes() -> None:
    outputs = ROOT / "modules" / "aws-hub" / "outputs.tf"
    assert _output(outputs, "spoke_role_name") == "${local.spoke_role_name}"
    config = _output(outputs, "spoke_config")
    assert config["spoke_role_name"] == "${local.spoke_role_name}"
    assert config["spoke_external_id"] == _output(outputs, "spoke_external_id") == "${var.spoke_external_id}"
    assert (
        _output(ROOT / "environments" / "aws-hub" / "outputs.tf", "spoke_config")
        == "${module.hub.spoke_config}"
    )


def test_spoke_creates_the_role_the_hub_names() -> None:
    role = _resource(ROOT / "modules" / "aws-spoke" / "iam.tf", "aws_iam_role", "read")
    assert role["name"] == "${var.hub.spoke_role_name}"
    spoke = _blocks(ROOT / "environments" / "aws-spoke" / "main.tf", "module")["spoke"]
    assert spoke["hub"] == "${var.hub}"


def test_core_assumes_the_role_the_spoke_creates() -> None:
    """What the scanners do with the variables the modules set: assume <spoke_role_name> in the event's account."""
    name, external_id = "qscan-spoke-read", "o-a1b2c3d4e5-qscan"
    settings = Settings.from_env(
        {ENV_NAMES["spoke_role_name"]: name, ENV_NAMES["spoke_external_id"]: external_id}
    )
    accounts = Accounts(
        ClientFactory(region="eu-west-1"),
        role_name=settings.spoke_role_name,
        external_id=settings.spoke_external_id,
        partition="aws",
    )
    assert accounts.role_arn("222222222222") == f"arn:aws:iam::222222222222:role/{name}"
    assert accounts.external_id == external_id
