"""environments/aws-hub and environments/aws-spoke applied on ONE shimmed moto server with several accounts.

The hub lives in moto's default account (also the organization's management account); every spoke root gets a
provider override that assumes a role in its account (`moto_server.render_provider_override`'s
`assume_role_account`: moto's STS binds the returned keys to that account, DESIGN §5), never MOTO_ACCOUNT_ID.
`organization()` creates the organization and its member accounts through moto's Organizations (random ids);
`hub_root()` and `spoke_root()` write a root's copy, variables and provider override (the spoke fed the hub's
`spoke_config` as `hub.auto.tfvars.json`, exactly as docs/hub-spoke.md says) without running Terraform, so that
`make demo` (scripts/demo_hub_spoke.py) runs them its own way; `apply_hub()` and `apply_spokes()` apply them
(the spokes in parallel, each from its own copy), `no_diff()` runs the second plans. `hub_queue()` and
`result_documents()` read what the hub's rules queued and what its scanners stored.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.harness import moto_server as ms
from tests.harness import tf_env

HUB_ACCOUNT = ms.ACCOUNT_ID  # moto's default account: the hub and the organization's management account
EXTERNAL_ID = "qscan-hub-spoke-test"
HUB_BUS = "qscan-hub"  # environments/aws-hub's bus (name_prefix qscan)
ECR_RULE, LAMBDA_RULE = "qscan-ecr-push", "qscan-lambda-deploy"  # the hub's rules on it


@dataclass(frozen=True)
class Spoke:
    """One spoke root: an account and a region (create_read_role false in an account's further regions)."""

    account: str
    region: str
    create_read_role: bool = True

    @property
    def key(self) -> str:
        return f"{self.account}-{self.region}"


@dataclass(frozen=True)
class Organization:
    id: str
    members: tuple[str, ...]


def organization(server: ms.MotoServer, members: int) -> Organization:
    """An organization managed by the hub account with `members` created member accounts."""
    org = server.client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    accounts = []
    for index in range(members):
        status = org.create_account(AccountName=f"spoke-{index}", Email=f"spoke-{index}@example.com")
        accounts.append(str(status["CreateAccountStatus"]["AccountId"]))
    return Organization(id=str(org_id), members=tuple(accounts))


def account_client(server: ms.MotoServer, service: str, account: str, region: str = ms.REGION) -> Any:
    """A boto3 client acting in `account` (keys from sts:AssumeRole, which moto binds to that account)."""
    if account == HUB_ACCOUNT:
        return server.client(service, region)
    keys = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="qscan-test"
    )["Credentials"]
    return boto3.session.Session().client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def _checked_run(root: Path, what: str, *args: str) -> str:
    return tf_env.checked(tf_env.terraform(root, *args), f"{what}: terraform {args[0]}")


def hub_variables(manifest: Path, layer_arn: str, org: Organization, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "region": ms.REGION,
        "manifest_path": str(manifest),
        "qscanner_layer_arn": layer_arn,
        "organization_id": org.id,
        "spoke_external_id": EXTERNAL_ID,
        **extra,
    }


def hub_root(server: ms.MotoServer, scratch: Path, org: Organization, manifest: Path, **extra: Any) -> Path:
    """A copy of environments/aws-hub for the hub account, not initialized: its variables (the handler zips of
    `manifest`, a qscanner layer published on the server) and its provider."""
    root = tf_env.copy_root("aws-hub", scratch / "hub")
    layer = server.client("lambda").publish_layer_version(
        LayerName="qscanner", Content={"ZipFile": tf_env.zipped_file("bin/qscanner")}
    )
    variables = hub_variables(manifest, layer["LayerVersionArn"], org, extra)
    (root / "test.auto.tfvars.json").write_text(json.dumps(variables), encoding="utf-8")
    ms.write_provider_override(root, server.endpoint)
    return root


def apply_hub(
    server: ms.MotoServer, scratch: Path, org: Organization, **extra: Any
) -> tuple[Path, dict[str, Any]]:
    """Apply environments/aws-hub in the hub account; returns the root's copy and its outputs."""
    root = hub_root(server, scratch, org, tf_env.fake_manifest(scratch / "hub"), **extra)
    _checked_run(root, "hub", "init", "-input=false")
    _checked_run(root, "hub", "apply", "-auto-approve", "-input=false")
    return root, tf_env.outputs(root)


def spoke_root(server: ms.MotoServer, scratch: Path, spoke: Spoke, spoke_config: dict[str, Any]) -> Path:
    """A copy of environments/aws-spoke for `spoke`, not initialized, with the hub's contract and its provider."""
    root = tf_env.copy_root("aws-spoke", scratch / f"spoke-{spoke.key}")
    (root / "hub.auto.tfvars.json").write_text(json.dumps({"hub": spoke_config}), encoding="utf-8")
    settings = {"region": spoke.region, "create_read_role": spoke.create_read_role}
    (root / "test.auto.tfvars.json").write_text(json.dumps(settings), encoding="utf-8")
    ms.write_provider_override(root, server.endpoint, region=spoke.region, assume_role_account=spoke.account)
    return root


def apply_spokes(
    server: ms.MotoServer, scratch: Path, spokes: list[Spoke], spoke_config: dict[str, Any]
) -> dict[Spoke, dict[str, Any]]:
    """Apply every spoke (in parallel: separate roots, separate accounts or regions); returns their outputs."""

    def apply(spoke: Spoke) -> dict[str, Any]:
        root = spoke_root(server, scratch, spoke, spoke_config)
        _checked_run(root, spoke.key, "init", "-input=false")
        _checked_run(root, spoke.key, "apply", "-auto-approve", "-input=false")
        return {"root": root, **tf_env.outputs(root)}

    with ThreadPoolExecutor(max_workers=len(spokes)) as pool:
        return dict(zip(spokes, pool.map(apply, spokes), strict=True))


def no_diff(roots: list[Path]) -> dict[Path, subprocess.CompletedProcess[str]]:
    """`plan -detailed-exitcode` of every root (in parallel); exit 0 means no diff."""
    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        plans = pool.map(
            lambda root: tf_env.terraform(root, "plan", "-detailed-exitcode", "-input=false"), roots
        )
        return dict(zip(roots, plans, strict=True))


def plan_json(root: Path, *args: str) -> dict[str, Any]:
    """`terraform show -json` of a fresh plan of an initialized root (extra plan arguments in `args`)."""
    _checked_run(root, "plan", "plan", "-input=false", "-out=tfplan", *args)
    plan: dict[str, Any] = json.loads(_checked_run(root, "show", "show", "-json", "tfplan"))
    (root / "tfplan").unlink()
    return plan


def hub_queue(server: ms.MotoServer, rule: str) -> tuple[str, str]:
    """The SQS queue (URL, name) the hub rule `rule` on the hub bus delivers to."""
    (target,) = server.client("events").list_targets_by_rule(Rule=rule, EventBusName=HUB_BUS)["Targets"]
    name = target["Arn"].rsplit(":", 1)[1]
    return str(server.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]), name


def result_documents(server: ms.MotoServer, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """The result documents (not the raw scanner outputs) stored in the hub's `bucket` under `results/<prefix>`."""
    s3 = server.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"results/{prefix}").get("Contents", [])
    return [
        json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in listed
        if o["Key"].endswith(".json") and not o["Key"].endswith(("-ScanResult.json", ".sarif.json"))
    ]
