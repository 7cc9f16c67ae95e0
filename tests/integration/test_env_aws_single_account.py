"""environments/aws-single-account: `terraform test` (mocked AWS provider) in a scratch copy.

scripts/tf_validate.py runs `terraform test` in modules only; this keeps the environment's wiring tests
(tests/wiring.tftest.hcl: manifest -> handler and layer, explicit layer ARN, clear failures without a manifest
or a layer) in the integration tier until the gate covers environments too.
"""

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


def test_wiring_tests_pass_with_a_mocked_provider(tmp_path: Path) -> None:
    root = tmp_path / "environments" / "aws-single-account"
    shutil.copytree(ENV, root, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
    tf_env.checked(tf_env.terraform(root, "init", "-backend=false", "-input=false"), "terraform init")
    tested = tf_env.terraform(root, "test", timeout=300)
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    assert "7 passed, 0 failed" in tested.stdout


def test_validate_works_before_make_package(tmp_path: Path) -> None:
    """No dist/ next to the copy: validate must still pass (the manifest is read through try())."""
    root = tmp_path / "environments" / "aws-single-account"
    shutil.copytree(ENV, root, ignore=tf_env.IGNORED)
    shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
    assert not (tmp_path / "dist").exists()
    tf_env.checked(tf_env.terraform(root, "init", "-backend=false", "-input=false"), "terraform init")
    tf_env.checked(tf_env.terraform(root, "validate"), "terraform validate")
