"""scripts/check_conventions.py: each convention fails on a fixture that breaks it, and only that one."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import check_conventions, tfdocs
from tests.harness.tf_fixtures import VARIABLES_TF, write_files, write_module


def problems(repo: Path) -> list[str]:
    found, _ = check_conventions.run(repo)
    return [p.render(repo) for p in found]


def test_good_module_and_environment_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_module(tmp_path, "queue")
    write_files(
        tmp_path / "environments" / "aws-single-account",
        {"main.tf": 'variable "region" {\n  description = "AWS region."\n  type        = string\n}\n'},
    )
    assert check_conventions.main(["--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "conventions: OK (1 module(s), 1 environment(s), 4 variable(s), 1 output(s) checked)" in out


def test_empty_repo_passes_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_conventions.main(["--root", str(tmp_path)]) == 0
    assert "nothing to check" in capsys.readouterr().out


def test_untyped_variable_is_reported_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_module(
        tmp_path, "queue", {"variables.tf": VARIABLES_TF + '\nvariable "extra" {\n  description = "x"\n}\n'}
    )
    assert check_conventions.main(["--root", str(tmp_path)]) == 1
    line = VARIABLES_TF.count("\n") + 2
    assert f'modules/queue/variables.tf:{line}: variable "extra" has no type' in capsys.readouterr().out


@pytest.mark.parametrize("type_expr", ["any", "map(any)", "list(any)", "object({ a = any, b = string })"])
def test_any_typed_variable_fails(tmp_path: Path, type_expr: str) -> None:
    extra = f'\nvariable "loose" {{\n  description = "Loose."\n  type        = {type_expr}\n  default     = null\n}}\n'
    write_module(tmp_path, "queue", {"variables.tf": VARIABLES_TF + extra})
    found = problems(tmp_path)
    assert len(found) == 1
    assert 'variable "loose" type' in found[0]
    assert "uses `any`" in found[0]


def test_type_names_merely_containing_any_are_fine(tmp_path: Path) -> None:
    extra = '\nvariable "company" {\n  description = "d"\n  type        = object({ many = string })\n}\n'
    write_module(tmp_path, "queue", {"variables.tf": VARIABLES_TF + extra})
    assert problems(tmp_path) == []


@pytest.mark.parametrize("description_line", ["", '  description = ""\n', '  description = "   "\n'])
def test_variable_without_description_fails(tmp_path: Path, description_line: str) -> None:
    extra = f'\nvariable "bare" {{\n{description_line}  type = string\n}}\n'
    write_module(tmp_path, "queue", {"variables.tf": VARIABLES_TF + extra})
    found = problems(tmp_path)
    assert found == [
        f'modules/queue/variables.tf:{VARIABLES_TF.count(chr(10)) + 2}: variable "bare" has no description'
    ]


def test_output_without_description_fails(tmp_path: Path) -> None:
    outputs = 'output "queue_arn" {\n  value = aws_sqs_queue.this.arn\n}\n'
    write_module(tmp_path, "queue", {"outputs.tf": outputs})
    assert problems(tmp_path) == ['modules/queue/outputs.tf:1: output "queue_arn" has no description']


@pytest.mark.parametrize("missing", check_conventions.REQUIRED_FILES)
def test_missing_required_file_fails(tmp_path: Path, missing: str) -> None:
    module = write_module(tmp_path, "queue")
    if missing == "main.tf":  # keep the resource the output refers to
        (module / "queue.tf").write_text((module / "main.tf").read_text())
    (module / missing).unlink()
    found = problems(tmp_path)
    assert f"modules/queue/{missing}: required file is missing" in found
    if missing == "README.md":
        assert len(found) == 1


def test_provider_block_in_module_fails_but_not_in_tests(tmp_path: Path) -> None:
    provider = 'provider "aws" {\n  region = "eu-west-1"\n}\n'
    module = write_module(tmp_path, "queue", {"tests/main.tftest.hcl": 'mock_provider "aws" {}\n'})
    write_files(module / "tests", {"setup/providers.tf": provider})
    assert problems(tmp_path) == []
    write_files(module, {"providers.tf": "# configured here\n" + provider})
    assert problems(tmp_path) == [
        'modules/queue/providers.tf:2: provider "aws" block in a module: configure providers in the caller'
    ]


def test_nested_submodule_provider_block_is_found(tmp_path: Path) -> None:
    module = write_module(tmp_path, "queue")
    write_files(module / "modules" / "inner", {"main.tf": 'provider "aws" {}\n'})
    assert problems(tmp_path) == [
        'modules/queue/modules/inner/main.tf:1: provider "aws" block in a module: configure providers in the caller'
    ]


@pytest.mark.parametrize(
    ("snippet", "line"),
    [
        ('module "other" {\n  source = "../other"\n}\n', 1),
        ('module "other" {\n  source = "./modules/../../other"\n}\n', 1),
        ('locals {\n  policy = file("${path.module}/../policy.json")\n}\n', 2),
        ('locals {\n  policy = file("../policy.json")\n}\n', 2),
        ('locals {\n  tpl = templatefile("${path.root}/../x.tpl", {})\n}\n', 2),
        ('locals {\n  zip = "${path.module}/../dist/handler.zip"\n}\n', 2),
    ],
)
def test_paths_leaving_the_module_fail(tmp_path: Path, snippet: str, line: int) -> None:
    write_module(tmp_path, "queue", {"extra.tf": snippet})
    found = problems(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith(f"modules/queue/extra.tf:{line}: ")
    assert "leaves the module" in found[0]


def test_paths_inside_the_module_pass(tmp_path: Path) -> None:
    snippet = (
        'module "inner" {\n  source = "./modules/inner"\n}\n'
        'locals {\n  # file("../commented-out.json") is only a comment\n'
        '  policy = file("${path.module}/policies/read.json")\n}\n'
    )
    module = write_module(tmp_path, "queue", {"extra.tf": snippet})
    write_files(module / "modules" / "inner", {"main.tf": "locals {}\n"})
    assert problems(tmp_path) == []


def test_sibling_module_source_passes_but_other_folders_fail(tmp_path: Path) -> None:
    write_module(tmp_path, "worker")
    write_module(tmp_path, "queue", {"extra.tf": 'module "worker" {\n  source = "../worker"\n}\n'})
    assert problems(tmp_path) == []
    write_files(tmp_path / "environments" / "dev", {"main.tf": "locals {}\n"})
    write_module(tmp_path, "queue", {"extra.tf": 'module "dev" {\n  source = "../../environments/dev"\n}\n'})
    found = problems(tmp_path)
    assert len(found) == 1, found
    assert "only sibling modules" in found[0]


def test_stale_readme_fails_and_make_docs_fixes_it(tmp_path: Path) -> None:
    module = write_module(tmp_path, "queue")
    extra = '\nvariable "added_later" {\n  description = "Added after the README was generated."\n  type = bool\n}\n'
    (module / "variables.tf").write_text(VARIABLES_TF + extra)
    found = problems(tmp_path)
    assert len(found) == 1
    assert found[0].startswith("modules/queue/README.md:3: ")
    assert "stale" in found[0]
    assert tfdocs.main(["--write", str(module)]) == 0
    assert problems(tmp_path) == []


def test_readme_without_markers_fails(tmp_path: Path) -> None:
    module = write_module(tmp_path, "queue")
    (module / "README.md").write_text("# queue\n\nHand-written, no tables.\n")
    assert problems(tmp_path) == [
        "modules/queue/README.md: README.md has no <!-- BEGIN_TF_DOCS --> / <!-- END_TF_DOCS --> section"
    ]


def test_unparseable_file_is_reported_not_crashing(tmp_path: Path) -> None:
    write_module(tmp_path, "queue", {"broken.tf": "locals {\n  x = \n}\n"}, readme=False)
    found = problems(tmp_path)
    assert any(p.startswith("modules/queue/broken.tf:") and "HCL parse error" in p for p in found), found
    assert "modules/queue/README.md: required file is missing" in found


def test_environment_variables_must_be_typed_and_described(tmp_path: Path) -> None:
    write_files(
        tmp_path / "environments" / "local",
        {
            "variables.tf": (
                'variable "region" {\n  description = "Region."\n  type        = string\n}\n\n'
                'variable "untyped" {\n  description = "No type."\n}\n\n'
                'variable "loose" {\n  description = "Any."\n  type        = map(any)\n}\n\n'
                'variable "silent" {\n  type = string\n}\n'
            ),
        },
    )
    found = problems(tmp_path)
    assert found == [
        'environments/local/variables.tf:6: variable "untyped" has no type',
        'environments/local/variables.tf:10: variable "loose" type `map(any)` uses `any`: spell it out',
        'environments/local/variables.tf:15: variable "silent" has no description',
    ]


def test_folder_without_terraform_under_modules_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "modules" / "empty").mkdir(parents=True)
    found = problems(tmp_path)
    assert len(found) == len(check_conventions.REQUIRED_FILES)


SETTINGS_TF = (
    'variable "memory_size" {\n  description = "Memory."\n  type        = number\n  default     = 128\n}\n'
)
WORKER_CALL = (
    'module "worker" {\n  source      = "../aws-lambda-worker"\n  memory_size = var.memory_size\n}\n'
)


def worker_repo(repo: Path, call: str = WORKER_CALL) -> Path:
    """modules/aws-lambda-worker declaring one setting, and modules/ecr calling it with a copy."""
    write_module(repo, "aws-lambda-worker", {"worker_settings.tf": SETTINGS_TF})
    return write_module(repo, "ecr", {"worker_settings.tf": SETTINGS_TF, "worker.tf": call})


def test_worker_settings_copy_must_equal_the_source_and_make_docs_restores_it(tmp_path: Path) -> None:
    ecr = worker_repo(tmp_path)
    assert problems(tmp_path) == []
    (ecr / "worker_settings.tf").write_text(SETTINGS_TF.replace("Memory.", "Memory of the function."))
    found = problems(tmp_path)
    assert any(
        p.startswith(
            "modules/ecr/worker_settings.tf: worker_settings.tf differs from "
            "modules/aws-lambda-worker/worker_settings.tf"
        )
        for p in found
    ), found
    assert tfdocs.main(["--write", "--root", str(tmp_path)]) == 0
    assert (ecr / "worker_settings.tf").read_text() == SETTINGS_TF
    assert problems(tmp_path) == []


def test_worker_settings_copy_missing_is_reported(tmp_path: Path) -> None:
    ecr = worker_repo(tmp_path)
    (ecr / "worker_settings.tf").unlink()
    (ecr / "README.md").write_text(tfdocs.updated_readme(ecr))
    found = problems(tmp_path)
    assert found == [
        "modules/ecr/worker_settings.tf: worker_settings.tf is missing: it must be a copy of "
        "modules/aws-lambda-worker/worker_settings.tf (run `make docs`)"
    ]


INPUTS_TF = 'variable "core" {\n  description = "Store."\n  type        = string\n}\n'


def test_a_module_reading_core_carries_the_platform_inputs_copy_and_make_docs_writes_it(
    tmp_path: Path,
) -> None:
    write_module(
        tmp_path, "aws-lambda-worker", {"worker_settings.tf": SETTINGS_TF, "platform_inputs.tf": INPUTS_TF}
    )
    fargate = write_module(tmp_path, "fargate", {"main.tf": "locals {\n  key = var.core\n}\n"})
    (fargate / "README.md").write_text(tfdocs.updated_readme(fargate))
    assert problems(tmp_path) == [
        "modules/fargate/platform_inputs.tf: platform_inputs.tf is missing: it must be a copy of "
        "modules/aws-lambda-worker/platform_inputs.tf (run `make docs`)"
    ]
    assert tfdocs.main(["--write", "--root", str(tmp_path)]) == 0
    assert (fargate / "platform_inputs.tf").read_text() == INPUTS_TF
    assert not (fargate / "worker_settings.tf").exists()  # it does not call the worker
    assert "copy of the one in modules/aws-lambda-worker" in (fargate / "README.md").read_text()
    assert problems(tmp_path) == []


def test_worker_call_must_pass_the_platform_inputs_too(tmp_path: Path) -> None:
    write_module(
        tmp_path, "aws-lambda-worker", {"worker_settings.tf": SETTINGS_TF, "platform_inputs.tf": INPUTS_TF}
    )
    write_module(
        tmp_path,
        "ecr",
        {"worker_settings.tf": SETTINGS_TF, "platform_inputs.tf": INPUTS_TF, "worker.tf": WORKER_CALL},
    )
    found = problems(tmp_path)
    assert len(found) == 1, found
    assert 'module "worker" does not pass the worker settings core through' in found[0]


@pytest.mark.parametrize("argument", ["", "  memory_size = 512\n", "  memory_size = var.other\n"])
def test_worker_call_must_pass_every_setting_through(tmp_path: Path, argument: str) -> None:
    worker_repo(tmp_path, call=f'module "worker" {{\n  source = "../aws-lambda-worker"\n{argument}}}\n')
    found = problems(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith("modules/ecr/worker.tf:1: ")
    assert 'module "worker" does not pass the worker settings memory_size through' in found[0]


EXAMPLE_MAIN = (
    'provider "aws" {\n  region = "eu-west-1"\n}\n\nmodule "queue" {\n  source = "../.."\n  name   = "q"\n}\n'
)


def test_examples_may_configure_providers_and_call_the_module(tmp_path: Path) -> None:
    module = write_module(tmp_path, "queue")
    write_files(module / "examples" / "minimal", {"main.tf": EXAMPLE_MAIN})
    (module / "README.md").write_text(tfdocs.updated_readme(module))
    assert problems(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'module "x" {\n  source = "../../../../environments/dev"\n}\n',
            "neither the module (../..) nor a sibling",
        ),
        ('locals {\n  zip = filebase64sha256("../../dist/h.zip")\n}\n', "path leaves the example"),
        ('variable "zip" {\n  type = string\n}\n', 'variable "zip" has no description'),
    ],
)
def test_examples_must_not_reach_outside_and_must_describe_variables(
    tmp_path: Path, text: str, message: str
) -> None:
    module = write_module(tmp_path, "queue")
    write_files(tmp_path / "environments" / "dev", {"main.tf": "locals {}\n"})
    write_files(module / "examples" / "minimal", {"main.tf": EXAMPLE_MAIN, "extra.tf": text})
    (module / "README.md").write_text(tfdocs.updated_readme(module))
    found = problems(tmp_path)
    assert len(found) == 1, found
    assert found[0].startswith("modules/queue/examples/minimal/extra.tf:")
    assert message in found[0]
