"""Shared Terraform discovery for the repo's gates (validate, conventions, docs, checkov).

A *root* is a directory Terraform is run in: every direct subfolder of ``modules/`` that holds ``.tf``
files (internal building blocks included), every example of a module (``modules/<module>/examples/<name>/``)
and every subfolder of ``environments/``. Roots are classified
AWS or Azure: a root is Azure when it, or any local module it sources (transitively), declares
``azurerm`` in ``required_providers``; the azurerm provider cannot be installed on the offline machines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.hcl import HclParseError, parse_hcl

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULES_DIR = "modules"
ENVIRONMENTS_DIR = "environments"
AZURE_PROVIDER = "azurerm"
EXAMPLES_DIR = "examples"
# Directories inside a module that are never part of the module's own configuration (examples are roots of
# their own that call the module).
IGNORED_DIRS = frozenset({".terraform", "tests", ".git", EXAMPLES_DIR})


# One parse error type for every gate: str() is "path:line: reason"; .path, .line and .reason are set.
HclError = HclParseError


def load_hcl(path: Path) -> dict[str, Any]:
    """Parse one HCL file into python-hcl2's classic dict shape (scripts/hcl.py); raises HclError."""
    return parse_hcl(path).data


def tf_files(directory: Path) -> list[Path]:
    """The .tf files directly inside directory (one Terraform module), sorted."""
    return sorted(p for p in directory.glob("*.tf") if p.is_file())


def tf_files_recursive(directory: Path) -> list[Path]:
    """Every .tf file of a module, nested submodules included, skipping tests/ and .terraform/."""
    found: list[Path] = []
    for path in sorted(directory.rglob("*.tf")):
        relative = path.relative_to(directory)
        if any(part in IGNORED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if path.is_file():
            found.append(path)
    return found


def blocks(data: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, body) for each block of a labelled kind (variable, output, module, provider)."""
    for entry in data.get(kind, []) or []:
        if not isinstance(entry, dict):
            continue
        for label, body in entry.items():
            yield str(label), body if isinstance(body, dict) else {}


def required_providers(data: dict[str, Any]) -> set[str]:
    """Local names declared in every terraform { required_providers { ... } } of one file."""
    names: set[str] = set()
    for terraform in data.get("terraform", []) or []:
        if not isinstance(terraform, dict):
            continue
        for providers in terraform.get("required_providers", []) or []:
            if isinstance(providers, dict):
                names.update(str(name) for name in providers)
    return names


def is_local_source(source: str) -> bool:
    return source.startswith(("./", "../"))


@dataclass
class ModuleInfo:
    """What discovery needs from one Terraform module directory (its top-level .tf files)."""

    path: Path
    providers: set[str] = field(default_factory=set)
    local_sources: list[Path] = field(default_factory=list)


def read_module(directory: Path) -> ModuleInfo:
    info = ModuleInfo(path=directory.resolve())
    for path in tf_files(directory):
        data = load_hcl(path)
        info.providers |= required_providers(data)
        for _, body in blocks(data, "module"):
            source = body.get("source")
            if isinstance(source, str) and is_local_source(source):
                info.local_sources.append((directory / source).resolve())
    return info


class Classifier:
    """Answers "does this root (transitively) need provider X?" with memoised module reads."""

    def __init__(self) -> None:
        self._cache: dict[Path, ModuleInfo] = {}

    def info(self, directory: Path) -> ModuleInfo:
        key = directory.resolve()
        if key not in self._cache:
            self._cache[key] = read_module(key) if key.is_dir() else ModuleInfo(path=key)
        return self._cache[key]

    def provider_chain(self, directory: Path, provider: str) -> list[Path] | None:
        """The path of modules from directory to the first one declaring provider, or None."""
        seen: set[Path] = set()

        def walk(current: Path, trail: list[Path]) -> list[Path] | None:
            key = current.resolve()
            if key in seen:
                return None
            seen.add(key)
            info = self.info(key)
            if provider in info.providers:
                return [*trail, key]
            for child in info.local_sources:
                found = walk(child, [*trail, key])
                if found is not None:
                    return found
            return None

        return walk(directory, [])


@dataclass(frozen=True)
class Root:
    path: Path
    kind: str  # "module", "example" or "environment"
    name: str  # repo-relative, e.g. "modules/ecr" or "modules/ecr/examples/minimal"

    @property
    def is_environment(self) -> bool:
        return self.kind == "environment"

    @property
    def must_be_aws(self) -> bool:
        """Environments that promise an AWS-only root (aws-*, local) must never pull in azurerm."""
        leaf = self.path.name
        return self.is_environment and (leaf.startswith("aws-") or leaf == "local")


def _subdirs(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))


def example_dirs(module_dir: Path) -> list[Path]:
    """The examples of one module: modules/<module>/examples/<name>/ folders that hold .tf files."""
    return [d for d in _subdirs(module_dir / EXAMPLES_DIR) if tf_files(d)]


def discover_roots(repo: Path = REPO_ROOT) -> list[Root]:
    """Every Terraform root: modules/*, their examples/* and environments/* that hold .tf files."""
    roots: list[Root] = []
    for kind, folder in (("module", MODULES_DIR), ("environment", ENVIRONMENTS_DIR)):
        for directory in _subdirs(repo / folder):
            if tf_files(directory):
                roots.append(Root(path=directory, kind=kind, name=f"{folder}/{directory.name}"))
            if kind == "module":
                roots += [
                    Root(
                        path=example,
                        kind="example",
                        name=f"{folder}/{directory.name}/{EXAMPLES_DIR}/{example.name}",
                    )
                    for example in example_dirs(directory)
                ]
    return roots


def module_dirs(repo: Path = REPO_ROOT) -> list[Path]:
    """Every direct subfolder of modules/ (whether or not it holds .tf files yet)."""
    return _subdirs(repo / MODULES_DIR)


def environment_dirs(repo: Path = REPO_ROOT) -> list[Path]:
    return _subdirs(repo / ENVIRONMENTS_DIR)


def display(path: Path, repo: Path = REPO_ROOT) -> str:
    """A repo-relative path for messages, or the path itself when it lies outside the repo."""
    try:
        return str(path.resolve().relative_to(repo.resolve()))
    except ValueError:
        return str(path)


_INTERPOLATION = re.compile(r"^\$\{(?P<inner>.*)\}$", re.DOTALL)


def strip_interpolation(value: str) -> str:
    """'${map(string)}' -> 'map(string)'; leaves anything that is not one whole ${...} untouched."""
    match = _INTERPOLATION.match(value)
    if match is None:
        return value
    inner = match.group("inner")
    depth = 0
    for char in inner:  # make sure the braces belong together: not '${a}-${b}'
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return value
    return inner if depth == 0 else value


def find_line(path: Path, pattern: str) -> int:
    """1-based line of the first regex match in path, or 0 when not found (or unreadable)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    regex = re.compile(pattern)
    for number, line in enumerate(lines, start=1):
        if regex.search(line):
            return number
    return 0
