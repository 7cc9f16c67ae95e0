#!/usr/bin/env python3
"""Validate every azurerm block of the repository against the committed azurerm schema.

No azurerm provider can be installed offline, so ``terraform validate`` cannot check Azure roots. This
checker reads ``scripts/azurerm_schema.json`` (extracted by ``scripts/extract_azurerm_schema.py`` from the
``@cdktf/provider-azurerm`` jsii assembly, azurerm 4.55.0) and reports, recursively through nested and
``dynamic`` blocks:

* unknown resource / data source types,
* unknown arguments and unknown nested blocks (and arguments written as blocks or blocks as arguments),
* missing required arguments and missing required nested blocks,
* more than one block where the provider allows at most one,
* a ``provider "azurerm"`` block without ``features {}`` or with unknown settings.

Usage (``make azurerm-check``, from the repo root)::

    python scripts/check_azurerm.py [PATH ...]      # default: modules/ environments/

Each problem is printed as ``file:line: message``; exit 1 with a count when there is any, else exit 0 with
``checked N azurerm blocks in M files``. ``.terraform/`` directories are skipped. In Terraform override files
(``override.tf``, ``*_override.tf``) missing-required checks are skipped: they only hold partial blocks.
Data sources scoped inside ``check`` blocks are checked too; ``*.tf.json`` files are not read.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.hcl import HclBlock, HclParseError, iter_tf_files, parse_hcl

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = Path(__file__).resolve().parent / "azurerm_schema.json"
DEFAULT_ROOTS = ("modules", "environments")
PREFIX = "azurerm_"

# Terraform meta-arguments and meta-blocks per top-level block kind (Terraform's own, not azurerm's).
META_ARGUMENTS = {
    "resource": frozenset({"count", "for_each", "depends_on", "provider"}),
    "data": frozenset({"count", "for_each", "depends_on", "provider"}),
    "provider": frozenset({"alias", "version"}),
}
META_BLOCKS = {
    "resource": frozenset({"lifecycle", "provisioner", "connection"}),
    "data": frozenset({"lifecycle"}),
    "provider": frozenset(),
}
# The jsii provider config marks everything optional, but azurerm refuses to start without `features {}`.
PROVIDER_REQUIRED_BLOCKS = ("features",)
DYNAMIC_ARGUMENTS = frozenset({"for_each", "iterator", "labels"})


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Report:
    """Findings and counters of one run."""

    findings: list[Finding] = field(default_factory=list)
    blocks_checked: int = 0
    files_checked: int = 0


class SchemaLoadError(RuntimeError):
    """The committed schema is missing or unreadable."""


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Load the schema JSON (or its ``.gz`` variant) and sanity-check its shape."""
    gz_path = path.with_name(path.name + ".gz")
    try:
        if path.is_file():
            raw = path.read_bytes()
        elif gz_path.is_file():
            raw = gzip.decompress(gz_path.read_bytes())
        else:
            raise SchemaLoadError(f"{path} not found: run `make azurerm-schema`")
        schema = json.loads(raw)
    except (OSError, ValueError, EOFError) as exc:
        raise SchemaLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(schema, dict) or not all(
        isinstance(schema.get(key), dict) for key in ("resources", "data_sources", "provider")
    ):
        raise SchemaLoadError(f"{path}: not an azurerm schema document")
    return schema


def _suggest(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f' (did you mean "{close[0]}"?)' if close else ""


@dataclass
class _FileChecker:
    path: str
    schema: Mapping[str, Any]
    partial: bool  # override file: blocks are fragments, skip missing-required checks
    findings: list[Finding] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.findings.append(Finding(self.path, line, message))

    def check_top_level(self, block: HclBlock) -> bool:
        """Check one top-level block if it is an azurerm one; True if it was."""
        if block.type == "provider" and block.labels[:1] == ("azurerm",):
            self.check_body(block, self.schema["provider"], 'provider "azurerm"', "provider")
            if not self.partial:
                present = {b.type for b in block.blocks} | {b.labels[0] for b in block.blocks if b.labels}
                for required in PROVIDER_REQUIRED_BLOCKS:
                    if required not in present:
                        self.add(block.line, f'provider "azurerm": missing required block "{required}"')
            return True
        if (
            block.type not in ("resource", "data")
            or not block.labels[:1]
            or not block.labels[0].startswith(PREFIX)
        ):
            return False
        tf_type = block.labels[0]
        what = "resource" if block.type == "resource" else "data source"
        if len(block.labels) != 2:
            self.add(block.line, f'{block.type} "{tf_type}": expected 2 labels (type and name)')
            return True
        where = f"{'' if block.type == 'resource' else 'data.'}{tf_type}.{block.labels[1]}"
        table: Mapping[str, Any] = self.schema["resources" if block.type == "resource" else "data_sources"]
        body = table.get(tf_type)
        if body is None:
            self.add(
                block.line,
                f'{where}: unknown azurerm {what} type "{tf_type}"{_suggest(tf_type, list(table))}',
            )
            return True
        self.check_body(block, body, where, block.type)
        return True

    def check_body(
        self, block: HclBlock, body: Mapping[str, Any], where: str, kind: str | None = None
    ) -> None:
        """Check one block body against its schema BODY (``kind`` set only for the top-level block)."""
        args: Mapping[str, int] = body.get("a", {})
        nested: Mapping[str, Mapping[str, Any]] = body.get("b", {})
        meta_args = META_ARGUMENTS.get(kind or "", frozenset())
        meta_blocks = META_BLOCKS.get(kind or "", frozenset())

        for name, line in block.attributes.items():
            if name in args or name in meta_args:
                continue
            if name in nested:
                if not nested[name].get("x"):
                    self.add(
                        line, f'{where}: "{name}" is a block, not an argument (write `{name} {{ ... }}`)'
                    )
                continue
            self.add(line, f'{where}: unknown argument "{name}"{_suggest(name, [*args, *nested])}')

        present: set[str] = set()
        static_lines: dict[str, list[int]] = {}
        for child in block.blocks:
            if child.type == "dynamic":
                generated = self.check_dynamic(child, where)
                if generated is None:
                    continue
                present.add(generated)
                if self.known_block(generated, child.line, args, nested, where):
                    for content in child.children("content"):
                        self.check_body(content, nested[generated], f"{where} {generated}")
                continue
            if child.type in meta_blocks:
                continue
            present.add(child.type)
            if self.known_block(child.type, child.line, args, nested, where):
                static_lines.setdefault(child.type, []).append(child.line)
                self.check_body(child, nested[child.type], f"{where} {child.type}")

        for name, lines in static_lines.items():
            if nested[name].get("m") and len(lines) > 1:
                self.add(lines[1], f'{where}: at most one "{name}" block is allowed (found {len(lines)})')

        if self.partial:
            return
        for name, required in sorted(args.items()):
            if required and name not in block.attributes:
                self.add(block.line, f'{where}: missing required argument "{name}"')
        for name, spec in sorted(nested.items()):
            if spec.get("r") and name not in present and name not in block.attributes:
                self.add(block.line, f'{where}: missing required block "{name}"')

    def known_block(
        self, name: str, line: int, args: Mapping[str, int], nested: Mapping[str, Any], where: str
    ) -> bool:
        if name in nested:
            return True
        if name in args:
            self.add(line, f'{where}: "{name}" is an argument, not a block (write `{name} = ...`)')
        else:
            self.add(line, f'{where}: unknown block "{name}"{_suggest(name, [*nested, *args])}')
        return False

    def check_dynamic(self, block: HclBlock, where: str) -> str | None:
        """Check the dynamic block's own syntax; return the generated block's name (None if unusable)."""
        if len(block.labels) != 1:
            self.add(block.line, f"{where}: a dynamic block needs exactly one label (the block type)")
            return None
        name = block.labels[0]
        for attr, line in block.attributes.items():
            if attr not in DYNAMIC_ARGUMENTS:
                self.add(line, f'{where}: dynamic "{name}": unknown argument "{attr}"')
        if "for_each" not in block.attributes:
            self.add(block.line, f'{where}: dynamic "{name}": missing required argument "for_each"')
        contents = block.children("content")
        if len(contents) != 1:
            self.add(block.line, f'{where}: dynamic "{name}": needs exactly one content block')
        for child in block.blocks:
            if child.type != "content":
                self.add(child.line, f'{where}: dynamic "{name}": unexpected block "{child.type}"')
        return name


def is_override_file(path: Path) -> bool:
    return path.name == "override.tf" or path.name.endswith("_override.tf")


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_paths(roots: Sequence[str | os.PathLike[str]], schema: Mapping[str, Any]) -> Report:
    """Check every .tf file under the roots."""
    report = Report()
    for path in iter_tf_files(roots):
        shown = display_path(path)
        report.files_checked += 1
        try:
            parsed = parse_hcl(path)
        except HclParseError as exc:
            report.findings.append(Finding(shown, exc.line, f"HCL parse error: {exc.reason}"))
            continue
        checker = _FileChecker(shown, schema, partial=is_override_file(path))
        for block in parsed.blocks:
            # `check "x" { data "azurerm_..." "y" { ... } }` holds scoped data sources
            candidates = block.children("data") if block.type == "check" else [block]
            for candidate in candidates:
                if checker.check_top_level(candidate):
                    report.blocks_checked += 1
        report.findings.extend(checker.findings)
    report.findings.sort()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate azurerm blocks against the committed schema.")
    parser.add_argument("paths", nargs="*", help="files or directories (default: modules/ environments/)")
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH, help="schema JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    roots: list[str | os.PathLike[str]] = list(args.paths) or [REPO_ROOT / d for d in DEFAULT_ROOTS]
    missing = [str(p) for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"check_azurerm: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        schema = load_schema(args.schema)
    except SchemaLoadError as exc:
        print(f"check_azurerm: {exc}", file=sys.stderr)
        return 2
    report = check_paths(roots, schema)
    for finding in report.findings:
        print(finding)
    version = schema.get("metadata", {}).get("provider_version", "?")
    if report.findings:
        print(
            f"check_azurerm: {len(report.findings)} error(s) in {report.blocks_checked} azurerm blocks "
            f"({report.files_checked} files, azurerm {version})",
            file=sys.stderr,
        )
        return 1
    print(
        f"check_azurerm: checked {report.blocks_checked} azurerm blocks in {report.files_checked} files "
        f"(azurerm {version})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
