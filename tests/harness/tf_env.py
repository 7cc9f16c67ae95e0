"""Terraform environments in a scratch directory, for the apply-on-moto and plan tests.

`copy_root()` copies an environment (`environments/<name>`) and modules/ into a temporary tree
with the same relative layout (so `../../modules/x` still resolves), without local state, `.terraform` or an
old provider override. `fake_manifest()` writes a `dist/manifest.json` like `make package` does, pointing at
a tiny handler zip per scanner, so the roots plan and apply without a real build. `terraform()` runs one
command with the repo's Terraform CLI configuration (offline provider mirror when bootstrapped).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.harness import moto_server as ms

IGNORED = shutil.ignore_patterns(".terraform", "*.tfstate*", ms.PROVIDER_OVERRIDE_FILE, "tests")


def copy_root(environment: str, target: Path) -> Path:
    """target/environments/<environment> + target/modules (every module: sources may chain, e.g. ecr ->
    aws-lambda-worker); returns the environment's copy."""
    root = target / "environments" / environment
    shutil.copytree(ms.REPO_ROOT / "environments" / environment, root, ignore=IGNORED)
    shutil.copytree(ms.REPO_ROOT / "modules", target / "modules", ignore=IGNORED)
    return root


def fake_manifest(target: Path) -> Path:
    """target/dist/manifest.json with `aws-ecr`, `aws-lambda`, `aws-fargate` and `aws-reconciler` artifacts (one-file zips), as
    `make package` writes it."""
    dist = target / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, dict[str, Any]] = {}
    for name in ("aws-ecr", "aws-lambda", "aws-fargate", "aws-reconciler"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(
                "handler.py", f"# {name}\ndef lambda_handler(event, context):\n    return {{}}\n"
            )
        data = buffer.getvalue()
        digest = hashlib.sha256(data)
        zip_path = dist / f"{name}-{digest.hexdigest()[:16]}.zip"
        zip_path.write_bytes(data)
        artifacts[name] = {
            "path": zip_path.relative_to(target).as_posix(),
            "sha256": digest.hexdigest(),
            "sha256_base64": base64.b64encode(digest.digest()).decode(),
            "size": len(data),
            "runtime": "python3.12",
        }
    manifest = {"format_version": "1", "artifacts": artifacts}
    path = dist / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def zipped_file(name: str) -> bytes:
    """A zip archive holding one small file (e.g. a layer's bin/qscanner)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "#!/bin/sh\n")
    return buffer.getvalue()


def terraform(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH")
    return subprocess.run(
        [binary, *args, "-no-color"],
        cwd=root,
        env=ms.terraform_env({"TF_INPUT": "0"}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, (
        f"{what} failed (exit {result.returncode}):\n{result.stderr[-3000:]}\n{result.stdout[-3000:]}"
    )
    return result.stdout


def outputs(root: Path) -> dict[str, Any]:
    text = checked(terraform(root, "output", "-json"), "terraform output")
    return {name: item["value"] for name, item in json.loads(text).items()}
