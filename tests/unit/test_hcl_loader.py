"""scripts/hcl.py: classic dict shape, block outline with lines, file discovery, parse errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.hcl import (
    HclParseError,
    block_lines,
    iter_tf_files,
    load_hcl,
    parse_hcl,
    parse_hcl_text,
)

SAMPLE = """\
# a comment
variable "name" {
  type        = string
  description = "The name."
}

resource "azurerm_storage_account" "this" {
  name = var.name
  tags = { env = "dev" }
  lst  = [{ a = 1 }]

  network_rules {
    default_action = "Deny"
  }

  dynamic "cors_rule" {
    for_each = var.rules
    content {
      allowed_origins = ["*"]
    }
  }
}

locals {
  x = 1
}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_load_hcl_returns_the_classic_shape(tmp_path: Path) -> None:
    data = load_hcl(write(tmp_path, "main.tf", SAMPLE))
    assert data["variable"] == [{"name": {"type": "string", "description": "The name."}}]
    body = data["resource"][0]["azurerm_storage_account"]["this"]
    assert body["name"] == "${var.name}"
    assert body["tags"] == {"env": "dev"}
    assert body["network_rules"] == [{"default_action": "Deny"}]
    assert body["dynamic"][0]["cors_rule"]["content"] == [{"allowed_origins": ["*"]}]
    assert "__is_block__" not in repr(data)
    assert "__comments__" not in repr(data)
    assert data["locals"] == [{"x": 1}]


def test_outline_has_lines_and_tells_attributes_from_blocks(tmp_path: Path) -> None:
    parsed = parse_hcl(write(tmp_path, "main.tf", SAMPLE))
    assert [(b.type, b.labels, b.line) for b in parsed.blocks] == [
        ("variable", ("name",), 2),
        ("resource", ("azurerm_storage_account", "this"), 7),
        ("locals", (), 24),
    ]
    resource = parsed.blocks[1]
    assert resource.end_line == 22
    # `lst = [{...}]` is an attribute even though the classic dict shows it like a block
    assert resource.attributes == {"name": 8, "tags": 9, "lst": 10}
    assert [(b.type, b.labels, b.line) for b in resource.blocks] == [
        ("network_rules", (), 12),
        ("dynamic", ("cors_rule",), 16),
    ]
    dynamic = resource.children("dynamic")[0]
    assert dynamic.attributes == {"for_each": 17}
    content = dynamic.children("content")[0]
    assert (content.line, content.attributes) == (18, {"allowed_origins": 19})
    assert parsed.line_of("resource", "azurerm_storage_account", "this") == 7
    assert parsed.find("resource", "azurerm_storage_account", "other") is None
    assert parsed.data == load_hcl(Path(parsed.path))


def test_block_lines_maps_labels_to_lines(tmp_path: Path) -> None:
    lines = block_lines(write(tmp_path, "main.tf", SAMPLE))
    assert lines == {
        ("variable", "name"): 2,
        ("resource", "azurerm_storage_account", "this"): 7,
        ("locals",): 24,
    }


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.tf", 'resource "a" "b" {\n  name = "x"\n  oops = \n}\n')
    with pytest.raises(HclParseError) as caught:
        parse_hcl(path)
    assert caught.value.path == str(path)
    assert caught.value.line in (3, 4)
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: ")


def test_unreadable_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(HclParseError, match="cannot read file"):
        parse_hcl(tmp_path / "missing.tf")


def test_empty_text_parses_to_nothing() -> None:
    parsed = parse_hcl_text("")
    assert parsed.blocks == ()
    assert parsed.data == {}


def test_iter_tf_files_sorts_and_skips_tool_dirs(tmp_path: Path) -> None:
    write(tmp_path, "b/main.tf", "")
    write(tmp_path, "a/versions.tf", "")
    write(tmp_path, "a/.terraform/modules/x/main.tf", "")
    write(tmp_path, "a/notes.md", "")
    write(tmp_path, "a/tests/basic.tftest.hcl", "")
    single = write(tmp_path, "c/one.tf", "")
    found = list(iter_tf_files([tmp_path / "b", tmp_path / "a", tmp_path / "missing"]))
    assert found == [tmp_path / "a/versions.tf", tmp_path / "b/main.tf"]
    assert list(iter_tf_files([single, single])) == [single]
