"""Every third-party import in shipped code is declared by the lock that ships it, and every declared
requirement is imported (scripts/shipped_imports.py, run by `make package` and here over the real tree)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from scripts import package, shipped_imports
from scripts.shipped_imports import Artifact, check_artifact, normalize, unused_entries

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements"
# dev.in entries that are run, not imported: pytest plugins, tools, type stubs, build backends.
DEV_TOOLS = {
    "pytest-timeout",
    "pytest-xdist",
    "ruff",
    "mypy",
    "types-requests",
    "types-jsonschema",
    "pre-commit",
    "cfn-lint",
    "pip-tools",
    "setuptools",
    "wheel",
}
FIRST_PARTY = {"qscan", "tests", "scripts", "handler"}


def _modules(files: list[tuple[str, Path]], prefix: str = "") -> dict[str, Path]:
    modules = {}
    for arcname, path in files:
        if arcname.endswith(".py"):
            parts = arcname.removeprefix(prefix).removesuffix(".py").split("/")
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _repo_modules(*tops: str) -> dict[str, Path]:
    """Every .py file under the given top-level directories, by its importable name."""
    files = []
    for top in tops:
        base = REPO / "shared" if top == "shared" else REPO
        files += [(p.relative_to(base).as_posix(), p) for p in sorted((REPO / top).rglob("*.py"))]
    return _modules(files)


# ---------------------------------------------------------------------------------------------- the real tree


def test_every_artifact_imports_only_what_its_lock_and_runtime_provide() -> None:
    specs = [s for s in package.specs(REPO, None) if s.lock is not None]
    assert {s.name for s in specs} >= {"aws-ecr", "aws-lambda"}
    problems = [p for spec in specs for p in package.import_problems(spec)]
    assert problems == []


def test_lambda_zips_leave_out_the_dev_only_and_azure_only_core_modules() -> None:
    lambda_specs = [spec for spec in package.specs(REPO, None) if spec.platform == "aws"]
    assert lambda_specs
    for spec in lambda_specs:
        names = {arcname for arcname, _ in spec.sources}
        assert "qscan/pipeline.py" in names
        assert "qscan/results/schema.py" not in names  # imports jsonschema, which lambda.lock does not carry
        assert "qscan/dedupe/azure_table.py" not in names and "qscan/results/blob.py" not in names


def test_no_artifact_ships_the_command_line() -> None:
    """`qscan` is a local tool; shipped, its `report` subcommand would fail to import (qscan.report is dev-only)."""
    for platform in ("aws", "azure"):
        shipped = [arcname for arcname, _ in package.core_files(REPO, platform)]
        assert "qscan/pipeline.py" in shipped
        assert not [name for name in shipped if name.startswith(("qscan/cli/", "qscan/report/"))], platform


def test_the_azure_functions_lock_matches_what_the_core_runs_on_azure() -> None:
    """The Azure app is planned; its lock already holds exactly what the core's Azure side imports."""
    site = ".python_packages/lib/site-packages/"
    azure_dir = REPO / "handlers" / "azure"
    files = [(site + a, p) for a, p in package.core_files(REPO, "azure")]
    if azure_dir.is_dir():
        files += package.tree_files(azure_dir, "")
    spec = package.Spec(
        name="azure-functions",
        runtime=package.AZURE_RUNTIME,
        sources=tuple(files),
        lock=REQUIREMENTS / "azure-functions.lock",
        python_version="3.11",
        deps_prefix=site,
        platform="azure",
    )
    assert package.import_problems(spec) == []


def test_every_requirements_file_is_a_shipped_lock_or_a_tool_environment() -> None:
    shipped = {"lambda.in", "azure-functions.in"}
    tools = {"dev.in", "checkov.in"}  # the dev virtualenv; checkov's own virtualenv
    assert {p.name for p in REQUIREMENTS.glob("*.in")} == shipped | tools
    for name in shipped | {"dev.in"}:
        assert (REQUIREMENTS / name).with_suffix(".lock").is_file()


def test_dev_requirements_are_imported_or_known_tools() -> None:
    declared = set(shipped_imports.requirement_names(REQUIREMENTS / "dev.in"))
    assert declared >= DEV_TOOLS, "DEV_TOOLS names a tool dev.in no longer lists"
    imported = shipped_imports.imported_distributions(_repo_modules("shared", "handlers", "tests", "scripts"))
    unused = sorted(declared - imported - DEV_TOOLS)
    assert unused == [], f"dev.in lists what nothing imports: {unused}"


def test_pyproject_declares_exactly_what_the_core_imports() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    declared = frozenset(normalize(shipped_imports.requirement_name(r)) for r in requirements)
    core = Artifact(
        name="qscan",
        modules=_repo_modules("shared"),
        declared=declared,
        declared_in="pyproject.toml",
        pinned=declared,
        pinned_in="pyproject.toml",
    )
    assert check_artifact(core) + unused_entries([core]) == []


# ---------------------------------------------------------------------------------------------- the checker

ROOTS = {"requests": "requests", "urllib3": "urllib3", "boto3": "boto3", "azure.core": "azure-core"}


def _artifact(tmp_path: Path, files: dict[str, str], declared: set[str], pinned: set[str]) -> Artifact:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return Artifact(
        name="aws-x",
        modules=_modules([(name, tmp_path / name) for name in files]),
        declared=frozenset(declared),
        declared_in="lambda.in",
        pinned=frozenset(pinned | declared),
        pinned_in="lambda.lock",
        provided=frozenset({"boto3"}),
        foreign=("azure", "qscan.azure_backend"),
    )


def test_module_level_foreign_code_is_refused_and_lazy_or_type_checking_imports_allowed(
    tmp_path: Path,
) -> None:
    artifact = _artifact(
        tmp_path,
        {
            "qscan/__init__.py": "",
            "qscan/top.py": "from azure.core import exceptions\n",
            "qscan/lazy.py": "def f():\n    from azure.core import exceptions\n    import qscan.azure_backend\n",
            "qscan/hinted.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import jsonschema\n",
            "qscan/uses.py": "import requests\n",
        },
        {"requests"},
        set(),
    )
    problems = check_artifact(artifact, ROOTS) + unused_entries([artifact])
    assert len(problems) == 1, problems
    assert problems[0].startswith("aws-x: qscan.top (line 1) imports azure.core at module level")


def test_undeclared_transitive_unshipped_provided_and_unused_are_each_reported(tmp_path: Path) -> None:
    artifact = _artifact(
        tmp_path,
        {
            "qscan/__init__.py": "",
            "qscan/a.py": "import boto3\nimport jsonschema\nfrom urllib3 import exceptions\nthing = 1\n",
            "qscan/b.py": "from .a import thing\nimport qscan.missing\nfrom .gone import x\n",
        },
        {"requests", "boto3"},
        {"urllib3"},
    )
    problems = check_artifact(artifact, ROOTS) + unused_entries([artifact])
    assert problems == [
        "aws-x: qscan.a (line 2) imports jsonschema, which no installed distribution provides",
        "aws-x: qscan.a (line 3) imports urllib3 (urllib3), which lambda.lock carries only as another "
        "package's dependency: name it in lambda.in",
        "aws-x: qscan.b (line 2) imports qscan.missing, which aws-x does not ship",
        "aws-x: qscan.b (line 3) imports qscan.gone, which aws-x does not ship",
        "lambda.in lists boto3, which the aws-x runtime provides",
        "lambda.in lists requests, which no shipped file imports: remove it (and run `make lock`)",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [("moto[server,all]==5.2.5", "moto"), ("Azure_Core>=1.30", "azure-core"), ("-c dev.lock", None)],
)
def test_requirement_lines_name_their_distribution(tmp_path: Path, line: str, expected: str | None) -> None:
    (tmp_path / "x.in").write_text(f"# comment\n{line}\n")
    assert shipped_imports.requirement_names(tmp_path / "x.in") == ([expected] if expected else [])


def test_included_requirement_files_count(tmp_path: Path) -> None:
    (tmp_path / "base.in").write_text("requests\n")
    (tmp_path / "dev.in").write_text("-r base.in\npytest\n")
    assert shipped_imports.requirement_names(tmp_path / "dev.in") == ["requests", "pytest"]
