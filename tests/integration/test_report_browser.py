"""`qscan report` over a 5,000-result store (moto S3, written through `S3ResultStore`) opened in Debian's chromium.

The page must load without console errors or page errors, request nothing but the report file itself, and show
the fixture's coverage numbers (total and per scope and platform). The screenshot is kept as a test artifact in
pytest's tmp dir: `<basetemp>/test_report_in_chromium0/report.png` (`--basetemp` to choose where).

Chromium is `/usr/bin/chromium` (`make bootstrap` installs it: scripts/bootstrap_browser.sh), driven by playwright
with Debian's binary (never `playwright install`). Without it the test skips, and fails under CI=true.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from qscan.cli import main
from qscan.results.s3 import S3ResultStore

from tests.harness.report_fixture import Expected, write_fixture

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUCKET = "qscan-results-fixture"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} missing: run `make bootstrap` (scripts/bootstrap_browser.sh installs Debian's chromium)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = tmp_path_factory.mktemp("report")
    with mock.patch.dict(os.environ, env), mock_aws():
        os.environ.pop("QSCAN_AWS_ENDPOINT_URL", None)
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        expected = write_fixture(S3ResultStore(BUCKET, client=client))
        assert main(["report", "--aws-bucket", BUCKET, "--out", str(out), "--quiet"]) == 0
    return out / "report.html", expected


def test_report_in_chromium(fixture_report: tuple[Path, Expected], tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only once chromium is known to be there

    page_path, expected = fixture_report
    url = page_path.resolve().as_uri()
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url, wait_until="load")
            shown = {status: page.inner_text(f"#coverage-{status}") for status in expected.coverage}
            rows: dict[tuple[str, str, str], list[str]] = {}
            for row in page.query_selector_all("#coverage tbody tr"):
                cells = [cell.inner_text() for cell in row.query_selector_all("td")]
                rows[cells[0], cells[1], cells[2]] = cells[3:]
            artifact_rows = page.locator("#artifacts tbody tr").count()
            failed = page.inner_text("#failed-count")
            malformed = page.inner_text("#malformed-count")
            page.screenshot(path=str(tmp_path / "report.png"))
        finally:
            browser.close()
    assert errors == []
    assert requests == [url]
    assert shown == {status: str(count) for status, count in expected.coverage.items()}
    assert rows == {
        key: [str(counts[s]) for s in ("fresh", "stale", "never-scanned")] + [str(sum(counts.values()))]
        for key, counts in expected.by_scope_platform.items()
    }
    assert artifact_rows == expected.artifacts
    assert (failed, malformed) == (str(expected.failed), str(expected.malformed))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_report_has_no_external_reference(fixture_report: tuple[Path, Any]) -> None:
    """No URL a browser would fetch: no scheme anywhere in an attribute, no script, no CDN."""
    text = fixture_report[0].read_text(encoding="utf-8")
    assert "<script" not in text
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text
