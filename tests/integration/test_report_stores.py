"""`qscan report` on the real store backends: moto S3 + DynamoDB dedupe (in-process) and Azurite Blob + Table.

The dedupe store's current record decides the status of an inventory artifact scanned since the reconciler's
run; an unreadable store is exit 1."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from qscan.cli import main
from qscan.dedupe.azure_table import AzureTableDedupeStore
from qscan.dedupe.base import DedupeStore
from qscan.dedupe.dynamodb import DynamoDBDedupeStore
from qscan.reconcile.inventory import Inventory, InventoryArtifact, inventory_key
from qscan.results.blob import BlobResultStore
from qscan.results.model import Finding, ScanResult, Severity, SeverityCounts
from qscan.results.s3 import S3ResultStore
from qscan.results.store import DocumentStore
from qscan.target import ScanTarget

from tests.harness.azurite import Azurite
from tests.harness.dynamodb import moto_dynamodb

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"
SUBSCRIPTION = "0f0e0d0c-0b0a-4908-8706-050403020100"


def _image(n: int, platform: str) -> ScanTarget:
    return ScanTarget(
        kind="image",
        platform=platform,  # type: ignore[arg-type]
        repository=f"team/app{n}",
        digest="sha256:" + f"{n:x}".rjust(64, "0"),
        account=ACCOUNT,
        region="eu-west-1",
    )


def _fill(
    store: DocumentStore, dedupe: DedupeStore, cloud: str, scope: str, platform: str
) -> list[ScanTarget]:
    """Artifact 1 scanned since the inventory was written; 2 fresh at the run, no record now; 3 stale."""
    targets = [_image(1, platform), _image(2, platform), _image(3, platform)]
    result = ScanResult(target=targets[0], backend="qscanner", status="success")
    result.with_findings([Finding(qid="7", title="t", severity=Severity.HIGH)])
    location = store.put_result(result)
    dedupe.claim(str(targets[0].dedupe_key), "scan", 900)
    dedupe.complete(str(targets[0].dedupe_key), "scan", "success", SeverityCounts(high=1), location, 3600)
    artifacts = [
        InventoryArtifact(
            platform=platform,
            dedupe_key=str(target.dedupe_key),
            artifact=f"{target.repository}@{target.digest}",
            workloads=("workload",),
            region="eu-west-1",
            last_scanned_at=last,
            status=status,  # type: ignore[arg-type]
            result_location=None,
            requested=status != "fresh",
        )
        for target, status, last in zip(
            targets,
            ("never-scanned", "fresh", "stale"),
            (None, time.time() - 60, time.time() - 9 * 86400),
            strict=True,
        )
    ]
    inventory = Inventory(
        cloud=cloud,  # type: ignore[arg-type]
        scope=scope,
        generated_at="2026-12-02T04:00:00Z",
        run_id="run-1",
        complete=True,
        rescan_interval_seconds=604800,
        artifacts=tuple(artifacts),
    )
    store.put_document(inventory_key(cloud, scope), inventory.to_json())
    return targets


def _check(out: Path, targets: list[ScanTarget], location_prefix: str) -> None:
    data = json.loads((out / "report.json").read_text())
    assert data["dedupe_store_used"] is True
    statuses = {row["dedupe_key"]: row["status"] for row in data["artifacts"]}
    assert [statuses[str(t.dedupe_key)] for t in targets] == ["fresh", "stale", "stale"]
    assert data["coverage"]["total"] == {"fresh": 1, "stale": 2, "never-scanned": 0}
    first = next(row for row in data["artifacts"] if row["dedupe_key"] == targets[0].dedupe_key)
    assert first["result_location"].startswith(location_prefix)
    assert first["counts"]["high"] == 1 and first["scan_status"] == "success"
    assert data["top_vulnerabilities"][0]["id"] == "QID 7"


def test_report_on_s3_with_the_dynamodb_dedupe_table(tmp_path: Path) -> None:
    with moto_dynamodb() as dynamodb, mock.patch.dict(os.environ, {"QSCAN_AWS_ENDPOINT_URL": ""}):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="results")
        dedupe = DynamoDBDedupeStore("qscan-dedupe", client=dynamodb)
        dedupe.create_table()
        targets = _fill(S3ResultStore("results", client=s3), dedupe, "aws", ACCOUNT, "ecs")

        argv = ["report", "--aws-bucket", "results", "--dedupe-table", "qscan-dedupe", "--out", str(tmp_path)]
        assert main([*argv, "--quiet"]) == 0
        _check(tmp_path, targets, "s3://results/results/ecs/")

        assert (
            main(["report", "--aws-bucket", "missing-bucket", "--out", str(tmp_path / "x"), "--quiet"]) == 1
        )


def test_report_on_blob_with_the_table_dedupe_store(
    azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "results" + uuid.uuid4().hex[:8]
    table = "dedupe" + uuid.uuid4().hex[:8]
    container = azurite.blob_service().create_container(name)
    dedupe_client: Any = azurite.table_service().get_table_client(table)
    dedupe = AzureTableDedupeStore(dedupe_client)
    dedupe.create_table()
    targets = _fill(BlobResultStore(container), dedupe, "azure", SUBSCRIPTION, "aca")
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    argv = [
        "report",
        "--azure-account-url",
        azurite.blob_endpoint,
        "--container",
        name,
        "--dedupe-table-name",
        table,
        "--table-url",
        azurite.table_endpoint,
        "--out",
        str(tmp_path),
    ]

    with mock.patch.dict(os.environ, env):
        assert main(argv) == 0
    _check(tmp_path, targets, f"{azurite.blob_endpoint}/{name}/results/aca/")
    assert "AccountKey" not in capsys.readouterr().err
