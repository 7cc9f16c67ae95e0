"""ECS/Fargate deployment scanning: the task functions of modules/fargate's Step Functions workflow (python3.12).

One function serves every Task of `modules/fargate/workflow.asl.json`: the input names its `step` (the step
contract is in modules/fargate/README.md). The claim, the scan and the record step (persist, notify at the
threshold, complete or release) are the core's `qscan.pipeline.Pipeline` parts, the same code the ECR and Lambda
handlers run through `Pipeline.process`; the registry-sensor steps are `qscan.scanners.sensor_flow`.

Steps
- `parse`: a reconciler scan request (`qscan.reconciler`, from the scheduled reconciler: one image of a running
  task, already at its digest) is that one image. Otherwise the ECS CloudTrail call (`qscan.events.ecs`) names
  task definitions (RegisterTaskDefinition, RunTask, CreateService, UpdateService); each is read NOW with `ecs:DescribeTaskDefinition` in its account (the spoke
  role for another account; a bare family is its latest ACTIVE revision), and every container image is resolved
  to the digest that runs on the task's platform (`qscan.aws.ecs`). One image per digest, with the containers
  that run it. An image that cannot be resolved for good (gone, access denied, no manifest for the platform) is
  notified as a failure here, once, and the others go on; a transient failure fails the step (retried).
  An ECS call that deploys nothing returns no images.
- `claim`: the image's dedupe key for the execution (the owner is the execution name, stable across the
  workflow's retries); `claimed: false` when a completed scan (cache) or another execution holds it.
- `scan_qscanner`: claim again (a retry after a failure re-wins its own key), qscanner, then the record step.
  Failure notifications are left to the workflow's `NotifyImageFailure` (once, after the retries).
- `ensure_registry`, `schedule_scan`, `poll_scan` (a status check that counts nothing: the workflow's CountPoll
  owns the bounded counter), `fetch_results` (claim again, the cross-checked report, the record step): the
  Qualys registry sensor, ECR images only.
- `release`: frees the claim after a failure (a no-op without one); `notify_failure`: one failure message (and
  the failed result persisted) for an image, or for the event when it could not be parsed.

Metrics (EMF, `qscan.metrics.DASHBOARD_METRICS` under the `service` dimension, QSCAN_SERVICE_NAME else
`qscan-fargate`; one flush per invocation, in a `finally`, so a failing step emits too): every count is also
attributed to the account of the ECS event (`context.account`, the raw event's `account` before the parse step
has one; only a 12-digit AWS account id), on the `service` + `account` series, as the queue-fed scanners do.
`ScansStarted` when a scan starts (qscanner: `scan_qscanner`; qualys-api: `schedule_scan`), `ScansSucceeded`
and `Findings<Severity>` when a scan is recorded, `ScansDeduplicated` when a claim finds the image cached or
held by another execution, `ScanAttemptsFailed` for every scan-path step that fails (parse, claim, scan and
registry-sensor steps; a poll timeout too, which no step raises), `ScansFailed` once per failure notification
(an image the parse step cannot resolve, `notify_failure`), `EventsSkipped` when the parse step finds nothing to
scan. `EventsDeadLettered` stays 0: EventBridge, not this function, dead-letters what it cannot deliver.

Errors (the Lambda `errorType` is the exception class name, which the workflow's Retry/Catch match):
`TransientStepError` (throttling, registry or Qualys unavailable, an incomplete scan: retried with backoff), and
`PermanentStepError` (bad input, missing configuration, a deterministic scan failure: straight to the failure
path). Messages carry the redacted reason only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from qscan.aws.context import LambdaContext
from qscan.aws.scan_handler import AwsScanHandler, cold_start
from qscan.errors import QscanError, TransientError, catch_cause
from qscan.events._util import RECONCILER_SOURCE
from qscan.metrics import DASHBOARD_METRICS, FINDING_METRICS
from qscan.redact import redact
from qscan.target import ScanTarget

LOG = logging.getLogger("qscan.handlers.fargate")

MAX_IMAGES = 100
MAX_TEXT = 300
# Steps whose failure is a failed scan attempt (`ScanAttemptsFailed`); release and notify_failure are the
# failure path itself.
ATTEMPT_STEPS = frozenset(
    {"parse", "claim", "scan_qscanner", "ensure_registry", "schedule_scan", "poll_scan", "fetch_results"}
)
SEED_METRIC = DASHBOARD_METRICS[0]  # added as 0 so a step that counts nothing still writes its account
POLL_TIMEOUT = "qscan.PollTimeout"  # the workflow's PollTimedOut error: an attempt no step failed
_ACCOUNT = r"^\d{12}$"


class TransientStepError(Exception):
    """Retried by the workflow (Retry on this name)."""


class PermanentStepError(Exception):
    """Not retried: the workflow goes to its failure path."""


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return " ".join(redact(str(value)).split())[:limit]


def _obj(event: dict[str, Any], key: str) -> dict[str, Any]:
    value = event.get(key)
    if not isinstance(value, dict):
        raise PermanentStepError(f"step input needs the object '{key}'")
    return value


def _owner(context: dict[str, Any]) -> str:
    owner = context.get("owner")
    if not isinstance(owner, str) or not owner or len(owner) > 256:
        raise PermanentStepError("context.owner (the execution name) is missing or malformed")
    return owner


def _account(data: Any) -> str | None:
    """`data`'s `account` when it is an AWS account id (the metrics' `account` dimension), else None."""
    value = data.get("account") if isinstance(data, dict) else None
    return value if isinstance(value, str) and re.match(_ACCOUNT, value) else None


def _step_account(event: Any) -> str | None:
    """The account a step's metrics name: its context's, else (the parse step) the raw ECS event's."""
    if not isinstance(event, dict):
        return None
    context = event.get("context")
    return _account(context) if isinstance(context, dict) else _account(event.get("event"))


def _target(image: dict[str, Any]) -> ScanTarget:
    try:
        target = ScanTarget.from_dict(image.get("target"))  # type: ignore[arg-type]
    except QscanError as exc:
        raise PermanentStepError(f"image.target: {_text(exc.reason)}") from None
    if target.kind != "image" or target.dedupe_key is None or not target.digest:
        raise PermanentStepError("image.target must be an image resolved to its digest")
    return target


class FargateHandler(AwsScanHandler):
    """The Fargate workflow's task functions (see the module doc)."""

    service_name = "qscan-fargate"
    session_name = "qscan-fargate-scanner"
    backends = ("qscanner", "qualys-api")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: Any | None = None  # the distribution client for non-ECR registries, created on first use
        from qscan.registry.platform import parse_platform  # noqa: PLC0415

        self.platform = parse_platform(self.settings.image_platform)  # where runtimePlatform says nothing
        self.steps = {
            "parse": self.parse,
            "claim": self.claim,
            "scan_qscanner": self.scan_qscanner,
            "ensure_registry": self.ensure_registry,
            "schedule_scan": self.schedule_scan,
            "poll_scan": self.poll_scan,
            "fetch_results": self.fetch_results,
            "release": self.release,
            "notify_failure": self.notify_failure,
        }

    # ------------------------------------------------------------------ entry point
    def handle(self, event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
        """One step; its metrics are flushed whatever the outcome (one EMF line per account seen)."""
        self.seen(context)
        step = event.get("step") if isinstance(event, dict) else None
        try:
            return self._step(step, event)
        except Exception:
            if step in ATTEMPT_STEPS:
                self.metrics.add("ScanAttemptsFailed", account=_step_account(event))
            raise
        finally:
            account = _step_account(event)
            if account is not None:  # the account's full series (0s included), not an account-less line
                self.metrics.add(SEED_METRIC, 0, account=account)
            self.metrics.flush()

    def _step(self, step: Any, event: Any) -> dict[str, Any]:
        if step not in self.steps:
            raise PermanentStepError(f"the input's 'step' must be one of {', '.join(sorted(self.steps))}")
        try:
            return self.steps[str(step)](event)
        except (TransientStepError, PermanentStepError):
            raise
        except TransientError as exc:
            LOG.warning("step %s failed transiently: %s", step, exc.reason, extra={"step": step})
            raise TransientStepError(_text(exc.reason)) from None
        except QscanError as exc:
            LOG.error("step %s failed: %s", step, exc.reason, extra={"step": step})
            raise PermanentStepError(_text(exc.reason)) from None

    # ------------------------------------------------------------------ parse
    def parse(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.aws.ecs import (  # noqa: PLC0415
            container_targets,
            describe_task_definition,
            task_definition_location,
        )
        from qscan.errors import UnsupportedEvent  # noqa: PLC0415
        from qscan.events.ecs import normalize_ecs_cloudtrail  # noqa: PLC0415

        source = _obj(event, "event")
        execution = event.get("execution")
        context: dict[str, Any] = {
            "owner": execution if isinstance(execution, str) else None,
            "event_id": source.get("id") if isinstance(source.get("id"), str) else None,
            "account": None,
            "region": None,
            "event_name": None,
            "cluster": None,
        }
        _owner(context)
        if source.get("source") == RECONCILER_SOURCE:
            return self._parse_request(source, context)
        try:
            targets = normalize_ecs_cloudtrail(source)
        except UnsupportedEvent as exc:
            LOG.info("nothing to scan: %s", exc.reason)
            self.metrics.add("EventsSkipped", account=_account(source))
            return {"context": context, "images": [], "skipped": _text(exc.reason)}
        detail = _dict(source.get("detail"))
        cluster = _dict(detail.get("requestParameters")).get("cluster")
        context.update(
            account=targets[0].account or self.accounts.own_account(),
            region=targets[0].region or self.region,
            event_name=detail.get("eventName"),
            cluster=_text(cluster, 2048) if isinstance(cluster, str) else None,
        )
        names = sorted({t.resource_id for t in targets if t.resource_id})
        images: dict[str, dict[str, Any]] = {}
        unresolved: list[dict[str, Any]] = []
        for name in names:
            account, region = task_definition_location(name)
            client = self.accounts.client("ecs", account or context["account"], region or context["region"])
            task = describe_task_definition(client, name, self.platform)
            for target, containers in container_targets(task, context["event_id"]).values():
                resolved = self._resolved(target, task.platform, context, containers)
                if isinstance(resolved, str):
                    unresolved.append({"image": target.image, "containers": containers, "reason": resolved})
                    continue
                key = str(resolved.dedupe_key)
                entry = images.setdefault(key, {"target": resolved.to_dict(), "containers": []})
                entry["containers"] = sorted({*entry["containers"], *containers})
        if len(images) > MAX_IMAGES:
            raise PermanentStepError(f"the event names more than {MAX_IMAGES} distinct images")
        LOG.info("%d task definition(s), %d unique image(s)", len(names), len(images))
        return {"context": context, "images": list(images.values()), "unresolved": unresolved}

    def _parse_request(self, source: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """A reconciler scan request (`qscan.aws.reconciler`): one running ECS image, resolved to its digest."""
        from qscan.events.reconciler import normalize_reconciler  # noqa: PLC0415

        target = normalize_reconciler(source)[0]
        if (
            target.platform != "ecs"
            or target.kind != "image"
            or not target.digest
            or target.dedupe_key is None
        ):
            raise PermanentStepError(
                "a scan request for the Fargate workflow must be an ECS image with its digest"
            )
        context.update(
            account=target.account or self.accounts.own_account(),
            region=target.region or self.region,
            event_name="ScanRequest",
        )
        LOG.info("scan request for %s", target.image, extra={"dedupe_key": target.dedupe_key})
        return {
            "context": context,
            "images": [{"target": target.to_dict(), "containers": []}],
            "unresolved": [],
        }

    def _resolved(
        self, target: ScanTarget, platform: Any, context: dict[str, Any], containers: list[str]
    ) -> ScanTarget | str:
        """The target resolved to its digest; a permanent failure is notified (once) and gives its reason."""
        from qscan.aws.ecs import ImageResolver  # noqa: PLC0415
        from qscan.errors import InvalidEvent, UnsupportedEvent  # noqa: PLC0415

        resolver = ImageResolver(
            lambda account, region: self.accounts.client("ecr", account, region), self._http_client
        )
        try:
            return resolver.resolve(target, platform)
        except (InvalidEvent, UnsupportedEvent) as exc:
            reason = (
                f"image {target.image} (containers {', '.join(containers)}) cannot be resolved: {exc.reason}"
            )
            LOG.error("%s", reason)
            self._notify_failed(target, context, _text(reason, 500), persist=False)
            return _text(exc.reason)

    def _http_client(self) -> Any:
        if self._http is None:
            from qscan.registry.client import DistributionClient  # noqa: PLC0415 - on first use

            self._http = DistributionClient(credentials=self)
        return self._http

    def credential_for(self, registry: str) -> Any:
        """`qscan.registry.credentials.CredentialSource` for the distribution client: the named secret's entry."""
        return self.registry_credential(registry)

    # ------------------------------------------------------------------ claim / scan / record
    def claim(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.pipeline import Outcome  # noqa: PLC0415

        target, context = _target(_obj(event, "image")), _obj(event, "context")
        held = self.pipeline.claim(target, _owner(context))
        if isinstance(held, Outcome):
            self.metrics.add("ScansDeduplicated", account=_account(context))
            return {"claimed": False, "key": target.dedupe_key, "disposition": held.disposition}
        return {"claimed": True, "key": target.dedupe_key}

    def scan_qscanner(self, event: dict[str, Any]) -> dict[str, Any]:
        target, context = _target(_obj(event, "image")), _obj(event, "context")

        def scan() -> Any:
            self.metrics.add("ScansStarted", account=_account(context))
            return self.scanner.scan(target)

        return self._scan_and_record(target, context, scan)

    def _scan_and_record(
        self, target: ScanTarget, context: dict[str, Any], scan: Any, *, retryable: bool = True
    ) -> dict[str, Any]:
        """Claim again (a retry re-wins its own key), scan, record; the summary that goes back to the workflow.

        An incomplete result is `TransientStepError` (retried) unless it is deterministic or not `retryable`."""
        from qscan.pipeline import Outcome, ScanFailed  # noqa: PLC0415

        owner, account = _owner(context), _account(context)
        held = self.pipeline.claim(target, owner)
        if isinstance(held, Outcome):
            self.metrics.add("ScansDeduplicated", account=account)
            return {"outcome": "deduplicated", "key": target.dedupe_key, "disposition": held.disposition}
        try:
            result = scan()
        except BaseException:
            self.pipeline.release(str(target.dedupe_key), owner)
            raise
        try:
            outcome = self.pipeline.record(target, owner, result, notify_failure=False)
        except ScanFailed as exc:
            error = TransientStepError if retryable and not exc.deterministic else PermanentStepError
            raise error(_text(exc.reason)) from None
        assert outcome.result is not None
        counts = outcome.result.counts.to_dict()
        self.metrics.add("ScansSucceeded", account=account)
        for label, name in FINDING_METRICS.items():
            self.metrics.add(name, counts.get(label, 0), account=account)
        return {
            "outcome": "scanned",
            "key": target.dedupe_key,
            "status": outcome.result.status,
            "scan_id": outcome.result.scan_id,
            "result_location": outcome.result.result_location,
            "counts": counts,
            "notified": outcome.notified,
        }

    # ------------------------------------------------------------------ registry sensor (qualys-api)
    def _sensor(self, event: dict[str, Any], *, needs_state: bool = True) -> dict[str, Any]:
        if self.api is None:
            raise PermanentStepError("the registry-sensor steps need QSCAN_SCANNER_BACKEND=qualys-api")
        target = _target(_obj(event, "image"))
        state = dict(_obj(event, "sensor")) if needs_state else {}
        state["target"] = target.to_dict()
        return state

    def ensure_registry(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.scanners import sensor_flow  # noqa: PLC0415

        state = self._sensor(event, needs_state=False)
        state["role_arn"] = self.settings.qualys_registry_role_arn
        return sensor_flow.ensure_registry(self.api, state)  # type: ignore[arg-type]

    def schedule_scan(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.scanners import sensor_flow  # noqa: PLC0415

        state = self._sensor(event)
        self.metrics.add("ScansStarted", account=_account(_obj(event, "context")))
        return sensor_flow.schedule(self.api, state)  # type: ignore[arg-type]

    def poll_scan(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.scanners import sensor_flow  # noqa: PLC0415

        return sensor_flow.check(self.api, self._sensor(event))  # type: ignore[arg-type]

    def fetch_results(self, event: dict[str, Any]) -> dict[str, Any]:
        from qscan.scanners import sensor_flow  # noqa: PLC0415
        from qscan.scanners.qualys_api import QualysResponseError  # noqa: PLC0415

        state = self._sensor(event)
        context = _obj(event, "context")

        def fetch() -> Any:
            try:
                return sensor_flow.build_result(self.api, state)  # type: ignore[arg-type]
            except QualysResponseError as exc:
                return sensor_flow.failed_result(state, f"unusable Qualys report: {exc.reason}")

        # Qualys's own final answer (failed, unusable report): a retry cannot change it.
        return self._scan_and_record(_target(_obj(event, "image")), context, fetch, retryable=False)

    # ------------------------------------------------------------------ failure path
    def release(self, event: dict[str, Any]) -> dict[str, Any]:
        target, owner = _target(_obj(event, "image")), _owner(_obj(event, "context"))
        claim = event.get("claim")
        if not (isinstance(claim, dict) and claim.get("claimed") is True):
            return {"released": False}
        self.pipeline.release(str(target.dedupe_key), owner)
        return {"released": True}

    def notify_failure(self, event: dict[str, Any]) -> dict[str, Any]:
        context = _obj(event, "context")
        _owner(context)  # checked before anything is persisted
        error = _dict(event.get("error"))
        reason = (
            f"{_text(error.get('Error') or 'unknown error', 80)}: {_text(catch_cause(error.get('Cause')))}"
        )
        image = event.get("image")
        if image is None:
            target = ScanTarget(
                kind="image",
                platform="ecs",
                account=_opt(context, "account"),
                region=_opt(context, "region"),
                event_id=_opt(context, "event_id"),
                lookup="ecs_task_definition",
            )
            published = self._notify_failed(target, context, f"the ECS event failed: {reason}", persist=False)
        else:
            target = _target(image if isinstance(image, dict) else {})
            published = self._notify_failed(target, context, f"the scan failed: {reason}", persist=True)
            if error.get("Error") == POLL_TIMEOUT:
                self.metrics.add("ScanAttemptsFailed", account=_account(context))
        return {"notified": published}

    def _notify_failed(
        self, target: ScanTarget, context: dict[str, Any], reason: str, *, persist: bool
    ) -> bool:
        """One failure message for `target` (its id stable per artifact and execution); the failed result
        persisted first when the target is an image the store can key. Counted (`ScansFailed`, the context's
        account) once it is sent, so a retried step does not count it twice."""
        from qscan.notify import notify  # noqa: PLC0415
        from qscan.results.model import ScanResult, utc_now  # noqa: PLC0415

        result = ScanResult(
            target=target, backend=self.settings.scanner_backend, status="failed", reason=_text(reason, 500)
        )
        result.finished_at = utc_now()
        if persist:
            result.result_location = self.results.put_result(result)
        published = notify(
            result, self.settings.severity_threshold, self.publisher, occurrence=_owner(context)
        )
        self.metrics.add("ScansFailed", account=_account(context))
        return published.notification is not None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return _text(value, 256) if isinstance(value, str) and value else None


HANDLER = cold_start(FargateHandler)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point: one workflow step; returns its JSON output or raises a step error."""
    return HANDLER.handle(event, context)
