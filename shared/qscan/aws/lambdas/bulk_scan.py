"""Bulk scan: enqueue a scan request for every Lambda function of an account's regions.

A one-off backfill (`qscan bulk-scan`) or a scheduled job (`scheduled_bulk_scan`, called by a Lambda handler)
lists the functions of each configured region and puts one reconciler scan request per function
(`qscan.events.reconciler.scan_request_event`, reason `bulk-scan`) into the scan queue, where the normal SQS
handler resolves, dedupes and scans them. Functions the store already holds for the same code are answered
from the cache there, so repeating a bulk scan is cheap.

The listing (`function_pages`) and the per-entry decision of step 2 (`function_target`) are shared with the
scheduled reconciler's Lambda part (`qscan.aws.inventory`), which requests only what the dedupe store does not
hold; the bulk scan requests everything (a backfill).

Per region (the lambda client comes from the caller, one per region):

1. `lambda:ListFunctions` page by page (`MaxItems` = `page_size`, at most 50; `Marker` / `NextMarker`), only
   `$LATEST` (what deployments change), at most `max_functions` functions per region: a region cut short is
   reported under `truncated`. A region whose listing fails (throttled beyond the SDK's retries, Lambda not
   enabled there, access denied) is reported under `region_errors` and the job goes on with the next region.
2. Each function is skipped, in this order, when it is
   - one of the scanner's own (`own-function`, see `qscan.aws.lambdas.is_own_function`: exact function names of
     the own account (and region, when `own_region` is set), or ARNs; never a name prefix, so a customer's
     `qscan-billing` is scanned),
   - not matched by any `include` pattern when there are some (`not-included`),
   - matched by an `exclude` pattern (`excluded`; exclude wins over include),
   - a listing entry without a valid function ARN (`invalid-entry`).
   Patterns are shell-style globs (`fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]`) on the function NAME,
   case-sensitive like Lambda names. Example: `--include 'payments-*' --exclude '*-canary'`.
3. The target: a zip function is complete already (the listing carries FunctionArn, CodeSha256 and the layer
   version ARNs: no GetFunction needed); a container-image function is an image target that needs lookup
   `lambda_function` (the listing has no image URI; the consumer calls GetFunction once).
4. Messages go out with `sqs:SendMessageBatch`, 10 per call. Entries that fail (a failed call counts as all its
   entries failing) are retried once, except sender faults (the message itself is rejected: a retry fails the
   same way); what still fails is counted under `failed` and listed (first 100) under `failures`. A queue that
   does not exist or may not be written raises `QueueUnusable` (a `ConfigError`) at once: every message would
   fail the same way.

Dry run: the same listing and filtering, nothing is sent; `planned` counts what would be enqueued and
`on_planned` sees each target. Progress goes to the `progress` callback every `progress_every` listed
functions and at the end of each region.

Summary (`BulkScanSummary.to_dict`): `listed = matched + sum(skipped)`, and outside dry runs
`matched = enqueued + failed`.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from qscan.aws.lambdas.bulk_request import (
    DEFAULT_OWN_FUNCTIONS,
    REQUEST_DETAIL_TYPE,
    REQUEST_SOURCE,
    is_bulk_scan_request,
)
from qscan.aws.lambdas.resolve import aws_error_code, function_lookup_target, is_own_function
from qscan.cloud_errors import aws_error
from qscan.errors import ConfigError, InvalidEvent, QscanError
from qscan.events._util import ACCOUNT_RE, REGION_RE
from qscan.events.aws_lambda import FUNCTION_ARN_RE, LAYER_ARN_RE
from qscan.events.reconciler import scan_request_event
from qscan.structs import field, struct
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

REASON = "bulk-scan"
QUEUE_URL_ENV = "QSCAN_SCAN_QUEUE_URL"
MAX_PAGE_SIZE = 50  # lambda:ListFunctions MaxItems limit
SQS_BATCH_SIZE = 10  # sqs:SendMessageBatch limit
MAX_FAILURES_LISTED = 100
MAX_REGIONS = 40
MAX_PATTERNS = 50
INPUT_KEYS = frozenset({"queue_url", "regions", "include", "exclude", "dry_run", "max_functions"})

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_PATTERN_RE = r"[A-Za-z0-9_*?\[\]!-]{1,140}"
_FUNCTION_NAME_RE = r"[A-Za-z0-9_-]{1,64}"
_QUEUE_NAME_RE = r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?"
_CODE_SHA_RE = r"[A-Za-z0-9+/]{43}=|[a-f0-9]{64}"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_QUEUE_CONFIG_CODES = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NonExistentQueue",
        "InvalidAddress",
        "InvalidSecurity",
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.NotFoundException",
    }
)

Progress = Callable[[str], None]
LambdaClientFor = Callable[[str], Any]


class QueueUnusable(ConfigError):
    """The scan queue does not exist or may not be written: every message would fail, so the job stops."""


@struct
class BulkScanOptions:
    """What to scan and where to send it; every field is validated (`ConfigError` naming the field)."""

    regions: tuple[str, ...]
    queue_url: str | None = None  # required unless dry_run
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    own_functions: tuple[str, ...] = DEFAULT_OWN_FUNCTIONS  # exact function names or ARNs never scanned
    own_account: str | None = None  # names match only in this account (None: a listing sees only its own)
    own_region: str | None = None  # names match only in this region (None: in every listed region)
    dry_run: bool = False
    page_size: int = MAX_PAGE_SIZE
    max_functions: int = 10_000  # per region
    progress_every: int = 100  # 0: only at the end of each region
    retry_delay_seconds: float = 0.5  # pause before the one retry of failed entries

    def __post_init__(self) -> None:
        regions = tuple(dict.fromkeys(self.regions))
        if not regions:
            raise ConfigError("regions: name at least one region")
        if len(regions) > MAX_REGIONS:
            raise ConfigError(f"regions: at most {MAX_REGIONS}")
        for region in regions:
            if not isinstance(region, str) or not re.fullmatch(REGION_RE, region):
                raise ConfigError("regions: each must be an AWS region name such as eu-west-1")
        object.__setattr__(self, "regions", regions)
        if self.queue_url is None:
            if not self.dry_run:
                raise ConfigError(f"queue_url is required (or {QUEUE_URL_ENV}) unless this is a dry run")
        else:
            validate_queue_url(self.queue_url)
        for name in ("include", "exclude"):
            patterns = getattr(self, name)
            if len(patterns) > MAX_PATTERNS:
                raise ConfigError(f"{name}: at most {MAX_PATTERNS} patterns")
            for pattern in patterns:
                if not isinstance(pattern, str) or not re.fullmatch(_PATTERN_RE, pattern):
                    raise ConfigError(
                        f"{name}: patterns are 1-140 characters of letters, digits, _ - and the glob "
                        "characters * ? [ ] !"
                    )
        for own in self.own_functions:
            if not isinstance(own, str) or len(own) > 256:
                raise ConfigError("own_functions: entries must be Lambda function names or function ARNs")
            if own.startswith("arn:"):
                if not re.fullmatch(FUNCTION_ARN_RE, own):
                    raise ConfigError("own_functions: an ARN entry must be a Lambda function ARN")
            elif not re.fullmatch(_FUNCTION_NAME_RE, own):
                raise ConfigError(
                    "own_functions: entries must be exact Lambda function names (1-64 of A-Z a-z 0-9 _ -, "
                    "no wildcards or prefixes) or function ARNs"
                )
        if self.own_account is not None and not re.fullmatch(ACCOUNT_RE, self.own_account):
            raise ConfigError("own_account must be a 12-digit AWS account id")
        if self.own_region is not None and not re.fullmatch(REGION_RE, self.own_region):
            raise ConfigError("own_region must be an AWS region name such as eu-west-1")
        _bounded("page_size", self.page_size, 1, MAX_PAGE_SIZE)
        _bounded("max_functions", self.max_functions, 1, 1_000_000)
        _bounded("progress_every", self.progress_every, 0, 1_000_000)
        if not 0 <= self.retry_delay_seconds <= 30:
            raise ConfigError("retry_delay_seconds must be between 0 and 30")


@struct(frozen=False)
class BulkScanSummary:
    dry_run: bool
    regions: tuple[str, ...]
    listed: int = 0
    matched: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    planned: int = 0  # dry run: what would have been enqueued
    enqueued: int = 0
    failed: int = 0
    truncated: list[str] = field(default_factory=list)
    region_errors: dict[str, str] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything listed was handled: nothing failed to enqueue and every region could be listed."""
        return self.failed == 0 and not self.region_errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "regions": list(self.regions),
            "listed": self.listed,
            "matched": self.matched,
            "skipped": dict(sorted(self.skipped.items())),
            "planned": self.planned,
            "enqueued": self.enqueued,
            "failed": self.failed,
            "truncated": list(self.truncated),
            "region_errors": dict(self.region_errors),
            "failures": list(self.failures),
            "ok": self.ok,
        }


def validate_queue_url(url: str) -> str:
    """An SQS queue URL `https://<host>/<account>/<name>` (http only on loopback, for moto); ConfigError."""
    parts = urlsplit(url) if isinstance(url, str) else None
    segments = [s for s in parts.path.split("/") if s] if parts is not None else []
    valid = (
        parts is not None
        and len(url) <= 1024
        and bool(parts.hostname)
        and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK))
        and not (parts.username or parts.password or parts.query or parts.fragment)
        and len(segments) == 2
        and re.fullmatch(ACCOUNT_RE, segments[0]) is not None
        and re.fullmatch(_QUEUE_NAME_RE, segments[1]) is not None
    )
    if not valid:
        raise ConfigError(
            "queue_url must be an SQS queue URL https://sqs.<region>.amazonaws.com/<account>/<queue name>"
        )
    if segments[1].endswith(".fifo"):
        raise ConfigError("queue_url names a FIFO queue: the scan queue is a standard queue")
    return url


def name_matches(name: str, include: Sequence[str], exclude: Sequence[str]) -> str | None:
    """None when `name` passes the patterns, else the skip reason (`not-included` or `excluded`)."""
    if include and not any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
        return "not-included"
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
        return "excluded"
    return None


def listing_target(entry: Mapping[str, Any]) -> ScanTarget | None:
    """The scan target of one ListFunctions entry, or None when the entry has no valid function ARN."""
    arn = entry.get("FunctionArn")
    if not isinstance(arn, str) or not re.fullmatch(FUNCTION_ARN_RE, arn) or len(arn.split(":")) != 7:
        return None
    parts = arn.split(":")
    region, account = parts[3], parts[4]
    if entry.get("PackageType") == "Image":
        return function_lookup_target(arn, account=account, region=region, image=True)
    sha = entry.get("CodeSha256")
    layers = [layer.get("Arn") for layer in entry.get("Layers") or [] if isinstance(layer, dict)]
    complete = (
        entry.get("PackageType", "Zip") == "Zip"
        and isinstance(sha, str)
        and re.fullmatch(_CODE_SHA_RE, sha) is not None
        and len(layers) == len(entry.get("Layers") or [])
        and all(isinstance(a, str) and re.fullmatch(LAYER_ARN_RE, a) for a in layers)
    )
    if not complete:  # an unusual entry: let the consumer look the function up
        return function_lookup_target(arn, account=account, region=region)
    return ScanTarget(
        kind="function",
        platform="lambda",
        function_arn=arn,
        code_sha256=sha,
        layers=tuple(str(a) for a in layers),
        package_type="Zip",
        account=account,
        region=region,
        resource_id=arn,
    )


def bulk_scan(
    options: BulkScanOptions,
    *,
    lambda_client: LambdaClientFor,
    sqs_client: Any | None,
    progress: Progress | None = None,
    on_planned: Callable[[ScanTarget], None] | None = None,
) -> BulkScanSummary:
    """Run the bulk scan (module docstring). Raises `QueueUnusable` (a ConfigError) when the queue is."""
    summary = BulkScanSummary(dry_run=options.dry_run, regions=options.regions)
    sender = None
    if not options.dry_run:
        if sqs_client is None or options.queue_url is None:
            raise ConfigError("a bulk scan that is not a dry run needs an SQS client and queue_url")
        sender = _Sender(sqs_client, options.queue_url, summary, options.retry_delay_seconds)
    say = progress or (lambda message: None)
    for region in options.regions:
        listed_before = summary.listed
        try:
            for entry in _list_functions(lambda_client(region), region, options, summary):
                summary.listed += 1
                target_or_reason = _decide(entry, options)
                if isinstance(target_or_reason, str):
                    summary.skipped[target_or_reason] += 1
                else:
                    summary.matched += 1
                    if sender is None:
                        summary.planned += 1
                        if on_planned is not None:
                            on_planned(target_or_reason)
                    else:
                        sender.add(target_or_reason)
                if options.progress_every and summary.listed % options.progress_every == 0:
                    say(_progress_line(region, summary))
        except QueueUnusable:
            raise
        except QscanError as exc:
            summary.region_errors[region] = exc.reason
            LOG.warning("bulk scan: listing %s failed: %s", region, exc.reason, extra={"region": region})
        say(_progress_line(region, summary) + f" - region done ({summary.listed - listed_before} listed)")
    if sender is not None:
        sender.flush()
    return summary


def options_from_input(
    event: Mapping[str, Any] | None,
    *,
    default_regions: Sequence[str] = (),
    default_queue_url: str | None = None,
    own_functions: Sequence[str] = DEFAULT_OWN_FUNCTIONS,
    own_account: str | None = None,
    own_region: str | None = None,
) -> BulkScanOptions:
    """Options from a scheduled invocation's input. Accepted shapes:

    - a plain object with any of `INPUT_KEYS` (`regions`, `include`, `exclude`, `queue_url`, `dry_run`,
      `max_functions`); empty means the defaults;
    - an EventBridge `Scheduled Event` without configured input: the defaults;
    - the scheduled bulk-scan request `{"source": "qscan.bulk-scan", "detail-type": "qscan Bulk Scan Request",
      "region": R, "detail": {"platform": "lambda", ...INPUT_KEYS}}`: its detail, and region R unless the
      detail names regions.
    Unknown keys and wrong types are ConfigError."""
    data: Mapping[str, Any] = event or {}
    if not isinstance(data, Mapping):
        raise ConfigError("the bulk scan input must be a JSON object")
    if data.get("detail-type") == "Scheduled Event" and data.get("source") in ("aws.events", "aws.scheduler"):
        data = {}
    elif is_bulk_scan_request(data):
        data, region = _request_detail(data)
        if region is not None and "regions" not in data:
            default_regions = (region,)
    unknown = sorted(str(key)[:40] for key in set(data) - INPUT_KEYS)
    if unknown:
        raise ConfigError(f"unknown bulk scan input key(s): {', '.join(unknown[:5])}")
    dry_run = data.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ConfigError("dry_run must be true or false")
    max_functions = data.get("max_functions", 10_000)
    if not isinstance(max_functions, int) or isinstance(max_functions, bool):
        raise ConfigError("max_functions must be an integer")
    queue_url = data.get("queue_url", default_queue_url)
    if queue_url is not None and not isinstance(queue_url, str):
        raise ConfigError("queue_url must be a string")
    return BulkScanOptions(
        regions=_strings(data, "regions", default_regions),
        queue_url=queue_url or None,
        include=_strings(data, "include", ()),
        exclude=_strings(data, "exclude", ()),
        own_functions=tuple(own_functions),
        own_account=own_account,
        own_region=own_region,
        dry_run=dry_run,
        max_functions=max_functions,
    )


def _request_detail(event: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    if event.get("detail-type") != REQUEST_DETAIL_TYPE:
        raise ConfigError(f"a {REQUEST_SOURCE} event must have detail-type {REQUEST_DETAIL_TYPE!r}")
    detail = event.get("detail") or {}
    if not isinstance(detail, Mapping):
        raise ConfigError("the bulk scan request's detail must be an object")
    if detail.get("platform", "lambda") != "lambda":
        raise ConfigError("the bulk scan request's detail.platform must be lambda")
    region = event.get("region")
    if region is not None and (not isinstance(region, str) or not re.fullmatch(REGION_RE, region)):
        raise ConfigError("the bulk scan request's region is not a region name")
    return {key: value for key, value in detail.items() if key != "platform"}, region


def scheduled_bulk_scan(
    event: Mapping[str, Any] | None,
    *,
    lambda_client: LambdaClientFor,
    sqs_client: Any,
    default_regions: Sequence[str] = (),
    default_queue_url: str | None = None,
    own_functions: Sequence[str] = DEFAULT_OWN_FUNCTIONS,
    own_account: str | None = None,
    own_region: str | None = None,
) -> dict[str, Any]:
    """The scheduled variant for a Lambda handler: input -> options -> bulk scan -> summary dict (logged).

    The handler passes qscan's own function names and its own ARN in `own_functions`, its account and region
    as `own_account` / `own_region` (a same-named function elsewhere is scanned), its region as
    `default_regions` and the scan queue as `default_queue_url`. Bad input and an unusable queue raise
    `ConfigError` (the invocation fails and its alarm fires); per-message failures are in the summary (`ok`).
    """
    options = options_from_input(
        event,
        default_regions=default_regions,
        default_queue_url=default_queue_url,
        own_functions=own_functions,
        own_account=own_account,
        own_region=own_region,
    )
    summary = bulk_scan(options, lambda_client=lambda_client, sqs_client=sqs_client, progress=LOG.info)
    result = summary.to_dict()
    log = LOG.info if summary.ok else LOG.warning
    log("bulk scan summary", extra={"summary": result})
    return result


# ---------------------------------------------------------------------------------------------- internals


def _bounded(name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer between {low} and {high}")


def _strings(data: Mapping[str, Any], key: str, default: Sequence[str]) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return tuple(default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key} must be a list of strings")
    return tuple(value)


def _progress_line(region: str, summary: BulkScanSummary) -> str:
    done = f"{summary.planned} planned" if summary.dry_run else f"{summary.enqueued} enqueued"
    return (
        f"bulk-scan: {region}: {summary.listed} listed, {summary.matched} matched, "
        f"{sum(summary.skipped.values())} skipped, {done}, {summary.failed} failed"
    )


def function_pages(
    client: Any, region: str, page_size: int = MAX_PAGE_SIZE
) -> Iterator[list[Mapping[str, Any]]]:
    """ListFunctions pages of one region, lazily: each `next()` makes one call (`Marker` / `NextMarker`).

    The one Lambda listing: the bulk scan and the reconciler (`qscan.aws.inventory`) both page through it.
    Errors map through `qscan.cloud_errors`; another service error is a `QscanError` naming its code."""
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxItems": page_size}
        if marker:
            kwargs["Marker"] = marker
        try:
            page = client.list_functions(**kwargs)
        except Exception as exc:
            mapped = aws_error(exc, f"lambda list_functions {region}")
            if mapped is not None:
                raise mapped from exc
            code = aws_error_code(exc)
            if code is None:
                raise
            raise QscanError(f"lambda list_functions {region}: {code}") from exc
        yield [entry if isinstance(entry, Mapping) else {} for entry in page.get("Functions") or []]
        next_marker = page.get("NextMarker")
        if not next_marker or next_marker == marker:
            return
        marker = str(next_marker)


def _list_functions(
    client: Any, region: str, options: BulkScanOptions, summary: BulkScanSummary
) -> Iterator[Mapping[str, Any]]:
    """ListFunctions entries of one region, at most `max_functions` (then `truncated`)."""
    count = 0
    for page in function_pages(client, region, options.page_size):
        for entry in page:
            if count >= options.max_functions:
                summary.truncated.append(region)
                return
            count += 1
            yield entry


def _decide(entry: Mapping[str, Any], options: BulkScanOptions) -> ScanTarget | str:
    return function_target(
        entry,
        own_functions=options.own_functions,
        own_account=options.own_account,
        own_region=options.own_region,
        include=options.include,
        exclude=options.exclude,
    )


def function_target(
    entry: Mapping[str, Any],
    *,
    own_functions: Sequence[str],
    own_account: str | None,
    own_region: str | None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> ScanTarget | str:
    """The target of one ListFunctions entry, or the reason it is skipped (step 2 of the module docstring)."""
    try:
        target = listing_target(entry)
    except InvalidEvent:
        target = None
    if target is None:
        return "invalid-entry"
    if own_functions and is_own_function(
        target, own_functions, own_account=own_account, own_region=own_region
    ):
        return "own-function"
    name = (target.function_arn or "").rsplit(":", 1)[-1]
    return name_matches(name, include, exclude) or target


@struct(frozen=False)
class _Entry:
    target: ScanTarget
    body: str


class _Sender:
    """Buffers scan requests and sends them 10 at a time, retrying failed entries once."""

    def __init__(self, client: Any, queue_url: str, summary: BulkScanSummary, retry_delay: float) -> None:
        self.client = client
        self.queue_url = queue_url
        self.summary = summary
        self.retry_delay = retry_delay
        self.pending: list[_Entry] = []

    def add(self, target: ScanTarget) -> None:
        event = scan_request_event(target, reason=REASON, account=target.account, region=target.region)
        self.pending.append(_Entry(target, json.dumps(event, sort_keys=True, separators=(",", ":"))))
        if len(self.pending) >= SQS_BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:SQS_BATCH_SIZE], self.pending[SQS_BATCH_SIZE:]
            failed = self._send(batch)
            retry = [entry for entry, _, sender_fault in failed if not sender_fault]
            final = [(entry, reason) for entry, reason, sender_fault in failed if sender_fault]
            if retry:
                if self.retry_delay:
                    time.sleep(self.retry_delay)
                final.extend((entry, reason) for entry, reason, _ in self._send(retry))
            self.summary.enqueued += len(batch) - len(final)
            self.summary.failed += len(final)
            for entry, reason in final:
                LOG.warning(
                    "bulk scan: could not enqueue %s: %s",
                    entry.target.function_arn,
                    reason,
                    extra={"function_arn": entry.target.function_arn, "reason": reason},
                )
                if len(self.summary.failures) < MAX_FAILURES_LISTED:
                    self.summary.failures.append(
                        {"function_arn": entry.target.function_arn or "", "reason": reason}
                    )

    def _send(self, batch: list[_Entry]) -> list[tuple[_Entry, str, bool]]:
        """The entries that failed, with a reason and whether SQS blamed the sender."""
        entries = [{"Id": str(index), "MessageBody": entry.body} for index, entry in enumerate(batch)]
        try:
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except Exception as exc:
            code = aws_error_code(exc)
            mapped = aws_error(exc, "sqs send_message_batch")
            if isinstance(mapped, ConfigError) or code in _QUEUE_CONFIG_CODES:
                raise QueueUnusable(
                    f"sqs send_message_batch: {code or 'error'}: the queue does not exist or may not be written"
                ) from exc
            reason = mapped.reason if mapped is not None else f"sqs send_message_batch: {code or 'error'}"
            if mapped is None and code is None:
                raise
            return [(entry, reason, False) for entry in batch]
        ok = {str(item.get("Id")) for item in response.get("Successful") or [] if isinstance(item, dict)}
        failed: dict[str, tuple[str, bool]] = {}
        for item in response.get("Failed") or []:
            if isinstance(item, dict):
                code = str(item.get("Code") or "error")[:100]
                failed[str(item.get("Id"))] = (f"sqs: {code}", bool(item.get("SenderFault")))
        result = []
        for index, entry in enumerate(batch):
            key = str(index)
            if key in failed:
                result.append((entry, *failed[key]))
            elif key not in ok:
                result.append((entry, "sqs: no result for the entry", False))
        return result
