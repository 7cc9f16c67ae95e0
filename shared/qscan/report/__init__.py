"""`qscan report`: coverage, findings over time, top vulnerabilities and failed scans from the stored results.

`collect` reads a results store (and optionally the dedupe store), `model.build_report` computes the numbers,
`write_report` writes `report.html` (self-contained: `qscan.report.html`) and `report.json` (the same numbers).
See docs/report.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from qscan.report.html import Link, render_html
from qscan.report.model import Report

HTML_NAME = "report.html"
JSON_NAME = "report.json"


def write_report(report: Report, out_dir: Path, link: Link) -> tuple[Path, Path]:
    """Write `report.html` and `report.json` into `out_dir` (created if missing); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out_dir / HTML_NAME, out_dir / JSON_NAME
    html_path.write_text(render_html(report, link), encoding="utf-8")
    json_path.write_text(json.dumps(report.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return html_path, json_path
