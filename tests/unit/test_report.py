"""`qscan report`: the numbers (coverage, severity per day, top vulnerabilities, failed scans), what is read and
skipped, malformed documents, dedupe-store status, escaping, links, progress and the CLI's input checks."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from qscan.cli import main
from qscan.dedupe.base import DedupeRecord
from qscan.reconcile.inventory import Inventory, InventoryArtifact, inventory_key
from qscan.report import write_report
from qscan.report.collect import LocalDirSource, collect, scan_epoch
from qscan.report.html import render_html
from qscan.report.model import NOT_IN_INVENTORY, Report, build_report
from qscan.results.model import Finding, RawOutput, ScanResult, Severity
from qscan.results.store import DocumentStore
from qscan.target import ScanTarget

from tests.doubles.memory_store import MemoryResultStore

ACCOUNT = "123456789012"
SUBSCRIPTION = "0f0e0d0c-0b0a-4908-8706-050403020100"
NOW = scan_epoch("2026-12-02T05:00:00Z")
_SCAN_IDS = itertools.count(1)


def _image(n: int, platform: str = "ecr", account: str = ACCOUNT) -> ScanTarget:
    return ScanTarget(
        kind="image",
        platform=platform,  # type: ignore[arg-type]
        repository=f"team/app{n}",
        digest="sha256:" + f"{n:x}".rjust(64, "0"),
        account=account,
        region="eu-west-1",
    )


def _put(
    store: DocumentStore,
    target: ScanTarget,
    started: str,
    *,
    status: str = "success",
    findings: tuple[Finding, ...] = (),
    scan_id: str | None = None,
    raws: tuple[RawOutput, ...] = (),
) -> ScanResult:
    result = ScanResult(
        target=target,
        backend="qscanner",
        status=status,  # type: ignore[arg-type]
        scan_id=scan_id or f"{started[:10].replace('-', '')}T000000Z-{next(_SCAN_IDS):012x}",
        started_at=started,
        reason=None if status == "success" else "exit 1",
    )
    result.with_findings(findings)
    result.raw_outputs = raws
    store.put_result(result)
    return result


def _artifact(target: ScanTarget, status: str, last: float | None, location: str | None) -> InventoryArtifact:
    return InventoryArtifact(
        platform=target.platform,
        dedupe_key=str(target.dedupe_key),
        artifact=f"{target.repository}@{target.digest}",
        workloads=("arn:aws:ecs:eu-west-1:123456789012:task/c/1",),
        region="eu-west-1",
        last_scanned_at=last,
        status=status,  # type: ignore[arg-type]
        result_location=location,
        requested=status != "fresh",
    )


def _inventory(store: DocumentStore, cloud: str, scope: str, artifacts: list[InventoryArtifact]) -> None:
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


def _report(store: DocumentStore, **kwargs: object) -> Report:
    return build_report(collect(store, **kwargs), source="memory", now=NOW)  # type: ignore[arg-type]


def test_coverage_per_scope_and_platform_from_the_inventories() -> None:
    store = MemoryResultStore()
    a, b, c, d = _image(1), _image(2), _image(3, "ecs"), _image(4, "aca", SUBSCRIPTION)
    ra = _put(store, a, "2026-12-01T10:00:00Z")
    rb = _put(store, b, "2026-11-01T10:00:00Z")
    orphan = _put(store, _image(9), "2026-12-01T11:00:00Z")  # scanned, listed by no inventory
    _inventory(
        store,
        "aws",
        ACCOUNT,
        [
            _artifact(a, "fresh", NOW - 3600, ra.result_location),
            _artifact(b, "stale", NOW - 40 * 86400, rb.result_location),
            _artifact(c, "never-scanned", None, None),
        ],
    )
    _inventory(store, "azure", SUBSCRIPTION, [_artifact(d, "never-scanned", None, None)])

    report = _report(store)

    assert report.coverage_total == {"fresh": 1, "stale": 1, "never-scanned": 2}
    assert [(r.cloud, r.scope, r.platform, r.counts, r.total) for r in report.coverage] == [
        ("aws", ACCOUNT, "ecr", {"fresh": 1, "stale": 1, "never-scanned": 0}, 2),
        ("aws", ACCOUNT, "ecs", {"fresh": 0, "stale": 0, "never-scanned": 1}, 1),
        ("azure", SUBSCRIPTION, "aca", {"fresh": 0, "stale": 0, "never-scanned": 1}, 1),
    ]
    by_artifact = {row.artifact: row for row in report.artifacts}
    assert by_artifact[f"{a.repository}@{a.digest}"].result_location == ra.result_location
    assert by_artifact[f"{a.repository}@{a.digest}"].scan_status == "success"
    assert by_artifact[f"{c.repository}@{c.digest}"].result_location is None
    extra = by_artifact[f"{orphan.target.repository}@{orphan.target.digest}"]
    assert (extra.status, extra.result_location) == (NOT_IN_INVENTORY, orphan.result_location)
    assert [row.status for row in report.artifacts] == [  # what needs action first
        "never-scanned",
        "never-scanned",
        "stale",
        "fresh",
        NOT_IN_INVENTORY,
    ]


def test_the_page_lists_at_most_max_artifact_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryResultStore()
    for n in range(3):
        _put(store, _image(n), "2026-12-01T00:00:00Z")
    monkeypatch.setattr("qscan.report.html.MAX_ARTIFACT_ROWS", 2)

    page = render_html(_report(store), lambda _key: None)

    assert page.count('<tr class="artifact"') == 2
    assert "The first 2 of 3 are listed" in page and 'id="artifact-count">3<' in page


def test_raw_outputs_and_other_keys_are_not_results_and_malformed_documents_are_listed() -> None:
    store = MemoryResultStore()
    raws = (
        RawOutput("x-Report.sarif.json", "application/json", b"{}"),
        RawOutput("sbom.cdx.json", "a/b", b"{}"),
    )
    result = _put(store, _image(1), "2026-12-01T10:00:00Z", raws=raws)
    store.put_document("results/ecr/notes.txt", b"not a result")
    store.put_document("results/ecr/broken.json", b"{oops")
    store.put_document("results/ecr/other.json", json.dumps({"schema_version": "1.0"}).encode())
    store.put_document("inventory/aws/123456789012/latest.json", b'{"schema": "qscan.inventory/1"}')
    store.put_document("inventory/aws/123456789012/older.json", b"ignored: not a latest snapshot")

    collected = collect(store)

    assert [row.key for row in collected.results] == [str(result.result_location).removeprefix("memory://")]
    assert collected.raw_outputs_skipped == 2
    assert [name for name, _ in collected.results[0].raw_outputs] == ["x-Report.sarif.json", "sbom.cdx.json"]
    assert all(key in store.objects for _, key in collected.results[0].raw_outputs)
    reasons = {item.key: item.reason for item in collected.malformed}
    assert set(reasons) == {
        "results/ecr/broken.json",
        "results/ecr/other.json",
        "inventory/aws/123456789012/latest.json",
    }
    assert reasons["results/ecr/broken.json"] == "not JSON"
    assert reasons["results/ecr/other.json"].startswith("scan result does not match the schema")
    assert "inventory" in reasons["inventory/aws/123456789012/latest.json"]


def test_severity_per_utc_day_sums_complete_scans_only() -> None:
    store = MemoryResultStore()
    high = Finding(qid="1", title="h", severity=Severity.HIGH)
    low = Finding(qid="2", title="l", severity=Severity.LOW)
    _put(store, _image(1), "2026-11-30T10:00:00Z", findings=(high, low))
    _put(store, _image(2), "2026-11-30T23:30:00-02:00", findings=(high,))  # 2026-12-01T01:30Z
    _put(store, _image(3), "2026-11-30T12:00:00Z", findings=(high,), status="policy_deny")
    _put(store, _image(4), "2026-11-30T13:00:00Z", status="failed")

    days = dict(_report(store).severity_by_day)

    assert days == {
        "2026-11-30": {"critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0},
        "2026-12-01": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
    }


def test_top_vulnerabilities_count_artifacts_of_their_latest_complete_scan() -> None:
    store = MemoryResultStore()
    q1 = Finding(qid="101", title="one", severity=Severity.MEDIUM, cves=("CVE-1",))
    q1_again = Finding(qid="101", title="one", severity=Severity.MEDIUM, cves=("CVE-1b",))
    cve = Finding(qid=None, title="cve only", severity=Severity.CRITICAL, cves=("CVE-2", "CVE-3"))
    bare = Finding(qid=None, title="bare", severity=Severity.LOW)
    old = Finding(qid="999", title="fixed since", severity=Severity.CRITICAL)
    _put(store, _image(1), "2026-11-01T00:00:00Z", findings=(old,))
    _put(store, _image(1), "2026-12-01T00:00:00Z", findings=(q1, q1_again, cve))
    _put(store, _image(2), "2026-12-01T00:00:00Z", findings=(q1, bare))
    _put(store, _image(3), "2026-12-01T00:00:00Z", findings=(cve,))
    _put(store, _image(4), "2026-12-01T00:00:00Z", findings=(old,))
    _put(store, _image(4), "2026-12-01T01:00:00Z", status="failed")  # latest, but incomplete: not counted

    rows = [(r.vuln_id, r.artifacts, r.severity, r.cves) for r in _report(store).top_vulnerabilities]

    assert rows == [
        ("CVE-2", 2, 5, ("CVE-2", "CVE-3")),
        ("QID 101", 2, 3, ("CVE-1", "CVE-1b")),
        ("bare", 1, 2, ()),
    ]


def test_failed_scans_newest_first() -> None:
    store = MemoryResultStore()
    _put(store, _image(1), "2026-11-01T00:00:00Z", status="failed")
    _put(store, _image(2), "2026-12-01T00:00:00Z", status="timeout")
    _put(store, _image(3), "2026-11-15T00:00:00Z", status="partial")
    _put(store, _image(4), "2026-12-01T05:00:00Z", status="policy_audit")

    report = _report(store)

    counts = {row.artifact.split("@")[0]: row.counts for row in report.artifacts}
    assert counts["team/app1"] is None and counts["team/app2"] is None  # findings unknown, never "clean"
    assert counts["team/app4"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert [(r.target.repository, r.status) for r in report.failed_scans] == [
        ("team/app2", "timeout"),
        ("team/app3", "partial"),
        ("team/app1", "failed"),
    ]


class _Dedupe:
    def __init__(self, records: dict[str, DedupeRecord]) -> None:
        self.records = records
        self.looked_up: list[str] = []

    def lookup(self, key: str) -> DedupeRecord | None:
        self.looked_up.append(key)
        return self.records.get(key)


def _record(key: str, state: str, expires_at: float, completed_at: float | None = None) -> DedupeRecord:
    return DedupeRecord(
        key=key,
        state=state,  # type: ignore[arg-type]
        owner="scan",
        expires_at=int(expires_at),
        claimed_at=NOW - 7200,
        completed_at=completed_at,
        status="success" if state == "complete" else None,
        result_location="s3://b/results/new.json" if state == "complete" else None,
    )


def test_the_dedupe_store_updates_the_inventory_status() -> None:
    store = MemoryResultStore()
    scanned_since, expired, gone, claimed = _image(1), _image(2), _image(3), _image(4)
    _inventory(
        store,
        "aws",
        ACCOUNT,
        [
            _artifact(scanned_since, "never-scanned", None, None),
            _artifact(expired, "fresh", NOW - 86400, None),
            _artifact(gone, "fresh", None, None),
            _artifact(claimed, "stale", NOW - 9 * 86400, None),
        ],
    )
    dedupe = _Dedupe(
        {
            str(scanned_since.dedupe_key): _record(
                str(scanned_since.dedupe_key), "complete", NOW + 60, NOW - 60
            ),
            str(expired.dedupe_key): _record(str(expired.dedupe_key), "complete", NOW - 1, NOW - 86400),
            str(claimed.dedupe_key): _record(str(claimed.dedupe_key), "claimed", NOW + 600),
        }
    )

    report = _report(store, dedupe=dedupe)

    rows = {row.dedupe_key: row for row in report.artifacts}
    assert rows[scanned_since.dedupe_key].status == "fresh"
    assert rows[scanned_since.dedupe_key].last_scanned_at == NOW - 60
    assert rows[scanned_since.dedupe_key].result_location == "s3://b/results/new.json"
    assert rows[expired.dedupe_key].status == "stale"
    assert rows[gone.dedupe_key].status == "never-scanned"
    assert rows[claimed.dedupe_key].status == "stale"
    assert report.coverage_total == {"fresh": 1, "stale": 2, "never-scanned": 1}
    assert sorted(dedupe.looked_up) == sorted(
        str(t.dedupe_key) for t in (scanned_since, expired, gone, claimed)
    )
    assert report.dedupe_used
    without = _report(store)
    assert without.coverage_total == {"fresh": 2, "stale": 1, "never-scanned": 1}  # as inventoried
    assert not without.dedupe_used


def test_every_stored_value_is_escaped_and_nothing_is_linked_without_a_local_copy() -> None:
    store = MemoryResultStore()
    evil = "<img src=x onerror=alert(1)>"
    target = ScanTarget(
        kind="image",
        platform="ecr",
        repository='team/"><script>alert(1)</script>',
        digest="sha256:" + "a" * 64,
        account=ACCOUNT,
        region="eu-west-1",
    )
    _put(
        store,
        target,
        "2026-12-01T00:00:00Z",
        findings=(Finding(qid="1", title=evil, severity=Severity.HIGH),),
    )
    _put(store, _image(2), "2026-12-01T00:00:00Z", status="failed")
    store.put_document("results/x/<b>.json", b"<svg onload=alert(1)>")

    page = render_html(_report(store), lambda _key: None)

    assert "<script" not in page and "<img" not in page and "<b>" not in page and "<svg onload" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;" in page
    assert "href=" not in page
    assert "memory://results/ecr" in page  # the location, as text


def test_report_json_holds_the_numbers_the_page_shows(tmp_path: Path) -> None:
    store = MemoryResultStore()
    result = _put(store, _image(1), "2026-12-01T00:00:00Z")
    _inventory(
        store,
        "aws",
        ACCOUNT,
        [
            _artifact(_image(1), "fresh", NOW, result.result_location),
            _artifact(_image(2), "stale", NOW, None),
        ],
    )

    html_path, json_path = write_report(_report(store), tmp_path, lambda _key: None)

    data = json.loads(json_path.read_text())
    page = html_path.read_text()
    assert data["schema"] == "qscan.report/1"
    assert data["coverage"]["total"] == {"fresh": 1, "stale": 1, "never-scanned": 0}
    for status, count in data["coverage"]["total"].items():
        assert re.search(rf'id="coverage-{status}">{count}<', page)
    assert data["results"] == 1 and len(data["artifacts"]) == 2
    first = next(row for row in data["artifacts"] if row["dedupe_key"] == _image(1).dedupe_key)
    assert first["result_location"] == result.result_location and first["status"] == "fresh"


def test_progress_lines_every_n_documents_and_at_the_end() -> None:
    store = MemoryResultStore()
    for n in range(5):
        _put(store, _image(n), "2026-12-01T00:00:00Z")
    lines: list[str] = []

    collect(store, progress=lines.append, progress_every=2)

    assert lines == [
        "qscan report: read 2 documents (2 results, 0 inventories, 0 malformed)",
        "qscan report: read 4 documents (4 results, 0 inventories, 0 malformed)",
        "qscan report: read 5 documents (5 results, 0 inventories, 0 malformed), done",
    ]


def _export(store: MemoryResultStore, root: Path) -> None:
    for key, body in store.objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def test_cli_from_a_local_copy_links_results_and_raw_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = MemoryResultStore()
    sbom = RawOutput("sbom.spdx.json", "application/spdx+json", b"{}")
    result = _put(store, _image(1), "2026-12-01T00:00:00Z", raws=(sbom,))
    _export(store, tmp_path / "copy")
    (tmp_path / "copy" / "results" / "link.json").symlink_to(
        tmp_path / "copy" / str(result.result_location)[9:]
    )
    out = tmp_path / "out"

    code = main(["report", "--from-dir", str(tmp_path / "copy"), "--out", str(out), "--progress-every", "1"])

    assert code == 0
    page = (out / "report.html").read_text()
    hrefs = re.findall(r'href="([^"]+)"', page)
    key = str(result.result_location).removeprefix("memory://")
    # relative to the report, percent-encoded (`sha256:` would otherwise read as a URL scheme)
    assert hrefs == [quote(f"../copy/{key}"), quote(f"../copy/{key.removesuffix('.json')}/sbom.spdx.json")]
    assert all(":" not in href for href in hrefs)
    assert all((out / unquote(href)).is_file() for href in hrefs)
    assert json.loads((out / "report.json").read_text())["results"] == 1  # the symlink is not read
    err = capsys.readouterr().err
    assert "read 1 documents (1 results" in err and "wrote" in err


def test_cli_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "copy").mkdir()
    assert (
        main(["report", "--from-dir", str(tmp_path / "copy"), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    )
    assert capsys.readouterr() == ("", "")
    assert json.loads((tmp_path / "o" / "report.json").read_text())["artifacts"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--azure-account-url", "https://a.blob.core.windows.net"], "needs --container"),
        (["--aws-bucket", "b-ok", "--container", "c"], "go with --azure-account-url"),
        (["--from-dir", "{tmp}", "--dedupe-table", "t"], "--dedupe-table goes with --aws-bucket"),
        (["--aws-bucket", "Bad_Bucket!"], "QSCAN_RESULTS_BUCKET must be"),
        (
            ["--azure-account-url", "http://a.example.com", "--container", "c"],
            "QSCAN_STORAGE_ACCOUNT_URL must be",
        ),
        (["--aws-bucket", "b-ok", "--dedupe-table", "x"], "QSCAN_DEDUPE_TABLE must be"),
        (["--from-dir", "{tmp}/missing"], "is not a directory"),
        (["--from-dir", "{tmp}", "--prefix", "../x"], "segment"),
        (["--from-dir", "{tmp}", "--progress-every", "0"], "--progress-every must be at least 1"),
    ],
)
def test_cli_invalid_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]

    assert main(["report", *args, "--out", str(tmp_path / "out")]) == 2

    err = capsys.readouterr().err
    assert err.startswith("qscan report: invalid input:") and message in err
    assert not (tmp_path / "out").exists()


def test_local_copy_lists_keys_in_byte_order_without_symlinks(tmp_path: Path) -> None:
    for name in ("results/a/id/raw", "results/a/id.json", "results/a/id-2.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "results" / "outside").symlink_to("/etc")

    source = LocalDirSource(tmp_path)

    assert list(source.iter_keys("results/")) == [
        "results/a/id-2.json",
        "results/a/id.json",
        "results/a/id/raw",
    ]
    assert source.get_document("results/outside/hostname") is None
    with pytest.raises(ValueError, match="segment"):
        source.get_document("results/../../etc/passwd")
