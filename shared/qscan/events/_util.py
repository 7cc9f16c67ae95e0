"""Small, typed accessors shared by the normalizers.

Events are untrusted JSON: every access checks the type and raises `InvalidEvent` with a one-line reason
instead of letting KeyError/TypeError/AttributeError escape. Reasons never echo free-form values: `show`
prints a value only when it is short and made of harmless characters (identifiers, names, media types).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NoReturn

from qscan.errors import InvalidEvent, InvalidReference, UnsupportedEvent
from qscan.redact import redact
from qscan.refs import parse_image_ref
from qscan.structs import struct
from qscan.target import Lookup, Platform, ScanTarget

MAX_REASON = 240
MAX_STRING = 4096  # longest string field accepted anywhere in an event

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
ACCOUNT_RE = r"[0-9]{12}"
SUBSCRIPTION_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # an Azure subscription id
REGION_RE = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"
EVENT_ID_RE = r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}"
_SAFE = r"[A-Za-z0-9 ._:/@+-]{1,80}"
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+"

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

# What `qscan.events.detect` tells sources by, kept here so detection never imports a source's module (an AWS
# handler never loads the Azure normalizers); the source modules use the same names.
ECR_SOURCE = "aws.ecr"
ECR_DETAIL_TYPE = "ECR Image Action"
RECONCILER_SOURCE = "qscan.reconciler"
EVENTGRID_MAX_EVENTS = 1000  # events in one Event Grid array


def is_eventgrid_event(event: object) -> bool:
    return isinstance(event, dict) and ("eventType" in event or "specversion" in event)


def is_activity_log_record(event: object) -> bool:
    return isinstance(event, dict) and "operationName" in event and "resourceId" in event


def one_line(text: str) -> str:
    """A reason fit for one log line: no control characters, bounded length, secrets masked."""
    text = redact(re.sub(_CONTROL, " ", text)).strip()
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def invalid(reason: str) -> InvalidEvent:
    return InvalidEvent(one_line(reason))


def unsupported(reason: str) -> UnsupportedEvent:
    return UnsupportedEvent(one_line(reason))


def fail(reason: str) -> NoReturn:
    raise invalid(reason)


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: object) -> str:
    """A safe rendering of an event value for a reason: short harmless strings verbatim, else their type."""
    if isinstance(value, str):
        if re.fullmatch(_SAFE, value):
            return repr(value)
        return f"<string of {len(value)} characters>"
    return f"<{json_type(value)}>"


def obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(f"{what} must be an object, not {json_type(value)}")
    return value


def opt_obj(parent: dict[str, Any], key: str, what: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    return obj(value, what)


def opt_str(parent: dict[str, Any], key: str, what: str, *, empty_is_none: bool = True) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(f"{what} must be a string, not {json_type(value)}")
    if len(value) > MAX_STRING:
        fail(f"{what} is longer than {MAX_STRING} characters")
    if empty_is_none and not value:
        return None
    return value


def req_str(parent: dict[str, Any], key: str, what: str) -> str:
    value = opt_str(parent, key, what)
    if value is None:
        fail(f"{what} is missing")
    return value


def opt_list(parent: dict[str, Any], key: str, what: str) -> list[Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        fail(f"{what} must be an array, not {json_type(value)}")
    return value


def opt_bool(parent: dict[str, Any], key: str, what: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        fail(f"{what} must be a boolean, not {json_type(value)}")
    return value


def check_account(value: str | None, what: str) -> str | None:
    if value is not None and not re.fullmatch(ACCOUNT_RE, value):
        fail(f"{what} must be a 12-digit AWS account id")
    return value


def check_region(value: str | None, what: str) -> str | None:
    if value is not None and not re.fullmatch(REGION_RE, value):
        fail(f"{what} is not an AWS region name")
    return value


def check_event_id(value: str | None, what: str) -> str | None:
    if value is not None and not re.fullmatch(EVENT_ID_RE, value):
        fail(f"{what} has unexpected characters or length")
    return value


def image_target(
    reference: str,
    platform: Platform,
    *,
    what: str,
    account: str | None = None,
    region: str | None = None,
    resource_id: str | None = None,
    event_id: str | None = None,
    function_arn: str | None = None,
    package_type: Any = None,
    code_sha256: str | None = None,
    lookup_without_digest: Lookup = "image_digest",
) -> ScanTarget:
    """An image target from a reference found in an event; a reference without digest needs a lookup."""
    try:
        ref = parse_image_ref(reference)
    except InvalidReference as exc:
        raise InvalidReference(one_line(f"{what}: {exc.reason}")) from None
    return ScanTarget(
        kind="image",
        platform=platform,
        image=ref.canonical,
        registry=ref.registry,
        repository=ref.repository,
        tag=ref.tag,
        digest=ref.digest,
        function_arn=function_arn,
        code_sha256=code_sha256,
        package_type=package_type,
        account=account,
        region=region,
        resource_id=resource_id,
        event_id=event_id,
        lookup=None if ref.digest else lookup_without_digest,
    )


def workload_images(
    containers: Iterable[tuple[str, str, str]],
    platform: Platform,
    *,
    account: str | None,
    region: str | None = None,
    resource_id: str,
    event_id: str | None,
) -> dict[str, tuple[ScanTarget, list[str]]]:
    """One image target per distinct image reference of a workload, in container order, with the names of the
    containers that run it. `containers`: (name, image reference, where the reference was found)."""
    found: dict[str, tuple[ScanTarget, list[str]]] = {}
    for name, reference, what in containers:
        target = image_target(
            reference,
            platform,
            what=what,
            account=account,
            region=region,
            resource_id=resource_id,
            event_id=event_id,
        )
        assert target.image is not None
        found.setdefault(target.image, (target, []))[1].append(name)
    return found


@struct
class Envelope:
    """The EventBridge event envelope (also the shape of events in SQS bodies)."""

    event_id: str | None
    source: str | None
    detail_type: str | None
    account: str | None
    region: str | None
    detail: dict[str, Any]


def envelope(event: object) -> Envelope:
    data = obj(event, "event")
    return Envelope(
        event_id=check_event_id(opt_str(data, "id", "event id"), "event id"),
        source=opt_str(data, "source", "event source"),
        detail_type=opt_str(data, "detail-type", "event detail-type"),
        account=check_account(opt_str(data, "account", "event account"), "event account"),
        region=check_region(opt_str(data, "region", "event region"), "event region"),
        detail=obj(data.get("detail"), "event detail"),
    )


@struct
class ApiCall:
    """A successful AWS API call recorded by CloudTrail and delivered through EventBridge."""

    name: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    account: str | None
    region: str | None
    event_id: str | None


def cloudtrail_call(event: object, event_source: str, names: frozenset[str] | None = None) -> ApiCall:
    """Unwrap a CloudTrail event for `event_source`; failed calls and other calls are UnsupportedEvent."""
    env = envelope(event)
    if env.detail_type != CLOUDTRAIL_DETAIL_TYPE:
        raise unsupported(f"not a CloudTrail API call event (detail-type {show(env.detail_type)})")
    detail = env.detail
    source = opt_str(detail, "eventSource", "detail.eventSource")
    if source != event_source:
        raise unsupported(f"CloudTrail event from {show(source)}, not {event_source}")
    name = req_str(detail, "eventName", "detail.eventName")
    if names is not None and name not in names:
        raise unsupported(f"CloudTrail {event_source} call {show(name)} is not scanned")
    error = detail.get("errorCode")
    if error is not None:
        raise unsupported(f"the {show(name)} call failed ({show(error)}): nothing was deployed")
    account = env.account or check_account(
        opt_str(detail, "recipientAccountId", "detail.recipientAccountId"), "detail.recipientAccountId"
    )
    region = env.region or check_region(opt_str(detail, "awsRegion", "detail.awsRegion"), "detail.awsRegion")
    return ApiCall(
        name=name,
        request=opt_obj(detail, "requestParameters", "detail.requestParameters") or {},
        response=opt_obj(detail, "responseElements", "detail.responseElements"),
        account=account,
        region=region,
        event_id=env.event_id,
    )
