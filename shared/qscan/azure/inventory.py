"""What runs in an Azure subscription, listed through ARM for the reconciler (`qscan.azure.reconciler`).

`listings(subscription, *, credential, base_url=None, lookback_seconds, now)` names three `Listing`s, the
reconciler's sources: `containerGroups` (`container_groups.list()`), `containerApps`
(`container_apps.list_by_subscription()`) and `jobs` (`jobs.list_by_subscription()`, each job page followed by
the pages of each job's executions, `jobs_executions.list(group, job)`, that started within `lookback_seconds`
before `now`: `jobs/start` can give an execution images of its own and emits no write event, so only this
listing sees them). A listing's `pages()` yields the core's `PAGE` marker before each ARM request and a
`ListedPage` after it, lazily: nothing is fetched before the caller asks, so a page or time limit
(`qscan.reconcile.core`) stops a run between two requests.

ARM answers a listing with the same resource bodies as the GETs, so each entry goes through the parser the
handler uses (`qscan.azure.workloads.parse_listed`, `execution_workload`); qscan's own resources are skipped
by the same tag check (`is_own`; an own job's executions are not listed). A malformed entry is skipped with its
reason (the rest of the page counts). The pages are read through the same clients and transport settings as
the handler's GETs (`qscan.azure.workloads`: https only, timeouts, the SDK retry policy honouring Retry-After);
the entries are the JSON ARM sent (captured per page by azure-core's `raw_response_hook`), not the SDK models.

Errors: 401/403 is `ConfigError` naming the action the identity lacks; 429/5xx after the SDK's retries, timeouts
and connection failures are `TransientError`; a page that is not a JSON listing is `TransientError` too (the
next run lists again).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from qscan.azure.workloads import (
    ARM_ENDPOINT,
    Workload,
    _check_endpoint,
    _client,
    execution_workload,
    is_own,
    parse_listed,
)
from qscan.cloud_errors import azure_error
from qscan.errors import ConfigError, InvalidEvent, QscanError, TransientError, UnsupportedEvent
from qscan.reconcile.core import PAGE
from qscan.structs import struct

MAX_PAGE_ENTRIES = 10_000  # far above ARM's page sizes: a bigger page is not an ARM listing
READ_ROLE = "the module's workload reader role at the subscription"


@struct
class ListedPage:
    """One ARM page: the workloads it names (qscan's own left out) and why other entries were skipped."""

    listing: str  # e.g. "Microsoft.App/jobs of <subscription>"
    workloads: tuple[Workload, ...]
    skipped: tuple[str, ...]


@struct
class Listing:
    """One source of a subscription: its stable name and its pages (`PAGE` before each request)."""

    name: str
    pages: Callable[[], Iterator[Any]]


LISTINGS: tuple[tuple[str, str], ...] = (
    ("containerGroups", "Microsoft.ContainerInstance/containerGroups"),
    ("containerApps", "Microsoft.App/containerApps"),
    ("jobs", "Microsoft.App/jobs"),
)


def listings(
    subscription: str,
    *,
    credential: Any,
    base_url: str | None = None,
    lookback_seconds: int,
    now: Callable[[], float],
) -> tuple[Listing, ...]:
    """The listings of `subscription`: container groups, container apps, jobs with their recent executions."""
    sub = subscription.lower()
    endpoint = base_url.rstrip("/") if base_url else ARM_ENDPOINT
    _check_endpoint(endpoint)

    def pages(name: str, resource_type: str) -> Callable[[], Iterator[Any]]:
        def listed() -> Iterator[Any]:
            client = _client("aci" if name == "containerGroups" else "aca", sub, endpoint, credential)
            if name == "containerGroups":
                operation = client.container_groups.list
            elif name == "containerApps":
                operation = client.container_apps.list_by_subscription
            else:
                operation = client.jobs.list_by_subscription
            listing = f"{resource_type} of {sub}"
            for entries in _pages(operation, listing, f"{resource_type}/read"):
                if entries is PAGE:
                    yield PAGE
                    continue
                page = _workloads(entries, sub, listing)
                yield page
                if name == "jobs":
                    for job in page.workloads:
                        yield from _executions(client, job, lookback_seconds, now)

        return listed

    return tuple(Listing(name, pages(name, resource_type)) for name, resource_type in LISTINGS)


def _executions(aca: Any, job: Workload, lookback_seconds: int, now: Callable[[], float]) -> Iterator[Any]:
    listing = f"executions of {job.resource_id}"
    since = now() - lookback_seconds
    operation = aca.jobs_executions.list
    for entries in _pages(
        operation, listing, "Microsoft.App/jobs/executions/read", job.resource_group, job.name, gone_ok=True
    ):
        if entries is PAGE:
            yield PAGE
            continue
        workloads: list[Workload] = []
        skipped: list[str] = []
        for entry in entries:
            started = _start_time(entry)
            if started is None or started < since:
                continue  # older than the lookback window (or not started): not what runs now
            try:
                workloads.append(execution_workload(job, entry))
            except InvalidEvent as exc:
                skipped.append(f"invalid: {exc.reason}")
        yield ListedPage(listing, tuple(workloads), tuple(skipped))


def _workloads(entries: list[Any], subscription: str, listing: str) -> ListedPage:
    workloads: list[Workload] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            workload = parse_listed(entry, subscription)
        except UnsupportedEvent as exc:
            skipped.append(f"unsupported: {exc.reason}")
            continue
        except InvalidEvent as exc:
            skipped.append(f"invalid: {exc.reason}")
            continue
        if is_own(workload):
            skipped.append(f"unsupported: {workload.name} is qscan's own resource (tagged)")
            continue
        workloads.append(workload)
    return ListedPage(listing, tuple(workloads), tuple(skipped))


def _start_time(entry: Any) -> float | None:
    properties = entry.get("properties") if isinstance(entry, dict) else None
    text = properties.get("startTime") if isinstance(properties, dict) else None
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def _pages(
    operation: Callable[..., Any], listing: str, action: str, *args: str, gone_ok: bool = False
) -> Iterator[Any]:
    """`PAGE`, then the `value` entries ARM answered (JSON), per page: one request per page. With `gone_ok`, a
    404 (a job deleted since its listing) ends the listing."""
    from azure.core.exceptions import (  # noqa: PLC0415 - on first use
        AzureError,
        DecodeError,
        DeserializationError,
        ResourceNotFoundError,
    )

    answered: list[Any] = []

    def capture(response: Any) -> None:
        if response.http_response.status_code == 200:  # the hook also sees the retried 429/5xx answers
            answered.append(response.http_response.text())

    pages = operation(*args, raw_response_hook=capture).by_page()
    while True:
        answered.clear()
        yield PAGE
        try:
            next(pages)
        except StopIteration:
            return
        except ResourceNotFoundError:
            if gone_ok:
                return
            raise ConfigError(
                f"ARM list {listing}: not found (HTTP 404): is the subscription right?"
            ) from None
        except (DecodeError, DeserializationError):
            raise TransientError(f"ARM list {listing}: a page is not a JSON listing") from None
        except AzureError as exc:
            raise _mapped(exc, listing, action) from None
        yield _entries(answered, listing)
        if pages.continuation_token is None:  # ARM sent no nextLink: no request follows (and no PAGE)
            return


def _entries(answered: list[Any], listing: str) -> list[Any]:
    try:
        body = json.loads(answered[-1]) if answered else None
    except (ValueError, UnicodeDecodeError):
        body = None
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, list) or len(value) > MAX_PAGE_ENTRIES:
        raise TransientError(f"ARM list {listing}: a page is not a JSON listing")
    return value


def _mapped(exc: Exception, listing: str, action: str) -> Exception:
    from azure.core.exceptions import HttpResponseError  # noqa: PLC0415 - on first use

    what = f"ARM list {listing}"
    if isinstance(exc, HttpResponseError) and int(exc.status_code or 0) in (401, 403):
        return ConfigError(
            f"{what}: denied (HTTP {exc.status_code}): the identity needs {action} ({READ_ROLE})"
        )
    mapped: QscanError | None = azure_error(exc, what)
    return mapped if mapped is not None else exc
