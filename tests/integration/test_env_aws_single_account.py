"""environments/aws-single-account: what `make tf-test` (its tests/wiring.tftest.hcl) does not cover."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.harness import moto_server as ms
from tests.harness import tf_env

pytestmark = pytest.mark.integration

ENV = ms.REPO_ROOT / "environments" / "aws-single-account"


def test_lock_file_pins_the_aws_provider() -> None:
    lock = (ENV / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock


def test_validate_works_before_make_package(tmp_path: Path) -> None:
    """No dist/ next to the copy: validate must still pass (the manifest is read through try())."""
    root = tmp_path / "environments" / "aws-single-account"
    shutil.copytree(ENV, root, ignore=tf_env.IGNORED)
    shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
    assert not (tmp_path / "dist").exists()
    tf_env.checked(tf_env.terraform(root, "init", "-backend=false", "-input=false"), "terraform init")
    tf_env.checked(tf_env.terraform(root, "validate"), "terraform validate")
