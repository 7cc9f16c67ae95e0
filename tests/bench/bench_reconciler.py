"""The AWS reconciler's listing rate on moto (in-process): artifacts listed per second, first and second run.

A world of 300 ECR images (10 repositories), 50 RUNNING ECS tasks (5 task definitions whose images are listed
by tag and resolved through ECR) and 100 zip Lambda functions; the first run requests every artifact, the
second finds each one already requested (the idempotent path: one dedupe lookup and one marker claim each).
moto answers in-process, so the figure is qscan's own cost plus moto's, not AWS latency.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from qscan.aws.reconciler import AwsReconciler
from qscan.config import Settings
from qscan.dedupe.dynamodb import DynamoDBDedupeStore

REGION = "us-east-1"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
IMAGES, REPOSITORIES, TASKS, DEFINITIONS, FUNCTIONS = 300, 10, 50, 5, 100


def _world() -> Settings:
    DynamoDBDedupeStore("dedupe", client=boto3.client("dynamodb", region_name=REGION)).create_table()
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="results")
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="scan")["QueueUrl"].replace("http://", "https://")
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="fargate-scan",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=role["Role"]["Arn"],
    )["stateMachineArn"]
    ecr = boto3.client("ecr", region_name=REGION)
    for n in range(IMAGES):
        repository = f"team/app{n % REPOSITORIES}"
        if n < REPOSITORIES:
            ecr.create_repository(repositoryName=repository)
        digest = "sha256:" + f"{n:064x}"
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                               "digest": digest}, "layers": []}  # fmt: skip
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageDigest=digest,
                      imageTag=f"v{n}")  # fmt: skip
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="main")
    for n in range(DEFINITIONS):
        image = f"{REGISTRY}/team/app{n}:v{n}"
        ecs.register_task_definition(
            family=f"svc{n}", containerDefinitions=[{"name": "c", "image": image, "memory": 64}]
        )
    for n in range(TASKS):
        ecs.run_task(cluster="main", taskDefinition=f"svc{n % DEFINITIONS}", launchType="FARGATE")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
    lam = boto3.client("lambda", region_name=REGION)
    for n in range(FUNCTIONS):
        lam.create_function(FunctionName=f"fn{n}", Runtime="python3.12", Role=role["Role"]["Arn"],
                            Handler="app.handler", Code={"ZipFile": code.getvalue()})  # fmt: skip
    return Settings(
        dedupe_table="dedupe",
        results_bucket="results",
        reconcile_ecr_queue_url=queue,
        reconcile_lambda_queue_url=queue,
        reconcile_state_machine_arn=machine,
        reconcile_max_requests=10_000,
        reconcile_max_pages=10_000,
    )


def run() -> list[tuple[str, str]]:
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    rows: list[tuple[str, str]] = []
    with mock.patch.dict(os.environ, env), mock_aws():
        settings = _world()
        for label in ("first run (requests everything)", "second run (all already requested)"):
            reconciler = AwsReconciler(settings, region=REGION, stdout=io.StringIO())
            start = time.perf_counter()
            summary: dict[str, Any] = reconciler.run()["accounts"][0]
            seconds = time.perf_counter() - start
            rows.append((label, f"{summary['listed']} listed, {summary['unique']} unique, "
                                f"{summary['enqueued']} enqueued, {summary['pages']} calls in {seconds:.2f}s"))  # fmt: skip
            rows.append(("  artifacts listed per second", f"{summary['listed'] / seconds:,.0f}"))
    return rows
