"""scripts/tf_validate.py without Terraform: root discovery, AWS/Azure classification, lock-file policy.

The Terraform steps run against a fake `terraform` executable that behaves like the real one where the
gate depends on it: `init` writes .terraform.lock.hcl (unless -lockfile=readonly), `validate` fails with
an error on stderr, every call is logged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scripts import tf_validate, tfroots
from tests.harness.tf_fixtures import AZURE_VERSIONS_TF, VERSIONS_TF, write_files

FAKE_TERRAFORM = """\
import json, os, pathlib, sys
args = sys.argv[1:]
cwd = pathlib.Path.cwd()
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps({"cwd": str(cwd), "args": args}) + "\\n")
if args[0] == "init":
    if "-lockfile=readonly" not in args:
        (cwd / ".terraform.lock.hcl").write_text("# lock\\n")
    print("Terraform has been successfully initialized!")
elif args[0] in ("validate", "test"):
    if (cwd / "BROKEN").exists():
        print("Error: Reference to undeclared input variable", file=sys.stderr)
        sys.exit(1)
    print("Success! The configuration is valid.")
"""


def module(repo: Path, name: str, versions: str = VERSIONS_TF, extra: str = "") -> Path:
    return write_files(repo / "modules" / name, {"versions.tf": versions, "main.tf": extra or "locals {}\n"})


def uses(*sources: str) -> str:
    return "".join(f'module "m{i}" {{\n  source = "{s}"\n}}\n' for i, s in enumerate(sources))


def plans_by_name(repo: Path) -> dict[str, tf_validate.Plan]:
    plans, _ = tf_validate.classify(repo)
    return {p.root.name: p for p in plans}


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    script = tmp_path / "bin" / "terraform"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n{FAKE_TERRAFORM}")
    script.chmod(0o755)
    log = tmp_path / "terraform-calls.jsonl"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    return script, log


def calls(log: Path) -> list[tuple[str, list[str]]]:
    if not log.exists():
        return []
    return [(Path(c["cwd"]).name, c["args"]) for c in map(json.loads, log.read_text().splitlines())]


def test_discovery_finds_module_and_environment_roots(tmp_path: Path) -> None:
    module(tmp_path, "ecr")
    module(tmp_path, "aws-core")
    (tmp_path / "modules" / "notes").mkdir()  # no .tf files: not a root
    (tmp_path / "modules" / ".hidden").mkdir()
    write_files(tmp_path / "environments" / "local", {"main.tf": "locals {}\n"})
    roots = tfroots.discover_roots(tmp_path)
    assert [(r.name, r.kind) for r in roots] == [
        ("modules/aws-core", "module"),
        ("modules/ecr", "module"),
        ("environments/local", "environment"),
    ]


def test_classification_is_transitive_through_local_modules(tmp_path: Path) -> None:
    module(tmp_path, "aws-core")
    module(tmp_path, "ecr", extra=uses("../aws-core"))
    module(tmp_path, "azure-store", versions=AZURE_VERSIONS_TF)
    module(
        tmp_path, "aci-aca", versions=VERSIONS_TF, extra=uses("../azure-store")
    )  # azurerm only via a child
    write_files(tmp_path / "environments" / "azure", {"main.tf": uses("../../modules/aci-aca")})
    write_files(tmp_path / "environments" / "aws-hub", {"main.tf": uses("../../modules/ecr")})
    plans = plans_by_name(tmp_path)
    assert {name: p.is_azure for name, p in plans.items()} == {
        "modules/aws-core": False,
        "modules/ecr": False,
        "modules/azure-store": True,
        "modules/aci-aca": True,
        "environments/azure": True,
        "environments/aws-hub": False,
    }
    chain = plans["environments/azure"].azure_chain
    assert chain is not None
    assert [p.name for p in chain] == ["azure", "aci-aca", "azure-store"]


def test_module_cycles_terminate(tmp_path: Path) -> None:
    module(tmp_path, "a", extra=uses("../b"))
    module(tmp_path, "b", extra=uses("../a"))
    assert {p.is_azure for p in plans_by_name(tmp_path).values()} == {False}


@pytest.mark.parametrize("env", ["aws-spoke", "local"])
def test_aws_environment_pulling_in_azurerm_fails(
    tmp_path: Path, env: str, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    module(tmp_path, "aci-aca", versions=AZURE_VERSIONS_TF)
    write_files(tmp_path / "environments" / env, {"main.tf": uses("../../modules/aci-aca")})
    terraform, log = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 1
    captured = capsys.readouterr()
    assert f"environments/{env}: AWS environment depends on a module that declares azurerm" in captured.err
    assert "environments/" + env + " -> modules/aci-aca" in captured.err
    assert calls(log) == []  # both roots are Azure: nothing for terraform to do


def test_azure_environment_may_use_azure_modules(tmp_path: Path, fake_terraform: tuple[Path, Path]) -> None:
    module(tmp_path, "aci-aca", versions=AZURE_VERSIONS_TF)
    write_files(tmp_path / "environments" / "azure", {"main.tf": uses("../../modules/aci-aca")})
    terraform, _ = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 0


def test_no_roots_is_a_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tf_validate.main(["--root", str(tmp_path)]) == 0
    assert "no roots found" in capsys.readouterr().out


def test_every_aws_root_is_validated_and_azure_listed_as_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    module(tmp_path, "ecr")
    module(tmp_path, "aci-aca", versions=AZURE_VERSIONS_TF)
    terraform, log = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    out = capsys.readouterr().out
    assert (
        "skip modules/aci-aca: Azure root (azurerm cannot be installed here; checked by make azurerm-check)"
        in out
    )
    assert "ok   modules/ecr: valid (init " in out
    assert calls(log) == [
        ("ecr", ["init", "-backend=false", "-input=false", "-no-color"]),
        ("ecr", ["validate", "-no-color"]),
    ]
    assert not (tmp_path / "modules" / "ecr" / ".terraform.lock.hcl").exists(), "module lock file left behind"


def test_validate_error_fails_loudly_with_the_root_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    module(tmp_path, "ecr")
    (module(tmp_path, "lambda") / "BROKEN").touch()
    terraform, _ = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert "FAIL modules/lambda: terraform validate FAILED" in captured.out
    assert "| Error: Reference to undeclared input variable" in captured.out
    assert "ok   modules/ecr" in captured.out
    assert "ERROR: modules/lambda: terraform validate FAILED" in captured.err


def test_environment_without_lock_file_fails_and_tells_to_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    env = write_files(tmp_path / "environments" / "aws-hub", {"main.tf": "locals {}\n"})
    terraform, _ = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 1
    out = capsys.readouterr().out
    assert "environments/aws-hub/.terraform.lock.hcl is not committed" in out
    assert "git add environments/aws-hub/.terraform.lock.hcl" in out
    assert (env / ".terraform.lock.hcl").exists(), "init's lock file is kept for the developer to commit"


def test_environment_with_lock_file_inits_readonly(tmp_path: Path, fake_terraform: tuple[Path, Path]) -> None:
    write_files(
        tmp_path / "environments" / "aws-hub", {"main.tf": "locals {}\n", ".terraform.lock.hcl": "# l\n"}
    )
    terraform, log = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 0  # not a git repo
    assert calls(log)[0] == (
        "aws-hub",
        ["init", "-backend=false", "-input=false", "-lockfile=readonly", "-no-color"],
    )


def test_test_mode_runs_only_aws_modules_with_tftest_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    write_files(module(tmp_path, "ecr") / "tests", {"basic.tftest.hcl": 'run "x" {}\n'})
    write_files(module(tmp_path, "lambda") / "tests", {"README.md": "no tests yet\n"})
    write_files(
        module(tmp_path, "aci-aca", versions=AZURE_VERSIONS_TF) / "tests", {"a.tftest.hcl": 'run "x" {}\n'}
    )
    write_files(tmp_path / "environments" / "local", {"main.tf": "locals {}\n"})
    terraform, log = fake_terraform
    assert tf_validate.main(["--test", "--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    out = capsys.readouterr().out
    assert "ok   modules/ecr: 1 test file(s) passed" in out
    assert "skip modules/aci-aca" in out
    assert [(cwd, args[0]) for cwd, args in calls(log)] == [("ecr", "init"), ("ecr", "test")]


def test_test_mode_runs_environments_with_tftest_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    env = tmp_path / "environments" / "aws-single-account"
    write_files(env, {"main.tf": "locals {}\n", ".terraform.lock.hcl": "# l\n"})
    write_files(env / "tests", {"wiring.tftest.hcl": 'run "x" {}\n'})
    terraform, log = fake_terraform
    assert tf_validate.main(["--test", "--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    assert "ok   environments/aws-single-account: 1 test file(s) passed" in capsys.readouterr().out
    assert [(cwd, args[0]) for cwd, args in calls(log)] == [
        ("aws-single-account", "init"),
        ("aws-single-account", "test"),
    ]


def test_missing_terraform_binary_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module(tmp_path, "ecr")
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", "no-such-terraform-binary"]) == 1
    assert "'no-such-terraform-binary' not found" in capsys.readouterr().err


def test_examples_are_roots_and_leave_no_lock_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    ecr = module(tmp_path, "ecr")
    example = write_files(ecr / "examples" / "minimal", {"main.tf": uses("../..")})
    write_files(ecr / "examples" / "notes", {"README.md": "no terraform here\n"})
    assert [r.name for r in tfroots.discover_roots(tmp_path)] == [
        "modules/ecr",
        "modules/ecr/examples/minimal",
    ]
    terraform, log = fake_terraform
    assert tf_validate.main(["--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    assert "ok   modules/ecr/examples/minimal: valid" in capsys.readouterr().out
    assert not (example / ".terraform.lock.hcl").exists()
    assert [(cwd, args[0]) for cwd, args in calls(log)] == [
        ("ecr", "init"),
        ("ecr", "validate"),
        ("minimal", "init"),
        ("minimal", "validate"),
    ]


def test_test_mode_adds_the_workers_shared_settings_test_in_a_scratch_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    worker = module(tmp_path, "aws-lambda-worker")
    write_files(worker, {"worker_settings.tf": 'variable "x" {\n  type = number\n}\n'})
    write_files(worker / "tests", {"worker_settings.tftest.hcl": 'run "shared" {}\n'})
    ecr = module(tmp_path, "ecr", extra=uses("../aws-lambda-worker"))
    write_files(ecr / "tests", {"own.tftest.hcl": 'run "own" {}\n'})
    terraform, log = fake_terraform
    assert tf_validate.main(["--test", "--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    out = capsys.readouterr().out
    assert "ok   modules/ecr: 2 test file(s) passed" in out  # its own and the worker's shared test
    assert "ok   modules/aws-lambda-worker: 1 test file(s) passed" in out
    ecr_runs = [
        json.loads(c)["cwd"] for c in log.read_text().splitlines() if json.loads(c)["cwd"].endswith("/ecr")
    ]
    assert ecr_runs and all(
        not cwd.startswith(str(tmp_path)) for cwd in ecr_runs
    )  # a scratch copy, not the tree
    assert not (ecr / "tests" / "worker_settings.tftest.hcl").exists()


def test_test_mode_adds_the_platform_inputs_test_to_a_module_reading_core_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: tuple[Path, Path]
) -> None:
    worker = module(tmp_path, "aws-lambda-worker")
    write_files(worker, {"worker_settings.tf": 'variable "x" {\n  type = number\n}\n'})
    write_files(worker, {"platform_inputs.tf": 'variable "core" {\n  type = string\n}\n'})
    write_files(
        worker / "tests",
        {
            "worker_settings.tftest.hcl": 'run "settings" {}\n',
            "platform_inputs.tftest.hcl": 'run "inputs" {}\n',
        },
    )
    fargate = module(tmp_path, "fargate", extra="locals {\n  key = var.core\n}\n")
    write_files(fargate / "tests", {"own.tftest.hcl": 'run "own" {}\n'})
    ecr = module(
        tmp_path, "ecr", extra='module "worker" {\n  source = "../aws-lambda-worker"\n  core = var.core\n}\n'
    )
    terraform, _ = fake_terraform
    assert tf_validate.main(["--test", "--root", str(tmp_path), "--terraform", str(terraform)]) == 0
    out = capsys.readouterr().out
    assert "ok   modules/fargate: 2 test file(s) passed" in out  # its own and the platform inputs test
    assert "ok   modules/ecr: 2 test file(s) passed" in out  # both shared tests, no own tests
    assert "ok   modules/aws-lambda-worker: 2 test file(s) passed" in out
    assert not (fargate / "tests" / "platform_inputs.tftest.hcl").exists()
    assert not (ecr / "tests").exists()
