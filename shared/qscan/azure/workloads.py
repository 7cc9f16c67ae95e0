"""ACI container groups and ACA container apps and jobs read through ARM: what runs, as scan targets.

Resource events carry no container list (DESIGN §3, Azure plumbing), so the handler reads the resource:

- `read_workload(resource_id, *, credential, base_url=None)`: one GET through the management SDKs
  (`ContainerInstanceManagementClient.container_groups.get`, `ContainerAppsAPIClient.container_apps.get` /
  `.jobs.get`) with `credential` (anything with `get_token()`: the managed identity). The answer is untrusted
  and checked field by field: its `id` must be the resource asked for; `location` a region name; `tags` a
  bounded string map; the containers (ACI: `properties.containers[]` and `properties.initContainers[]`, each
  `{name, properties.image}`; ACA apps and jobs: `properties.template.containers[]` and `initContainers[]`,
  each `{name, image}`) named and with an image reference, at most `MAX_CONTAINERS`. A malformed answer is
  `InvalidEvent` with the reason.
- Errors: a resource that no longer exists (404) is `InvalidEvent` ("... gone": deleted after its write event);
  401/403 is `ConfigError` naming the role the identity needs; 408/429/5xx, timeouts and connection failures
  are retried by the SDK's retry policy (`RETRY`: honours `Retry-After`), then `TransientError` (the queue
  redelivers; nothing here retries again). Messages name the resource, the HTTP status and the ARM error code,
  never response text or tokens.
- `parse_listed(body, subscription)`: one entry of a subscription listing (the reconciler's, `qscan.azure.inventory`),
  checked by the same parser; `execution_workload(job, body)`: a job as one of its executions ran it (its
  template's containers).
- `is_own(workload)`: qscan's own resources (its scan job container groups) carry the tag `OWN_TAG`: skipped.
- `container_targets(workload, event_id)`: one image target per distinct image reference (platform `aci` or
  `aca`, `resource_id` the workload's id, `account` its subscription); tags still need `image_digest` lookup.

Transport: https only. Production talks to `https://management.azure.com` (`base_url=None`); `base_url` points
the clients at another ARM endpoint (a sovereign cloud, or the loopback fake in tests, which serves TLS with a
certificate the test trusts through REQUESTS_CA_BUNDLE); an http `base_url` is `ConfigError`, so a bearer token
never travels in clear. Clients are created once per (platform, subscription, endpoint, credential) and reused.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from qscan.cloud_errors import azure_error
from qscan.errors import ConfigError, InvalidEvent, QscanError
from qscan.events._util import one_line, workload_images
from qscan.events.arm import AzureResource, parse_resource_id
from qscan.structs import field, replace, struct
from qscan.target import ScanTarget

AzurePlatform = Literal["aci", "aca"]
WorkloadKind = Literal["containerGroup", "containerApp", "job"]

ARM_ENDPOINT = "https://management.azure.com"
OWN_TAG = "qscan:component"
MAX_CONTAINERS = 100
MAX_TAGS = 50  # ARM's limit per resource
MAX_TAG_NAME, MAX_TAG_VALUE = 512, 256
MAX_IMAGE = 1024
CONNECTION_TIMEOUT, READ_TIMEOUT = 5.0, 30.0
# The SDK retry policy (azure-core RetryPolicy): 408/429/5xx and connection errors, Retry-After honoured.
RETRY: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.5, "retry_backoff_max": 8, "timeout": 60}
READ_ROLE = "the module's workload reader role at the subscription"

_KINDS: dict[str, tuple[WorkloadKind, AzurePlatform]] = {
    "Microsoft.ContainerInstance/containerGroups": ("containerGroup", "aci"),
    "Microsoft.App/containerApps": ("containerApp", "aca"),
    "Microsoft.App/jobs": ("job", "aca"),
}
_ERROR_CODE = re.compile(r"[A-Za-z0-9._-]{1,80}")
_LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ()-]{0,63}")
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?")


@struct
class Container:
    name: str
    image: str
    init: bool  # an init container (runs before the others, to completion)


@struct
class Workload:
    """An ACI container group or an ACA container app or job, as ARM answered for it."""

    resource_id: str  # normalized like `qscan.events.arm` (canonical type, lower-case subscription and name)
    platform: AzurePlatform
    kind: WorkloadKind
    subscription: str
    resource_group: str
    name: str
    location: str
    tags: dict[str, str] = field(hash=False)
    containers: tuple[Container, ...]


def read_workload(resource_id: str, *, credential: Any, base_url: str | None = None) -> Workload:
    """The workload `resource_id` names, read through ARM with `credential` (see the module doc).

    Raises `InvalidEvent` (not a container resource id, gone, malformed answer), `ConfigError` (denied: names
    the role; an http `base_url`) or `TransientError` (throttled, 5xx, timeouts)."""
    resource = parse_resource_id(resource_id, "workload resource id")
    endpoint = base_url.rstrip("/") if base_url else ARM_ENDPOINT
    _check_endpoint(endpoint)
    kind, platform = _KINDS[resource.resource_type]
    action = f"ARM GET {resource.resource_id}"
    from azure.core.exceptions import AzureError, DecodeError, DeserializationError  # noqa: PLC0415 - on first use

    try:
        body = _get(kind, platform, resource, endpoint, credential)
    except (
        DecodeError,
        DeserializationError,
        json.JSONDecodeError,
        UnicodeDecodeError,
    ):  # not the JSON expected
        raise InvalidEvent(f"{action}: the answer is not a {kind} resource") from None
    except AzureError as exc:
        mapped = _mapped(exc, action, resource.resource_type)
        if mapped is None:
            raise
        raise mapped from None
    return _parse(body, resource, kind, platform, action)


def parse_listed(body: Any, subscription: str) -> Workload:
    """One entry of a subscription listing (ARM answers the same body as the resource's GET), checked like
    `read_workload`'s answer; an entry of another subscription or type is `InvalidEvent` / `UnsupportedEvent`."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise InvalidEvent(f"ARM list of subscription {subscription}: an entry has no id")
    resource = parse_resource_id(body["id"], "listed resource id")
    if resource.subscription_id != subscription.lower():
        raise InvalidEvent(f"ARM list of subscription {subscription}: an entry of another subscription")
    kind, platform = _KINDS[resource.resource_type]
    return _parse(body, resource, kind, platform, f"ARM list entry {resource.resource_id}")


def execution_workload(job: Workload, body: Any) -> Workload:
    """The job as one execution ran it: the execution's `properties.template` containers (`jobs/start` can
    give every execution images of its own, and emits no write event)."""
    action = f"ARM list of {job.resource_id} executions"

    def bad(reason: str) -> InvalidEvent:
        return InvalidEvent(one_line(f"{action}: an entry's {reason}"))

    if not isinstance(body, dict):
        raise bad("body is not a JSON object")
    answered = body.get("id")
    if not isinstance(answered, str) or not answered.lower().startswith(
        job.resource_id.lower() + "/executions/"
    ):
        raise bad("id is not an execution of the job")
    properties = body.get("properties")
    template = properties.get("template") if isinstance(properties, dict) else None
    if not isinstance(template, dict):
        raise bad("properties.template is missing")
    return replace(job, containers=_containers(template, "properties.template", False, bad))


def is_own(workload: Workload, tag_name: str = OWN_TAG) -> bool:
    """Whether the workload is qscan's own (it carries `tag_name`; ARM compares tag names case-insensitively)."""
    wanted = tag_name.lower()
    return any(name.lower() == wanted for name in workload.tags)


def container_targets(workload: Workload, event_id: str | None) -> list[ScanTarget]:
    """One image target per distinct image reference, in container order (init containers included)."""
    images = workload_images(
        (
            (
                container.name,
                container.image,
                f"{'initContainers' if container.init else 'containers'} {container.name!r} image ({index})",
            )
            for index, container in enumerate(workload.containers)
        ),
        workload.platform,
        account=workload.subscription,
        resource_id=workload.resource_id,
        event_id=event_id,
    )
    return [target for target, _ in images.values()]


# ------------------------------------------------------------------------------------------------- transport


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError("the ARM base URL must be an https URL (bearer tokens never go over plain http)")


@functools.lru_cache(maxsize=32)
def _client(platform: AzurePlatform, subscription: str, endpoint: str, credential: Any) -> Any:
    """One management client per (platform, subscription, endpoint, credential): created once, reused."""
    settings: dict[str, Any] = {
        "base_url": endpoint,
        "connection_timeout": CONNECTION_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        **RETRY,
    }
    if platform == "aci":
        from azure.mgmt.containerinstance import ContainerInstanceManagementClient  # noqa: PLC0415

        return ContainerInstanceManagementClient(credential, subscription, **settings)
    from azure.mgmt.appcontainers import ContainerAppsAPIClient  # noqa: PLC0415

    return ContainerAppsAPIClient(credential, subscription, **settings)


def _raw_json(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """The answer's JSON as sent (checked here, field by field), not the SDK's model."""
    return json.loads(pipeline_response.http_response.text())


def _get(
    kind: WorkloadKind, platform: AzurePlatform, resource: AzureResource, endpoint: str, credential: Any
) -> Any:
    client = _client(platform, resource.subscription_id, endpoint, credential)
    group, name = resource.resource_group, resource.name
    if kind == "containerGroup":
        return client.container_groups.get(group, name, cls=_raw_json)
    if kind == "containerApp":
        return client.container_apps.get(group, name, cls=_raw_json)
    return client.jobs.get(group, name, cls=_raw_json)


def _mapped(exc: Exception, action: str, resource_type: str) -> QscanError | None:
    from azure.core.exceptions import HttpResponseError  # noqa: PLC0415 - on first use

    if isinstance(exc, HttpResponseError):
        status = int(exc.status_code or 0)
        code = getattr(getattr(exc, "error", None), "code", None)  # ARM's `error.code` (untrusted: checked)
        code = code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else ""
        if status == 404:
            return InvalidEvent(f"{action}: the resource is gone (404 {code or 'NotFound'})")
        if status in (401, 403):
            return ConfigError(
                f"{action}: denied ({status} {code or 'AuthorizationFailed'}): the identity needs "
                f"{resource_type}/read ({READ_ROLE})"
            )
    return azure_error(exc, action)


# ------------------------------------------------------------------------------------------------- answers


def _parse(
    body: Any, resource: AzureResource, kind: WorkloadKind, platform: AzurePlatform, action: str
) -> Workload:
    def bad(reason: str) -> InvalidEvent:
        return InvalidEvent(one_line(f"{action}: the answer's {reason}"))

    if not isinstance(body, dict):
        raise bad("body is not a JSON object")
    answered = body.get("id")
    if not isinstance(answered, str):
        raise bad("id is missing")
    try:
        same = parse_resource_id(answered, "answer id").resource_id.lower() == resource.resource_id.lower()
    except InvalidEvent:
        same = False
    if not same:
        raise bad("id is not the resource asked for")
    location = body.get("location")
    if not isinstance(location, str) or not _LOCATION.fullmatch(location):
        raise bad("location is missing or malformed")
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise bad("properties is missing")
    holder: Any = properties if kind == "containerGroup" else properties.get("template")
    where = "properties" if kind == "containerGroup" else "properties.template"
    if not isinstance(holder, dict):
        raise bad(f"{where} is missing")
    containers = _containers(holder, where, kind == "containerGroup", bad)
    return Workload(
        resource_id=resource.resource_id,
        platform=platform,
        kind=kind,
        subscription=resource.subscription_id,
        resource_group=resource.resource_group,
        name=resource.name,
        location=location,
        tags=_tags(body.get("tags"), bad),
        containers=containers,
    )


def _containers(
    holder: dict[str, Any], where: str, aci: bool, bad: Callable[[str], InvalidEvent]
) -> tuple[Container, ...]:
    found: list[Container] = []
    for key, init in (("containers", False), ("initContainers", True)):
        entries = holder.get(key)
        if entries is None and init:
            continue
        if not isinstance(entries, list) or (not init and not entries):
            raise bad(f"{where}.{key} is missing or not a non-empty array")
        for index, entry in enumerate(entries):
            what = f"{where}.{key}[{index}]"
            if not isinstance(entry, dict):
                raise bad(f"{what} is not an object")
            name = entry.get("name")
            if not isinstance(name, str) or not _CONTAINER_NAME.fullmatch(name):
                raise bad(f"{what}.name is missing or malformed")
            source = entry.get("properties") if aci else entry
            image = source.get("image") if isinstance(source, dict) else None
            image_what = f"{what}.properties.image" if aci else f"{what}.image"
            if not isinstance(image, str) or not image.strip():
                raise bad(f"{image_what} is missing")
            if len(image) > MAX_IMAGE:
                raise bad(f"{image_what} is longer than {MAX_IMAGE} characters")
            found.append(Container(name, image.strip(), init))
    if len(found) > MAX_CONTAINERS:
        raise bad(f"container count is above {MAX_CONTAINERS}")
    return tuple(found)


def _tags(value: Any, bad: Callable[[str], InvalidEvent]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("tags is not an object")
    if len(value) > MAX_TAGS:
        raise bad(f"tags has more than {MAX_TAGS} entries")
    tags: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not name or len(name) > MAX_TAG_NAME:
            raise bad("tags has a malformed tag name")
        if not isinstance(text, str) or len(text) > MAX_TAG_VALUE:
            raise bad("tags has a tag value that is not a short string")
        tags[name] = text
    return tags
