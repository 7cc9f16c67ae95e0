"""Read the platform modules' HCL the way Terraform composes them: a platform module (modules/ecr,
modules/lambda) calls modules/aws-lambda-worker as `module "worker"`, which owns the queue, function, role, dashboard
and the common handler settings; `${var.platform}` in the worker is the platform module's `platform` argument."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scripts.hcl import load_hcl

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "modules"
WORKER = MODULES / "aws-lambda-worker"
CORE = MODULES / "aws-core"


def locals_of(path: Path) -> dict[str, Any]:
    """Every local of one .tf file, merged over its locals blocks."""
    merged: dict[str, Any] = {}
    for block in load_hcl(path).get("locals", []):
        merged.update(block)
    return merged


def core_handler_environment() -> dict[str, str]:
    for output in load_hcl(CORE / "outputs.tf")["output"]:
        if "handler_environment" in output:
            value: dict[str, str] = output["handler_environment"]["value"]
            return value
    raise AssertionError("aws-core has no handler_environment output")


def worker_call(module_dir: Path) -> dict[str, Any]:
    """The arguments of the platform module's `module "worker"` block (which must source ../aws-lambda-worker)."""
    calls = [
        block["worker"] for block in load_hcl(module_dir / "main.tf").get("module", []) if "worker" in block
    ]
    assert len(calls) == 1, f"{module_dir.name}/main.tf must call the worker exactly once"
    call: dict[str, Any] = calls[0]
    assert call["source"] == "../aws-lambda-worker"
    return call


def for_platform(template: str, module_dir: Path) -> str:
    """A worker expression with `${var.platform}` replaced by the platform the module passes."""
    platform = worker_call(module_dir)["platform"]
    assert re.fullmatch(r"[a-z][a-z0-9]+", platform), platform
    return template.replace("${var.platform}", platform)


def handler_environment_names(module_dir: Path) -> dict[str, str]:
    """Every environment variable the function gets from the modules (core excluded): the worker's common
    settings plus the platform module's own (`platform_environment`, when it passes one)."""
    names: dict[str, str] = dict(locals_of(WORKER / "main.tf")["common_environment"])
    call = worker_call(module_dir)
    if "platform_environment" in call:
        assert call["platform_environment"] == "${local.platform_environment}"
        names.update(locals_of(module_dir / "main.tf")["platform_environment"])
    return names
