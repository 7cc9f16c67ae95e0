"""The repo's own Terraform conventions (tflint and terraform-docs cannot be installed here).

Modules (every folder under modules/):
  - versions.tf, variables.tf, outputs.tf, main.tf and README.md exist;
  - every variable has a type that is not (and does not contain) `any`, and a non-empty description;
  - every output has a non-empty description;
  - no provider blocks (tests/ excepted) and no paths that leave the module (file()/templatefile()
    arguments or `${path.module}/..`; module sources other than a sibling module `../<name>` under modules/,
    which travels with the module when another repository sources `//modules/<name>`);
  - the README input/output tables equal what scripts/tfdocs.py generates;
  - a module that reads `var.core` carries an exact copy of modules/aws-lambda-worker/platform_inputs.tf, one
    that calls the worker an exact copy of its worker_settings.tf, and a worker call passes every input of
    both files through (scripts/worker_settings.py).
Examples (modules/<module>/examples/<name>/, roots that call the module): variables typed and described,
outputs described, provider blocks allowed; a local module source is the module itself (`../..`) or one of
its sibling modules, and no other path leaves the example (artifacts arrive through variables).
Environments (every folder under environments/): variables typed (no `any`) and described.

Problems are printed as `file:line: message`; the exit code is 1 when there is any.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import tfdocs, tfroots, worker_settings
from scripts.hcl import HclFile, parse_hcl

REQUIRED_FILES = ("versions.tf", "variables.tf", "outputs.tf", "main.tf", "README.md")
_ANY = re.compile(r"\bany\b")
# Paths that climb out of the directory: file("../x"), templatefile("${path.module}/../x"), "${path.root}/.."
_FILE_FUNCTIONS = (
    r"(?:file|filebase64|filebase64sha256|filebase64sha512|filemd5|filesha1|filesha256|filesha512|"
    r"fileexists|fileset|templatefile|abspath)"
)
_ESCAPING_FILE_CALL = re.compile(rf"\b{_FILE_FUNCTIONS}\(\s*\"(?:\.\./|\.\.\"|[^\"]*\$\{{path\.\w+\}}/\.\.)")
_ESCAPING_PATH_EXPR = re.compile(
    r"\$\{path\.(?:module|root|cwd)\}/\.\.(?:/|\"|$)|\bpath\.module\s*,\s*\"\.\."
)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def render(self, repo: Path) -> str:
        where = tfroots.display(self.path, repo)
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


@dataclass
class Stats:
    modules: int = 0
    environments: int = 0
    variables: int = 0
    outputs: int = 0


def _line(hcl: HclFile, kind: str, name: str) -> int:
    return hcl.line_of(kind, name) or 0


def _check_variable(hcl: HclFile, name: str, body: dict[str, Any]) -> list[Problem]:
    path, line = Path(hcl.path), _line(hcl, "variable", name)
    problems = []
    raw_type = body.get("type")
    if raw_type is None:
        problems.append(Problem(path, line, f'variable "{name}" has no type'))
    else:
        rendered = tfdocs.render_type(raw_type)
        if _ANY.search(rendered):
            problems.append(
                Problem(path, line, f'variable "{name}" type `{rendered}` uses `any`: spell it out')
            )
    if not tfdocs.hcl_text(body.get("description")).strip():
        problems.append(Problem(path, line, f'variable "{name}" has no description'))
    return problems


def _check_output(hcl: HclFile, name: str, body: dict[str, Any]) -> list[Problem]:
    if tfdocs.hcl_text(body.get("description")).strip():
        return []
    return [Problem(Path(hcl.path), _line(hcl, "output", name), f'output "{name}" has no description')]


def _leaves(module_dir: Path, file_dir: Path, source: str) -> bool:
    """True when a local module source resolves outside module_dir and is not a sibling module of it."""
    target = (file_dir / source).resolve()
    home = module_dir.resolve()
    sibling = target.parent == home.parent and target != home and (target / "main.tf").is_file()
    return not (target.is_relative_to(home) or sibling)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(number, line) for lines that are not whole-line comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    result = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith(("#", "//")):
            continue
        result.append((number, line))
    return result


def check_module_file(module_dir: Path, hcl: HclFile, stats: Stats) -> list[Problem]:
    path, data = Path(hcl.path), hcl.data
    problems: list[Problem] = []
    for name, body in tfroots.blocks(data, "variable"):
        stats.variables += 1
        problems += _check_variable(hcl, name, body)
    for name, body in tfroots.blocks(data, "output"):
        stats.outputs += 1
        problems += _check_output(hcl, name, body)
    for name, _ in tfroots.blocks(data, "provider"):
        line = _line(hcl, "provider", name)
        problems.append(
            Problem(path, line, f'provider "{name}" block in a module: configure providers in the caller')
        )
    for name, body in tfroots.blocks(data, "module"):
        source = body.get("source")
        if (
            isinstance(source, str)
            and tfroots.is_local_source(source)
            and _leaves(module_dir, path.parent, source)
        ):
            problems.append(
                Problem(
                    path,
                    _line(hcl, "module", name),
                    f'module "{name}" source "{source}" leaves the module (only sibling modules ../<name> may be used)',
                )
            )
    for number, text in _code_lines(path):
        if _ESCAPING_FILE_CALL.search(text) or _ESCAPING_PATH_EXPR.search(text):
            problems.append(
                Problem(
                    path, number, "path leaves the module (`..`): pass the artifact in through a variable"
                )
            )
    return problems


def check_worker_settings(
    module_dir: Path, repo: Path, carried: tuple[worker_settings.Shared, ...]
) -> list[Problem]:
    """The module's copies of the shared files it carries are exact and its worker calls pass every input."""
    problems: list[Problem] = []
    for shared in carried:
        reason = worker_settings.copy_reason(module_dir, repo, shared)
        if reason is not None:
            problems.append(Problem(module_dir / shared.file, 0, reason))
    for call, missing in worker_settings.missing_arguments(module_dir, repo):
        problems.append(
            Problem(
                call.path,
                call.line,
                f'module "{call.name}" does not pass the worker settings {", ".join(missing)} through '
                f"(pass each as `<name> = var.<name>`, or the worker's default silently wins)",
            )
        )
    return problems


def check_module(
    module_dir: Path,
    stats: Stats,
    repo: Path,
    carriers: dict[worker_settings.Shared, frozenset[Path]] | None = None,
) -> list[Problem]:
    stats.modules += 1
    problems = [
        Problem(module_dir / name, 0, "required file is missing")
        for name in REQUIRED_FILES
        if not (module_dir / name).is_file()
    ]
    parsed_ok = True
    for path in tfroots.tf_files_recursive(module_dir):
        try:
            hcl = parse_hcl(path)
        except tfroots.HclError as exc:
            problems.append(Problem(path, exc.line, f"HCL parse error: {exc.reason}"))
            parsed_ok = False
            continue
        problems += check_module_file(module_dir, hcl, stats)
    carried = tuple(shared for shared, dirs in (carriers or {}).items() if module_dir.resolve() in dirs)
    if parsed_ok and carried:
        problems += check_worker_settings(module_dir, repo, carried)
    if parsed_ok and (module_dir / tfdocs.README).is_file():
        try:
            reason = tfdocs.stale_reason(module_dir)
        except tfdocs.DocsError as exc:
            reason = str(exc).removeprefix(f"{module_dir / tfdocs.README}: ")
        if reason is not None:
            line = tfroots.find_line(module_dir / tfdocs.README, re.escape(tfdocs.BEGIN_MARKER))
            problems.append(Problem(module_dir / tfdocs.README, line, reason))
    return problems


def check_example(example_dir: Path, module_dir: Path, stats: Stats) -> list[Problem]:
    problems: list[Problem] = []
    home = module_dir.resolve()
    for path in tfroots.tf_files(example_dir):
        try:
            hcl = parse_hcl(path)
        except tfroots.HclError as exc:
            problems.append(Problem(path, exc.line, f"HCL parse error: {exc.reason}"))
            continue
        for name, body in tfroots.blocks(hcl.data, "variable"):
            stats.variables += 1
            problems += _check_variable(hcl, name, body)
        for name, body in tfroots.blocks(hcl.data, "output"):
            stats.outputs += 1
            problems += _check_output(hcl, name, body)
        for name, body in tfroots.blocks(hcl.data, "module"):
            source = body.get("source")
            if not (isinstance(source, str) and tfroots.is_local_source(source)):
                continue
            target = (example_dir / source).resolve()
            sibling = target.parent == home.parent and (target / "main.tf").is_file()
            if target != home and not sibling:
                problems.append(
                    Problem(
                        path,
                        _line(hcl, "module", name),
                        f'module "{name}" source "{source}" is neither the module (../..) nor a sibling module',
                    )
                )
        for number, text in _code_lines(path):
            if _ESCAPING_FILE_CALL.search(text) or _ESCAPING_PATH_EXPR.search(text):
                problems.append(
                    Problem(
                        path,
                        number,
                        "path leaves the example (`..`): pass the artifact in through a variable",
                    )
                )
    return problems


def check_environment(env_dir: Path, stats: Stats) -> list[Problem]:
    stats.environments += 1
    problems: list[Problem] = []
    for path in tfroots.tf_files(env_dir):
        try:
            hcl = parse_hcl(path)
        except tfroots.HclError as exc:
            problems.append(Problem(path, exc.line, f"HCL parse error: {exc.reason}"))
            continue
        for name, body in tfroots.blocks(hcl.data, "variable"):
            stats.variables += 1
            problems += _check_variable(hcl, name, body)
    return problems


def run(repo: Path) -> tuple[list[Problem], Stats]:
    stats = Stats()
    problems: list[Problem] = []
    try:
        carriers = {
            shared: frozenset(d.resolve() for d in worker_settings.carriers(repo, shared))
            for shared in worker_settings.SHARED
        }
    except tfroots.HclError:
        carriers = {}  # check_module reports the parse error
    for module_dir in tfroots.module_dirs(repo):
        problems += check_module(module_dir, stats, repo, carriers)
        for example_dir in tfroots.example_dirs(module_dir):
            problems += check_example(example_dir, module_dir, stats)
    for env_dir in tfroots.environment_dirs(repo):
        problems += check_environment(env_dir, stats)
    return problems, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the repo's Terraform conventions.")
    parser.add_argument("--root", type=Path, default=tfroots.REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    repo: Path = args.root
    problems, stats = run(repo)
    for problem in problems:
        print(problem.render(repo))
    summary = (
        f"{stats.modules} module(s), {stats.environments} environment(s), "
        f"{stats.variables} variable(s), {stats.outputs} output(s)"
    )
    if problems:
        print(f"conventions: {len(problems)} problem(s) in {summary}", file=sys.stderr)
        return 1
    if stats.modules == 0 and stats.environments == 0:
        print("conventions: no modules or environments found: nothing to check")
    else:
        print(f"conventions: OK ({summary} checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
