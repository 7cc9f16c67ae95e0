"""Project-owned shims for the moto 5.2.5 gaps that block `terraform apply` and EventBridge tests.

Every shim is a small, documented monkeypatch. `apply_shims()` installs them inside the moto server
process (see `tests.harness.moto_server.serve`) before the server starts listening; nothing here is
imported by the project itself. Each gap was reproduced against moto 5.2.5 before it was shimmed:

* ``states``: ``ValidateStateMachineDefinition`` and ``ListStateMachineVersions`` are not implemented
  (HTTP 500 "action has not been implemented"); Terraform's ``aws_sfn_state_machine`` calls both.
* ``lambda``: ``DeadLetterConfig`` is accepted by Create/UpdateFunctionConfiguration but never stored or
  returned, so Terraform sees a perpetual diff on ``dead_letter_config``.
* ``sqs``: ``RedrivePolicy`` is stored as a dict and re-serialized (``json.dumps`` with spaces,
  ``maxReceiveCount`` forced to int), so the string read back differs from the one Terraform sent.
* ``events``: a rule target that is a Lambda function or a Step Functions state machine makes PutEvents
  fail (``NotImplementedError`` -> HTTP 500), which also drops the SQS deliveries of the same event.
  The shim records such deliveries (see `DELIVERIES`) instead of raising; SQS targets still deliver. A Step
  Functions target also starts an execution of its state machine, as EventBridge does: the input is the
  event (or the target's ``Input``, ``InputPath`` or ``InputTransformer``), the name a fresh UUID; the record
  gets ``execution_arn``, or ``execution_error`` when the execution could not be started (PutEvents still
  succeeds, as on AWS, where the target's retries and dead-letter queue take over). Lambda targets are only
  recorded.
* ``events``: events delivered to targets without an input transformer lack ``account``.
* ``sqs``: every ``SetQueueAttributes`` call without ``Policy`` wipes the queue's policy (moto assigns
  ``attributes.get("Policy")``), so a queue policy and any later attribute write (e.g. Terraform's
  ``aws_sqs_queue_redrive_allow_policy``) undo each other; the real service changes only what was sent.
* ``s3``: a bucket policy statement whose ``Condition`` is not met counts as an explicit deny (moto's
  ``IAMPolicyStatement`` returns DENIED), and moto knows no request context (``aws:SecureTransport``,
  ``s3:TlsVersion``), so the usual TLS-only ``Deny ... Condition {Bool aws:SecureTransport false}`` blocks every
  object write. In IAM a statement whose condition does not match does not apply; the shim evaluates bucket
  policies without their conditional statements (neither a conditional allow nor a conditional deny applies).
* ``s3``: deleting a key of a bucket whose versioning is suspended (Terraform suspends it before
  ``force_destroy`` empties the bucket) calls ``dispose()`` on every version, and delete markers have none:
  HTTP 500 on ``DeleteObjects``, so the bucket can never be destroyed. A delete marker holds no data: the
  shim gives it a no-op ``dispose``.
* ``states``: state machines only execute with moto's ``execute_state_machine`` config (off by default), and the
  interpreter invokes Lambda tasks at ``localhost:$MOTO_PORT`` (5000 unless set). The shim turns execution on
  (before any state machine exists: the two modes keep separate backends) and `serve` sets MOTO_PORT to the
  port it bound.
* ``lambda``: without Docker, moto's Invoke returns canned results that can never raise (no FunctionError), so a
  workflow's Retry/Catch paths never run. The shim sends the invocation of a function registered with
  `register_runner` (POST /_qscan/lambda/runners, from `tests.harness.lambda_runner`) to that runner, an HTTP
  endpoint in the test process that calls the real handler the way the Lambda runtime does; an exception comes
  back as the runtime's error payload ``{"errorType", "errorMessage"}`` with ``X-Amz-Function-Error:
  Unhandled``. Functions without a runner keep moto's behaviour.
* ``sqs``: ``RedriveAllowPolicy`` is accepted but never returned (``GetQueueAttributes`` even rejects the
  name), so ``aws_sqs_queue_redrive_allow_policy`` waits for it until it times out.
* ``events``: a rule target that is another bus (cross-account or cross-region) gets a new event with only
  source, detail-type and detail (moto re-puts them): ``account``, ``region``, ``resources``, ``id`` and
  ``time`` are rewritten, and the target bus's policy is never checked. Real EventBridge keeps the envelope and
  refuses a sender the receiving bus's policy does not admit. The shim delivers the original event to the
  target bus's rules, and, when the sender's account is not the bus's, only if `bus_policy_allows` admits it;
  a refused (or undeliverable) event goes to the target's dead-letter queue with EventBridge's message
  attributes (``ERROR_CODE``, ``ERROR_MESSAGE``, ``RULE_ARN``, ``TARGET_ARN``), or is dropped without one.
* ``ecs``: a task gets one container, built from its task definition's FIRST container definition, so
  ``DescribeTasks`` reports only that container's name and image (and its ``taskArn`` is the task definition's
  ARN). ECS starts every container of the definition, and each container's ``taskArn`` is its task's. The shim
  gives a task one container per definition, in the definition's order, with the task's ARN.
* ``events``: PutEvents with the ARN of another account's bus is looked up in the caller's own account
  (ResourceNotFoundException) and never checks the bus policy. The shim puts such entries on that bus (the
  events' ``account`` is the caller's) when its policy admits the caller, and otherwise fails the call with
  AccessDeniedException, as EventBridge does.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import moto
from moto.awslambda.models import LambdaFunction
from moto.core.responses import ActionResult
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.sqs.models import Queue
from moto.stepfunctions.responses import StepFunctionResponse

LOG = logging.getLogger("qscan.tests.moto_shims")

MOTO_VERSION = "5.2.5"

# ---------------------------------------------------------------------------------------------------------
# ASL structural check (used by the ValidateStateMachineDefinition shim; pure, unit-testable)
# ---------------------------------------------------------------------------------------------------------

STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
TERMINAL_TYPES = frozenset({"Succeed", "Fail"})
MAX_STATE_NAME = 80


@dataclass(frozen=True)
class Diagnostic:
    """One entry of ValidateStateMachineDefinition's ``diagnostics`` (same keys as the real API)."""

    code: str
    message: str
    location: str
    severity: str = "ERROR"

    def as_api(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "location": self.location,
        }


def validate_asl(definition: str | None) -> list[Diagnostic]:
    """A light structural check of an Amazon States Language document.

    It catches what would stop the real service from creating the state machine: invalid JSON, a missing
    or dangling ``StartAt``, unknown state types, transitions to missing states, states with neither
    ``Next`` nor ``End``, Task states without ``Resource``, Choice states without choices, and no terminal
    state. Nested ``Parallel`` branches and ``Map`` processors are checked recursively. It is not a full
    JSON-schema validation (use the npm ``asl-validator`` for that).
    """
    if definition is None or not definition.strip():
        return [Diagnostic("MISSING_DESCRIPTION", "Definition is null or empty.", "/")]
    try:
        doc = json.loads(definition)
    except json.JSONDecodeError as exc:
        return [Diagnostic("INVALID_JSON_DESCRIPTION", f"Definition is not valid JSON: {exc.msg}", "/")]
    return _check_machine(doc, "")


def _check_machine(doc: Any, where: str) -> list[Diagnostic]:
    loc = where or "/"
    if not isinstance(doc, dict):
        return [Diagnostic("SCHEMA_VALIDATION_FAILED", "A state machine must be a JSON object.", loc)]
    problems: list[Diagnostic] = []
    states = doc.get("States")
    start_at = doc.get("StartAt")
    if not isinstance(states, dict) or not states:
        problems.append(Diagnostic("SCHEMA_VALIDATION_FAILED", "These fields are required: [States]", loc))
        states = {}
    if not isinstance(start_at, str) or not start_at:
        problems.append(Diagnostic("SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]", loc))
    elif states and start_at not in states:
        problems.append(
            Diagnostic(
                "SCHEMA_VALIDATION_FAILED",
                f"Missing 'Next' target: {start_at}",
                f"{where}/StartAt",
            )
        )
    has_terminal = False
    for name, state in states.items():
        state_loc = f"{where}/States/{name}"
        if not name or len(name) > MAX_STATE_NAME:
            problems.append(
                Diagnostic("INVALID_STATE_NAME", f"State name must be 1-{MAX_STATE_NAME} chars.", state_loc)
            )
        state_problems, terminal = _check_state(state, states, state_loc)
        problems.extend(state_problems)
        has_terminal = has_terminal or terminal
    if states and not has_terminal:
        problems.append(Diagnostic("MISSING_END_STATE", "Workflow has no terminal state.", loc))
    return problems


def _check_state(state: Any, states: dict[str, Any], loc: str) -> tuple[list[Diagnostic], bool]:
    if not isinstance(state, dict):
        return [Diagnostic("SCHEMA_VALIDATION_FAILED", "A state must be a JSON object.", loc)], False
    kind = state.get("Type")
    if kind not in STATE_TYPES:
        return [
            Diagnostic("SCHEMA_VALIDATION_FAILED", f"Field 'Type' is invalid: {kind!r}", f"{loc}/Type")
        ], False
    problems: list[Diagnostic] = []

    def target(value: Any, at: str) -> None:
        if not isinstance(value, str) or value not in states:
            problems.append(Diagnostic("SCHEMA_VALIDATION_FAILED", f"Missing 'Next' target: {value}", at))

    terminal = kind in TERMINAL_TYPES
    if kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            problems.append(
                Diagnostic("SCHEMA_VALIDATION_FAILED", "These fields are required: [Choices]", loc)
            )
        else:
            for i, rule in enumerate(choices):
                target(rule.get("Next") if isinstance(rule, dict) else None, f"{loc}/Choices/{i}/Next")
        if "Default" in state:
            target(state["Default"], f"{loc}/Default")
    elif not terminal:
        has_next, has_end = "Next" in state, state.get("End") is True
        if has_next == has_end:
            problems.append(
                Diagnostic(
                    "SCHEMA_VALIDATION_FAILED", "Exactly one of 'Next' or 'End: true' is required.", loc
                )
            )
        if has_next:
            target(state["Next"], f"{loc}/Next")
        terminal = has_end
    if kind == "Task" and not isinstance(state.get("Resource"), str):
        problems.append(Diagnostic("INVALID_RESOURCE", "Task state requires a string 'Resource'.", loc))
    for i, catcher in enumerate(state.get("Catch") or []):
        target(catcher.get("Next") if isinstance(catcher, dict) else None, f"{loc}/Catch/{i}/Next")
    if kind == "Parallel":
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            problems.append(
                Diagnostic("SCHEMA_VALIDATION_FAILED", "These fields are required: [Branches]", loc)
            )
        else:
            for i, branch in enumerate(branches):
                problems.extend(_check_machine(branch, f"{loc}/Branches/{i}"))
    if kind == "Map":
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        problems.extend(_check_machine(state.get(key), f"{loc}/{key}"))
    return problems, terminal


# ---------------------------------------------------------------------------------------------------------
# EventBridge deliveries to targets moto cannot invoke
# ---------------------------------------------------------------------------------------------------------

RECORDED_TARGET_SERVICES = frozenset({"lambda", "states"})


@dataclass
class DeliveryLog:
    """Thread-safe, bounded record of events routed to Lambda / Step Functions targets."""

    maxlen: int = 1000
    _items: deque[dict[str, Any]] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._items = deque(maxlen=self.maxlen)

    def record(self, item: dict[str, Any]) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


DELIVERIES = DeliveryLog()


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target: ISO time, no moto-internal fields."""
    out: dict[str, Any] = json.loads(json.dumps(event))
    out.pop("ingestion-time", None)
    when = out.get("time")
    if isinstance(when, int | float):
        out["time"] = dt.datetime.fromtimestamp(when, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _target_service(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[2] if len(parts) > 2 else ""


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The JSON EventBridge sends the target for `event` (moto's event, epoch time): the target's constant
    ``Input``, the part of the event its ``InputPath`` selects, its ``InputTransformer``'s rendering, or else the
    event as delivered."""
    delivered = _as_delivered(event)
    if target.get("Input"):
        return str(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse  # noqa: PLC0415 - moto's own JSONPath dependency

        matches = parse(str(target["InputPath"])).find(delivered)  # type: ignore[no-untyped-call]
        return json.dumps(matches[0].value if matches else None)
    transformer = target.get("InputTransformer")
    if transformer:
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event={**delivered, "ingestion-time": event.get("ingestion-time")},  # type: ignore[arg-type]
        )
        return json.dumps(rendered)
    return json.dumps(delivered)


def _start_execution(target: dict[str, Any], event: dict[str, Any]) -> dict[str, str]:
    """Start an execution of the target's state machine (its account and region) with the target input."""
    from moto.stepfunctions.responses import get_backend  # noqa: PLC0415 - the backend of the execute mode

    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    try:
        if len(parts) < 7 or parts[5] != "stateMachine":
            raise ValueError(f"not a state machine ARN: {arn!r}")
        execution = get_backend(parts[4], parts[3]).start_execution(
            arn, name=str(uuid.uuid4()), execution_input=_target_input(target, event)
        )
    except Exception as exc:  # a target that fails never fails PutEvents (as on AWS)
        LOG.warning("EventBridge could not start an execution of %s: %s", arn, exc)
        return {"execution_error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"execution_arn": str(getattr(execution, "exec_arn", None) or execution.execution_arn)}


# ---------------------------------------------------------------------------------------------------------
# The patches
# ---------------------------------------------------------------------------------------------------------

_applied: list[str] = []
_apply_lock = threading.Lock()


def applied_shims() -> list[str]:
    return list(_applied)


def apply_shims(skip: Iterable[str] = ()) -> list[str]:
    """Install every shim not named in `skip` (once; idempotent); returns the installed shim names."""
    skipped = set(skip)
    unknown = skipped - set(SHIM_NAMES)
    if unknown:
        raise ValueError(f"unknown moto shim(s): {sorted(unknown)}; known: {list(SHIM_NAMES)}")
    with _apply_lock:
        if _applied:
            return list(_applied)
        if moto.__version__ != MOTO_VERSION:
            LOG.warning("moto shims were written for %s, running %s", MOTO_VERSION, moto.__version__)
        for name, patch in _shims().items():
            if name not in skipped:
                patch()
                _applied.append(name)
        return list(_applied)


def _patch_sfn_validate() -> None:
    def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
        diagnostics = validate_asl(self._get_param("definition"))
        max_results = self._get_int_param("maxResults") or 100
        wanted = self._get_param("severity") or "ERROR"
        shown = [d for d in diagnostics if wanted == "WARNING" or d.severity == "ERROR"]
        return ActionResult(
            {
                "result": "FAIL" if any(d.severity == "ERROR" for d in diagnostics) else "OK",
                "diagnostics": [d.as_api() for d in shown[:max_results]],
                "truncated": len(shown) > max_results,
            }
        )

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]


def _patch_sfn_list_versions() -> None:
    def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
        # describe_state_machine raises StateMachineDoesNotExist / InvalidArn exactly like the real API.
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: v.version, reverse=True)
        return ActionResult(
            {
                "stateMachineVersions": [
                    {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
                ]
            }
        )

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


def _patch_lambda_dead_letter_config() -> None:
    original_init = LambdaFunction.__init__
    original_get = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def _normalize(value: Any) -> dict[str, str] | None:
        # An empty TargetArn is how the API (and Terraform) removes the dead-letter target.
        if isinstance(value, dict) and value.get("TargetArn"):
            return {"TargetArn": str(value["TargetArn"])}
        return None

    def __init__(
        self: LambdaFunction, account_id: str, spec: dict[str, Any], region: str, version: Any = 1
    ) -> None:
        original_init(self, account_id, spec, region, version)
        self.qscan_dead_letter_config = _normalize(spec.get("DeadLetterConfig"))  # type: ignore[attr-defined]

    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        config = original_get(self, on_create)
        dlc = getattr(self, "qscan_dead_letter_config", None)
        if dlc:
            config["DeadLetterConfig"] = dict(dlc)
        return config

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.qscan_dead_letter_config = _normalize(config_updates["DeadLetterConfig"])  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def _patch_sqs_redrive_policy() -> None:
    """Return RedrivePolicy exactly as it was set (the real service echoes the caller's string)."""
    original_setup = Queue._setup_dlq
    original_attributes = Queue.attributes.fget  # type: ignore[attr-defined]

    def _setup_dlq(self: Queue, policy: Any) -> None:
        original_setup(self, policy)
        raw = policy if isinstance(policy, str) else json.dumps(policy, separators=(",", ":"))
        self.qscan_redrive_policy_raw = raw if self.redrive_policy else None  # type: ignore[attr-defined]

    def attributes(self: Queue) -> dict[str, Any]:
        result: dict[str, Any] = original_attributes(self)
        raw = getattr(self, "qscan_redrive_policy_raw", None)
        if raw and "RedrivePolicy" in result:
            result["RedrivePolicy"] = raw
        return result

    Queue._setup_dlq = _setup_dlq  # type: ignore[method-assign]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def _patch_sqs_policy_kept() -> None:
    """SetQueueAttributes changes only the attributes it was given: keep Policy unless it was sent."""
    original_set = Queue._set_attributes

    def _set_attributes(self: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
        kept = getattr(self, "policy", None)
        original_set(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = kept

    Queue._set_attributes = _set_attributes  # type: ignore[method-assign]


REDRIVE_ALLOW_POLICY = "RedriveAllowPolicy"


def _patch_sqs_redrive_allow_policy() -> None:
    """Return RedriveAllowPolicy as set (moto stores it as `redrive_allow_policy`; "" removes it)."""
    from moto.sqs.models import SQSBackend  # noqa: PLC0415

    original_attributes = Queue.attributes.fget  # type: ignore[attr-defined]
    original_get = SQSBackend.get_queue_attributes

    def attributes(self: Queue) -> dict[str, Any]:
        result: dict[str, Any] = original_attributes(self)
        value = getattr(self, "redrive_allow_policy", None)
        if value:
            result[REDRIVE_ALLOW_POLICY] = value
        return result

    def get_queue_attributes(self: SQSBackend, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        if REDRIVE_ALLOW_POLICY not in attribute_names:
            return dict(original_get(self, queue_name, attribute_names))
        others = [name for name in attribute_names if name != REDRIVE_ALLOW_POLICY]
        result: dict[str, Any] = dict(original_get(self, queue_name, others)) if others else {}
        value = getattr(self.get_queue(queue_name), "redrive_allow_policy", None)
        if value:
            result[REDRIVE_ALLOW_POLICY] = value
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]


def _patch_s3_bucket_policy_conditions() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode()).get("Statement", [])
        result = PermissionResult.NEUTRAL
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, dict) or statement.get("Condition"):
                continue  # no request context to evaluate a condition against: the statement does not apply
            permission = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if permission == PermissionResult.DENIED:
                return permission
            if permission == PermissionResult.PERMITTED:
                result = permission
        return result

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _patch_s3_delete_marker_dispose() -> None:
    from moto.s3.models import FakeDeleteMarker  # noqa: PLC0415

    def dispose(self: FakeDeleteMarker, garbage: bool = False) -> None:
        """A delete marker owns no buffer: nothing to release."""

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


def _patch_ecs_task_containers() -> None:
    from moto.ecs.models import Container, Task  # noqa: PLC0415

    original_init = Task.__init__

    def init(self: Task, cluster: Any, task_definition: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, cluster, task_definition, *args, **kwargs)
        containers = []
        for definition in task_definition.container_definitions:
            container = Container(task_definition)  # moto reads definitions[0]: overwrite from this one
            container.image = definition.get("image")
            container.name = definition.get("name")
            container.cpu = definition.get("cpu", 0)
            container.memory = definition.get("memory")
            container.environment = definition.get("environment")
            container.command = definition.get("command")
            container.task_arn = self.task_arn
            containers.append(container)
        self.containers = containers

    Task.__init__ = init  # type: ignore[method-assign]


def _patch_events_unsupported_targets() -> None:
    original_send = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        recorded = [t for t in self.targets if _target_service(t.get("Arn", "")) in RECORDED_TARGET_SERVICES]
        if not recorded:
            original_send(self, original_event, transform_input)
            return
        if not self.event_pattern.matches_event(original_event):
            return
        for target in recorded:
            delivery = {
                "rule": self.name,
                "event_bus": self.event_bus_name,
                "target_id": target.get("Id"),
                "target_arn": target.get("Arn"),
                "event": _as_delivered(dict(original_event)),
            }
            if _target_service(str(target.get("Arn", ""))) == "states":
                delivery.update(_start_execution(target, dict(original_event)))
            DELIVERIES.record(delivery)
        native = [t for t in self.targets if t not in recorded]
        if native:
            # A shallow copy with only the targets moto can deliver to: the shared rule is never mutated.
            clone = copy.copy(self)
            clone.targets = native
            original_send(clone, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _patch_events_account() -> None:
    """moto's default input template (used when a target has no InputTransformer) omits `account`."""
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    )


# ---------------------------------------------------------------------------------------------------------
# Bus-to-bus delivery and event bus policies (pure evaluation, unit-testable)
# ---------------------------------------------------------------------------------------------------------

PUT_EVENTS = "events:PutEvents"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for entry in _as_list(principal.get("AWS", [])):
        if entry == "*" or entry == account:
            return True
        if isinstance(entry, str) and entry.endswith(f":iam::{account}:root"):
            return True
    return False


def _action_matches(action: Any, wanted: str) -> bool:
    return any(a in ("*", "events:*", wanted) for a in _as_list(action))


def _conditions_hold(conditions: Any, context: dict[str, str | None]) -> bool:
    """Only `StringEquals` on keys of `context` is understood; anything else never holds (so an Allow with an
    unknown condition admits nobody, and a Deny with one refuses nobody)."""
    if not conditions:
        return True
    if not isinstance(conditions, dict) or set(conditions) != {"StringEquals"}:
        return False
    equals = conditions["StringEquals"]
    if not isinstance(equals, dict):
        return False
    for key, expected in equals.items():
        actual = context.get(key)
        if actual is None or actual not in _as_list(expected):
            return False
    return True


def bus_policy_allows(policy: str | None, account: str, org_id: str | None, resource: str) -> bool:
    """Whether an event bus resource policy lets `account` (member of organization `org_id`, or None) put
    events on the bus `resource`: an explicit Deny wins, else some Allow must match (principal, action,
    resource, conditions on ``aws:PrincipalOrgID`` / ``aws:PrincipalAccount``). No policy admits nobody from
    another account."""
    if not policy:
        return False
    statements = json.loads(policy).get("Statement", [])
    context: dict[str, str | None] = {"aws:PrincipalOrgID": org_id, "aws:PrincipalAccount": account}
    allowed = False
    for statement in _as_list(statements):
        if not isinstance(statement, dict):
            continue
        applies = (
            _principal_matches(statement.get("Principal"), account)
            and _action_matches(statement.get("Action"), PUT_EVENTS)
            and any(r in ("*", resource) for r in _as_list(statement.get("Resource", "*")))
            and _conditions_hold(statement.get("Condition"), context)
        )
        if applies and statement.get("Effect") == "Deny":
            return False
        allowed = allowed or (applies and statement.get("Effect") == "Allow")
    return allowed


def _organization_of(account: str) -> str | None:
    """The id of the moto organization `account` belongs to (as its management or a member account)."""
    from moto.organizations.models import organizations_backends  # noqa: PLC0415

    master = organizations_backends.master_accounts.get(account, (account, "aws"))
    backend = organizations_backends[master[0]][master[1]]
    org = backend.org
    if org is None or (master[0] == account and org.master_account_id != account):
        return None
    return str(org.id)


def _target_bus(arn: str) -> Any:
    """The moto EventBus an event-bus ARN names (None when it does not exist)."""
    from moto.events.models import events_backends  # noqa: PLC0415

    parts = arn.split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("event-bus/"):
        return None
    return events_backends[parts[4]][parts[3]].event_buses.get(parts[5].split("/", 1)[1])


def _admitted(bus: Any, account: str) -> bool:
    return bool(
        account == bus.account_id
        or bus_policy_allows(bus.policy, account, _organization_of(account), bus.arn)
    )


def _deliver_on_bus(bus: Any, event: dict[str, Any]) -> None:
    for rule in list(bus.rules.values()):
        rule.send_to_targets(copy.deepcopy(event))


def _dead_letter(rule: Rule, target: dict[str, Any], event: dict[str, Any], code: str, message: str) -> None:
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    LOG.warning("EventBridge could not deliver to %s: %s", target.get("Arn"), message)
    queue_arn = str((target.get("DeadLetterConfig") or {}).get("Arn", ""))
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return  # no dead-letter queue: the event is dropped
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": message,
        "RULE_ARN": rule.arn,
        "TARGET_ARN": str(target.get("Arn")),
    }
    sqs_backends[parts[4]][parts[3]].send_message(
        queue_name=parts[5],
        message_body=json.dumps(_as_delivered(event)),
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def _is_bus_target(target: dict[str, Any]) -> bool:
    parts = str(target.get("Arn", "")).split(":", 5)
    return len(parts) == 6 and parts[2] == "events" and parts[5].startswith("event-bus/")


def _patch_events_bus_to_bus() -> None:
    original_send = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        forwarded = [t for t in self.targets if _is_bus_target(t)]
        if not forwarded:
            original_send(self, original_event, transform_input)
            return
        if not self.event_pattern.matches_event(original_event):
            return
        for target in forwarded:
            event = dict(original_event)
            bus = _target_bus(str(target["Arn"]))
            if bus is None:
                _dead_letter(
                    self, target, event, "RESOURCE_NOT_FOUND", f"Event bus {target['Arn']} not found."
                )
            elif not _admitted(bus, self.account_id):
                _dead_letter(
                    self,
                    target,
                    event,
                    "NO_PERMISSIONS",
                    f"{self.account_id} is not authorized to perform: {PUT_EVENTS} on resource: {bus.arn}",
                )
            else:
                _deliver_on_bus(bus, event)
        native = [t for t in self.targets if t not in forwarded]
        if native:
            clone = copy.copy(self)  # only the other targets: the shared rule is never mutated
            clone.targets = native
            original_send(clone, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _patch_events_cross_account_put_events() -> None:
    from moto.core.exceptions import JsonRESTError  # noqa: PLC0415
    from moto.core.utils import unix_time  # noqa: PLC0415
    from moto.events.models import _BASE_EVENT_MESSAGE, EventsBackend  # noqa: PLC0415

    original = EventsBackend.put_events

    def foreign_bus(self: EventsBackend, entry: dict[str, Any]) -> Any:
        name = str(entry.get("EventBusName") or "")
        if not name.startswith("arn:") or f":{self.account_id}:event-bus/" in name:
            return None
        return _target_bus(name) or False  # False: another account's bus that does not exist

    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10 or all(foreign_bus(self, e) is None for e in events):
            return original(self, events)
        entries: list[dict[str, Any]] = []
        for entry in events:
            bus = foreign_bus(self, entry)
            if bus is None or not all(entry.get(k) for k in ("Source", "DetailType", "Detail")):
                entries.extend(original(self, [entry]))  # this account's bus, or moto's own validation
                continue
            if bus is False:
                raise JsonRESTError(
                    "ResourceNotFoundException", f"Event bus {entry['EventBusName']} does not exist."
                )
            if not _admitted(bus, self.account_id):
                raise JsonRESTError(
                    "AccessDeniedException",
                    f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: {PUT_EVENTS} "
                    f"on resource: {bus.arn} because no resource-based policy allows the {PUT_EVENTS} action",
                )
            try:
                detail = json.loads(entry["Detail"])
            except ValueError:
                entries.extend(original(self, [entry]))  # MalformedDetail
                continue
            event = copy.deepcopy(_BASE_EVENT_MESSAGE)
            event_id = str(uuid.uuid4())
            event.update(
                {
                    "id": event_id,
                    "detail-type": entry["DetailType"],
                    "source": entry["Source"],
                    "account": self.account_id,
                    "time": entry.get("Time", unix_time()),
                    "region": bus.region,
                    "resources": entry.get("Resources", []),
                    "detail": detail,
                    "ingestion-time": unix_time(),
                }
            )
            _deliver_on_bus(bus, event)
            entries.append({"EventId": event_id})
        return entries

    EventsBackend.put_events = put_events  # type: ignore[method-assign]


RUNNERS: dict[str, str] = {}  # function name -> runner URL (loopback only), see `register_runner`
_RUNNERS_LOCK = threading.Lock()


def register_runner(function_name: str, url: str) -> None:
    """Route the Invoke calls of `function_name` (a name, not an ARN) to the runner at `url` (loopback http)."""
    if not url.startswith("http://127.0.0.1:") or not function_name or "/" in function_name:
        raise ValueError("a runner needs a function name and a loopback http://127.0.0.1:<port>/ URL")
    with _RUNNERS_LOCK:
        RUNNERS[function_name] = url


def clear_runners() -> None:
    with _RUNNERS_LOCK:
        RUNNERS.clear()


def _patch_sfn_execute() -> None:
    from moto.core.config import default_user_config  # noqa: PLC0415

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True


def _patch_lambda_invoke_runners() -> None:
    import urllib.request  # noqa: PLC0415

    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415

    original = LambdaBackend.invoke

    def invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        name = function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]
        with _RUNNERS_LOCK:
            url = RUNNERS.get(name)
        if url is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        self.get_function(function_name, qualifier)  # ResourceNotFound for an unknown function, as moto does
        data = body if isinstance(body, bytes) else str(body or "{}").encode()
        request = urllib.request.Request(url, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=900) as answer:
            reply = json.loads(answer.read())
        if reply.get("error") is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = json.dumps(reply["error"]).encode()
        else:
            payload = json.dumps(reply.get("payload")).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]


def _shims() -> dict[str, Callable[[], None]]:
    return {
        "states:execute-state-machines": _patch_sfn_execute,
        "lambda:invoke-runners": _patch_lambda_invoke_runners,
        "states:ValidateStateMachineDefinition": _patch_sfn_validate,
        "states:ListStateMachineVersions": _patch_sfn_list_versions,
        "lambda:DeadLetterConfig": _patch_lambda_dead_letter_config,
        "sqs:RedrivePolicy": _patch_sqs_redrive_policy,
        "sqs:Policy-kept-on-other-writes": _patch_sqs_policy_kept,
        "sqs:RedriveAllowPolicy": _patch_sqs_redrive_allow_policy,
        "s3:bucket-policy-conditions": _patch_s3_bucket_policy_conditions,
        "s3:delete-marker-dispose": _patch_s3_delete_marker_dispose,
        "ecs:task-containers": _patch_ecs_task_containers,
        "events:lambda-and-states-targets": _patch_events_unsupported_targets,
        "events:account-in-delivered-events": _patch_events_account,
        # After the Lambda / Step Functions target shim: this one wraps it (bus targets handled first).
        "events:bus-to-bus-envelope-and-policy": _patch_events_bus_to_bus,
        "events:cross-account-put-events-policy": _patch_events_cross_account_put_events,
    }


SHIM_NAMES: tuple[str, ...] = tuple(_shims())
