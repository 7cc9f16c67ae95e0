"""Complete a Lambda function target with one `lambda:GetFunction` call, and recognise the scanner's own.

`resolve_function(target, client)` takes a target that names a function (lookup `lambda_function`: ARN,
partial ARN `<account>:function:<name>` or name, in `function_arn` or `resource_id`) and a boto3 `lambda`
client created by the caller for the function's region and account (assumed-role credentials for spokes:
`locate_function(target)` says which). GetFunction returns everything in one call:

- `PackageType Zip` -> `kind="function"`: `code_sha256` (Configuration.CodeSha256), `layers` (the layer
  VERSION ARNs of Configuration.Layers[].Arn: a layer-only update changes the dedupe key), `package_type "Zip"`.
- `PackageType Image` -> `kind="image"`, platform `lambda`: `image` is Code.ResolvedImageUri, the digest Lambda
  actually deployed (a tag may have moved since), parsed with `qscan.refs`; the tag of Code.ImageUri is kept
  when it names the same repository. Layers do not apply to image functions.
- Always: `function_arn` is the UNQUALIFIED function ARN (the qualifier of an alias or version is dropped:
  CreateFunction / UpdateFunctionCode / UpdateFunctionConfiguration change `$LATEST`, and a published version
  is an immutable copy of a `$LATEST` that was scanned when it was deployed), `account` and `region` come from
  that ARN, `lookup` is cleared and the dedupe key computed.

Outcomes:
- the function no longer exists (`ResourceNotFoundException`: deleted between the event and the lookup) ->
  `FunctionGone`, an `UnsupportedEvent`: there is nothing left to scan, so the handler skips it with its reason
  and it is never retried (a retry could only find the same absence until the message dead-letters);
- a malformed function name -> `InvalidEvent` (skipped with a warning);
- throttling, 5xx, connection failures, or a response without the fields above (a function still being
  created) -> `TransientError` (raise: the platform retries, then dead-letters);
- access denied -> `ConfigError` (the scanner or spoke role lacks `lambda:GetFunction`), as is a function of
  another account than the target's (the client acts in the wrong account).

`is_own_function(target, own, own_account=...)` recognises the scanner's own functions by exact name (in the
scanner's own account and region) or ARN, so the handler can skip them (see there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from qscan.cloud_errors import aws_error
from qscan.errors import ConfigError, InvalidEvent, InvalidReference, TransientError, UnsupportedEvent
from qscan.events.aws_lambda import FUNCTION_ARN_RE, LAYER_ARN_RE
from qscan.refs import ImageRef, aws_partition, image_ref, parse_image_ref
from qscan.structs import struct
from qscan.target import ScanTarget

# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_NAME_RE = r"[A-Za-z0-9_-]{1,64}"
_PARTIAL_ARN_RE = (
    r"(?P<account>[0-9]{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)
_CODE_SHA_RE = r"[A-Za-z0-9+/]{43}=|[a-f0-9]{64}"
_ERROR_CODE_RE = r"[A-Za-z0-9._-]{1,100}"
_NOT_FOUND = "ResourceNotFoundException"
_BAD_INPUT = frozenset({"InvalidParameterValueException", "ValidationException"})
_ACTION = "lambda get_function"


class FunctionGone(UnsupportedEvent):
    """The function named by the event no longer exists: skip it (nothing to scan), never retry."""


@struct
class FunctionLocator:
    """What GetFunction needs: `function_name` and where the function lives.

    `function_name` is the unqualified ARN whenever account and region are known (built from a name or partial
    ARN when needed), else the partial ARN `<account>:function:<name>`, else the bare name.
    `account` / `region` are None when the target does not say: the caller's client decides.
    """

    function_name: str
    name: str
    account: str | None
    region: str | None


def unqualified_function_arn(arn: str) -> str:
    """`arn:...:function:<name>` without a `:<version|alias>` qualifier; InvalidEvent if not a function ARN."""
    if not re.fullmatch(FUNCTION_ARN_RE, arn):
        raise InvalidEvent("not a Lambda function ARN")
    return ":".join(arn.split(":")[:7])


def locate_function(target: ScanTarget) -> FunctionLocator:
    """Where the target's function is (from `function_arn`, else `resource_id`), or InvalidEvent."""
    given = target.function_arn or target.resource_id
    if not given:
        raise InvalidEvent("the target names no Lambda function (function_arn or resource_id)")
    if given.startswith("arn:"):
        arn = unqualified_function_arn(given)
        parts = arn.split(":")
        account, region, name = parts[4], parts[3], parts[6]
        if target.account is not None and target.account != account:
            raise InvalidEvent("the target's account differs from the account in its function ARN")
        if target.region is not None and target.region != region:
            raise InvalidEvent("the target's region differs from the region in its function ARN")
        return FunctionLocator(function_name=arn, name=name, account=account, region=region)
    partial = re.fullmatch(_PARTIAL_ARN_RE, given)
    owner: str | None
    if partial:
        if target.account is not None and target.account != partial["account"]:
            raise InvalidEvent("the target's account differs from the account in its function name")
        owner, short = partial["account"], partial["name"]
    elif re.fullmatch(_NAME_RE, given):
        owner, short = target.account, given
    else:
        raise InvalidEvent("the target's function is not a Lambda function name or ARN")
    where = target.region
    if owner is not None and where is not None:  # a full ARN pins the account GetFunction reads
        function_name = f"arn:{aws_partition(where)}:lambda:{where}:{owner}:function:{short}"
    elif owner is not None:
        function_name = f"{owner}:function:{short}"  # a partial ARN (GetFunction accepts it)
    else:
        function_name = short
    return FunctionLocator(function_name=function_name, name=short, account=owner, region=where)


def function_lookup_target(
    function: str,
    *,
    account: str | None = None,
    region: str | None = None,
    event_id: str | None = None,
    image: bool = False,
) -> ScanTarget:
    """A target that needs lookup `lambda_function` (for callers that know a function by name or ARN only).

    `image=True` (the function is known to be a container function) makes it an image target, which is what
    the lookup turns it into anyway; it then carries `package_type "Image"`.
    """
    arn = unqualified_function_arn(function) if function.startswith("arn:") else None
    target = ScanTarget(
        kind="image" if image else "function",
        platform="lambda",
        function_arn=arn,
        package_type="Image" if image else None,
        account=account,
        region=region,
        resource_id=arn or function,
        event_id=event_id,
        lookup="lambda_function",
    )
    locate_function(target)  # validates the name and the account/region agreement
    return target


def resolve_function(target: ScanTarget, client: Any) -> ScanTarget:
    """The resolved target of a Lambda function (see the module docstring for the outcomes)."""
    if target.lookup not in (None, "lambda_function"):
        raise ValueError(f"resolve_function cannot do lookup {target.lookup!r}")
    locator = locate_function(target)
    try:
        response = client.get_function(FunctionName=locator.function_name)
    except Exception as exc:
        raise _mapped(exc, locator) from exc
    if not isinstance(response, dict):
        raise TransientError(f"{_ACTION} {locator.name}: unexpected response")
    config = response.get("Configuration")
    if not isinstance(config, dict):
        raise TransientError(f"{_ACTION} {locator.name}: response has no Configuration")
    arn_value = config.get("FunctionArn")
    if not isinstance(arn_value, str) or not re.fullmatch(FUNCTION_ARN_RE, arn_value):
        raise TransientError(f"{_ACTION} {locator.name}: response has no valid FunctionArn")
    arn = unqualified_function_arn(arn_value)
    parts = arn.split(":")
    region, account = parts[3], parts[4]
    if locator.account is not None and locator.account != account:
        raise ConfigError(
            f"{_ACTION} {locator.name}: the client reads account {account}, the target is in "
            f"{locator.account} (create the client with that account's credentials)"
        )
    code = response.get("Code")
    code = code if isinstance(code, dict) else {}
    package_type = config.get("PackageType")
    if package_type is None:
        package_type = "Image" if code.get("ImageUri") else "Zip"
    common: dict[str, Any] = {
        "platform": "lambda",
        "function_arn": arn,
        "account": account,
        "region": region,
        "resource_id": target.resource_id or arn,
    }
    if package_type == "Zip":
        return target.resolved(
            kind="function",
            package_type="Zip",
            code_sha256=_code_sha(config, locator),
            layers=_layers(config, locator),
            image=None,
            registry=None,
            repository=None,
            tag=None,
            digest=None,
            **common,
        )
    if package_type == "Image":
        ref = _image(code, locator)
        return target.resolved(
            kind="image",
            package_type="Image",
            image=ref.canonical,
            registry=ref.registry,
            repository=ref.repository,
            tag=ref.tag,
            digest=ref.digest,
            code_sha256=None,
            layers=(),
            **common,
        )
    raise UnsupportedEvent(f"{_ACTION} {locator.name}: package type is neither Zip nor Image")


def is_own_function(
    target: ScanTarget,
    own: str | Iterable[str],
    *,
    own_account: str | None,
    own_region: str | None = None,
) -> bool:
    """True when the target is one of the scanner's own functions (the handler then skips it).

    Each entry of `own` is either
    - a function ARN: exactly that function (qualifiers are ignored on both sides); an ARN names its account and
      region, so it never matches another account's function; or
    - a function NAME, matched exactly (case-sensitive like Lambda names; never as a prefix, so `qscan-billing`
      is not a `qscan-lambda-scanner`): the function of that name in `own_account` and, when given, in
      `own_region`. A function of another account or region with the same name is NOT own (a spoke, or another
      region's deployment, may have an application function called like a qscan scanner). A target that does
      not say its account (or region) counts as being in the own one, where the caller would read it.
      `own_account=None` is for callers that only ever see their own account's functions (a ListFunctions
      listing); it makes names match in every account, so a handler of forwarded events must pass its account.

    A target that names no Lambda function is never "own". Empty entries, and entries that are neither a
    function name nor a function ARN, raise ValueError (a caller's bug: settings are validated before).
    """
    entries = [own] if isinstance(own, str) else list(own)
    own_arns: set[str] = set()
    own_names: set[str] = set()
    for entry in entries:
        if entry.startswith("arn:"):
            try:
                own_arns.add(unqualified_function_arn(entry))
            except InvalidEvent:
                raise ValueError("an own function ARN is not a Lambda function ARN") from None
        elif re.fullmatch(_NAME_RE, entry):
            own_names.add(entry)
        else:
            raise ValueError("own functions are Lambda function names (1-64 of A-Z a-z 0-9 _ -) or ARNs")
    try:
        locator = locate_function(target)
    except InvalidEvent:
        return False
    if locator.function_name.startswith("arn:") and locator.function_name in own_arns:
        return True
    if locator.name not in own_names:
        return False
    other_account = own_account is not None and locator.account not in (None, own_account)
    other_region = own_region is not None and locator.region not in (None, own_region)
    return not (other_account or other_region)


# ---------------------------------------------------------------------------------------------- internals


def _mapped(exc: Exception, locator: FunctionLocator) -> Exception:
    code = aws_error_code(exc)
    if code == _NOT_FOUND:
        return FunctionGone(f"Lambda function {locator.name} no longer exists (deleted after the event)")
    if code in _BAD_INPUT:
        return InvalidEvent(f"{_ACTION} {locator.name}: {code}")
    mapped = aws_error(exc, f"{_ACTION} {locator.name}")
    return mapped if mapped is not None else exc


def aws_error_code(exc: BaseException) -> str | None:
    """The service error code of a botocore ClientError (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and re.fullmatch(_ERROR_CODE_RE, code):
            return code
    return None


def _code_sha(config: dict[str, Any], locator: FunctionLocator) -> str:
    value = config.get("CodeSha256")
    if not isinstance(value, str) or not re.fullmatch(_CODE_SHA_RE, value):
        raise TransientError(f"{_ACTION} {locator.name}: response has no valid CodeSha256")
    return value


def _layers(config: dict[str, Any], locator: FunctionLocator) -> list[str]:
    entries = config.get("Layers") or []
    if not isinstance(entries, list):
        raise TransientError(f"{_ACTION} {locator.name}: Layers is not a list")
    arns = []
    for index, entry in enumerate(entries):
        arn = entry.get("Arn") if isinstance(entry, dict) else None
        if not isinstance(arn, str) or not re.fullmatch(LAYER_ARN_RE, arn):
            raise InvalidEvent(f"{_ACTION} {locator.name}: Layers[{index}] is not a layer version ARN")
        arns.append(arn)
    return arns


def _image(code: dict[str, Any], locator: FunctionLocator) -> ImageRef:
    resolved = _parse(code.get("ResolvedImageUri"), "Code.ResolvedImageUri", locator)
    requested = _parse(code.get("ImageUri"), "Code.ImageUri", locator)
    base = resolved if resolved is not None and resolved.digest else None
    if base is None and requested is not None and requested.digest:
        base = requested
    if base is None:
        raise TransientError(f"{_ACTION} {locator.name}: the image URI is not resolved to a digest yet")
    tag = None
    if requested is not None and requested.tag is not None and requested.name == base.name:
        tag = requested.tag
    return image_ref(base.registry, base.repository, tag, base.digest)


def _parse(value: object, what: str, locator: FunctionLocator) -> ImageRef | None:
    if value is None or value == "":
        return None
    try:
        return parse_image_ref(value)
    except InvalidReference as exc:
        raise InvalidReference(f"{_ACTION} {locator.name}: {what}: {exc.reason}") from None
