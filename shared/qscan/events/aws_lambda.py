"""Lambda CloudTrail calls: CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration.

CloudTrail versions these names (`CreateFunction20150331`, `UpdateFunctionCode20150331v2`,
`UpdateFunctionConfiguration20150331v2`); any `<Name><8-digit date>[v<n>]` of the three is accepted, so a new
API version does not silently stop scanning.

Targets:
- Zip function whose response carries `functionArn`, `codeSha256` and `packageType` → a complete `function`
  target (dedupe key from ARN, code hash and layer version ARNs: a layer-only update rescans).
- Image function (`packageType Image`, or an `imageUri` in the request) → `kind="image"`, platform `lambda`;
  with a digest in the URI it is complete, otherwise it needs lookup `lambda_function` (the function's resolved
  image URI is the exact digest Lambda deployed; a tag may have moved since).
- Anything less (no response recorded, unknown package type) → `lookup="lambda_function"` with
  `resource_id` set to the function ARN or name. The lookup may turn a function target into an image target.
- Dry runs and failed calls are `UnsupportedEvent`. Skipping the scanner's own functions is the handler's job.
"""

from __future__ import annotations

import re
from typing import Any

from qscan.events._util import (
    ApiCall,
    cloudtrail_call,
    fail,
    image_target,
    json_type,
    obj,
    opt_bool,
    opt_list,
    opt_obj,
    opt_str,
    show,
    unsupported,
)
from qscan.refs import aws_partition
from qscan.target import PackageType, ScanTarget

CLOUDTRAIL_SOURCE = "lambda.amazonaws.com"

_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"
_PARTITION = r"aws(?:-cn|-us-gov)?"
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
FUNCTION_ARN_RE = rf"arn:{_PARTITION}:lambda:{_REGION}:[0-9]{{12}}:function:[A-Za-z0-9_-]{{1,64}}(?::(?:\$LATEST|[A-Za-z0-9_-]{{1,128}}))?"
LAYER_ARN_RE = rf"arn:{_PARTITION}:lambda:{_REGION}:[0-9]{{12}}:layer:[A-Za-z0-9_-]{{1,140}}:[0-9]{{1,10}}"
_PARTIAL_ARN_RE = r"(?P<account>[0-9]{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})"
_NAME_RE = r"[A-Za-z0-9_-]{1,64}"
_CODE_SHA_RE = r"[A-Za-z0-9+/]{43}=|[a-f0-9]{64}"
_EVENT_NAME_RE = r"(?P<op>CreateFunction|UpdateFunctionCode|UpdateFunctionConfiguration)[0-9]{8}(?:v[0-9]+)?"


def normalize_lambda_cloudtrail(event: Any) -> list[ScanTarget]:
    call = cloudtrail_call(event, CLOUDTRAIL_SOURCE)
    match = re.fullmatch(_EVENT_NAME_RE, call.name)
    if not match:
        raise unsupported(f"Lambda call {show(call.name)} does not deploy code")
    request = call.request
    if opt_bool(request, "dryRun", "requestParameters.dryRun"):
        raise unsupported(f"{match['op']} dry run: nothing was deployed")
    response = call.response
    function_arn = _function_arn(call, response)
    name = None if function_arn else _function_name(request)
    resource_id = function_arn or name
    if resource_id is None:
        fail("Lambda event names no function (responseElements.functionArn, requestParameters.functionName)")
    package_type = _package_type(response, request)
    code_sha = _code_sha(response)
    image_uri = _image_uri(request)
    if package_type == "Image" or (package_type is None and image_uri is not None):
        if image_uri is None:
            return [
                ScanTarget(
                    kind="image",
                    platform="lambda",
                    function_arn=function_arn,
                    package_type="Image",
                    account=call.account,
                    region=call.region,
                    resource_id=resource_id,
                    event_id=call.event_id,
                    lookup="lambda_function",
                )
            ]
        return [
            image_target(
                image_uri,
                "lambda",
                what="Lambda image URI",
                account=call.account,
                region=call.region,
                resource_id=resource_id,
                event_id=call.event_id,
                function_arn=function_arn,
                package_type="Image",
                lookup_without_digest="lambda_function",
            )
        ]
    layers = _layers(response, request)
    complete = (
        package_type == "Zip" and function_arn is not None and code_sha is not None and layers is not None
    )
    return [
        ScanTarget(
            kind="function",
            platform="lambda",
            function_arn=function_arn,
            code_sha256=code_sha,
            layers=tuple(layers or ()),
            package_type=package_type,
            account=call.account,
            region=call.region,
            resource_id=resource_id,
            event_id=call.event_id,
            lookup=None if complete else "lambda_function",
        )
    ]


def _function_arn(call: ApiCall, response: dict[str, Any] | None) -> str | None:
    if response is not None:
        arn = opt_str(response, "functionArn", "responseElements.functionArn")
        if arn is not None:
            if not re.fullmatch(FUNCTION_ARN_RE, arn):
                fail("responseElements.functionArn is not a Lambda function ARN")
            return arn
    given = opt_str(call.request, "functionName", "requestParameters.functionName")
    if given is None:
        return None
    if given.startswith("arn:"):
        if not re.fullmatch(FUNCTION_ARN_RE, given):
            fail("requestParameters.functionName is not a Lambda function ARN")
        return given
    partial = re.fullmatch(_PARTIAL_ARN_RE, given)
    account, name = (partial["account"], partial["name"]) if partial else (call.account, given)
    if not re.fullmatch(_NAME_RE, name):
        return None  # left to _function_name, which rejects it
    if account is None or call.region is None:
        return None
    return f"arn:{aws_partition(call.region)}:lambda:{call.region}:{account}:function:{name}"


def _function_name(request: dict[str, Any]) -> str | None:
    given = opt_str(request, "functionName", "requestParameters.functionName")
    if given is None:
        return None
    partial = re.fullmatch(_PARTIAL_ARN_RE, given)
    if partial or re.fullmatch(_NAME_RE, given):
        return given
    fail("requestParameters.functionName is not a function name or ARN")


def _package_type(response: dict[str, Any] | None, request: dict[str, Any]) -> PackageType | None:
    value = None
    if response is not None:
        value = opt_str(response, "packageType", "responseElements.packageType")
    if value is None:
        value = opt_str(request, "packageType", "requestParameters.packageType")
    if value is None:
        return None
    if value == "Zip":
        return "Zip"
    if value == "Image":
        return "Image"
    fail(f"unknown Lambda package type {show(value)}")


def _code_sha(response: dict[str, Any] | None) -> str | None:
    if response is None:
        return None
    value = opt_str(response, "codeSha256", "responseElements.codeSha256")
    if value is not None and not re.fullmatch(_CODE_SHA_RE, value):
        fail("responseElements.codeSha256 is not a SHA-256 (base64 or hex)")
    return value


def _image_uri(request: dict[str, Any]) -> str | None:
    code = opt_obj(request, "code", "requestParameters.code")
    uri = opt_str(code, "imageUri", "requestParameters.code.imageUri") if code is not None else None
    return uri or opt_str(request, "imageUri", "requestParameters.imageUri")


def _layers(response: dict[str, Any] | None, request: dict[str, Any]) -> list[str] | None:
    """Layer version ARNs: from the response when recorded (complete), else from the request, else unknown."""
    if response is not None and ("codeSha256" in response or "layers" in response):
        entries = opt_list(response, "layers", "responseElements.layers") or []
        arns = []
        for index, entry in enumerate(entries):
            layer = obj(entry, f"responseElements.layers[{index}]")
            arns.append(_layer_arn(layer.get("arn"), f"responseElements.layers[{index}].arn"))
        return arns
    entries_or_none = opt_list(request, "layers", "requestParameters.layers")
    if entries_or_none is None:
        return None
    return [_layer_arn(entry, f"requestParameters.layers[{i}]") for i, entry in enumerate(entries_or_none)]


def _layer_arn(value: object, what: str) -> str:
    if not isinstance(value, str):
        fail(f"{what} must be a string, not {json_type(value)}")
    if not re.fullmatch(LAYER_ARN_RE, value):
        fail(f"{what} is not a Lambda layer version ARN")
    return value
