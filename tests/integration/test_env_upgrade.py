"""Upgrading a deployed environments/local from before issue 11 (modules/scan-worker, one variables.tf per
platform module) to the current modules recreates nothing.

The rename to modules/aws-lambda-worker keeps the call `module.worker`, and the worker settings only moved
between files, so every resource keeps its address: no `moved` block is needed, and this test proves it. The
old tree comes from git (the last commit before the change); it is applied on a shimmed moto server, then
the current modules plan against that state: every change must be an in-place update (the new
QSCAN_SCANNER_CACHE_MAX_MB setting) or nothing, never a create, delete or replacement.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.harness import moto_server as ms
from tests.harness import tf_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The last commit whose modules/ had modules/scan-worker and the per-module worker variables.
BEFORE_ISSUE_11 = "29fada5d8744f0dde09e8fc1de2e91e74bb5e85f"


def extract_tree(commit: str, paths: list[str], target: Path) -> None:
    """Write `paths` as they were at `commit` into target (git archive, no shell); skip without the commit."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    done = subprocess.run(
        [git, "-C", str(ms.REPO_ROOT), "archive", "--format=tar", commit, *paths],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"commit {commit[:12]} is not in this checkout (shallow clone?)")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(target, filter="data")


def test_upgrading_from_scan_worker_recreates_nothing(tmp_path: Path) -> None:
    extract_tree(BEFORE_ISSUE_11, ["modules", "environments/local"], tmp_path)
    root = tmp_path / "environments" / "local"
    assert (tmp_path / "modules" / "scan-worker").is_dir()
    manifest = tf_env.fake_manifest(tmp_path)
    var = f"-var=manifest_path={manifest}"
    with ms.running_moto_server(tmp_path / "moto") as server:
        ms.write_provider_override(root, server.endpoint)
        tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init (before)")
        tf_env.checked(
            tf_env.terraform(root, "apply", "-auto-approve", "-input=false", var), "apply (before)"
        )
        try:
            # The current modules and environment, over the same state.
            shutil.rmtree(tmp_path / "modules")
            shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
            for path in root.glob("*.tf"):
                if path.name != ms.PROVIDER_OVERRIDE_FILE:
                    path.unlink()
            for path in (ms.REPO_ROOT / "environments" / "local").glob("*.tf"):
                shutil.copyfile(path, root / path.name)
            tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init (after)")
            tf_env.checked(
                tf_env.terraform(root, "plan", "-input=false", "-refresh=false", "-out=upgrade.tfplan", var),
                "plan (after)",
            )
            plan = json.loads(
                tf_env.checked(tf_env.terraform(root, "show", "-json", "upgrade.tfplan"), "show")
            )
        finally:
            destroyed = tf_env.terraform(
                root, "destroy", "-auto-approve", "-input=false", "-refresh=false", var
            )
        tf_env.checked(destroyed, "terraform destroy")

    changes = {
        change["address"]: change["change"]["actions"]
        for change in plan["resource_changes"]
        if change["mode"] == "managed"
    }
    assert "module.ecr.module.worker.aws_lambda_function.this" in changes
    recreated = {
        address: actions for address, actions in changes.items() if set(actions) - {"no-op", "update"}
    }
    assert recreated == {}
    updated = {address for address, actions in changes.items() if actions == ["update"]}
    assert updated <= {
        "module.ecr.module.worker.aws_lambda_function.this",
        "module.lambda.module.worker.aws_lambda_function.this",
    }
