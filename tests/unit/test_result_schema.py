"""The JSON Schema accepts real ScanResult.to_dict() output and rejects malformed results."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from qscan.results.model import SCHEMA_VERSION, Finding, RawOutput, ScanResult, Severity
from qscan.results.schema import ResultSchemaError, load_schema, schema_errors, validate_result
from qscan.target import ScanTarget

IMAGE = ScanTarget(
    kind="image",
    platform="ecr",
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@sha256:" + "a" * 64,
    registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    repository="team/app",
    tag="v1",
    digest="sha256:" + "a" * 64,
    account="123456789012",
    region="eu-west-1",
)
FUNCTION = ScanTarget(
    kind="function",
    platform="lambda",
    function_arn="arn:aws:lambda:eu-west-1:123456789012:function:app",
    code_sha256="Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
    layers=("arn:aws:lambda:eu-west-1:123456789012:layer:l:3",),
    package_type="Zip",
)
FINDINGS = [
    Finding(qid="150001", title="OpenSSL", severity=Severity.CRITICAL, cves=("CVE-2024-1",), cvss_score=9.8),
    Finding(qid="150002", title="zlib", severity=Severity.LOW, package_name="zlib", installed_version="1.2"),
    Finding(qid=None, title=None, severity=Severity.INFO),
]


def _results() -> list[ScanResult]:
    ok = ScanResult(target=IMAGE, backend="qscanner", status="success", exit_code=0).with_findings(FINDINGS)
    ok.finished_at = ok.started_at
    ok.duration_seconds = 12.5
    ok.metadata = {"image_id": "sha256:" + "b" * 64, "os": "debian 12"}
    ok.logs = {"stderr": "tail"}
    ok.raw_outputs = (RawOutput("x-Report.sarif.json", "application/json", b"{}"),)
    ok.result_location = "s3://bucket/results/x.json"
    deny = ScanResult(target=IMAGE, backend="qualys-api", status="policy_deny", exit_code=42).with_findings(
        FINDINGS[:1]
    )
    deny.exit_code_name = "POLICY_DENY"
    failed = ScanResult(target=FUNCTION, backend="qscanner", status="failed", reason="exit 40", exit_code=40)
    timeout = ScanResult(target=FUNCTION, backend="qscanner", status="timeout", reason="scan timed out")
    partial = ScanResult(target=IMAGE, backend="fake-qscanner", status="partial", reason="no SBOM")
    audit = ScanResult(target=FUNCTION, backend="qscanner", status="policy_audit").with_findings(FINDINGS)
    return [ok, deny, failed, timeout, partial, audit]


@pytest.mark.parametrize("result", _results(), ids=lambda r: r.status)
def test_real_results_are_valid(result: ScanResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))  # exactly what a store writes and a reader loads
    assert schema_errors(data) == []
    validate_result(data)
    assert data["schema_version"] == SCHEMA_VERSION


def test_schema_is_draft_2020_12_and_shipped_with_the_package() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    shipped = Path(__file__).resolve().parents[2] / "shared/qscan/schemas/scan-result.schema.json"
    assert json.loads(shipped.read_text()) == schema


def test_schema_covers_every_field_of_the_model() -> None:
    result = _results()[0]
    schema = load_schema()
    assert set(schema["required"]) == set(result.to_dict())
    assert set(schema["$defs"]["target"]["required"]) == set(IMAGE.to_dict())
    assert set(schema["$defs"]["finding"]["required"]) == set(FINDINGS[0].to_dict())


def _mutations() -> list[tuple[str, Any]]:
    def drop(field: str) -> Any:
        return lambda d: d.pop(field)

    def put(path: tuple[Any, ...], value: Any) -> Any:
        def apply(d: dict[str, Any]) -> None:
            node: Any = d
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value

        return apply

    return [
        ("missing status", drop("status")),
        ("missing target", drop("target")),
        ("unknown field", put(("extra",), 1)),
        ("old schema version", put(("schema_version",), "0.9")),
        ("unknown status", put(("status",), "clean")),
        ("negative count", put(("counts", "critical"), -1)),
        ("float count", put(("counts", "high"), 1.5)),
        ("missing count", lambda d: d["counts"].pop("info")),
        ("severity out of range", put(("findings", 0, "severity"), 6)),
        ("label disagrees with severity", put(("findings", 0, "severity_label"), "low")),
        ("cvss above 10", put(("findings", 0, "cvss_score"), 11)),
        ("cves not strings", put(("findings", 0, "cves"), [1])),
        ("bad timestamp", put(("started_at",), "yesterday")),
        ("negative duration", put(("duration_seconds",), -1)),
        ("scan id with a slash", put(("scan_id",), "../x")),
        ("unknown target kind", put(("target", "kind"), "vm")),
        ("unknown platform", put(("target", "platform"), "gke")),
        ("target extra field", put(("target", "secret"), "x")),
        ("layers not a list", put(("target", "layers"), "a,b")),
        ("logs not strings", put(("logs", "stdout"), 5)),
        ("raw outputs not names", put(("raw_outputs",), [{"name": "x"}])),
        ("not an object", lambda d: d.clear()),
    ]


@pytest.mark.parametrize(("label", "mutate"), _mutations(), ids=[m[0] for m in _mutations()])
def test_invalid_results_are_rejected(label: str, mutate: Any) -> None:
    data = copy.deepcopy(_results()[0].to_dict())
    mutate(data)
    with pytest.raises(ResultSchemaError) as caught:
        validate_result(data)
    assert caught.value.errors, label
    assert all(line.startswith("$") for line in caught.value.errors)


def test_non_object_is_rejected() -> None:
    with pytest.raises(ResultSchemaError):
        validate_result([])
