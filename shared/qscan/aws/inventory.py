"""AWS listers of the reconciler (`qscan.reconcile.core`): what was pushed to ECR, what runs on ECS and Lambda.

One `Source` per (service, region) of an account, named `<account>/<service>/<region>` (stable across runs:
a run cut short by a limit resumes at its source). Each yields `PAGE` before every AWS call and a `Discovered`
per artifact, lazily:

* `ecr`: `ecr:DescribeRepositories`, then `ecr:DescribeImages` per repository; images pushed within
  `pushed_within_seconds` (`imagePushedAt`), one artifact per digest (every tag of a digest is the same
  artifact); image indexes are skipped (their platform manifests are images of their own, as on the push path).
  Workload: the repository name.
* `ecs`: `ecs:ListClusters`, `ecs:ListTasks` (desiredStatus RUNNING), `ecs:DescribeTasks` (100 per call): every
  container's image at the digest it runs (`containers[].imageDigest`); a container without one is resolved
  like the Fargate workflow resolves images (`qscan.aws.ecs.ImageResolver`, the registry resolver: ECR with
  `ecr:BatchGetImage`, other registries over the distribution API). Workload: the task ARN; the target's
  `resource_id` is the task definition ARN (as on the deployment path).
* `lambda`: the bulk scan's listing and filters (`qscan.aws.lambdas.bulk_scan.function_pages`,
  `function_target`: qscan's own functions are skipped). Zip functions are complete from the listing; a
  container-image function is resolved with one `lambda:GetFunction` (`resolve_function`) to the image digest
  it runs. Workload: the function ARN.

Clients come from `client_for(service, account, region)`: `qscan.aws.sessions.Accounts.client`, so another
account is read through its spoke role (QSCAN_SPOKE_ROLE_NAME + QSCAN_SPOKE_EXTERNAL_ID) and every client has
the shared botocore config (retries with backoff on throttling). AWS errors map through `qscan.cloud_errors`;
another service error code is a `QscanError` naming it: the core reports the source and goes on. An artifact
that cannot be resolved (an image gone from its registry or unreadable, a function deleted meanwhile) is an
`Unresolved` error of the run, not the end of its source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from qscan.cloud_errors import aws_error, aws_error_code
from qscan.errors import ConfigError, InvalidEvent, QscanError, UnsupportedEvent
from qscan.events._util import image_target
from qscan.oci import INDEX_TYPES
from qscan.reconcile.core import PAGE, Discovered, Listed, Source, Unresolved
from qscan.refs import parse_image_ref
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)
SERVICES: tuple[str, ...] = ("ecr", "ecs", "lambda")
DESCRIBE_TASKS_BATCH = 100  # ecs:DescribeTasks limit
ClientFor = Callable[[str, str, str], Any]  # (service, account, region) -> boto3 client
ResolveImage = Callable[[ScanTarget], ScanTarget]  # a tag-only image target -> the digest that runs


def aws_sources(
    client_for: ClientFor,
    account: str,
    regions: Sequence[str],
    *,
    now: float,
    pushed_within_seconds: int,
    resolve_image: ResolveImage,
    own_functions: Sequence[str],
    own_account: str,
    own_region: str,
    services: Sequence[str] = SERVICES,
) -> list[Source]:
    """The sources of one account, service by service, region by region."""
    sources: list[Source] = []
    for service in services:
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}")
        for region in regions:
            name = f"{account}/{service}/{region}"
            if service == "ecr":
                sources.append(
                    Source(name, _bind(ecr_items, client_for, account, region, now - pushed_within_seconds))
                )
            elif service == "ecs":
                sources.append(Source(name, _bind(ecs_items, client_for, account, region, resolve_image)))
            else:
                sources.append(
                    Source(
                        name,
                        _bind(
                            lambda_items,
                            client_for,
                            account,
                            region,
                            (tuple(own_functions), own_account, own_region),
                        ),
                    )
                )
    return sources


def _bind(function: Callable[..., Iterator[Listed]], *args: Any) -> Callable[[], Iterator[Listed]]:
    return lambda: function(*args)


# ---------------------------------------------------------------------------------------------- ECR


def ecr_items(client_for: ClientFor, account: str, region: str, pushed_since: float) -> Iterator[Listed]:
    client = client_for("ecr", account, region)
    for repository in _paged(
        client, "describe_repositories", "repositories", f"ecr {region}", registryId=account
    ):
        if repository is PAGE:
            yield PAGE
            continue
        name, uri = repository.get("repositoryName"), repository.get("repositoryUri")
        if not isinstance(name, str) or not isinstance(uri, str):
            continue
        seen: set[str] = set()
        for detail in _paged(
            client,
            "describe_images",
            "imageDetails",
            f"ecr {region} {name[:200]}",
            registryId=account,
            repositoryName=name,
            maxResults=1000,
        ):
            if detail is PAGE:
                yield PAGE
                continue
            digest = detail.get("imageDigest")
            if not isinstance(digest, str) or digest in seen:
                continue
            if detail.get("imageManifestMediaType") in INDEX_TYPES:
                continue
            if _epoch(detail.get("imagePushedAt")) < pushed_since:
                continue
            seen.add(digest)
            item = _image(f"{uri}@{digest}", "ecr", account, region, None, workload=name)
            if item is not None:
                yield item


# ---------------------------------------------------------------------------------------------- ECS


def ecs_items(
    client_for: ClientFor, account: str, region: str, resolve_image: ResolveImage
) -> Iterator[Listed]:
    client = client_for("ecs", account, region)
    for cluster in _paged(client, "list_clusters", "clusterArns", f"ecs {region}"):
        if not isinstance(cluster, str):
            if cluster is PAGE:
                yield PAGE
            continue
        batch: list[str] = []
        for task_arn in _paged(
            client, "list_tasks", "taskArns", f"ecs {region}", cluster=cluster, desiredStatus="RUNNING"
        ):
            if task_arn is PAGE:
                yield PAGE
            elif isinstance(task_arn, str):
                batch.append(task_arn)
                if len(batch) == DESCRIBE_TASKS_BATCH:
                    yield from _describe_tasks(client, cluster, batch, account, region, resolve_image)
                    batch = []
        if batch:
            yield from _describe_tasks(client, cluster, batch, account, region, resolve_image)


def _describe_tasks(  # noqa: PLR0917 - private
    client: Any, cluster: str, tasks: list[str], account: str, region: str, resolve_image: ResolveImage
) -> Iterator[Listed]:
    yield PAGE
    answer = _call(client, "describe_tasks", f"ecs describe_tasks {region}", cluster=cluster, tasks=tasks)
    for task in answer.get("tasks") or []:
        if not isinstance(task, Mapping):
            continue
        task_arn, definition = task.get("taskArn"), task.get("taskDefinitionArn")
        if not isinstance(task_arn, str):
            continue
        for container in task.get("containers") or []:
            if not isinstance(container, Mapping) or not isinstance(container.get("image"), str):
                continue
            image, digest = str(container["image"]), container.get("imageDigest")
            if isinstance(digest, str) and "@" not in image:
                image = f"{image}@{digest}"
            item = _image(
                image,
                "ecs",
                account,
                region,
                definition if isinstance(definition, str) else None,
                workload=task_arn,
                resolve_image=resolve_image,
            )
            if item is not None:
                yield item


# ---------------------------------------------------------------------------------------------- Lambda


def lambda_items(
    client_for: ClientFor, account: str, region: str, own: tuple[tuple[str, ...], str, str]
) -> Iterator[Listed]:
    from qscan.aws.lambdas.bulk_scan import function_pages, function_target  # noqa: PLC0415
    from qscan.aws.lambdas.resolve import resolve_function  # noqa: PLC0415

    own_functions, own_account, own_region = own
    client = client_for("lambda", account, region)
    pages = function_pages(client, region)
    while True:
        yield PAGE
        page = next(pages, None)
        if page is None:
            return
        for entry in page:
            target = function_target(
                entry, own_functions=own_functions, own_account=own_account, own_region=own_region
            )
            if isinstance(target, str):
                continue
            arn = str(target.function_arn)
            if target.lookup is not None:  # a container-image function: the digest it runs, from GetFunction
                yield PAGE
                try:
                    target = resolve_function(target, client)
                except (InvalidEvent, UnsupportedEvent, ConfigError) as exc:
                    yield Unresolved(f"function {arn}", exc.reason)
                    continue
            artifact = target.image if target.kind == "image" and target.image else arn
            yield Discovered(target, "lambda", arn, region, artifact)


# ---------------------------------------------------------------------------------------------- shared


def _image(
    image: str,
    platform: str,
    account: str,
    region: str,
    resource_id: str | None,
    *,
    workload: str,
    resolve_image: ResolveImage | None = None,
) -> Discovered | Unresolved | None:
    try:
        target = image_target(
            image,
            platform,  # type: ignore[arg-type]
            what="image",
            account=account,
            region=region,
            resource_id=resource_id,
        )
        if target.lookup is not None:
            if resolve_image is None:
                return None
            target = resolve_image(target)
    except (InvalidEvent, UnsupportedEvent, ConfigError) as exc:
        return Unresolved(f"image {image[:300]} of {workload[:300]}", exc.reason)
    ref = parse_image_ref(f"{target.registry}/{target.repository}@{target.digest}")
    return Discovered(target, platform, workload, region, ref.canonical)  # type: ignore[arg-type]


def _paged(client: Any, operation: str, key: str, action: str, **params: Any) -> Iterator[Any]:
    """The `key` entries of every page of `operation` (`nextToken`), with PAGE before each call."""
    token: str | None = None
    while True:
        yield PAGE
        if token:
            params["nextToken"] = token
        page = _call(client, operation, f"{action} {operation}", **params)
        yield from page.get(key) or []
        next_token = page.get("nextToken")
        if not next_token or next_token == token:
            return
        token = str(next_token)


def _call(client: Any, operation: str, action: str, **params: Any) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = getattr(client, operation)(**params)
    except Exception as exc:
        mapped = aws_error(exc, action)
        if mapped is not None:
            raise mapped from exc
        code = aws_error_code(exc)
        if not code:
            raise
        raise QscanError(f"{action}: {code}") from exc
    return answer


def _epoch(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0
