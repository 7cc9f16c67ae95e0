"""scripts/tfdocs.py: faithful, deterministic tables, requirements, examples and resources; --write edits only
the marked section (and the worker settings copies); --check fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import tfdocs
from tests.harness.tf_fixtures import write_files, write_module

VARIABLES = r"""
variable "zeta" {
  description = "Say \"hi\" | or not"
  type        = string
}

variable "alpha" {
  description = <<-EOT
    A multi-line
    description.
  EOT
  type = list(object({
    name = string
    tags = optional(map(string), {})
  }))
  default = [{ name = "x", tags = { team = "sec" } }]
}

variable "count_limit" {
  description = "A number."
  type        = number
  default     = 5
}

variable "enabled" {
  description = "A flag."
  type        = bool
  default     = false
}

variable "maybe" {
  description = "Nullable."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels."
  type        = map(string)
  default     = { "app.kubernetes.io/name" = "qscan", env = "dev" }
}
"""

OUTPUTS = """
output "b_out" {
  description = "Second."
  value       = 2
}

output "a_out" {
  description = "First."
  value       = 1
}
"""

EXPECTED = """\
<!-- BEGIN_TF_DOCS -->
## Requirements

No requirements.

## Inputs

| Name | Description | Type | Default | Required |
|------|-------------|------|---------|:--------:|
| `alpha` | A multi-line description. | `list(object({name = string, tags = optional(map(string), {})}))` | \
`[{ name = "x", tags = { team = "sec" } }]` | no |
| `count_limit` | A number. | `number` | `5` | no |
| `enabled` | A flag. | `bool` | `false` | no |
| `labels` | Labels. | `map(string)` | `{ "app.kubernetes.io/name" = "qscan", env = "dev" }` | no |
| `maybe` | Nullable. | `string` | `null` | no |
| `zeta` | Say "hi" \\| or not | `string` | n/a | yes |

## Outputs

| Name | Description |
|------|-------------|
| `a_out` | First. |
| `b_out` | Second. |

## Resources

No resources.
<!-- END_TF_DOCS -->
"""


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return write_files(tmp_path / "modules" / "demo", {"variables.tf": VARIABLES, "outputs.tf": OUTPUTS})


def test_render_is_faithful_sorted_and_one_line_per_row(module: Path) -> None:
    assert tfdocs.render(module) == EXPECTED


def test_render_is_deterministic_across_file_order(tmp_path: Path, module: Path) -> None:
    other = write_files(tmp_path / "modules" / "other", {"b.tf": OUTPUTS, "a.tf": VARIABLES})
    assert tfdocs.render(other) == tfdocs.render(module)


def test_module_without_inputs_or_outputs(tmp_path: Path) -> None:
    bare = write_files(tmp_path / "bare", {"main.tf": "locals {}\n"})
    assert "No inputs." in tfdocs.render(bare)
    assert "No outputs." in tfdocs.render(bare)


def test_write_appends_markers_and_keeps_hand_written_text(module: Path) -> None:
    (module / "README.md").write_text("# demo\n\nHand-written intro.\n")
    assert tfdocs.main(["--write", str(module)]) == 0
    assert (module / "README.md").read_text() == "# demo\n\nHand-written intro.\n\n" + EXPECTED


def test_write_replaces_only_the_marked_section_and_is_idempotent(module: Path) -> None:
    old = "# demo\n\nIntro.\n\n<!-- BEGIN_TF_DOCS -->\nstale\n<!-- END_TF_DOCS -->\n\n## Notes\n\nKeep me.\n"
    (module / "README.md").write_text(old)
    assert tfdocs.main(["--write", str(module)]) == 0
    first = (module / "README.md").read_text()
    assert first == "# demo\n\nIntro.\n\n" + EXPECTED + "\n## Notes\n\nKeep me.\n"
    assert tfdocs.main(["--write", str(module)]) == 0
    assert (module / "README.md").read_text() == first


def test_write_creates_a_missing_readme(module: Path) -> None:
    assert tfdocs.main(["--write", str(module)]) == 0
    assert (module / "README.md").read_text() == "# demo\n\n" + EXPECTED


def test_check_reports_stale_and_passes_fresh(module: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tfdocs.main(["--write", str(module)])
    assert tfdocs.main(["--check", str(module)]) == 0
    (module / "outputs.tf").write_text(OUTPUTS.replace("First.", "First, reworded."))
    capsys.readouterr()
    assert tfdocs.main(["--check", str(module)]) == 1
    assert "README.md generated section (requirements, examples, inputs, outputs, resources) is stale" in (
        capsys.readouterr().out
    )


def test_check_defaults_to_every_module_under_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_module(tmp_path, "fresh")
    stale = write_module(tmp_path, "stale")
    (stale / "README.md").write_text("# stale\n")
    assert tfdocs.main(["--check", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "modules/stale/README.md" in out
    assert "modules/fresh" not in out


@pytest.mark.parametrize(
    "readme",
    [
        "<!-- BEGIN_TF_DOCS -->\nno end\n",
        "<!-- END_TF_DOCS -->\n<!-- BEGIN_TF_DOCS -->\n",
        "<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n",
    ],
)
def test_broken_markers_are_refused_not_overwritten(module: Path, readme: str) -> None:
    (module / "README.md").write_text(readme)
    assert tfdocs.main(["--write", str(module)]) == 1
    assert (module / "README.md").read_text() == readme


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("string", "string"),
        ("${map(string)}", "map(string)"),
        ("${object({a = string, b = optional(number, 3)})}", "object({a = string, b = optional(number, 3)})"),
        (None, "any"),
    ],
)
def test_render_type(raw: str | None, rendered: str) -> None:
    assert tfdocs.render_type(raw) == rendered


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("plain", '"plain"'),
        ('${upper("x")}', 'upper("x")'),
        ("${a}-${b}", '"${a}-${b}"'),
        ("", '""'),
        (1.5, "1.5"),
        (True, "true"),
        ([], "[]"),
        ({}, "{}"),
        ({"a b": [1, None]}, '{ "a b" = [1, null] }'),
    ],
)
def test_render_value(value: object, rendered: str) -> None:
    assert tfdocs.render_value(value) == rendered


def test_hcl_text_resolves_escapes_and_heredocs() -> None:
    assert tfdocs.hcl_text(r"a \"b\" \\ $${x}") == 'a "b" \\ ${x}'
    assert tfdocs.hcl_text("<<-EOT\n    one\n      two\n  EOT") == "one\n  two"
    assert tfdocs.hcl_text("<<EOT\nkeep\n  indent\nEOT") == "keep\n  indent"


VERSIONS = """
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }
}
"""

CHILD_MAIN = """
resource "aws_sqs_queue" "this" {
  name = "q"
}

resource "aws_sqs_queue" "dlq" {
  count = 1
  name  = "d"
}
"""

PARENT_MAIN = """
resource "aws_cloudwatch_event_rule" "rules" {
  for_each = toset(["a"])
  name     = each.key
}

module "worker" {
  source = "../child"
}
"""


def test_requirements_come_from_the_terraform_block(tmp_path: Path) -> None:
    module = write_files(tmp_path / "modules" / "m", {"versions.tf": VERSIONS, "main.tf": "locals {}\n"})
    assert tfdocs.requirements(module) == [
        ("terraform", ">= 1.5"),
        ("aws (hashicorp/aws)", ">= 5.40, < 6.0"),
    ]
    assert "| aws (hashicorp/aws) | `>= 5.40, < 6.0` |" in tfdocs.render(module)


def test_resources_list_own_addresses_then_those_of_local_module_calls(tmp_path: Path) -> None:
    write_files(tmp_path / "modules" / "child", {"main.tf": CHILD_MAIN})
    parent = write_files(tmp_path / "modules" / "parent", {"main.tf": PARENT_MAIN})
    assert tfdocs.resource_addresses(parent) == [
        "aws_cloudwatch_event_rule.rules (for_each)",
        "module.worker.aws_sqs_queue.dlq (count)",
        "module.worker.aws_sqs_queue.this",
    ]
    section = tfdocs.render(parent)
    assert "- `module.worker.aws_sqs_queue.dlq` (count)\n- `module.worker.aws_sqs_queue.this`\n" in section


def test_examples_are_included_verbatim_minimal_first_and_checked_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = write_files(tmp_path / "modules" / "m", {"main.tf": "locals {}\n"})
    write_files(module / "examples" / "complete", {"main.tf": 'module "m" {\n  source = "../.."\n}\n'})
    write_files(
        module / "examples" / "minimal",
        {"versions.tf": VERSIONS, "main.tf": 'module "m" {\n  source = "../.."\n}\n'},
    )
    section = tfdocs.render(module)
    minimal = section.index("### minimal")
    assert minimal < section.index("### complete")
    assert section.index("`examples/minimal/main.tf`:") < section.index("`examples/minimal/versions.tf`:")
    assert '```hcl\nmodule "m" {\n  source = "../.."\n}\n```' in section
    assert VERSIONS.strip() in section
    assert tfdocs.main(["--write", str(module)]) == 0
    (module / "examples" / "minimal" / "main.tf").write_text('module "m" {\n  source = "../.."\n  x = 1\n}\n')
    capsys.readouterr()
    assert tfdocs.main(["--check", str(module)]) == 1
    assert "is stale" in capsys.readouterr().out


def test_examples_of_an_azure_module_name_the_gates_that_check_them(tmp_path: Path) -> None:
    azurerm = 'terraform {\n  required_providers {\n    azurerm = {\n      source = "hashicorp/azurerm"\n    }\n  }\n}\n'
    example = {"main.tf": 'module "m" {\n  source = "../.."\n}\n'}
    azure = write_files(tmp_path / "modules" / "az", {"versions.tf": azurerm})
    write_files(azure / "examples" / "minimal", example)
    aws = write_files(tmp_path / "modules" / "aws", {"main.tf": "locals {}\n"})
    write_files(aws / "examples" / "minimal", example)
    assert "root that `make azurerm-check` and `make checkov` check" in tfdocs.render(azure)
    assert "root that `make validate` and `make tf-test` run" in tfdocs.render(aws)
    assert "make azurerm-check" not in tfdocs.render(aws)
