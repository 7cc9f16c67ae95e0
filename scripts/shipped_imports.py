"""Shipped code imports only what its artifact carries, and a shipped lock lists nothing the code leaves unused.

`scripts/package.py` runs `check_artifact` for every artifact before it builds one (and alone with
`--check-imports`); tests/unit/test_shipped_imports.py runs it over the real tree. For one artifact, given the
files it ships (as module name -> path), the `.in` file of the lock it vendors, the distributions its runtime
provides and the other cloud's SDK namespaces:

- every import in a shipped file, at module level or inside a function, must be the standard library, a module
  the artifact ships (`qscan.*`, the handler's own files: an import of a core module the artifact leaves out is
  an error), a distribution the runtime provides (boto3 and botocore on Lambda), or a distribution named on a
  line of the `.in` file (carried only as another package's dependency is not enough: it would vanish when that
  package drops it). Imports under `if TYPE_CHECKING:` never run and are not counted;
- the other cloud's SDK (`azure.*` in an AWS artifact) and the core modules the artifact leaves out for being
  the other cloud's (`foreign`) may be imported only inside a function: the core is cloud-neutral and runs those
  imports only when the settings select that cloud, which the artifact's handlers refuse at cold start. At
  module level they would fail the import;
- every distribution named in the `.in` file is imported by a file shipped with it (`unused_entries`), and
  none of the runtime's own distributions is bundled.

Which distribution provides an import is read from the installed metadata of the interpreter running the check
(the dev virtualenv, which installs every lock's packages: the shipped locks are constrained by dev.lock).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def normalize(name: str) -> str:
    """A distribution name in its PEP 503 normal form (`Azure_Core` -> `azure-core`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Import:
    """One imported module name in one shipped file."""

    path: Path
    line: int
    module: str  # absolute dotted name
    names: tuple[str, ...]  # for `from X import a, b`: the imported names (a may be a submodule X.a)
    lazy: bool  # inside a function body: runs only when the function does


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, module: str) -> list[Import]:
    """Every import statement of the file `path` (importable as `module`), relative ones made absolute."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child, lazy)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(path, node.lineno, alias.name, (), lazy) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.append(Import(path, node.lineno, base, tuple(a.name for a in node.names), lazy))
        inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def requirement_names(in_file: Path) -> list[str]:
    """The distributions a requirements `.in` file names (normalized), with those of the files it includes
    (`-r other.in`); constraints (`-c`), other options and comments are skipped."""
    names = []
    for raw in in_file.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            names += requirement_names(in_file.parent / line.split(None, 1)[1])
            continue
        name = requirement_name(line)
        if name:
            names.append(name)
    return names


def requirement_name(line: str) -> str | None:
    """The normalized distribution a requirement line names (`moto[server]==5.2.5` -> `moto`), or None."""
    match = _NAME.match(line.strip()) if not line.strip().startswith(("-", "#")) else None
    return normalize(match.group(1)) if match else None


def locked_names(lock: Path) -> set[str]:
    """The distributions a pip-compile lock pins."""
    return {normalize(m.group(1)) for line in lock.read_text().splitlines() if (m := _PINNED.match(line))}


@cache
def import_roots() -> dict[str, str]:
    """Importable root -> distribution, from the installed metadata.

    A root is the shortest module path a distribution provides as a regular package or module: `requests`,
    `azure.core` (`azure` is a namespace shared by many distributions and names none of them).
    """
    roots: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalize(dist.metadata["Name"] or "")
        files = [f.parts for f in dist.files or () if f.parts and f.parts[0] not in ("..", "bin")]
        present = {"/".join(parts) for parts in files}
        for parts in files:
            if parts[0].endswith((".dist-info", ".egg-info", ".data")) or "-" in parts[0]:
                continue
            stem = parts[-1].split(".", 1)[0]
            if not parts[-1].endswith((".py", ".so", ".pyd")):
                continue
            module = [*parts[:-1]] if stem == "__init__" else [*parts[:-1], stem]
            for depth in range(1, len(module) + 1):
                prefix = "/".join(module[:depth])
                if f"{prefix}/__init__.py" in present or depth == len(module):
                    roots.setdefault(".".join(module[:depth]), name)
                    break
    return roots


def provider(module: str, roots: Mapping[str, str] | None = None) -> str | None:
    """The distribution that provides `module` (longest importable root that prefixes it), or None."""
    table = import_roots() if roots is None else roots
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        dist = table.get(".".join(parts[:depth]))
        if dist is not None:
            return dist
    return None


@dataclass
class Artifact:
    """What one artifact ships and may rely on (see the module docstring)."""

    name: str
    modules: Mapping[str, Path]  # importable module name -> shipped source file
    declared: frozenset[str]  # distributions its requirements name (normalized), e.g. lambda.in's lines
    declared_in: str  # where they are named, for messages: "lambda.in"
    pinned: frozenset[str]  # everything its lock carries, dependencies included
    pinned_in: str  # "lambda.lock"
    provided: frozenset[str] = frozenset()  # distributions the runtime provides (normalized)
    foreign: tuple[
        str, ...
    ] = ()  # the other cloud's SDK and core modules (dotted prefixes): lazy imports only
    used: set[str] = field(
        default_factory=set
    )  # declared entries a shipped file imports (filled by the check)

    @classmethod
    def for_lock(
        cls,
        name: str,
        modules: Mapping[str, Path],
        lock: Path,
        *,
        provided: frozenset[str] = frozenset(),
        foreign: tuple[str, ...] = (),
    ) -> Artifact:
        """An artifact that vendors `lock`, whose requirements are the `.in` file beside it."""
        in_file = lock.with_suffix(".in")
        return cls(
            name=name,
            modules=modules,
            declared=frozenset(requirement_names(in_file)),
            declared_in=in_file.name,
            pinned=frozenset(locked_names(lock)),
            pinned_in=lock.name,
            provided=provided,
            foreign=foreign,
        )


def _ships(artifact: Artifact, imp: Import) -> bool:
    if imp.module in artifact.modules:
        return True
    return bool(imp.names) and all(f"{imp.module}.{n}" in artifact.modules for n in imp.names)


def check_artifact(artifact: Artifact, roots: Mapping[str, str] | None = None) -> list[str]:
    """Problems with the imports of `artifact`'s shipped files (empty when every import is provided)."""
    first_party = {m.split(".")[0] for m in artifact.modules}
    problems = []
    for module, path in sorted(artifact.modules.items()):
        for imp in imports_of(path, module):
            top = imp.module.split(".")[0]
            where = f"{artifact.name}: {module} (line {imp.line})"
            if top in sys.stdlib_module_names:
                continue
            if any(imp.module == f or imp.module.startswith(f + ".") for f in artifact.foreign):
                if not imp.lazy:
                    problems.append(
                        f"{where} imports {imp.module} at module level: the other cloud's code is not "
                        f"shipped in {artifact.name}; import it inside the function that needs it"
                    )
                continue
            if top in first_party:
                if not _ships(artifact, imp):
                    problems.append(f"{where} imports {imp.module}, which {artifact.name} does not ship")
                continue
            dist = provider(imp.module, roots)
            if dist is None:
                problems.append(f"{where} imports {imp.module}, which no installed distribution provides")
            elif dist in artifact.provided:
                continue
            elif dist in artifact.declared:
                artifact.used.add(dist)
            elif dist in artifact.pinned:
                problems.append(
                    f"{where} imports {imp.module} ({dist}), which {artifact.pinned_in} carries only as "
                    f"another package's dependency: name it in {artifact.declared_in}"
                )
            else:
                then = " (then `make lock`)" if artifact.declared_in.endswith(".in") else ""
                problems.append(
                    f"{where} imports {imp.module} ({dist}), which {artifact.pinned_in} does not carry: "
                    f"add it to {artifact.declared_in}{then}, or keep the import out of shipped code"
                )
    for dist in sorted(artifact.declared & artifact.provided):
        problems.append(f"{artifact.declared_in} lists {dist}, which the {artifact.name} runtime provides")
    return problems


def imported_distributions(modules: Mapping[str, Path], roots: Mapping[str, str] | None = None) -> set[str]:
    """The installed distributions that the files `modules` import (anywhere in the file)."""
    found = set()
    for module, path in modules.items():
        for imp in imports_of(path, module):
            dist = provider(imp.module, roots)
            if dist is not None and imp.module.split(".")[0] not in sys.stdlib_module_names:
                found.add(dist)
    return found


def unused_entries(artifacts: Iterable[Artifact]) -> list[str]:
    """Declared distributions that no artifact declaring them imports (run after `check_artifact` on each;
    pass every artifact that shares the requirements)."""
    group = list(artifacts)
    used = set().union(*(a.used for a in group))
    declared = {(d, a.declared_in) for a in group for d in a.declared - a.provided}  # provided: reported
    return [
        f"{where} lists {dist}, which no shipped file imports: remove it (and run `make lock`)"
        for dist, where in sorted(declared)
        if dist not in used
    ]
