"""The Qualys registry-sensor flow as resumable steps (the API the Fargate Step Functions workflow calls).

    ensure_registry -> schedule -> poll (repeat while not `poll.done`) -> build_result

Each step takes the JSON state the previous one returned and returns it extended, so the Fargate handler
(`handlers/aws/fargate/handler.py`: `ensure_registry`, `schedule_scan`, `poll_scan` calling `check`,
`fetch_results` calling `build_result`) runs one step per state, and a local caller runs them all
(`QualysApiScanner`). A step that fails transiently raises `TransientError` with its input untouched, so the
platform's retry re-runs it from the same state: a poll attempt is therefore counted exactly once. `poll` counts
its own attempts; `check` counts nothing, for a caller that owns the counter (the workflow's `CountPoll`).

State keys: `target` (ScanTarget JSON: an ECR image with repository and sha256 digest), optional `role_arn`
(create the ECR registry in Qualys when missing), optional `tag` (a tag the caller resolved from the registry
for a digest-only target), `registry` {uuid, uri}, `schedule` {id, at, tag}, `poll` {attempts, max_attempts,
interval_seconds, done, status, image_sha}.

The registry sensor schedules by repository and tag (the API requires the tag). The tag is the target's, else
the state's `tag`, else one Qualys already knows for this registry + repository + digest (`GET /images`);
without one, `schedule` raises `InvalidEvent` (permanent: never retried, never sent with an empty tag).

Never a false clean. `build_result` raises `QualysIncompleteScan` (a `TransientError`) when the report lacks
its findings (a 204, no `details`, details disagreeing with the summary): the workflow retries the fetch, and
its failure path records a `failed` result once the retries are spent. The local `QualysApiScanner` does the
same by itself: it retries the fetch, then returns a `failed` result with the reason (the pipeline persists and
notifies it and raises `ScanFailed`, so the message is retried).
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from qscan.errors import ConfigError, InvalidEvent
from qscan.redact import redact
from qscan.results.model import ScanResult, Status, utc_now
from qscan.scanners.qualys_api import (
    QualysApiClient,
    QualysIncompleteScan,
    QualysRequestError,
    QualysResponseError,
    valid_tag,
)
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

BACKEND = "qualys-api"
DEFAULT_MAX_POLLS = 40
DEFAULT_POLL_INTERVAL = 30
DEFAULT_FETCH_ATTEMPTS = 3
_ECR_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")

State = dict[str, Any]


def _target(state: State) -> ScanTarget:
    if not isinstance(state, dict) or not isinstance(state.get("target"), dict):
        raise InvalidEvent("sensor flow state needs a 'target' object")
    target = ScanTarget.from_dict(state["target"])
    if target.kind != "image" or not target.registry or not _ECR_REGISTRY.match(target.registry):
        raise InvalidEvent("the registry-sensor backend scans ECR images only")
    if not target.repository or not target.digest or not _DIGEST.match(target.digest):
        raise InvalidEvent("the registry-sensor backend needs the image's repository and sha256 digest")
    return target


def _require(state: State, key: str, step: str) -> dict[str, Any]:
    value = state.get(key)
    if not isinstance(value, dict):
        raise InvalidEvent(f"step '{step}' needs '{key}' from an earlier step")
    return value


def ensure_registry(client: QualysApiClient, state: State) -> State:
    """Find the target's ECR registry in Qualys by URI, or create it with `role_arn`."""
    target = _target(state)
    out = copy.deepcopy(state)
    uri = f"https://{target.registry}"
    registry = client.find_registry(uri)
    if registry is None:
        role_arn = state.get("role_arn")
        if not isinstance(role_arn, str) or not role_arn:
            raise ConfigError(
                f"registry {target.registry} is not connected to Qualys and no role_arn was given"
            )
        try:
            registry = client.create_ecr_registry(uri, role_arn)
            LOG.info("qualys registry created for %s", target.registry)
        except QualysRequestError:
            registry = client.find_registry(uri)  # created concurrently by another execution
            if registry is None:
                raise
    out["registry"] = {"uuid": registry.uuid, "uri": registry.uri}
    return out


def scan_tag(client: QualysApiClient, target: ScanTarget, state: State) -> str:
    """The tag to schedule: the target's, the state's `tag`, or one Qualys knows for this digest."""
    for value, where in ((target.tag, "the target's tag"), (state.get("tag"), "the state's 'tag'")):
        if value is None or value == "":
            continue
        if not valid_tag(value):
            raise InvalidEvent(f"{where} is not a valid image tag (1-128 of A-Z a-z 0-9 _ . -)")
        return str(value)
    match = client.find_image(target.registry or "", target.repository or "", target.digest or "")
    if match is not None and match.tags:
        LOG.info("qualys: digest-only image; scheduling by its known tag %s", match.tags[0])
        return match.tags[0]
    raise InvalidEvent(
        f"{target.repository}@{(target.digest or '')[:19]}: the Qualys registry sensor scans by repository "
        "and tag, and this digest-only image has no tag (none in the target or the state's 'tag', none known "
        "to Qualys for this digest); resolve a tag from the registry or use the qscanner backend"
    )


def schedule(client: QualysApiClient, state: State) -> State:
    """Ask for an on-demand, forced scan of the target's repository and tag; resets the poll counter."""
    target = _target(state)
    registry = _require(state, "registry", "schedule")
    tag = scan_tag(client, target, state)
    out = copy.deepcopy(state)
    schedule_id = client.schedule_scan(str(registry.get("uuid")), target.repository or "", tag)
    out["schedule"] = {"id": schedule_id, "at": utc_now(), "tag": tag}
    poll = _optional(state, "poll")
    out["poll"] = {
        "attempts": 0,
        "max_attempts": _positive(poll.get("max_attempts"), DEFAULT_MAX_POLLS),
        "interval_seconds": _positive(poll.get("interval_seconds"), DEFAULT_POLL_INTERVAL),
        "done": False,
        "status": "pending",
        "image_sha": None,
    }
    return out


def poll(client: QualysApiClient, state: State) -> State:
    """One status check; `poll.done` tells the state machine to stop looping (finished or out of attempts)."""
    target = _target(state)
    current = _require(state, "poll", "poll")
    out = copy.deepcopy(state)
    attempts = int(current.get("attempts", 0)) + 1
    max_attempts = _positive(current.get("max_attempts"), DEFAULT_MAX_POLLS)
    sha, status = _image_status(client, target, current.get("image_sha"))
    finished = status in FINISHED
    out["poll"] = {
        **current,
        "attempts": attempts,
        "max_attempts": max_attempts,
        "done": finished or attempts >= max_attempts,
        "status": status if finished or attempts < max_attempts else "timeout",
        "image_sha": sha,
    }
    LOG.info("qualys poll %d/%d: %s", attempts, max_attempts, out["poll"]["status"])
    return out


def check(client: QualysApiClient, state: State) -> State:
    """One status check that counts nothing: for a caller that owns the poll counter and its bound (the
    Fargate workflow's `CountPoll` / `max_polls`). `poll.done` is true once Qualys finished (success or failed);
    `poll.attempts` is left as it was, so a poll is never counted twice."""
    target = _target(state)
    _require(state, "schedule", "check")
    current = _optional(state, "poll")
    out = copy.deepcopy(state)
    sha, status = _image_status(client, target, current.get("image_sha"))
    out["poll"] = {**current, "done": status in FINISHED, "status": status, "image_sha": sha}
    LOG.info("qualys status: %s", status)
    return out


FINISHED = ("success", "failed")


def _image_status(client: QualysApiClient, target: ScanTarget, sha: Any) -> tuple[str | None, str]:
    """The Qualys image id of the target (looked up until Qualys knows the image) and its scan status."""
    if not isinstance(sha, str) or not sha:
        match = client.find_image(target.registry or "", target.repository or "", target.digest or "")
        sha = match.sha if match else None
    return sha, client.image_status(sha).status if sha else "pending"


def failed_result(state: State, reason: str) -> ScanResult:
    """A `failed` result for the state's target, keeping what the poll learned, with a one-line reason."""
    return _result(state, "failed", reason)


def _result(state: State, status: Status, reason: str | None = None) -> ScanResult:
    target = _target(state)
    current, scheduled = _optional(state, "poll"), _optional(state, "schedule")
    result = ScanResult(
        target=target, backend=BACKEND, status=status, reason=redact(reason)[:500] if reason else None
    )
    if isinstance(scheduled.get("at"), str):
        result.started_at = scheduled["at"]
    result.metadata = {
        "image_sha": current.get("image_sha"),
        "poll_attempts": current.get("attempts"),
        "schedule_id": scheduled.get("id"),
        "schedule_tag": scheduled.get("tag"),
    }
    result.finished_at = utc_now()
    return result


def build_result(client: QualysApiClient, state: State) -> ScanResult:
    """The result of a finished poll: success with the cross-checked report, failed or timeout otherwise.

    Raises `QualysIncompleteScan` when Qualys reported success but the report lacks its findings.
    """
    current = _require(state, "poll", "fetch")
    sha, status = current.get("image_sha"), current.get("status")
    if status == "success" and isinstance(sha, str):
        report = client.vulnerability_report(sha)
        result = _result(state, "success").with_findings(report.findings)
        result.metadata["qualys_vuln_counts"] = report.vuln_counts.to_dict()
        result.metadata["qualys_counts_checked_against"] = report.checked_against
        return result
    if status == "failed":
        return _result(state, "failed", "Qualys reported the image scan as failed")
    if status == "timeout" or not current.get("done"):
        return _result(state, "timeout", f"Qualys scan not finished after {current.get('attempts')} poll(s)")
    return _result(state, "failed", f"unexpected poll status {str(status)[:40]!r}")


def _optional(state: State, key: str) -> dict[str, Any]:
    value = state.get(key)
    return value if isinstance(value, dict) else {}


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


class QualysApiScanner:
    """The `qualys-api` backend for local use (`qscan scan`, pipelines): runs every step, sleeping between polls.

    An incomplete report is fetched again up to `fetch_attempts` times (`poll_interval_seconds` apart); then,
    as for a malformed report, the result is `failed` with the reason, never `success` with zero findings.
    """

    name = BACKEND

    def __init__(
        self,
        client: QualysApiClient,
        *,
        role_arn: str | None = None,
        max_polls: int = DEFAULT_MAX_POLLS,
        poll_interval_seconds: int = DEFAULT_POLL_INTERVAL,
        fetch_attempts: int = DEFAULT_FETCH_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client, self._role_arn, self._sleep = client, role_arn, sleep
        self._max_polls, self._interval = max_polls, poll_interval_seconds
        self._fetch_attempts = max(1, fetch_attempts)

    def scan(self, target: ScanTarget) -> ScanResult:
        started = time.monotonic()
        state: State = {"target": target.to_dict(), "role_arn": self._role_arn}
        state["poll"] = {"max_attempts": self._max_polls, "interval_seconds": self._interval}
        state = schedule(self._client, ensure_registry(self._client, state))
        while True:
            state = poll(self._client, state)
            if state["poll"]["done"]:
                break
            self._sleep(state["poll"]["interval_seconds"])
        result = self._fetch(state)
        result.duration_seconds = round(time.monotonic() - started, 3)
        return result

    def _fetch(self, state: State) -> ScanResult:
        for attempt in range(1, self._fetch_attempts + 1):
            try:
                return build_result(self._client, state)
            except QualysIncompleteScan as exc:
                LOG.warning(
                    "qualys report incomplete (attempt %d/%d): %s", attempt, self._fetch_attempts, exc
                )
                if attempt == self._fetch_attempts:
                    return failed_result(
                        state, f"incomplete Qualys report after {attempt} attempt(s): {exc.reason}"
                    )
                self._sleep(state["poll"]["interval_seconds"])
            except QualysResponseError as exc:
                return failed_result(state, f"unusable Qualys report: {exc.reason}")
        raise AssertionError("unreachable")  # pragma: no cover
