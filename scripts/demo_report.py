"""The `make demo` summary: per-image and per-function-event outcome from what the run observed, a text table
and an HTML report.

Everything here is pure (no AWS, no processes) so it can be unit-tested: `summarize()` takes the cases the demo
sent, the event source mapping's invocation lines (`scripts/demo_worker.py --report`, both scan queues), the
alerts read back from the queue subscribed to the alerts topic and the dead-letter queues' bodies, and returns a
`Summary`. Image cases are matched by digest; Lambda function cases (one per CloudTrail deployment event) by
function name and event name, their pipeline lines by the invocation that handled the event (batch size 1).
ECS cases (kind "ecs", one per image a task definition runs) are matched by digest in the Fargate workflow's
executions on moto (`execution_record()` reads one `DescribeExecution` answer: each image's Map item ends
scanned, deduplicated or failed) and in the task function's invocation lines (`scripts/demo_tasks.py --report`:
failed scan attempts).
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
    "function"): `repository` is the function name, `tag` the CloudTrail eventName, `digest` empty. ECS cases
    (kind "ecs"): an image a task definition runs, `tag` empty when the container names it by digest, `entries`
    the ECS calls that deploy it. `scope`: the spoke (AWS account, Azure subscription) the case's workload is in, empty
    for the hub's own; its stored results must name it (`CaseOutcome.result_scopes`)."""

    key: str
    title: str
    repository: str
    tag: str
    digest: str
    entries: int  # events put on the bus for this case
    expect: str  # "clean" | "vulnerable" | "deduplicated" | "not delivered" | "dead-lettered" | "failed"
    expect_dedupe_hits: int = 0
    kind: str = "image"
    scope: str = ""

    @property
    def match_key(self) -> str:
        return function_key(self.repository, self.tag) if self.kind == "function" else self.digest


def function_key(function: str | None, event_name: str | None) -> str:
    """The match key of a function case: the function name and the CloudTrail eventName."""
    return f"function:{function}:{event_name}"


@dataclass
class CaseOutcome:
    case: Case
    delivered_messages: int = 0  # ECS cases: the executions whose parse step returned the image
    deliveries: int = 0  # receives, redeliveries included (ECS cases: executions)
    scans: int = 0
    status: str = "not delivered"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    dedupe_hits: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    alert_kinds: list[str] = field(default_factory=list)
    code_sha256: str | None = None  # function cases: the code SHA-256 the handler resolved (GetFunction)
    result_scopes: list[str] = field(default_factory=list)  # the accounts / subscriptions its results name

    @property
    def image(self) -> str:
        if self.case.kind == "function":
            return f"function {self.case.repository} ({self.case.tag})"
        if self.case.kind == "ecs":
            reference = f":{self.case.tag}" if self.case.tag else f"@{self.case.digest[:19]}"
            return f"ECS {self.case.repository}{reference}"
        if self.case.kind == "azure":
            spoke = f" (spoke subscription {self.case.scope})" if self.case.scope else ""
            return f"Azure {self.case.repository}" + (f":{self.case.tag}" if self.case.tag else "") + spoke
        return f"{self.case.repository}:{self.case.tag}"

    @property
    def ok(self) -> bool:
        return (
            self.status == self.case.expect
            and self.dedupe_hits == self.case.expect_dedupe_hits
            and (not self.case.scope or self.result_scopes == [self.case.scope])
        )


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
    executions: list[dict[str, Any]] = field(default_factory=list)  # `execution_record()`s, in order
    ecs_images: int = 0  # images the executions' parse steps returned, over all executions
    ecs_scanned: int = 0
    ecs_deduplicated: int = 0
    ecs_failed: int = 0  # failed and notified (never recorded clean)
    ecs_failed_attempts: int = 0  # scan attempts that raised (the workflow retried them)
    azure: AzureSummary | None = None  # the Azure part (`summarize_azure`), when it ran
    hub_spoke: HubSpokeSummary | None = None  # the hub-spoke part (`summarize_hub_spoke`), when it ran

    @property
    def closes(self) -> bool:
        """Messages in = scanned + deduplicated + dead-lettered (every delivered message accounted for once), and
        every image of every execution ended scanned, deduplicated or failed."""
        return (
            self.messages_delivered == self.scanned + self.deduplicated + self.dead_lettered
            and self.ecs_images == self.ecs_scanned + self.ecs_deduplicated + self.ecs_failed
        )

    @property
    def ok(self) -> bool:
        return (
            all(o.ok for o in self.outcomes)
            and self.closes
            and all(e.get("status") == "SUCCEEDED" for e in self.executions)
            and (self.azure is None or self.azure.ok)
            and (self.hub_spoke is None or self.hub_spoke.ok)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, outcome in zip(data["outcomes"], self.outcomes, strict=True):
            item["image"], item["ok"] = outcome.image, outcome.ok
        data["closes"], data["ok"] = self.closes, self.ok
        if self.azure is not None:
            data["azure"] = self.azure.to_dict()
        if self.hub_spoke is not None:
            data["hub_spoke"] = self.hub_spoke.to_dict()
        return data


@dataclass
class HubSpokeSummary:
    """The hub-spoke part (scripts/demo_hub_spoke.py): a spoke account's cases (`Case.scope`: the spoke account)
    scanned by the hub's handlers, with, per case key, the accounts of the events the handlers got (the envelope
    forwarded from the spoke), the roles they assumed for them and (`CaseOutcome.result_scopes`) the accounts
    the result documents in the hub's bucket name. Every one must be the spoke, never the hub."""

    hub_account: str
    outcomes: list[CaseOutcome]
    event_accounts: dict[str, list[str]]
    roles: dict[str, list[str]]

    def scanned_as_spoke(self, outcome: CaseOutcome) -> bool:
        """The event came from the spoke and the handler assumed a role in the spoke account, once."""
        key, spoke = outcome.case.key, outcome.case.scope
        roles = self.roles.get(key, [])
        return (
            spoke != self.hub_account
            and self.event_accounts.get(key) == [spoke]
            and len(roles) == 1
            and roles[0].split(":")[4:5] == [spoke]
        )

    @property
    def ok(self) -> bool:
        return all(o.ok and self.scanned_as_spoke(o) for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, outcome in zip(data["outcomes"], self.outcomes, strict=True):
            item["image"], item["ok"] = outcome.image, outcome.ok and self.scanned_as_spoke(outcome)
        data["ok"] = self.ok
        return data


def summarize_hub_spoke(
    cases: Iterable[Case],
    invocations: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    *,
    hub_account: str,
    results: Mapping[str, Iterable[str]],
) -> HubSpokeSummary:
    """Per-case outcome of the hub-spoke part from the hub handlers' invocation lines (as `summarize`: the
    worker's report, with each event's `account` and the `role_arn` of the handler's `assumed` line), the hub's
    alerts, and the accounts each case's result documents name (case key -> accounts)."""
    kept = list(invocations)
    summary = summarize(cases, kept, alerts, [])
    by_match = {o.case.match_key: o for o in summary.outcomes}
    event_accounts: dict[str, list[str]] = {o.case.key: [] for o in summary.outcomes}
    roles: dict[str, list[str]] = {o.case.key: [] for o in summary.outcomes}
    for line in kept:
        assumed = [str(e["role_arn"]) for e in line.get("logged") or [] if e.get("role_arn")]
        for record in line.get("records") or []:
            event = record.get("event") or {}
            outcome = by_match.get(_record_key(event))
            if outcome is not None:
                event_accounts[outcome.case.key].append(str(event.get("account")))
                roles[outcome.case.key] += assumed
    for outcome in summary.outcomes:
        outcome.result_scopes = list(results.get(outcome.case.key, []))
    return HubSpokeSummary(hub_account, summary.outcomes, event_accounts, roles)


AZURE_DISPOSITIONS = ("scanned", "cached", "deduplicated", "skipped", "failed")


@dataclass
class AzureSummary:
    """The Azure part: its cases (kind "azure", matched by the queue message that carried each event), and the
    accounting: events = filtered out + delivered; delivered = scanned + deduplicated + skipped + poisoned."""

    outcomes: list[CaseOutcome]
    events_sent: int
    filtered_out: int
    messages_delivered: int
    invocations: int
    scanned: int
    deduplicated: int
    skipped: int
    poisoned: int
    failed_attempts: int
    alerts: int
    unmatched_alerts: int = 0

    @property
    def closes(self) -> bool:
        return (
            self.events_sent == self.filtered_out + self.messages_delivered
            and self.messages_delivered == self.scanned + self.deduplicated + self.skipped + self.poisoned
        )

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and self.closes and self.unmatched_alerts == 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, outcome in zip(data["outcomes"], self.outcomes, strict=True):
            item["image"], item["ok"] = outcome.image, outcome.ok
        data["closes"], data["ok"] = self.closes, self.ok
        return data


def _final_disposition(tally: Mapping[str, Any]) -> str:
    """What one invocation did with its event, from its `invocation accounting` tally."""
    for name in AZURE_DISPOSITIONS:
        value = tally.get(name)
        if (sum(value.values()) if isinstance(value, dict) else int(value or 0)) > 0:
            return "deduplicated" if name == "cached" else name
    return "none"


def summarize_azure(
    cases: Iterable[Case],
    lines: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    *,
    poisoned: Iterable[str],
    message_cases: Mapping[str, str],
    filtered: Iterable[str],
    results: Iterable[Mapping[str, Any]] = (),
) -> AzureSummary:
    """Per-case outcome of the Azure part from the Functions host stand-in's invocation lines
    (`scripts/demo_azure.py host --report`: message id, dequeue count, the handler's accounting and pipeline
    lines), the notifications published to the Event Grid topic (CloudEvents, matched by digest), the case keys
    of the poison queue's messages, which message carried which case, the cases the filters rejected, and the
    stored results (`account` and `digest` of each: the subscriptions a case's results name, matched by digest)."""
    outcomes = {case.key: CaseOutcome(case) for case in cases}
    by_digest = {o.case.digest: o for o in outcomes.values() if o.case.expect != "not delivered"}
    final: dict[str, str] = {}
    invocations = failed_attempts = 0
    for line in lines:
        invocations += 1
        outcome = outcomes.get(str(message_cases.get(str(line.get("message_id")))))
        if outcome is None:
            continue
        outcome.deliveries += 1
        message = str(line.get("message_id"))
        if message not in final:
            outcome.delivered_messages += 1
        disposition = _final_disposition(line.get("accounting") or {})
        final[message] = "poisoned" if line.get("poisoned") else disposition
        if line.get("error"):
            outcome.failed_attempts += 1
            failed_attempts += 1
        for entry in line.get("logged") or []:
            if "status" in entry and "counts" in entry:
                outcome.scans += 1
                counts = entry.get("counts") or {}
                outcome.counts = {s: int(counts.get(s, 0) or 0) for s in SEVERITIES}
                outcome.status = "vulnerable" if any(outcome.counts.values()) else "clean"
        if disposition == "deduplicated":
            outcome.dedupe_hits += 1
        elif disposition == "skipped" and not outcome.scans:
            outcome.status = "skipped"
    for result in results:
        scoped = by_digest.get(str(result.get("digest")))
        account = str(result.get("account"))
        if scoped is not None and account not in scoped.result_scopes:
            scoped.result_scopes.append(account)
    for key in poisoned:
        if key in outcomes:
            outcomes[key].dead_lettered += 1
            outcomes[key].status = "poisoned"
    unmatched = 0
    for alert in alerts:
        target = _json_object(_json_object(alert.get("data")).get("target"))
        outcome = by_digest.get(str(target.get("digest")))
        if outcome is None:
            unmatched += 1
            continue
        outcome.alerts += 1
        outcome.alert_kinds.append(str(alert.get("type", "")).rsplit(".", 1)[-1])
    for outcome in outcomes.values():
        if outcome.status == "not delivered" and outcome.delivered_messages:
            outcome.status = "deduplicated" if outcome.dedupe_hits else "delivered, not scanned"
    ordered = list(outcomes.values())
    ends = list(final.values())
    return AzureSummary(
        outcomes=ordered,
        events_sent=sum(o.case.entries for o in ordered),
        filtered_out=len(list(filtered)),
        messages_delivered=len(final),
        invocations=invocations,
        scanned=ends.count("scanned"),
        deduplicated=ends.count("deduplicated"),
        skipped=ends.count("skipped"),
        poisoned=sum(o.dead_lettered for o in ordered),
        failed_attempts=failed_attempts,
        alerts=sum(o.alerts for o in ordered) + unmatched,
        unmatched_alerts=unmatched,
    )


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


ECS_OUTCOMES = ("scanned", "deduplicated", "failed")


def _json_object(text: Any) -> dict[str, Any]:
    """`text` parsed when it is JSON text, else itself; {} unless that is an object."""
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _failure_reason(error: Any) -> str:
    """`Error: errorMessage` of a caught task error (its Cause is the Lambda error payload as JSON)."""
    error = error if isinstance(error, dict) else {}
    cause = _json_object(error.get("Cause"))
    message = cause.get("errorMessage") or error.get("Cause") or ""
    return f"{error.get('Error') or 'error'}: {message}"[:300]


def execution_record(described: Mapping[str, Any]) -> dict[str, Any]:
    """One Fargate workflow execution (a `DescribeExecution` answer) as the report keeps it: the ECS call that
    started it and how each image's Map item ended (modules/fargate/workflow.asl.json: `{"outcome", "key", ...}`,
    the image named by the parsed images): `scanned` (the scan summary), `deduplicated` (the Deduplicated state,
    or a scan step that found the key held) or `failed` (the ImageFailed state, after NotifyImageFailure)."""
    event = _json_object(described.get("input"))
    detail = _json_object(event.get("detail"))
    output = _json_object(described.get("output"))
    parsed = _json_object(output.get("parsed")).get("images") or []
    targets = {
        str(t.get("dedupe_key")): t
        for t in (_json_object(_json_object(i).get("target")) for i in parsed if isinstance(i, dict))
    }
    images = []
    for item in output.get("outcomes") or []:
        if not isinstance(item, dict):
            continue
        target = targets.get(str(item.get("key")), {})
        entry: dict[str, Any] = {"digest": target.get("digest"), "image": target.get("image")}
        if item.get("outcome") == "failed":
            entry.update(outcome="failed", reason=_failure_reason(item.get("error")))
        elif item.get("outcome") == "deduplicated":
            entry.update(outcome="deduplicated")
        elif item.get("outcome") == "scanned":
            entry.update(outcome="scanned", status=item.get("status"), counts=item.get("counts") or {})
        else:
            entry.update(outcome="unknown")
        images.append(entry)
    return {
        "name": described.get("name"),
        "status": described.get("status"),
        "event_id": event.get("id"),
        "event_name": detail.get("eventName"),
        "images": images,
    }


def _ecs_outcomes(
    outcomes: Mapping[str, CaseOutcome],
    executions: Iterable[Mapping[str, Any]],
    task_calls: Iterable[Mapping[str, Any]],
) -> dict[str, int]:
    """Count each execution's images on their ECS cases (by digest), and the failed scan attempts; returns the
    totals (images, scanned, deduplicated, failed, attempts)."""
    ecs = dict.fromkeys(("images", *ECS_OUTCOMES, "attempts"), 0)
    for execution in executions:
        for image in execution.get("images") or []:
            ecs["images"] += 1
            kind = str(image.get("outcome"))
            if kind in ECS_OUTCOMES:
                ecs[kind] += 1
            outcome = outcomes.get(str(image.get("digest")))
            if outcome is None or outcome.case.kind != "ecs":
                continue
            outcome.delivered_messages += 1
            outcome.deliveries += 1
            if kind == "scanned":
                outcome.scans += 1
                counts = dict(image.get("counts") or {})
                counts.setdefault("informational", counts.get("info", 0))  # the result's summary says "info"
                outcome.counts = {s: int(counts.get(s, 0) or 0) for s in SEVERITIES}
                outcome.status = "vulnerable" if any(outcome.counts.values()) else "clean"
            elif kind == "deduplicated":
                outcome.dedupe_hits += 1
            elif kind == "failed":
                outcome.status = "failed"
    for call in task_calls:
        if call.get("error") and call.get("step") in ("scan_qscanner", "fetch_results"):
            ecs["attempts"] += 1
            outcome = outcomes.get(str(call.get("digest")))
            if outcome is not None:
                outcome.failed_attempts += 1
    return ecs


def summarize(
    cases: Iterable[Case],
    invocations: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    dead_letters: Iterable[Mapping[str, Any]],
    *,
    executions: Iterable[Mapping[str, Any]] = (),
    task_calls: Iterable[Mapping[str, Any]] = (),
) -> Summary:
    """Per-case outcome from the observed invocations, alerts and dead letters (matched by image digest, or by
    function and event name), and from the Fargate workflow's executions (`execution_record()`s) and its task
    function's invocations (matched by digest)."""
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
    kept = [dict(e) for e in executions]
    ecs = _ecs_outcomes(outcomes, kept, task_calls)
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
        events_sent=sum(o.case.entries for o in ordered if o.case.kind != "ecs"),  # ECS: one per execution
        messages_delivered=len(seen_messages),
        invocations=totals["invocations"],
        scanned=totals["scanned"],
        deduplicated=totals["deduplicated"],
        failed_attempts=totals["failed"],
        dead_lettered=sum(o.dead_lettered for o in ordered),
        alerts=sum(o.alerts for o in ordered) + unmatched,
        unmatched_alerts=unmatched,
        executions=kept,
        ecs_images=ecs["images"],
        ecs_scanned=ecs["scanned"],
        ecs_deduplicated=ecs["deduplicated"],
        ecs_failed=ecs["failed"],
        ecs_failed_attempts=ecs["attempts"],
    )


def _counts(outcome: CaseOutcome) -> str:
    return " ".join(str(outcome.counts.get(s, 0)) for s in SEVERITIES)


def render_table(summary: Summary) -> str:
    """A fixed-width table for the terminal (the Azure part in a second one)."""
    lines = _outcome_table(summary.outcomes, "image / function event")
    lines.append("")
    lines.append(
        f"events sent {summary.events_sent}; messages delivered {summary.messages_delivered} = scanned "
        f"{summary.scanned} + deduplicated {summary.deduplicated} + dead-lettered {summary.dead_lettered}"
        f" ({'closes' if summary.closes else 'DOES NOT CLOSE'}); handler invocations {summary.invocations}, "
        f"failed attempts {summary.failed_attempts}; alerts {summary.alerts}"
    )
    if summary.executions:
        lines.append(_ecs_accounting(summary))
    if summary.azure is not None:
        lines += ["", *_outcome_table(summary.azure.outcomes, "Azure workload write"), ""]
        lines.append(_azure_accounting(summary.azure))
    if summary.hub_spoke is not None:
        lines += ["", *_outcome_table(summary.hub_spoke.outcomes, "hub-spoke: spoke artifact"), ""]
        lines += [_hub_spoke_line(summary.hub_spoke, o) for o in summary.hub_spoke.outcomes]
    return "\n".join(lines)


def _azure_accounting(azure: AzureSummary) -> str:
    return (
        f"Azure: events {azure.events_sent} = filtered out {azure.filtered_out} + delivered "
        f"{azure.messages_delivered}; delivered = scanned {azure.scanned} + deduplicated {azure.deduplicated} + "
        f"skipped {azure.skipped} + poisoned {azure.poisoned} ({'closes' if azure.closes else 'DOES NOT CLOSE'}); "
        f"function invocations {azure.invocations}, failed attempts {azure.failed_attempts}; alerts {azure.alerts}"
    )


def _outcome_table(outcomes: list[CaseOutcome], first: str) -> list[str]:
    header = (
        first,
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
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _ecs_accounting(summary: Summary) -> str:
    succeeded = sum(1 for e in summary.executions if e.get("status") == "SUCCEEDED")
    return (
        f"ECS calls {len(summary.executions)} -> workflow executions {len(summary.executions)} ({succeeded} "
        f"succeeded); images {summary.ecs_images} = scanned {summary.ecs_scanned} + deduplicated "
        f"{summary.ecs_deduplicated} + failed {summary.ecs_failed}; failed scan attempts "
        f"{summary.ecs_failed_attempts}"
    )


def _short_ref(reference: Any) -> str:
    """An image reference for a progress line: no ECR registry host, the digest cut to 12 hex digits."""
    text = str(reference)
    host, _, rest = text.partition("/")
    if host.endswith(".amazonaws.com") and rest:
        text = rest
    name, at, digest = text.partition("@sha256:")
    return f"{name}{at}{digest[:12]}" if at else text


def describe_reconcile(summary: Mapping[str, Any]) -> str:
    """One line per reconciler summary (an AWS account's, an Azure subscription's)."""
    if summary.get("error"):  # an AWS account that could not be reconciled at all
        return f"failed: {summary['error']}"
    line = (
        f"{summary.get('listed')} listed ({summary.get('unique')} unique), {summary.get('fresh')} fresh, "
        f"{summary.get('never_scanned')} never scanned, {summary.get('stale')} stale; "
        f"{summary.get('enqueued')} scan request(s) enqueued"
    )
    errors = summary.get("errors") or []
    return line + (f"; errors: {'; '.join(str(e) for e in errors)}" if errors else "")


def describe_execution(execution: Mapping[str, Any]) -> str:
    """One line per workflow execution: how each image ended."""
    parts = []
    for image in execution.get("images") or []:
        counts = {k: v for k, v in (image.get("counts") or {}).items() if v}
        shown = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no findings"
        what = {
            "scanned": f"scanned: {image.get('status')}, {shown}",
            "failed": f"FAILED, notified ({str(image.get('reason'))[:100]})",
        }.get(str(image.get("outcome")), str(image.get("outcome")))
        parts.append(f"{_short_ref(image.get('image'))} -> {what}")
    return "; ".join(parts)


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


def _hub_spoke_line(hub_spoke: HubSpokeSummary, outcome: CaseOutcome) -> str:
    """Which account the hub scanned for a case, with which role, and what its results name."""
    key = outcome.case.key
    verdict = "ok" if hub_spoke.scanned_as_spoke(outcome) else "UNEXPECTED"
    return (
        f"hub-spoke {key}: event from account {', '.join(hub_spoke.event_accounts.get(key, [])) or '-'}, "
        f"scanned by hub {hub_spoke.hub_account} with role {', '.join(hub_spoke.roles.get(key, [])) or '-'}; "
        f"results name account {', '.join(outcome.result_scopes) or '-'} ({verdict})"
    )


def _hub_spoke_section(hub_spoke: HubSpokeSummary | None) -> str:
    """The hub-spoke part of the page: its cases and, per case, the account scanned and the role assumed."""
    if hub_spoke is None:
        return ""
    severity_heads = "".join(f"<th>{s[:4]}</th>" for s in SEVERITIES)
    lines = "".join(f"<li>{html.escape(_hub_spoke_line(hub_spoke, o))}</li>" for o in hub_spoke.outcomes)
    return f"""<h2>Hub-spoke: a spoke account's ECR push and Lambda deployment, scanned by the hub</h2>
<table class="sev"><tr><th>case</th><th>image</th><th>events</th><th>messages</th><th>status</th>
{severity_heads}<th>dedupe hits</th><th>alerts</th><th>expected</th><th></th></tr>
{"".join(_outcome_rows(hub_spoke.outcomes))}
</table>
<ul>{lines}</ul>
"""


def _azure_section(azure: AzureSummary | None, lines: Iterable[Mapping[str, Any]], alerts: list[Any]) -> str:
    """The Azure part of the page: its cases, accounting, the host's invocations and the notifications."""
    if azure is None:
        return ""
    esc = html.escape
    invocation_rows = "".join(
        "<tr>"
        + _cell(line.get("invocation"))
        + _cell(str(line.get("message_id"))[:13])
        + _cell(line.get("dequeue_count"))
        + _cell(line.get("result"))
        + _cell(json.dumps({k: v for k, v in (line.get("accounting") or {}).items() if v}, sort_keys=True))
        + _cell(f"{line.get('duration_ms')} ms")
        + "</tr>"
        for line in lines
    )
    alert_rows = "".join(
        "<tr>"
        + _cell(a.get("type"))
        + _cell(_json_object(a.get("data")).get("target_name"))
        + _cell(_json_object(a.get("data")).get("reason") or "")
        + "</tr>"
        for a in alerts
    )
    severity_heads = "".join(f"<th>{s[:4]}</th>" for s in SEVERITIES)
    return f"""<h2>Azure: ACI and ACA writes (Event Grid, Storage queue, the Functions app)</h2>
<table class="sev"><tr><th>case</th><th>image</th><th>events</th><th>messages</th><th>status</th>
{severity_heads}<th>dedupe hits</th><th>alerts</th><th>expected</th><th></th></tr>
{"".join(_outcome_rows(azure.outcomes))}
</table>
<p>{esc(_azure_accounting(azure))}.</p>
<h2>Azure: queue-trigger invocations (the demo's stand-in for the Functions host)</h2>
<table><tr><th>invocation</th><th>message</th><th>dequeue #</th><th>result</th><th>accounting</th><th>duration</th></tr>
{invocation_rows}
</table>
<h2>Azure: notifications (the Event Grid topic's events)</h2>
<table><tr><th>type</th><th>target</th><th>reason</th></tr>
{alert_rows}
</table>
"""


def _outcome_rows(outcomes: Iterable[CaseOutcome]) -> list[str]:
    esc = html.escape
    rows = []
    for o in outcomes:
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
    return rows


def render_html(
    summary: Summary,
    *,
    title: str,
    started_at: str,
    invocations: list[Mapping[str, Any]],
    alerts: list[Mapping[str, Any]],
    run_facts: Mapping[str, str],
    task_calls: Iterable[Mapping[str, Any]] = (),
    azure_lines: Iterable[Mapping[str, Any]] = (),
    azure_alerts: list[Any] | None = None,
) -> str:
    """A self-contained HTML page; every value taken from the run is escaped."""
    esc = html.escape
    rows = _outcome_rows(summary.outcomes)
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
    ecs = ""
    if summary.executions:
        execution_rows = "".join(
            "<tr>"
            + _cell(e.get("event_name"))
            + _cell(str(e.get("name"))[:13])
            + _cell(e.get("status"))
            + _cell(describe_execution(e))
            + "</tr>"
            for e in summary.executions
        )
        call_rows = "".join(
            "<tr>"
            + _cell(str(c.get("execution"))[:13])
            + _cell(c.get("step"))
            + _cell(c.get("image") or "")
            + (
                f'<td class="bad">{esc(str((c.get("error") or {}).get("type")))}: '
                f"{esc(str((c.get('error') or {}).get('message')))}</td>"
                if c.get("error")
                else _cell(json.dumps(c.get("result") or {}, sort_keys=True))
            )
            + _cell(f"{c.get('duration_ms')} ms")
            + "</tr>"
            for c in task_calls
        )
        ecs = f"""<h2>ECS deployments (the Fargate workflow's executions on moto)</h2>
<p>{esc(_ecs_accounting(summary))}.</p>
<table><tr><th>ECS call</th><th>execution</th><th>status</th><th>images</th></tr>
{execution_rows}
</table>
<h2>Task function invocations (the workflow's Tasks)</h2>
<table><tr><th>execution</th><th>step</th><th>image</th><th>result</th><th>duration</th></tr>
{call_rows}
</table>
"""
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
<h2>Images, Lambda functions and ECS deployments</h2>
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
{ecs}{_hub_spoke_section(summary.hub_spoke)}{_azure_section(summary.azure, azure_lines, azure_alerts or [])}<h2>Alerts (read back from a queue subscribed to the alerts topic)</h2>
<table><tr><th>kind</th><th>status</th><th>target</th><th>findings</th><th>reason</th></tr>
{alert_rows}
</table>
<h2>Run</h2>
<table>{facts}</table>
<h2>Next steps</h2>
<p>{esc(REAL_USE)}</p>
</body></html>
"""
