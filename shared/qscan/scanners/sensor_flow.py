"""The Qualys registry-sensor flow as resumable steps (used by the Fargate Step Functions workflow).

    ensure_registry -> schedule -> poll (repeat while not done; Wait state between) -> fetch

Each step takes the JSON state the previous one returned and returns it extended, so a Step Functions task can
call one step per state (`run_step(client, event)`, with `event["step"]` naming it) and a local caller can run
them all (`QualysApiScanner`). A step that fails transiently raises `TransientError` with its input untouched,
so the platform's retry re-runs it from the same state: a poll attempt is therefore counted exactly once.

State keys: `target` (ScanTarget JSON), optional `role_arn` (create the ECR registry in Qualys when missing),
`registry` {uuid, uri}, `schedule` {id, at}, `poll` {attempts, max_attempts, interval_seconds, done, status,
image_sha}, and finally `result` (ScanResult JSON).
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from qscan.errors import ConfigError, InvalidEvent
from qscan.results.model import ScanResult, utc_now
from qscan.scanners.qualys_api import QualysApiClient, QualysRequestError
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

BACKEND = "qualys-api"
DEFAULT_MAX_POLLS = 40
DEFAULT_POLL_INTERVAL = 30
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


def schedule(client: QualysApiClient, state: State) -> State:
    """Ask for an on-demand scan of the target's repository and tag; resets the poll counter."""
    target = _target(state)
    registry = _require(state, "registry", "schedule")
    out = copy.deepcopy(state)
    name = f"qscan-{(target.digest or '')[7:19]}-{int(time.time())}"
    schedule_id = client.schedule_scan(
        str(registry.get("uuid")), target.repository or "", target.tag, name=name
    )
    out["schedule"] = {"id": schedule_id, "at": utc_now()}
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
    sha = current.get("image_sha")
    status = "pending"
    if not isinstance(sha, str) or not sha:
        sha = client.find_image_by_repo_digest(target.digest or "")
    if sha:
        status = client.image_status(sha).status
    finished = status in ("success", "failed")
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


def fetch(client: QualysApiClient, state: State) -> State:
    """Turn the final poll state into a normalized `ScanResult` (JSON under `result`)."""
    out = copy.deepcopy(state)
    out["result"] = build_result(client, state).to_dict()
    return out


def build_result(client: QualysApiClient, state: State) -> ScanResult:
    target = _target(state)
    current = _require(state, "poll", "fetch")
    scheduled = _optional(state, "schedule")
    result = ScanResult(target=target, backend=BACKEND, status="failed")
    if isinstance(scheduled.get("at"), str):
        result.started_at = scheduled["at"]
    sha = current.get("image_sha")
    result.metadata = {
        "image_sha": sha,
        "poll_attempts": current.get("attempts"),
        "schedule_id": scheduled.get("id"),
    }
    status = current.get("status")
    if status == "success" and isinstance(sha, str):
        result.status = "success"
        result.with_findings(client.vulnerabilities(sha))
        result.metadata["qualys_vuln_counts"] = client.vulnerability_counts(sha).to_dict()
    elif status == "failed":
        result.reason = "Qualys reported the image scan as failed"
    elif status == "timeout" or not current.get("done"):
        result.status = "timeout"
        result.reason = f"Qualys scan not finished after {current.get('attempts')} poll(s)"
    else:
        result.reason = f"unexpected poll status {str(status)[:40]!r}"
    result.finished_at = utc_now()
    return result


STEPS: dict[str, Callable[[QualysApiClient, State], State]] = {
    "ensure_registry": ensure_registry,
    "schedule": schedule,
    "poll": poll,
    "fetch": fetch,
}


def run_step(client: QualysApiClient, event: State) -> State:
    """Step Functions entry: `event["step"]` names the step; the rest of the event is the state."""
    if not isinstance(event, dict) or event.get("step") not in STEPS:
        raise InvalidEvent(f"event 'step' must be one of {sorted(STEPS)}")
    state = {k: v for k, v in event.items() if k != "step"}
    return STEPS[str(event["step"])](client, state)


def _optional(state: State, key: str) -> dict[str, Any]:
    value = state.get(key)
    return value if isinstance(value, dict) else {}


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


class QualysApiScanner:
    """The `qualys-api` backend for local use: runs every step, sleeping between polls."""

    name = BACKEND

    def __init__(
        self,
        client: QualysApiClient,
        *,
        role_arn: str | None = None,
        max_polls: int = DEFAULT_MAX_POLLS,
        poll_interval_seconds: int = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client, self._role_arn, self._sleep = client, role_arn, sleep
        self._max_polls, self._interval = max_polls, poll_interval_seconds

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
        result = build_result(self._client, state)
        result.duration_seconds = round(time.monotonic() - started, 3)
        return result
