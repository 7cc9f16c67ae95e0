"""`terraform init -backend=false` + `terraform validate` (or `terraform test`) on every AWS Terraform root.

    tf_validate.py [--test] [--jobs N] [--root DIR]

Roots are modules/*, modules/*/examples/* and environments/* (see scripts/tfroots.py). Azure roots are listed and skipped: the
azurerm provider cannot be installed offline, `make azurerm-check` validates them instead. An AWS
environment (environments/aws-*, environments/local) that pulls in a module declaring azurerm fails, and so
does an environment without a committed .terraform.lock.hcl. Modules and their examples commit no lock file
(an example is part of its module: a caller copies it and pins providers in its own root), so one written by
`terraform init` is removed again. With --test, `terraform test` runs in every AWS
module and environment that has tests/*.tftest.hcl; in a module that carries a file shared from
modules/aws-lambda-worker (platform_inputs.tf, worker_settings.tf: scripts/worker_settings.py) it runs in a
scratch copy of modules/ with that file's shared test (modules/aws-lambda-worker/tests/platform_inputs.tftest.hcl,
.../worker_settings.tftest.hcl) added to the module's own tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import tfroots, worker_settings

LOCK_FILE = ".terraform.lock.hcl"
AZURE_SKIP_REASON = "azurerm cannot be installed here; checked by make azurerm-check"
STEP_TIMEOUT_S = 900
OUTPUT_TAIL_LINES = 60


@dataclass(frozen=True)
class Plan:
    """What to do with one root."""

    root: tfroots.Root
    azure_chain: list[Path] | None  # modules leading to an azurerm declaration; None for AWS roots

    @property
    def is_azure(self) -> bool:
        return self.azure_chain is not None


@dataclass
class Outcome:
    name: str
    ok: bool
    summary: str
    timings: list[tuple[str, float]] = field(default_factory=list)
    details: str = ""


def classify(repo: Path) -> tuple[list[Plan], list[str]]:
    """Plan every root; also return policy errors (AWS environments that depend on azurerm)."""
    classifier = tfroots.Classifier()
    plans: list[Plan] = []
    errors: list[str] = []
    for root in tfroots.discover_roots(repo):
        chain = classifier.provider_chain(root.path, tfroots.AZURE_PROVIDER)
        plans.append(Plan(root=root, azure_chain=chain))
        if chain is not None and root.must_be_aws:
            via = " -> ".join(tfroots.display(p, repo) for p in chain)
            errors.append(
                f"{root.name}: AWS environment depends on a module that declares "
                f"{tfroots.AZURE_PROVIDER} ({via}); keep Azure modules out of AWS roots"
            )
    return plans, errors


def test_files(module_dir: Path) -> list[Path]:
    return sorted((module_dir / "tests").glob("*.tftest.hcl"))


def terraform_env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every terraform the project starts runs with (gates, tests, the demo).

    A TF_CLI_CONFIG_FILE that names an existing file wins (the Makefile exports the repo's); otherwise the repo's
    `.terraform-cli/terraformrc` (written by `make bootstrap`: the provider mirror when one exists) is used.
    """
    env = dict(os.environ)
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    env["TF_INPUT"] = "0"
    current = env.get("TF_CLI_CONFIG_FILE", "")
    default_config = repo / ".terraform-cli" / "terraformrc"
    if not (current and Path(current).is_file()) and default_config.is_file():
        env["TF_CLI_CONFIG_FILE"] = str(default_config)
    env.update(extra or {})
    return env


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    if len(lines) > OUTPUT_TAIL_LINES:
        lines = [f"... ({len(lines) - OUTPUT_TAIL_LINES} earlier lines omitted)", *lines[-OUTPUT_TAIL_LINES:]]
    return "\n".join(lines)


def _run(terraform: str, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[bool, float, str]:
    start = time.monotonic()
    try:
        done = subprocess.run(
            [terraform, *args, "-no-color"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - start, f"terraform {args[0]} timed out after {STEP_TIMEOUT_S}s"
    return done.returncode == 0, time.monotonic() - start, _tail(done.stdout + "\n" + done.stderr)


def git_tracks(repo: Path, path: Path) -> bool | None:
    """Whether git tracks path (staged counts); None when git or the repository is unavailable."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "ls-files", "--error-unmatch", "--", str(path)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode == 0:
        return True
    if "not a git repository" in done.stderr:
        return None
    return False


def with_shared_settings_test(
    root: tfroots.Root, repo: Path, scratch: Path, carried: tuple[worker_settings.Shared, ...]
) -> Path:
    """scratch/modules: a copy of the repo's modules/ whose copy of root also holds the shared test of every
    shared file root carries; returns root's copy (module sources like ../aws-lambda-worker still resolve)."""
    shutil.copytree(
        repo / tfroots.MODULES_DIR,
        scratch / tfroots.MODULES_DIR,
        ignore=shutil.ignore_patterns(".terraform", LOCK_FILE, "*.tfstate*"),
    )
    copy = scratch / root.path.resolve().relative_to(repo)
    for shared in carried:
        target = copy / shared.test
        if target.exists():
            raise FileExistsError(f"{root.name}/{shared.test} would hide the worker's shared test")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(worker_settings.shared_test(repo, shared), target)
    return copy


def process(
    plan: Plan,
    terraform: str,
    repo: Path,
    env: dict[str, str],
    mode: str,
    *,
    shared_tests: tuple[worker_settings.Shared, ...] = (),
) -> Outcome:
    """init + validate (mode "validate") or init + test (mode "test") in one AWS root; with shared_tests the
    tests run in a scratch copy that adds those shared files' tests."""
    if shared_tests:
        with tempfile.TemporaryDirectory(prefix="qscan-tf-test-") as scratch:
            copy = with_shared_settings_test(plan.root, repo, Path(scratch), shared_tests)
            scratch_root = tfroots.Root(path=copy, kind=plan.root.kind, name=plan.root.name)
            return process(Plan(root=scratch_root, azure_chain=None), terraform, repo, env, mode)
    root = plan.root
    outcome = Outcome(name=root.name, ok=True, summary="")
    lock = root.path / LOCK_FILE
    lock_existed = lock.is_file()
    init_args = ["init", "-backend=false", "-input=false"]
    if root.is_environment and lock_existed:
        init_args.append("-lockfile=readonly")  # the committed lock file is the truth: never rewrite it
    try:
        ok, seconds, output = _run(terraform, init_args, root.path, env)
        outcome.timings.append(("init", seconds))
        if not ok:
            outcome.ok, outcome.summary, outcome.details = False, "terraform init FAILED", output
            return outcome
        step = ["validate"] if mode == "validate" else ["test"]
        ok, seconds, output = _run(terraform, step, root.path, env)
        outcome.timings.append((step[0], seconds))
        if not ok:
            outcome.ok, outcome.summary, outcome.details = False, f"terraform {step[0]} FAILED", output
            return outcome
        outcome.summary = (
            "valid" if mode == "validate" else f"{len(test_files(root.path))} test file(s) passed"
        )
        if mode == "test" and output:
            outcome.details = output
        if root.is_environment:
            tracked = git_tracks(repo, lock) if lock_existed else False
            if not lock_existed or tracked is False:
                outcome.ok = False
                outcome.summary = (
                    f"{root.name}/{LOCK_FILE} is not committed: `terraform init` wrote it; "
                    f"commit it (git add {root.name}/{LOCK_FILE})"
                )
        return outcome
    finally:
        if not root.is_environment and not lock_existed and lock.is_file():
            lock.unlink()  # modules and examples commit no lock file; leave the tree as we found it


def _report(outcome: Outcome, verbose_details: bool) -> None:
    timing = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in outcome.timings)
    status = "ok  " if outcome.ok else "FAIL"
    print(f"  {status} {outcome.name}: {outcome.summary} ({timing})", flush=True)
    if outcome.details and (not outcome.ok or verbose_details):
        for line in outcome.details.splitlines():
            print(f"       | {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="terraform validate / test every AWS root")
    parser.add_argument("--test", action="store_true", help="run `terraform test` in modules with tests/")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="roots processed in parallel")
    parser.add_argument("--root", type=Path, default=tfroots.REPO_ROOT, help="repository root")
    parser.add_argument("--terraform", default="terraform", help="terraform executable")
    parser.add_argument("-v", "--verbose", action="store_true", help="print terraform test output on success")
    args = parser.parse_args(argv)
    repo: Path = args.root.resolve()
    mode = "test" if args.test else "validate"

    try:
        plans, errors = classify(repo)
    except tfroots.HclError as exc:
        print(f"tf_validate: {exc}", file=sys.stderr)
        return 1
    if not plans:
        print(f"{mode}: no roots found under modules/ or environments/: nothing to do")
        return 0

    carriers = {
        shared: {d.resolve() for d in worker_settings.carriers(repo, shared)} if mode == "test" else set()
        for shared in worker_settings.SHARED
    }

    def carried(root: Path) -> tuple[worker_settings.Shared, ...]:
        return tuple(shared for shared, dirs in carriers.items() if root.resolve() in dirs)

    if mode == "test":
        plans = [p for p in plans if test_files(p.root.path) or carried(p.root.path)]
        if not plans:
            print("test: no root has tests/*.tftest.hcl: nothing to do")
            return 0 if not errors else _fail(errors)

    terraform = shutil.which(args.terraform)
    work = [p for p in plans if not p.is_azure]
    print(f"{mode}: {len(work)} AWS root(s), {len(plans) - len(work)} Azure root(s) skipped", flush=True)
    for plan in plans:
        if plan.is_azure:
            print(f"  skip {plan.root.name}: Azure root ({AZURE_SKIP_REASON})")
    if work and terraform is None:
        errors.append(f"terraform executable {args.terraform!r} not found on PATH")
        return _fail(errors)
    env = terraform_env(repo)
    start = time.monotonic()
    outcomes: list[Outcome] = []
    if work and terraform is not None:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [
                pool.submit(process, plan, terraform, repo, env, mode, shared_tests=carried(plan.root.path))
                for plan in work
            ]
            for future in futures:
                outcome = future.result()
                outcomes.append(outcome)
                _report(outcome, args.verbose)
    failed = [o for o in outcomes if not o.ok]
    errors += [f"{o.name}: {o.summary}" for o in failed]
    print(
        f"{mode}: {len(outcomes) - len(failed)} root(s) ok; {len(failed)} root(s) failing; "
        f"{len(plans) - len(work)} root(s) skipped ({time.monotonic() - start:.1f}s)"
    )
    return _fail(errors) if errors else 0


def _fail(errors: list[str]) -> int:
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
