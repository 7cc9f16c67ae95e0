"""The `make demo` summary: per-image and per-function-event outcome from what the run observed, a text table
and an HTML report.

Everything here is pure (no AWS, no processes) so it can be unit-tested: `summarize()` takes the cases the demo
sent, the event source mapping's invocation lines (`scripts/demo_worker.py --report`, both scan queues), the
alerts read back from the queue subscribed to the alerts topic and the dead-letter queues' bodies, and returns a
`Summary`. Image cases are matched by digest; Lambda function cases (one per CloudTrail deployment event) by
function name and event name, their pipeline lines by the invocation that handled the event (batch size 1).
`render_table()` prints it; `render_html()` writes a self-contained page (inline CSS, no scripts, every value
escaped).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "informational")
SIMULATED_NOTICE = (
    "The scanner in this demo is SIMULATED (tests/doubles/bin/qscanner): findings are made up; "
    "AWS is a local moto server. Nothing leaves this machine."
)
REAL_USE = (
    "Real scans: put Qualys' linux-amd64 qscanner binary into the layer with "
    "`QSCANNER_BINARY=/path/to/qscanner make package` (or set qscanner_layer_arn), put the Qualys secret JSON "
    '{"pod": "US2", "access_token": "..."} into the created secret, and `terraform apply` '
    "environments/aws-single-account in a real AWS account (see its README)."
)


@dataclass(frozen=True)
class Case:
    """One thing the demo does on the event bus, and what should come of it.

    Image cases (kind "image"): repository, tag and digest of the pushed image. Function cases (kind
    "function"): `repository` is the function name, `tag` the CloudTrail eventName, `digest` empty."""

    key: str
    title: str
    repository: str
    tag: str
    digest: str
    entries: int  # events put on the bus for this case
    expect: str  # "clean" | "vulnerable" | "deduplicated" | "not delivered" | "dead-lettered"
    expect_dedupe_hits: int = 0
    kind: str = "image"

    @property
    def match_key(self) -> str:
        return function_key(self.repository, self.tag) if self.kind == "function" else self.digest


def function_key(function: str | None, event_name: str | None) -> str:
    """The match key of a function case: the function name and the CloudTrail eventName."""
    return f"function:{function}:{event_name}"


@dataclass
class CaseOutcome:
    case: Case
    delivered_messages: int = 0
    deliveries: int = 0  # receives, redeliveries included
    scans: int = 0
    status: str = "not delivered"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    dedupe_hits: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    alert_kinds: list[str] = field(default_factory=list)
    code_sha256: str | None = None  # function cases: the code SHA-256 the handler resolved (GetFunction)

    @property
    def image(self) -> str:
        if self.case.kind == "function":
            return f"function {self.case.repository} ({self.case.tag})"
        return f"{self.case.repository}:{self.case.tag}"

    @property
    def ok(self) -> bool:
        return self.status == self.case.expect and self.dedupe_hits == self.case.expect_dedupe_hits


@dataclass
class Summary:
    outcomes: list[CaseOutcome]
    events_sent: int
    messages_delivered: int
    invocations: int
    scanned: int
    deduplicated: int
    failed_attempts: int
    dead_lettered: int
    alerts: int
    unmatched_alerts: int = 0
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def closes(self) -> bool:
        """Messages in = scanned + deduplicated + dead-lettered (every delivered message accounted for once)."""
        return self.messages_delivered == self.scanned + self.deduplicated + self.dead_lettered

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and self.closes

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, outcome in zip(data["outcomes"], self.outcomes, strict=True):
            item["image"], item["ok"] = outcome.image, outcome.ok
        data["closes"], data["ok"] = self.closes, self.ok
        return data


def _digest_of(text: str | None) -> str | None:
    if not text or "sha256:" not in text:
        return None
    return "sha256:" + text.split("sha256:", 1)[1][:64]


def _record_key(event: Mapping[str, Any]) -> str:
    if event.get("function"):
        return function_key(event.get("function"), event.get("event_name"))
    return str(event.get("digest"))


def _code_sha_of(dedupe_key: str) -> str | None:
    """`lambda#<arn>#<code sha>#<layers>` -> the code sha."""
    parts = dedupe_key.split("#")
    return parts[2] if len(parts) >= 3 and parts[0] == "lambda" and parts[2] else None


def _entry_outcome(
    entry: Mapping[str, Any], outcomes: Mapping[str, CaseOutcome], functions: list[CaseOutcome]
) -> CaseOutcome | None:
    """The case a logged pipeline line belongs to: by digest for images; for functions, the invocation's
    only function case (the dedupe key names the function's ARN and code, not the deployment event)."""
    key = str(entry.get("dedupe_key") or "")
    if key.startswith("lambda#"):
        return functions[0] if len(functions) == 1 else None
    return outcomes.get(str(_digest_of(key)))


def _match_alerts(outcomes: Mapping[str, CaseOutcome], alerts: Iterable[Mapping[str, Any]]) -> int:
    """Count each alert on its case (image digest, or the scanned function code); returns the unmatched."""
    unmatched = 0
    for alert in alerts:
        target = alert.get("target") or {}
        outcome = outcomes.get(str(target.get("digest")))
        if outcome is None and target.get("code_sha256"):
            outcome = next(
                (
                    o
                    for o in outcomes.values()
                    if o.scans and o.case.kind == "function" and o.code_sha256 == target.get("code_sha256")
                ),
                None,
            )
        if outcome is None:
            unmatched += 1
            continue
        outcome.alerts += 1
        outcome.alert_kinds.append(str(alert.get("kind")))
    return unmatched


def summarize(
    cases: Iterable[Case],
    invocations: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    dead_letters: Iterable[Mapping[str, Any]],
) -> Summary:
    """Per-case outcome from the observed invocations, alerts and dead letters (matched by image digest, or by
    function and event name)."""
    outcomes = {case.match_key: CaseOutcome(case) for case in cases}
    seen_messages: set[str] = set()
    totals = {"invocations": 0, "scanned": 0, "deduplicated": 0, "failed": 0}
    for line in invocations:
        totals["invocations"] += 1
        failed = set(line.get("failed") or [])
        logged = list(line.get("logged") or [])
        functions: list[CaseOutcome] = []
        for record in line.get("records") or []:
            outcome = outcomes.get(_record_key(record.get("event") or {}))
            if outcome is None:
                continue
            if outcome.case.kind == "function":
                functions.append(outcome)
            outcome.deliveries += 1
            if record.get("message_id") not in seen_messages:
                seen_messages.add(str(record.get("message_id")))
                outcome.delivered_messages += 1
            if record.get("message_id") in failed:
                outcome.failed_attempts += 1
                totals["failed"] += 1
        for entry in logged:
            outcome = _entry_outcome(entry, outcomes, functions)
            if outcome is None:
                continue
            code_sha = _code_sha_of(str(entry.get("dedupe_key") or ""))
            if code_sha:
                outcome.code_sha256 = code_sha
            if "status" in entry and "counts" in entry:  # the pipeline's `scanned` line
                outcome.scans += 1
                totals["scanned"] += 1
                counts = entry.get("counts") or {}
                outcome.counts = {s: int(counts.get(s, 0) or 0) for s in SEVERITIES}
                outcome.status = "vulnerable" if any(outcome.counts.values()) else "clean"
            elif entry.get("outcome") in (
                "cached",
                "claimed",
                "deduplicated",
            ):  # the pipeline's `dedupe` line
                outcome.dedupe_hits += 1
                totals["deduplicated"] += 1
    for body in dead_letters:
        detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
        digest = detail.get("image-digest") or _digest_of(json.dumps(detail))
        outcome = outcomes.get(str(digest))
        if outcome is not None:
            outcome.dead_lettered += 1
            outcome.status = "dead-lettered"
    unmatched = _match_alerts(outcomes, alerts)
    for outcome in outcomes.values():
        if outcome.status == "not delivered" and outcome.delivered_messages:
            if outcome.dedupe_hits and not outcome.failed_attempts:
                outcome.status = "deduplicated"
            else:
                outcome.status = "in progress" if outcome.failed_attempts else "delivered, not scanned"
    ordered = list(outcomes.values())
    return Summary(
        outcomes=ordered,
        events_sent=sum(o.case.entries for o in ordered),
        messages_delivered=len(seen_messages),
        invocations=totals["invocations"],
        scanned=totals["scanned"],
        deduplicated=totals["deduplicated"],
        failed_attempts=totals["failed"],
        dead_lettered=sum(o.dead_lettered for o in ordered),
        alerts=sum(o.alerts for o in ordered) + unmatched,
        unmatched_alerts=unmatched,
    )


def _counts(outcome: CaseOutcome) -> str:
    return " ".join(str(outcome.counts.get(s, 0)) for s in SEVERITIES)


def render_table(summary: Summary) -> str:
    """A fixed-width table for the terminal."""
    header = (
        "image / function event",
        "sent",
        "msgs",
        "status",
        "C H M L I",
        "dedupe",
        "alerts",
        "expected",
        "",
    )
    rows = [
        (
            o.image,
            str(o.case.entries),
            f"{o.delivered_messages}"
            + (f" (x{o.deliveries})" if o.deliveries > o.delivered_messages else ""),
            o.status,
            _counts(o),
            str(o.dedupe_hits),
            str(o.alerts),
            o.case.expect,
            "ok" if o.ok else "UNEXPECTED",
        )
        for o in summary.outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"events sent {summary.events_sent}; messages delivered {summary.messages_delivered} = scanned "
        f"{summary.scanned} + deduplicated {summary.deduplicated} + dead-lettered {summary.dead_lettered}"
        f" ({'closes' if summary.closes else 'DOES NOT CLOSE'}); handler invocations {summary.invocations}, "
        f"failed attempts {summary.failed_attempts}; alerts {summary.alerts}"
    )
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d232a;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.notice{background:#fff4d6;border:1px solid #e7c45a;padding:.75rem 1rem;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border-bottom:1px solid #dde2e8;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
code{background:#f3f5f8;padding:0 .25rem;border-radius:3px;font-size:.88em}
.sev td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _identity(outcome: CaseOutcome) -> str:
    if outcome.case.kind == "function":
        return f"code {outcome.code_sha256 or '?'}"[:24]
    return outcome.case.digest[:19]


def _event_label(event: Mapping[str, Any]) -> str:
    if event.get("function"):
        return f"function {event.get('function')} ({event.get('event_name')})"
    return f"{event.get('repository')}:{event.get('tag')}"


def _cell(value: Any) -> str:
    return f"<td>{html.escape(str(value))}</td>"


def render_html(
    summary: Summary,
    *,
    title: str,
    started_at: str,
    invocations: list[Mapping[str, Any]],
    alerts: list[Mapping[str, Any]],
    run_facts: Mapping[str, str],
) -> str:
    """A self-contained HTML page; every value taken from the run is escaped."""
    esc = html.escape
    rows = []
    for o in summary.outcomes:
        verdict = '<td class="ok">as expected</td>' if o.ok else '<td class="bad">unexpected</td>'
        rows.append(
            "<tr>"
            + _cell(o.case.title)
            + f"<td><code>{esc(o.image)}</code><br><small>{esc(_identity(o))}&hellip;</small></td>"
            + _cell(o.case.entries)
            + _cell(f"{o.delivered_messages} ({o.deliveries} deliveries)")
            + _cell(o.status)
            + "".join(f'<td class="n">{o.counts.get(s, 0)}</td>' for s in SEVERITIES)
            + _cell(o.dedupe_hits)
            + _cell(f"{o.alerts} {', '.join(o.alert_kinds)}".strip())
            + _cell(o.case.expect)
            + verdict
            + "</tr>"
        )
    timeline = []
    for line in invocations:
        for record in line.get("records") or []:
            event = record.get("event") or {}
            failed = record.get("message_id") in set(line.get("failed") or [])
            timeline.append(
                "<tr>"
                + _cell(line.get("invocation"))
                + _cell(_event_label(event))
                + _cell(event.get("detail_type"))
                + _cell(record.get("receive_count"))
                + (
                    '<td class="bad">failed: redelivered</td>'
                    if failed
                    else '<td class="ok">done: deleted</td>'
                )
                + _cell(f"{line.get('duration_ms')} ms")
                + "</tr>"
            )
    alert_rows = "".join(
        "<tr>"
        + _cell(a.get("kind"))
        + _cell(a.get("status"))
        + _cell(a.get("target_name"))
        + _cell(", ".join(f"{k} {v}" for k, v in (a.get("counts") or {}).items() if v))
        + _cell(a.get("reason") or "")
        + "</tr>"
        for a in alerts
    )
    facts = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in run_facts.items())
    verdict = (
        '<p class="ok">Every image and function event ended as expected and the accounting closes.</p>'
        if summary.ok
        else '<p class="bad">Some outcome differs from what the demo expects: see the table.</p>'
    )
    severity_heads = "".join(f"<th>{s[:4]}</th>" for s in SEVERITIES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
<p class="notice">{esc(SIMULATED_NOTICE)}</p>
<p>Run started {esc(started_at)}, took {summary.elapsed_seconds:.0f} s.</p>
{verdict}
<h2>Images and Lambda functions</h2>
<table class="sev"><tr><th>case</th><th>image</th><th>events</th><th>messages</th><th>status</th>
{severity_heads}<th>dedupe hits</th><th>alerts</th><th>expected</th><th></th></tr>
{"".join(rows)}
</table>
<p>Events sent {summary.events_sent}; messages delivered {summary.messages_delivered} = scanned {summary.scanned}
+ deduplicated {summary.deduplicated} + dead-lettered {summary.dead_lettered}
({"closes" if summary.closes else "does not close"}). Handler invocations {summary.invocations},
failed attempts {summary.failed_attempts}, alerts {summary.alerts}.</p>
<h2>Deliveries (the emulated SQS event source mapping)</h2>
<table><tr><th>invocation</th><th>image / function</th><th>event</th><th>receive #</th><th>result</th><th>duration</th></tr>
{"".join(timeline)}
</table>
<h2>Alerts (read back from a queue subscribed to the alerts topic)</h2>
<table><tr><th>kind</th><th>status</th><th>target</th><th>findings</th><th>reason</th></tr>
{alert_rows}
</table>
<h2>Run</h2>
<table>{facts}</table>
<h2>Next steps</h2>
<p>{esc(REAL_USE)}</p>
</body></html>
"""
