"""The reconciler's synthetic scan requests: a ScanTarget wrapped in an EventBridge-shaped event.

Format (what `scan_request_event` builds, and what goes on the bus or into an SQS body):

    {
      "version": "0",
      "id": "<unique id>",                      # required; becomes the target's event_id if it has none
      "source": "qscan.reconciler",
      "detail-type": "qscan Scan Request",
      "account": "<12 digits>", "region": "<region>",   # optional
      "time": "<ISO 8601>",                     # optional
      "detail": {
        "target": { ...ScanTarget fields (ScanTarget.to_dict)... },   # required
        "reason": "ecr-recent-push"             # optional: why the reconciler asks ([a-z0-9-], <= 64)
      }
    }

Validation is strict: unknown keys in `detail` or in the target are rejected; images are parsed with
`qscan.refs` and must agree with the registry/repository/tag/digest fields; ARNs, digests, accounts and regions
are checked; a `dedupe_key` that differs from the one the target computes is rejected (a forged key could
mark another artifact as scanned).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from qscan.errors import InvalidEvent, InvalidReference
from qscan.events._util import (
    ACCOUNT_RE,
    RECONCILER_SOURCE,
    REGION_RE,
    SUBSCRIPTION_RE,
    check_event_id,
    envelope,
    fail,
    obj,
    one_line,
    opt_str,
    show,
    unsupported,
)
from qscan.events.aws_lambda import FUNCTION_ARN_RE, LAYER_ARN_RE
from qscan.refs import parse_image_ref, validate_digest, validate_repository, validate_tag
from qscan.target import ScanTarget

SOURCE = RECONCILER_SOURCE
DETAIL_TYPE = "qscan Scan Request"
DETAIL_KEYS = frozenset({"target", "reason"})
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_REASON_RE = r"[a-z0-9][a-z0-9-]{0,63}"
_AZURE_REGION_RE = r"[a-z0-9]{2,40}"
_CODE_SHA_RE = r"[A-Za-z0-9+/]{43}=|[a-f0-9]{64}"
_RESOURCE_ID_RE = r"[A-Za-z0-9/][A-Za-z0-9._:/()$-]{0,1023}"


def is_reconciler_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("source") == SOURCE


def scan_request_event(
    target: ScanTarget,
    *,
    event_id: str | None = None,
    reason: str | None = None,
    account: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Build a scan request (it round-trips through `normalize_reconciler`)."""
    detail: dict[str, Any] = {"target": target.to_dict()}
    if reason is not None:
        detail["reason"] = reason
    event: dict[str, Any] = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "source": SOURCE,
        "detail-type": DETAIL_TYPE,
        "detail": detail,
    }
    if account is not None:
        event["account"] = account
    if region is not None:
        event["region"] = region
    return event


def normalize_reconciler(event: Any) -> list[ScanTarget]:
    env = envelope(event)
    if env.source != SOURCE or env.detail_type != DETAIL_TYPE:
        raise unsupported(f"not a qscan scan request (detail-type {show(env.detail_type)})")
    if env.event_id is None:
        fail("scan request has no id")
    detail = env.detail
    unknown = sorted(str(key)[:40] for key in set(detail) - DETAIL_KEYS)
    if unknown:
        fail(f"scan request detail has unknown key(s): {', '.join(show(key) for key in unknown[:5])}")
    reason = opt_str(detail, "reason", "detail.reason")
    if reason is not None and not re.fullmatch(_REASON_RE, reason):
        fail("detail.reason must be lower-case letters, digits and '-' (at most 64)")
    raw = obj(detail.get("target"), "detail.target")
    given_key = raw.get("dedupe_key")
    try:
        target = ScanTarget.from_dict({**raw, "dedupe_key": None})
    except InvalidEvent as exc:
        fail(f"detail.target: {exc.reason}")
    except TypeError:  # from_dict forwards keys as keyword arguments; a non-string key ends up here
        fail("detail.target has a malformed key")
    target = _checked(target)
    if target.event_id is None:
        target = _with(target, event_id=env.event_id)
    if given_key is not None and given_key != target.dedupe_key:
        fail("detail.target.dedupe_key does not match the target")
    return [target]


def _checked(target: ScanTarget) -> ScanTarget:
    if target.account is not None and not (
        re.fullmatch(ACCOUNT_RE, target.account) or re.fullmatch(SUBSCRIPTION_RE, target.account)
    ):
        fail("target.account must be an AWS account id or an Azure subscription id")
    if target.region is not None and not (
        re.fullmatch(REGION_RE, target.region) or re.fullmatch(_AZURE_REGION_RE, target.region)
    ):
        fail("target.region is not a region name")
    check_event_id(target.event_id, "target.event_id")
    if target.resource_id is not None and not re.fullmatch(_RESOURCE_ID_RE, target.resource_id):
        fail("target.resource_id has unexpected characters or length")
    if target.code_sha256 is not None and not re.fullmatch(_CODE_SHA_RE, target.code_sha256):
        fail("target.code_sha256 is not a SHA-256 (base64 or hex)")
    if target.function_arn is not None and not re.fullmatch(FUNCTION_ARN_RE, target.function_arn):
        fail("target.function_arn is not a Lambda function ARN")
    for index, layer in enumerate(target.layers):
        if not re.fullmatch(LAYER_ARN_RE, layer):
            fail(f"target.layers[{index}] is not a Lambda layer version ARN")
    try:
        if target.kind == "image":
            target = _checked_image(target)
        elif target.package_type == "Image":
            fail("a function target cannot have package_type Image (container functions are images)")
        elif target.lookup is None and not (target.function_arn and target.code_sha256):
            fail("a function target needs function_arn and code_sha256, or lookup lambda_function")
    except InvalidReference as exc:
        raise InvalidReference(one_line(f"detail.target: {exc.reason}")) from None
    return target


def _checked_image(target: ScanTarget) -> ScanTarget:
    if target.layers:
        fail("an image target has no layers")
    if target.image is not None:
        ref = parse_image_ref(target.image)
        parsed = {
            "registry": ref.registry,
            "repository": ref.repository,
            "tag": ref.tag,
            "digest": ref.digest,
        }
        for key, value in parsed.items():
            given = getattr(target, key)
            if given is not None and given != value:
                fail(f"target.{key} does not match target.image")
        target = _with(target, image=ref.canonical, **parsed)
    else:
        if (
            target.registry is not None
            and parse_image_ref(f"{target.registry}/x").registry != target.registry
        ):
            fail("target.registry is not a normalized registry host")
        if target.repository is not None:
            validate_repository(target.repository)
        if target.tag is not None:
            validate_tag(target.tag)
        if target.digest is not None:
            validate_digest(target.digest)
    if target.lookup is None and target.digest is None:
        fail("an image target without digest needs a lookup")
    if target.lookup is not None and target.image is None and target.resource_id is None:
        fail("an image target with a lookup needs image or resource_id")
    return target


def _with(target: ScanTarget, **changes: Any) -> ScanTarget:
    data = target.to_dict()
    data.update(changes)
    data["dedupe_key"] = None
    data["layers"] = tuple(data["layers"])
    return ScanTarget(**data)
