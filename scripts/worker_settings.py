"""The files of inputs declared once in modules/aws-lambda-worker and copied verbatim where they are shared.

Two shared files, each with its source in modules/aws-lambda-worker (the one module that declares both) and
one shared validation test beside it under tests/:
  - platform_inputs.tf: the inputs every AWS platform module takes (the scan store `core` and `tags`),
    copied into every module that reads `var.core` (modules/ecr, modules/lambda, modules/fargate);
  - worker_settings.tf: every input a platform module passes through to the worker unchanged, copied into
    every module that calls the worker (a `module` block whose local source is ../aws-lambda-worker:
    modules/ecr, modules/lambda).
A copy is byte-identical and has the source's name, so the carrier's inputs, README table and validations
are the source's. `make docs` (scripts/tfdocs.py --write) writes the copies; `make conventions` fails when
a copy is missing or differs, or when a worker `module` call leaves an input of either file out or sets it
from something other than the caller's own input (the worker's default, or a fixed value, would silently
win). The shared tests (tests/platform_inputs.tftest.hcl, tests/worker_settings.tftest.hcl) run in the
worker itself, and `make tf-test` (scripts/tf_validate.py) runs each in every module carrying its file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scripts import tfroots
from scripts.hcl import parse_hcl

WORKER = "aws-lambda-worker"


@dataclass(frozen=True)
class Shared:
    """One shared file: its name (the same in the source and every copy) and its shared test."""

    file: str
    test: Path


PLATFORM_INPUTS = Shared("platform_inputs.tf", Path("tests") / "platform_inputs.tftest.hcl")
WORKER_SETTINGS = Shared("worker_settings.tf", Path("tests") / "worker_settings.tftest.hcl")
SHARED = (PLATFORM_INPUTS, WORKER_SETTINGS)


@dataclass(frozen=True)
class Call:
    """One `module` block of a platform module that sources the worker."""

    path: Path  # the .tf file holding the block
    line: int
    name: str
    arguments: dict[str, object]  # argument name -> value as parsed (expressions as "${...}" text)


def worker_dir(repo: Path) -> Path:
    return repo / tfroots.MODULES_DIR / WORKER


def source_file(repo: Path, shared: Shared) -> Path:
    return worker_dir(repo) / shared.file


def shared_test(repo: Path, shared: Shared) -> Path:
    return worker_dir(repo) / shared.test


def setting_names(repo: Path) -> list[str]:
    """The variables the source files declare, in file order: what a worker call must pass through."""
    sources = [source_file(repo, shared) for shared in SHARED]
    return [
        name
        for path in sources
        if path.is_file()
        for name, _ in tfroots.blocks(tfroots.load_hcl(path), "variable")
    ]


def worker_calls(module_dir: Path, repo: Path) -> list[Call]:
    """The module blocks in module_dir's top-level .tf files whose local source is the worker."""
    target = worker_dir(repo).resolve()
    calls: list[Call] = []
    for path in tfroots.tf_files(module_dir):
        hcl = parse_hcl(path)
        for name, body in tfroots.blocks(hcl.data, "module"):
            source = body.get("source")
            if not (isinstance(source, str) and tfroots.is_local_source(source)):
                continue
            if (module_dir / source).resolve() != target:
                continue
            arguments = {key: value for key, value in body.items() if key not in {"source", "version"}}
            calls.append(Call(path, hcl.line_of("module", name) or 0, name, arguments))
    return calls


def reads_core(module_dir: Path) -> bool:
    """Whether a top-level .tf file of module_dir other than the platform inputs copy reads `var.core`."""
    return any(
        path.name != PLATFORM_INPUTS.file and re.search(r"\bvar\.core\b", path.read_text(encoding="utf-8"))
        for path in tfroots.tf_files(module_dir)
    )


def carriers(repo: Path, shared: Shared) -> list[Path]:
    """Every module under modules/ (the worker excluded) that must carry a copy of shared: for the worker
    settings the worker's callers, for the platform inputs the modules reading `var.core`; none without
    the source."""
    if not source_file(repo, shared).is_file():
        return []
    home = worker_dir(repo).resolve()
    return [
        d
        for d in tfroots.module_dirs(repo)
        if d.resolve() != home
        and (bool(worker_calls(d, repo)) if shared is WORKER_SETTINGS else reads_core(d))
    ]


def copy_reason(module_dir: Path, repo: Path, shared: Shared) -> str | None:
    """Why module_dir's copy of shared is wrong, or None when it equals the source."""
    source = source_file(repo, shared)
    copy = module_dir / shared.file
    where = tfroots.display(source, repo)
    if not copy.is_file():
        return f"{shared.file} is missing: it must be a copy of {where} (run `make docs`)"
    if copy.read_bytes() != source.read_bytes():
        return f"{shared.file} differs from {where}: edit the source and run `make docs`"
    return None


def write_copy(module_dir: Path, repo: Path, shared: Shared) -> bool:
    """Make module_dir's copy of shared equal the source; True when the file changed."""
    text = source_file(repo, shared).read_bytes()
    copy = module_dir / shared.file
    if copy.is_file() and copy.read_bytes() == text:
        return False
    copy.write_bytes(text)
    return True


def passes_through(value: object, name: str) -> bool:
    """Whether an argument's expression is built from the caller's own setting (`var.<name>`, or a local of
    that name such as `local.tags = merge(var.tags, ...)`)."""
    return isinstance(value, str) and re.search(rf"\b(?:var|local)\.{re.escape(name)}\b", value) is not None


def missing_arguments(module_dir: Path, repo: Path) -> list[tuple[Call, list[str]]]:
    """(call, settings it leaves out or does not pass through) for every worker call of module_dir."""
    names = setting_names(repo)
    found = []
    for call in worker_calls(module_dir, repo):
        missing = [name for name in names if not passes_through(call.arguments.get(name), name)]
        if missing:
            found.append((call, missing))
    return found
