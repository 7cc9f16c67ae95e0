"""environments/aws-single-account: what `make tf-test` (its tests/wiring.tftest.hcl) does not cover: the lock
file, validate before `make package`, and one apply on a shimmed moto server (about 2.5 minutes) with the
no-diff second plan and the Fargate wiring checks (rules → state machine → task function on the ECR scanner's
qscanner layer, the account's one trail)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.harness import fargate_env, tf_env
from tests.harness import moto_server as ms

pytestmark = pytest.mark.integration

ENV = ms.REPO_ROOT / "environments" / "aws-single-account"


def test_lock_file_pins_the_aws_provider() -> None:
    lock = (ENV / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock


def test_validate_works_before_make_package(tmp_path: Path) -> None:
    """No dist/ next to the copy: validate must still pass (the manifest is read through try())."""
    root = tmp_path / "environments" / "aws-single-account"
    shutil.copytree(ENV, root, ignore=tf_env.IGNORED)
    shutil.copytree(ms.REPO_ROOT / "modules", tmp_path / "modules", ignore=tf_env.IGNORED)
    assert not (tmp_path / "dist").exists()
    tf_env.checked(tf_env.terraform(root, "init", "-backend=false", "-input=false"), "terraform init")
    tf_env.checked(tf_env.terraform(root, "validate"), "terraform validate")


@pytest.mark.slow
def test_applies_on_moto_with_fargate_wired_and_plans_no_diff(tmp_path: Path) -> None:
    """One test, so that pytest-xdist never applies the root twice: applied with a fake manifest and a
    published qscanner layer; not destroyed (the dedupe table keeps its deletion protection here, and the
    server goes away with the test)."""
    with ms.running_moto_server(tmp_path / "moto") as server:
        root = tf_env.copy_root("aws-single-account", tmp_path)
        manifest = tf_env.fake_manifest(tmp_path)
        layer = server.client("lambda").publish_layer_version(
            LayerName="qscanner", Content={"ZipFile": tf_env.zipped_file("bin/qscanner")}
        )
        variables = [
            f"-var=manifest_path={manifest}",
            f"-var=region={ms.REGION}",
            f"-var=qscanner_layer_arn={layer['LayerVersionArn']}",
            "-var=trail_bucket_force_destroy=true",
        ]
        ms.write_provider_override(root, server.endpoint)
        tf_env.checked(tf_env.terraform(root, "init", "-input=false"), "terraform init")
        tf_env.checked(tf_env.terraform(root, "apply", "-auto-approve", "-input=false", *variables), "apply")
        outputs = tf_env.outputs(root)

        plan = tf_env.terraform(root, "plan", "-detailed-exitcode", "-input=false", *variables)
        assert plan.returncode == 0, (
            f"perpetual diff (exit {plan.returncode}):\n{plan.stdout[-5000:]}{plan.stderr}"
        )

        # Fargate: the ECR scanner's qscanner layer, the account's one trail, the default execution timeout.
        definition, config = fargate_env.checked_wiring(server, outputs)
        assert definition["TimeoutSeconds"] == 7200
        assert [layer["Arn"] for layer in config["Layers"]] == outputs["qscanner_layer_arns"]
        assert config["Environment"]["Variables"]["QSCANNER_PATH"] == "/opt/bin/qscanner"
        (trail,) = server.client("cloudtrail").describe_trails()["trailList"]
        assert trail["TrailARN"] == outputs["lambda_trail_arn"]
        fargate_env.routed_ecs_calls(server, outputs)
