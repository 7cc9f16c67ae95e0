"""The report as one self-contained HTML file: inline CSS and SVG, no script, no external reference.

Every value from the stores is HTML-escaped. Links (`href`) are what `link` returns for a store key: a path
relative to the report when the report was read from a local copy of the store (`--from-dir`), else None, and
the location (`s3://...`, a blob URL) is shown as text only: the report never points a browser at a store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

from qscan.reconcile.inventory import STATUSES as COVERAGE_STATUSES
from qscan.report.collect import ResultRow
from qscan.report.model import ArtifactRow, Report
from qscan.report.svg import COVERAGE_COLORS, SEVERITY_COLORS, coverage_donut, severity_chart
from qscan.results.model import SEVERITY_LABELS

Link = Callable[[str], str | None]
MAX_FAILED_ROWS = 500
MAX_MALFORMED_ROWS = 500
MAX_ARTIFACT_ROWS = 20_000  # a page a browser still opens; report.json has every artifact

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#666}.empty{color:#666;font-style:italic}
table{border-collapse:collapse;background:#fff;margin:6px 0}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.loc{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.cards{display:flex;gap:18px;align-items:center;flex-wrap:wrap}
.card{background:#fff;border:1px solid #ddd;padding:10px 16px;border-radius:6px}
.card b{display:block;font-size:22px}
.swatch{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
.status-fresh{color:#2e7d32}.status-stale{color:#a66d00}.status-never-scanned{color:#c62828}
svg text{font-size:11px;fill:#333}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def render_html(report: Report, link: Link) -> str:
    """The whole report page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        "<title>qscan report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>qscan report</h1>",
        f'<p class="meta">Generated {_e(report.generated_at)} from {_e(report.source)}: '
        f'<span id="results-read">{report.results}</span> results, {len(report.inventories)} inventories'
        f"{', dedupe store consulted' if report.dedupe_used else ''}.</p>",
        _coverage(report),
        "<h2>Findings by severity over time</h2>",
        _legend(SEVERITY_COLORS),
        severity_chart(report.severity_by_day),
        _top_vulnerabilities(report),
        _failed(report.failed_scans, link),
        _artifacts(report.artifacts, link),
        _malformed(report),
        "</body></html>",
    ]
    return "\n".join(parts)


def _legend(colors: dict[str, str]) -> str:
    items = "".join(
        f'<span><span class="swatch" style="background:{color}"></span>{_e(name)}</span> '
        for name, color in colors.items()
    )
    return f'<p class="legend">{items}</p>'


def _coverage(report: Report) -> str:
    total = report.coverage_total
    cards = "".join(
        f'<div class="card status-{status}">{_e(status)}<b id="coverage-{status}">{total[status]}</b></div>'
        for status in COVERAGE_STATUSES
    )
    parts = [
        "<h2>Coverage of running artifacts</h2>",
        f'<div class="cards">{coverage_donut(total)}{cards}</div>',
        _legend(COVERAGE_COLORS),
    ]
    if not report.inventories:
        parts.append(
            '<p class="empty">No inventory yet (the reconciler has not run): coverage is unknown.</p>'
        )
    else:
        incomplete = [f"{row.cloud} {row.scope}" for row in report.inventories if not row.complete]
        if incomplete:
            parts.append(
                f'<p class="meta">Cut short by a limit (complete=false): {_e(", ".join(incomplete))}.</p>'
            )
        head = "".join(f"<th>{_e(status)}</th>" for status in COVERAGE_STATUSES)
        rows = "".join(
            f'<tr data-scope="{_e(row.scope)}" data-platform="{_e(row.platform)}"><td>{_e(row.cloud)}</td>'
            f"<td>{_e(row.scope)}</td><td>{_e(row.platform)}</td>"
            + "".join(f'<td class="n">{row.counts[status]}</td>' for status in COVERAGE_STATUSES)
            + f'<td class="n">{row.total}</td></tr>'
            for row in report.coverage
        )
        parts.append(
            '<table id="coverage"><thead><tr><th>cloud</th><th>account / subscription</th><th>platform</th>'
            f"{head}<th>total</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        inventories = "".join(
            f"<tr><td>{_e(row.cloud)}</td><td>{_e(row.scope)}</td><td>{_e(row.generated_at)}</td>"
            f"<td>{_e(row.run_id)}</td><td>{'yes' if row.complete else 'no'}</td>"
            f'<td class="n">{row.artifacts}</td></tr>'
            for row in report.inventories
        )
        parts.append(
            "<details><summary>Inventories read</summary><table><thead><tr><th>cloud</th><th>scope</th>"
            "<th>generated</th><th>run</th><th>complete</th><th>artifacts</th></tr></thead>"
            f"<tbody>{inventories}</tbody></table></details>"
        )
    return "".join(parts)


def _top_vulnerabilities(report: Report) -> str:
    if not report.top_vulnerabilities:
        return '<h2>Top vulnerabilities</h2><p class="empty">No findings in the latest complete scans.</p>'
    rows = "".join(
        f"<tr><td>{_e(row.vuln_id)}</td><td>{_e(row.title)}</td><td>{_e(_severity(row.severity))}</td>"
        f'<td>{_e(", ".join(row.cves))}</td><td class="n">{row.artifacts}</td></tr>'
        for row in report.top_vulnerabilities
    )
    return (
        "<h2>Top vulnerabilities by affected artifacts</h2>"
        '<table id="top-vulnerabilities"><thead><tr><th>id</th><th>title</th><th>severity</th><th>CVEs</th>'
        f"<th>artifacts</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _failed(failed: list[ResultRow], link: Link) -> str:
    if not failed:
        return '<h2>Failed scans</h2><p class="empty">None.</p>'
    rows = "".join(
        f"<tr><td>{_e(row.started_at)}</td><td>{_e(row.status)}</td><td>{_e(row.target.platform)}</td>"
        f"<td>{_e(row.artifact)}</td><td>{_e(row.reason)}</td>"
        f"<td>{_location(row.location, row.key, link)}</td></tr>"
        for row in failed[:MAX_FAILED_ROWS]
    )
    more = (
        f'<p class="meta">The newest {MAX_FAILED_ROWS} of {len(failed)} are listed (all are in report.json).</p>'
        if len(failed) > MAX_FAILED_ROWS
        else ""
    )
    return (
        f'<h2>Failed scans (<span id="failed-count">{len(failed)}</span>)</h2>{more}'
        '<table id="failed"><thead><tr><th>started</th><th>status</th><th>platform</th><th>artifact</th>'
        f"<th>reason</th><th>result</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _artifacts(artifacts: list[ArtifactRow], link: Link) -> str:
    if not artifacts:
        return '<h2>Artifacts</h2><p class="empty">No artifacts: no inventory and no results.</p>'
    rows = "".join(_artifact_row(row, link) for row in artifacts[:MAX_ARTIFACT_ROWS])
    severity_heads = "".join(f"<th>{_e(label)}</th>" for label in SEVERITY_LABELS)
    more = (
        f'<p class="meta">The first {MAX_ARTIFACT_ROWS} of {len(artifacts)} are listed (all are in report.json).</p>'
        if len(artifacts) > MAX_ARTIFACT_ROWS
        else ""
    )
    return (
        f'<h2>Artifacts (<span id="artifact-count">{len(artifacts)}</span>)</h2>{more}'
        '<table id="artifacts"><thead><tr><th>status</th><th>cloud</th><th>scope</th><th>platform</th>'
        "<th>region</th><th>artifact</th><th>workloads</th><th>last scanned</th><th>scan status</th>"
        f"{severity_heads}<th>result</th><th>raw outputs</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _artifact_row(row: ArtifactRow, link: Link) -> str:
    counts = "".join(
        f'<td class="n">{"" if row.counts is None else row.counts[label]}</td>' for label in SEVERITY_LABELS
    )
    raws = "<br>".join(_linked(name, key, link) for name, key in row.raw_outputs)
    workloads = "<br>".join(_e(workload) for workload in row.workloads[:5])
    if len(row.workloads) > 5:
        workloads += f"<br>and {len(row.workloads) - 5} more"
    return (
        f'<tr class="artifact" data-status="{_e(row.status)}"><td class="status-{_e(row.status)}">'
        f"{_e(row.status)}</td><td>{_e(row.cloud)}</td><td>{_e(row.scope)}</td><td>{_e(row.platform)}</td>"
        f'<td>{_e(row.region)}</td><td class="loc">{_e(row.artifact)}</td><td class="loc">{workloads}</td>'
        f"<td>{_e(_when(row.last_scanned_at))}</td><td>{_e(row.scan_status)}</td>{counts}"
        f'<td>{_location(row.result_location, row.result_key, link)}</td><td class="loc">{raws}</td></tr>'
    )


def _malformed(report: Report) -> str:
    if not report.malformed:
        return ""
    rows = "".join(
        f'<tr><td class="loc">{_e(item.key)}</td><td>{_e(item.reason)}</td></tr>'
        for item in report.malformed[:MAX_MALFORMED_ROWS]
    )
    return (
        f'<h2>Unreadable documents (<span id="malformed-count">{len(report.malformed)}</span>)</h2>'
        f'<table id="malformed"><thead><tr><th>key</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _location(location: str | None, key: str | None, link: Link) -> str:
    if location is None and key is None:
        return ""
    text = f'<span class="loc">{_e(location or key)}</span>'
    href = link(key) if key is not None else None
    return f'<a href="{_e(href)}">{text}</a>' if href else text


def _linked(name: str, key: str, link: Link) -> str:
    href = link(key)
    return f'<a href="{_e(href)}">{_e(name)}</a>' if href else _e(name)


def _severity(level: int) -> str:
    labels = dict(zip(range(5, 0, -1), SEVERITY_LABELS, strict=True))
    return f"{labels.get(level, level)} ({level})"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "never"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")
