"""ECS task definitions as scan targets: what runs, by digest (the Fargate workflow's parse step).

- `describe_task_definition(client, task_definition)`: `ecs:DescribeTaskDefinition` by ARN, `family:revision`
  or bare family (ECS answers the latest ACTIVE revision), with the answer checked: its ARN, at most
  `MAX_CONTAINERS` containers, each with a name and an image reference, and the `runtimePlatform` (the platform
  an image index is resolved to, `qscan.registry.platform.from_ecs_runtime_platform`; linux/amd64 when absent).
  A task definition ECS does not know (its `ClientException`) is `InvalidEvent`: permanent for that event.
- `ImageResolver.resolve(target, platform)`: the digest that runs for one container image, through the one
  resolution path (`qscan.registry.resolver`): ECR images with `ecr:BatchGetImage` in the registry's own account
  (the spoke role when it is another account; `account` of the result is the registry's, whose credentials
  qscanner pulls with), every other registry over the distribution API with the registry's credential from
  QSCAN_REGISTRY_CREDENTIALS_SECRET (anonymous without one). An image index becomes the manifest of the task's
  platform (`index_digest` keeps the index).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from qscan.cloud_errors import aws_error, aws_error_code
from qscan.errors import InvalidEvent
from qscan.events._util import workload_images
from qscan.refs import classify_registry
from qscan.registry.platform import DEFAULT_PLATFORM, PlatformSpec, from_ecs_runtime_platform
from qscan.structs import replace, struct
from qscan.target import ScanTarget

MAX_CONTAINERS = 100
REFUSED_CODES = frozenset({"ClientException", "InvalidParameterException"})
TASK_DEFINITION_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:ecs:([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}):([0-9]{12}):task-definition/"
    r"[A-Za-z0-9_-]{1,255}:[0-9]{1,10}$"
)
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


@struct
class Container:
    name: str
    image: str


@struct
class TaskDefinition:
    arn: str
    account: str
    region: str
    containers: tuple[Container, ...]
    platform: PlatformSpec


def task_definition_location(task_definition: str) -> tuple[str | None, str | None]:
    """The account and region of a task definition ARN ((None, None) for `family[:revision]`: the caller's)."""
    match = TASK_DEFINITION_ARN.match(task_definition)
    return (match.group(2), match.group(1)) if match else (None, None)


def describe_task_definition(
    client: Any, task_definition: str, default_platform: PlatformSpec = DEFAULT_PLATFORM
) -> TaskDefinition:
    """The task definition ECS resolves `task_definition` to (see the module doc); raises typed errors.

    `default_platform` (QSCAN_IMAGE_PLATFORM) fills in what `runtimePlatform` leaves out."""
    action = f"ecs describe_task_definition {task_definition[:300]}"
    try:
        answer = client.describe_task_definition(taskDefinition=task_definition)
    except Exception as exc:
        code = aws_error_code(exc)
        if code in REFUSED_CODES:  # ECS's answer for a task definition that does not exist
            raise InvalidEvent(f"{action}: ECS refused it ({code}): no such task definition") from None
        mapped = aws_error(exc, action)
        if mapped is not None:
            raise mapped from exc
        raise
    body = answer.get("taskDefinition") if isinstance(answer, dict) else None
    if not isinstance(body, dict):
        raise InvalidEvent(f"{action}: the answer has no taskDefinition")
    arn = body.get("taskDefinitionArn")
    match = TASK_DEFINITION_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise InvalidEvent(f"{action}: the answer's taskDefinitionArn is malformed")
    entries = body.get("containerDefinitions")
    if not isinstance(entries, list) or not entries:
        raise InvalidEvent(f"{action}: the task definition has no containerDefinitions")
    if len(entries) > MAX_CONTAINERS:
        raise InvalidEvent(f"{action}: more than {MAX_CONTAINERS} containers")
    containers = []
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        image = entry.get("image") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _CONTAINER_NAME.match(name):
            raise InvalidEvent(f"{action}: containerDefinitions[{index}].name is missing or malformed")
        if not isinstance(image, str) or not image:
            raise InvalidEvent(f"{action}: containerDefinitions[{index}].image is missing")
        containers.append(Container(name, image))
    platform = from_ecs_runtime_platform(body.get("runtimePlatform"), default_platform)
    return TaskDefinition(str(arn), match.group(2), match.group(1), tuple(containers), platform)


def container_targets(task: TaskDefinition, event_id: str | None) -> dict[str, tuple[ScanTarget, list[str]]]:
    """One image target per distinct image reference, with the names of the containers that run it."""
    return workload_images(
        (
            (container.name, container.image, f"containerDefinitions[{index}].image")
            for index, container in enumerate(task.containers)
        ),
        "ecs",
        account=task.account,
        region=task.region,
        resource_id=task.arn,
        event_id=event_id,
    )


class ImageResolver:
    """The digest that runs for a container image (see the module doc).

    `ecr_client_for(account, region)`: an ECR client that can read that account's registry;
    `http_client()`: the `qscan.registry.client.DistributionClient` for every other registry (created once).
    """

    def __init__(self, ecr_client_for: Callable[[str, str], Any], http_client: Callable[[], Any]) -> None:
        self._ecr_client_for = ecr_client_for
        self._http_client = http_client

    def resolve(self, target: ScanTarget, platform: PlatformSpec) -> ScanTarget:
        from qscan.registry.resolver import HttpManifestSource, resolve_target  # noqa: PLC0415 - on first use

        info = classify_registry(target.registry or "")
        source: Any
        if info.kind == "ecr" and info.account and info.region:
            from qscan.aws.ecr import EcrManifestSource  # noqa: PLC0415

            source = EcrManifestSource(self._ecr_client_for(info.account, info.region), info.account)
            target = replace(target, account=info.account, region=info.region)
        else:
            source = HttpManifestSource(self._http_client())
        return resolve_target(target, source, platform)
