"""ECS CloudTrail calls: RegisterTaskDefinition, RunTask, CreateService, UpdateService.

- `RegisterTaskDefinition` carries the images: one image target per distinct container image, with
  `resource_id` the task definition ARN (or the family when the response was not recorded). Images with a
  digest are complete; tag-only images need lookup `image_digest`.
- `RunTask`, `CreateService`, `UpdateService` name a task definition only: one target with lookup
  `ecs_task_definition` and `resource_id` the task definition (ARN, `family:revision` or family) that the
  handler resolves with `ecs:DescribeTaskDefinition`. The resolved ARN in the response is preferred over the
  request's value (a bare family means "latest" only at the time of the call).
"""

from __future__ import annotations

import re
from typing import Any

from qscan.events._util import (
    ApiCall,
    cloudtrail_call,
    fail,
    image_target,
    obj,
    opt_list,
    opt_obj,
    opt_str,
    show,
    unsupported,
)
from qscan.target import ScanTarget

CLOUDTRAIL_SOURCE = "ecs.amazonaws.com"
EVENT_NAMES = frozenset({"RegisterTaskDefinition", "RunTask", "CreateService", "UpdateService"})
MAX_CONTAINERS = 100

TASK_DEFINITION_ARN_RE = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:ecs:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:task-definition/"
    r"[A-Za-z0-9_-]{1,255}:[0-9]{1,10}"
)
_FAMILY_RE = re.compile(r"[A-Za-z0-9_-]{1,255}(?::[0-9]{1,10})?")


def normalize_ecs_cloudtrail(event: Any) -> list[ScanTarget]:
    call = cloudtrail_call(event, CLOUDTRAIL_SOURCE)
    if call.name not in EVENT_NAMES:
        raise unsupported(f"ECS call {show(call.name)} does not deploy tasks")
    if call.name == "RegisterTaskDefinition":
        return _register(call)
    if call.name == "RunTask":
        return [_lookup(call, _run_task_definition(call))]
    return [_lookup(call, _service_task_definition(call))]


def _register(call: ApiCall) -> list[ScanTarget]:
    response = call.response or {}
    task_def = opt_obj(response, "taskDefinition", "responseElements.taskDefinition")
    if task_def is not None:
        arn = _task_definition(opt_str(task_def, "taskDefinitionArn", "taskDefinition.taskDefinitionArn"))
        containers = opt_list(task_def, "containerDefinitions", "taskDefinition.containerDefinitions")
        where = "responseElements.taskDefinition.containerDefinitions"
    else:
        arn, containers, where = None, None, "requestParameters.containerDefinitions"
    if containers is None:
        containers = opt_list(call.request, "containerDefinitions", "requestParameters.containerDefinitions")
        where = "requestParameters.containerDefinitions"
    resource_id = arn or _task_definition(opt_str(call.request, "family", "requestParameters.family"))
    if containers is None:
        if resource_id is None:
            fail("RegisterTaskDefinition event names neither containers nor a task definition")
        return [_lookup(call, resource_id)]
    if not containers:
        fail(f"{where} is empty")
    if len(containers) > MAX_CONTAINERS:
        fail(f"{where} has more than {MAX_CONTAINERS} entries")
    targets: dict[str, ScanTarget] = {}
    for index, entry in enumerate(containers):
        container = obj(entry, f"{where}[{index}]")
        image = opt_str(container, "image", f"{where}[{index}].image")
        if image is None:
            fail(f"{where}[{index}].image is missing")
        target = image_target(
            image,
            "ecs",
            what=f"{where}[{index}].image",
            account=call.account,
            region=call.region,
            resource_id=resource_id,
            event_id=call.event_id,
        )
        assert target.image is not None
        targets.setdefault(target.image, target)
    return list(targets.values())


def _run_task_definition(call: ApiCall) -> str:
    response = call.response or {}
    for index, entry in enumerate(opt_list(response, "tasks", "responseElements.tasks") or []):
        task = obj(entry, f"responseElements.tasks[{index}]")
        arn = _task_definition(opt_str(task, "taskDefinitionArn", f"tasks[{index}].taskDefinitionArn"))
        if arn is not None:
            return arn
    value = _task_definition(opt_str(call.request, "taskDefinition", "requestParameters.taskDefinition"))
    if value is None:
        fail("RunTask event names no task definition")
    return value


def _service_task_definition(call: ApiCall) -> str:
    response = call.response or {}
    service = opt_obj(response, "service", "responseElements.service")
    if service is not None:
        value = _task_definition(
            opt_str(service, "taskDefinition", "responseElements.service.taskDefinition")
        )
        if value is not None:
            return value
    value = _task_definition(opt_str(call.request, "taskDefinition", "requestParameters.taskDefinition"))
    if value is None:
        fail(f"{call.name} event names no task definition")
    return value


def _task_definition(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("arn:"):
        if not TASK_DEFINITION_ARN_RE.fullmatch(value):
            fail("task definition ARN is malformed")
    elif not _FAMILY_RE.fullmatch(value):
        fail("task definition is neither an ARN nor family[:revision]")
    return value


def _lookup(call: ApiCall, task_definition: str) -> ScanTarget:
    return ScanTarget(
        kind="image",
        platform="ecs",
        account=call.account,
        region=call.region,
        resource_id=task_definition,
        event_id=call.event_id,
        lookup="ecs_task_definition",
    )
