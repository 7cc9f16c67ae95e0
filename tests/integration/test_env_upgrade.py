"""Upgrading a deployed environment to the current modules recreates nothing: environments/local from before
issue 11 (modules/scan-worker, one variables.tf per platform module), and environments/aws-single-account from
before issue 12 (the trail inside modules/lambda, now modules/aws-trail behind `moved` blocks). Both
environments gained modules/fargate since, and aws-single-account the reconciler (modules/reconciler-aws, on by
default): their resources are the only creates allowed.

The rename to modules/aws-lambda-worker keeps the call `module.worker`, and the worker settings only moved
between files, so those resources keep their addresses; the worker's dashboard moved into modules/aws-dashboard
behind a `moved` block (module.dashboard), and this test proves the move recreates nothing. The
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
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import moto_server as ms
from tests.harness import tf_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The last commit whose modules/ had modules/scan-worker and the per-module worker variables.
BEFORE_ISSUE_11 = "29fada5d8744f0dde09e8fc1de2e91e74bb5e85f"
# The last commit whose modules/lambda created the trail (create_trail).
BEFORE_ISSUE_12 = "3f9052eef4e685388f63b7ae9d31b8f06150a547"


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


def planned_upgrade(
    commit: str,
    environment: str,
    tmp_path: Path,
    variables: Callable[[ms.MotoServer], list[str]] = lambda server: [],
    destroy: bool = True,
) -> dict[str, list[str]]:
    """Apply `environment` as it was at `commit` on a shimmed moto server, plan the current modules and
    environment over that state, destroy; the planned actions by managed resource address. `variables`
    prepares the server (e.g. a layer the environment references) and returns further -var arguments;
    destroy=False leaves the resources to the server that goes away with the test (deletion protection)."""
    extract_tree(commit, ["modules", f"environments/{environment}"], tmp_path)
    root = tmp_path / "environments" / environment
    manifest = tf_env.fake_manifest(tmp_path)
    with ms.running_moto_server(tmp_path / "moto") as server:
        var = [f"-var=manifest_path={manifest}", *variables(server)]
        ms.write_provider_override(root, server.endpoint)
        tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init (before)")
        tf_env.checked(
            tf_env.terraform(root, "apply", "-auto-approve", "-input=false", *var), "apply (before)"
        )
        try:
            # The current modules and environment, over the same state.
            shutil.rmtree(tmp_path / "modules")
            shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
            for path in root.glob("*.tf"):
                if path.name != ms.PROVIDER_OVERRIDE_FILE:
                    path.unlink()
            for path in (ms.REPO_ROOT / "environments" / environment).glob("*.tf"):
                shutil.copyfile(path, root / path.name)
            tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init (after)")
            tf_env.checked(
                tf_env.terraform(root, "plan", "-input=false", "-refresh=false", "-out=upgrade.tfplan", *var),
                "plan (after)",
            )
            plan = json.loads(
                tf_env.checked(tf_env.terraform(root, "show", "-json", "upgrade.tfplan"), "show")
            )
        finally:
            destroyed = (
                tf_env.terraform(root, "destroy", "-auto-approve", "-input=false", "-refresh=false", *var)
                if destroy
                else None
            )
        if destroyed is not None:
            tf_env.checked(destroyed, "terraform destroy")
    return {
        change["address"]: change["change"]["actions"]
        for change in plan["resource_changes"]
        if change["mode"] == "managed"
    }


def modules_added(
    changes: dict[str, list[str]], prefixes: tuple[str, ...] = ("module.fargate.",)
) -> set[str]:
    """The resources of modules new since the old tree (each prefix: one module call), which are only created:
    modules/fargate in both environments, and in aws-single-account the reconciler (on by default)."""
    added: set[str] = set()
    for prefix in prefixes:
        module = {address for address in changes if address.startswith(prefix)}
        assert module and {tuple(changes[address]) for address in module} == {("create",)}, prefix
        added |= module
    return added


def test_upgrading_from_scan_worker_recreates_nothing(tmp_path: Path) -> None:
    changes = planned_upgrade(BEFORE_ISSUE_11, "local", tmp_path)
    assert "module.ecr.module.worker.aws_lambda_function.this" in changes
    added = modules_added(changes)
    recreated = {
        address: actions
        for address, actions in changes.items()
        if set(actions) - {"no-op", "update"} and address not in added
    }
    assert recreated == {}
    updated = {address for address, actions in changes.items() if actions == ["update"]}
    assert updated <= {
        "module.ecr.module.worker.aws_lambda_function.this",
        "module.lambda.module.worker.aws_lambda_function.this",
        # the deploy rule's pattern now also excludes the Fargate task function (qscan's own), in place
        "module.lambda.aws_cloudwatch_event_rule.deploy",
    }


def test_trail_created_by_the_lambda_module_moves_without_a_replacement(tmp_path: Path) -> None:
    """environments/aws-single-account from before issue 12 created the trail inside modules/lambda; its moved.tf
    carries the trail, bucket and key to module.trail[0] (modules/aws-trail): no create, delete or replacement."""

    def variables(server: ms.MotoServer) -> list[str]:
        layer = server.client("lambda").publish_layer_version(
            LayerName="qscanner", Content={"ZipFile": tf_env.zipped_file("bin/qscanner")}
        )
        return [
            f"-var=region={ms.REGION}",
            f"-var=qscanner_layer_arn={layer['LayerVersionArn']}",
            "-var=trail_bucket_force_destroy=true",
        ]

    # No destroy: aws-single-account keeps the dedupe table's deletion protection on.
    changes = planned_upgrade(BEFORE_ISSUE_12, "aws-single-account", tmp_path, variables, destroy=False)
    assert changes["module.trail[0].aws_cloudtrail.this"] in (["no-op"], ["update"])
    assert not any(address.startswith("module.lambda.aws_cloudtrail") for address in changes)
    added = modules_added(changes, ("module.fargate.", "module.reconciler[0]."))
    recreated = {
        address: actions
        for address, actions in changes.items()
        if set(actions) - {"no-op", "update"} and address not in added
    }
    assert recreated == {}
