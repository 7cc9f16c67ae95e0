"""The worker settings, declared once and copied verbatim into every module that calls the worker.

modules/aws-lambda-worker/worker_settings.tf declares every input a platform module passes through to the
worker unchanged (type, default, description, validation). Each module that calls the worker (a `module`
block whose local source is ../aws-lambda-worker: modules/ecr, modules/lambda) carries a byte-identical
copy under the same name, so its inputs, README table and validations are the worker's. `make docs`
(scripts/tfdocs.py --write) writes the copies; `make conventions` fails when a copy differs or when the
`module` call leaves a setting out or sets it from something other than the caller's own setting (the
worker's default, or a fixed value, would silently win). The shared validation tests
are modules/aws-lambda-worker/tests/worker_settings.tftest.hcl: the worker runs them itself, and
`make tf-test` (scripts/tf_validate.py) runs them in every calling module as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scripts import tfroots
from scripts.hcl import parse_hcl

WORKER = "aws-lambda-worker"
SETTINGS_FILE = "worker_settings.tf"
SHARED_TEST = Path("tests") / "worker_settings.tftest.hcl"


@dataclass(frozen=True)
class Call:
    """One `module` block of a platform module that sources the worker."""

    path: Path  # the .tf file holding the block
    line: int
    name: str
    arguments: dict[str, object]  # argument name -> value as parsed (expressions as "${...}" text)


def worker_dir(repo: Path) -> Path:
    return repo / tfroots.MODULES_DIR / WORKER


def source_file(repo: Path) -> Path:
    return worker_dir(repo) / SETTINGS_FILE


def shared_test(repo: Path) -> Path:
    return worker_dir(repo) / SHARED_TEST


def setting_names(repo: Path) -> list[str]:
    """The variables the source file declares, in file order."""
    return [name for name, _ in tfroots.blocks(tfroots.load_hcl(source_file(repo)), "variable")]


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


def callers(repo: Path) -> list[Path]:
    """Every module under modules/ (the worker excluded) that calls the worker; none without the source."""
    if not source_file(repo).is_file():
        return []
    home = worker_dir(repo).resolve()
    return [d for d in tfroots.module_dirs(repo) if d.resolve() != home and worker_calls(d, repo)]


def copy_reason(module_dir: Path, repo: Path) -> str | None:
    """Why module_dir's copy of the settings is wrong, or None when it equals the source."""
    source = source_file(repo)
    copy = module_dir / SETTINGS_FILE
    where = tfroots.display(source, repo)
    if not copy.is_file():
        return f"{SETTINGS_FILE} is missing: it must be a copy of {where} (run `make docs`)"
    if copy.read_bytes() != source.read_bytes():
        return f"{SETTINGS_FILE} differs from {where}: edit the source and run `make docs`"
    return None


def write_copy(module_dir: Path, repo: Path) -> bool:
    """Make module_dir's copy equal the source; True when the file changed."""
    text = source_file(repo).read_bytes()
    copy = module_dir / SETTINGS_FILE
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
