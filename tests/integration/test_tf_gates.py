"""The Terraform gates for real: terraform fmt/validate/test (offline provider mirror) and checkov.

Each gate runs through its command line, as `make` runs it, on small fixture repos in tmp_path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.tf_validate import terraform_env
from tests.harness.tf_fixtures import AZURE_VERSIONS_TF, MAIN_TF, write_files, write_module

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed"),
]


def run(*args: str | Path, cwd: Path = REPO, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = terraform_env(REPO)
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, REPO / "scripts" / name, *args)


def checkov(repo: Path) -> subprocess.CompletedProcess[str]:
    if not CHECKOV.is_file():
        pytest.skip("checkov virtualenv missing (make bootstrap)")
    return script("run_checkov.py", "--checkov", CHECKOV, "--root", repo)


def test_good_module_passes_every_gate(tmp_path: Path) -> None:
    write_module(tmp_path, "queue")
    gates: list[tuple[str, list[str | Path]]] = [
        ("check_conventions.py", ["--root", tmp_path]),
        ("tfdocs.py", ["--check", "--root", tmp_path]),
        ("tf_validate.py", ["--root", tmp_path]),
    ]
    for name, args in gates:
        done = script(name, *args)
        assert done.returncode == 0, f"{name}:\n{done.stdout}\n{done.stderr}"
    assert run("terraform", "fmt", "-check", "-recursive", tmp_path).returncode == 0
    done = checkov(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "failing=0" in done.stdout


def test_terraform_fmt_catches_unformatted_hcl(tmp_path: Path) -> None:
    module = write_module(
        tmp_path, "queue", {"main.tf": MAIN_TF.replace("  name                      =", "name=")}
    )
    done = run("terraform", "fmt", "-check", "-recursive", tmp_path)
    assert done.returncode != 0
    # terraform prints the path relative to its working directory: compare the resolved file
    (listed,) = done.stdout.splitlines()
    assert (REPO / listed).resolve() == (module / "main.tf").resolve()


def test_validate_fails_loudly_naming_the_root_and_skips_azure(tmp_path: Path) -> None:
    write_module(tmp_path, "queue")
    write_module(tmp_path, "broken", {"main.tf": MAIN_TF.replace("var.name", "var.undeclared")})
    write_files(tmp_path / "modules" / "aci-aca", {"versions.tf": AZURE_VERSIONS_TF})
    done = script("tf_validate.py", "--root", tmp_path, "--jobs", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL modules/broken: terraform validate FAILED" in done.stdout
    assert "Reference to undeclared input variable" in done.stdout
    assert "ok   modules/queue: valid" in done.stdout
    assert "skip modules/aci-aca: Azure root" in done.stdout
    assert "ERROR: modules/broken" in done.stderr
    assert not (tmp_path / "modules" / "queue" / ".terraform.lock.hcl").exists()


def test_environment_must_commit_its_lock_file(tmp_path: Path) -> None:
    write_module(tmp_path, "queue")
    env = write_files(
        tmp_path / "environments" / "aws-single-account",
        {"main.tf": 'module "queue" {\n  source = "../../modules/queue"\n  name   = "scan-requests"\n}\n'},
    )
    done = script("tf_validate.py", "--root", tmp_path)
    assert done.returncode == 1
    assert "environments/aws-single-account/.terraform.lock.hcl is not committed" in done.stdout
    assert "registry.terraform.io/hashicorp/aws" in (env / ".terraform.lock.hcl").read_text()
    # Once the lock file is there (tmp_path is no git repository, so presence is what counts) it passes,
    # and init treats it as read-only.
    done = script("tf_validate.py", "--root", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


TFTEST = """\
mock_provider "aws" {
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:scan-requests"
    }
  }
}

variables {
  name = "scan-requests"
}

run "queue_is_encrypted" {
  command = apply

  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled == %s
    error_message = "the queue must be encrypted"
  }
}
"""


def test_terraform_test_mode_runs_module_tests_and_fails_on_a_failing_assertion(tmp_path: Path) -> None:
    write_module(tmp_path, "queue", {"tests/queue.tftest.hcl": TFTEST % "true"})
    write_module(tmp_path, "untested")
    done = script("tf_validate.py", "--test", "--root", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   modules/queue: 1 test file(s) passed" in done.stdout
    assert "untested" not in done.stdout

    (tmp_path / "modules" / "queue" / "tests" / "queue.tftest.hcl").write_text(TFTEST % "false")
    done = script("tf_validate.py", "--test", "--root", tmp_path)
    assert done.returncode == 1
    assert "FAIL modules/queue: terraform test FAILED" in done.stdout
    assert "the queue must be encrypted" in done.stdout


UNENCRYPTED_QUEUE = """\
resource "aws_sqs_queue" "this" {
  %s
  name = var.name
  tags = var.tags
}
"""


def test_checkov_finding_without_skip_fails(tmp_path: Path) -> None:
    write_module(tmp_path, "queue", {"main.tf": UNENCRYPTED_QUEUE % ""})
    done = checkov(tmp_path)
    assert done.returncode == 1
    assert "FAILED  modules/queue/main.tf:1: CKV_AWS_27" in done.stdout


def test_checkov_skip_without_reason_fails(tmp_path: Path) -> None:
    write_module(tmp_path, "queue", {"main.tf": UNENCRYPTED_QUEUE % "#checkov:skip=CKV_AWS_27"})
    done = checkov(tmp_path)
    assert done.returncode == 1
    assert "NOREASON modules/queue/main.tf:1: CKV_AWS_27" in done.stdout
    assert "failing=0" in done.stdout


def test_checkov_skip_with_reason_passes(tmp_path: Path) -> None:
    reason = "#checkov:skip=CKV_AWS_27:Messages carry only image digests, nothing sensitive"
    write_module(tmp_path, "queue", {"main.tf": UNENCRYPTED_QUEUE % reason})
    write_files(tmp_path / "environments" / "local", {"main.tf": "locals {}\n"})
    done = checkov(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped with a reason=1; skipped without a reason=0" in done.stdout
    assert "Messages carry only image digests" in done.stdout
