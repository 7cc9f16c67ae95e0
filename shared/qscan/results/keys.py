"""Deterministic, sanitized object keys for scan results (DESIGN §3 step 4).

Layout (S3 key or blob name):

    results/<platform>/<account>/<region or ->/<repository or function>/<digest or code sha>/<scan id>.json
    results/<platform>/<account>/<region or ->/<repository or function>/<digest or code sha>/<scan id>/<raw name>

A missing value is `-` (a sanitized value never is). Every component is one path segment made safe:

* a value made only of `[A-Za-z0-9._:-]`, starting with a letter or digit, not ending with `.`, without `..`
  and at most `MAX_COMPONENT` characters is kept as is;
* anything else is rewritten (each other character, including `/`, `\\`, control and non-ASCII characters,
  becomes `_`; leading non-alphanumerics, `..` runs and a trailing `.` too) and gets the suffix
  `~<12 hex of sha256(value)>`, truncated first if needed. `~` never occurs in a kept value, so distinct inputs
  give distinct components (up to a 48-bit hash collision) and no component can be `.`, `..` or empty.

Repository names keep their nesting (`team/app` -> `team/app`): the repository is split on `/`, empty
segments are dropped, each segment is sanitized as above (so `..` cannot traverse) and at most
`MAX_REPOSITORY_DEPTH` segments are kept (the rest is folded into the last one, hashed). Functions use the
function name from the ARN (a Lambda code SHA-256, base64 in the API, is written as hex). The whole key stays
well under the 1,024-byte limit of both S3 and Blob Storage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from qscan.results.model import ScanResult

PREFIX = "results"
MISSING = "-"
MAX_COMPONENT = 80
MAX_REPOSITORY_DEPTH = 4
HASH_CHARS = 12
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
SAFE_COMPONENT = r"\A[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9_:-])?\Z"
_UNSAFE_CHAR = r"[^A-Za-z0-9._:-]"
_DOT_RUN = r"\.{2,}"
_HEX64 = r"\A[0-9a-fA-F]{64}\Z"


def _is_kept(value: str) -> bool:
    return len(value) <= MAX_COMPONENT and ".." not in value and re.match(SAFE_COMPONENT, value) is not None


def sanitize_component(value: str | None) -> str:
    """One safe path segment for `value` (`-` when it is None or empty); see the module docstring."""
    if value is None or value == "":
        return MISSING
    if _is_kept(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    text = re.sub(_UNSAFE_CHAR, "_", value)
    text = re.sub(_DOT_RUN, lambda m: "_" * len(m.group()), text)
    if not text[:1].isalnum() or not text[:1].isascii():
        text = "_" + text[1:]
    text = text[: MAX_COMPONENT - HASH_CHARS - 1]
    if text.endswith("."):
        text = text[:-1] + "_"
    return f"{text}~{digest}"


def sanitize_path(value: str | None, max_depth: int = MAX_REPOSITORY_DEPTH) -> str:
    """A nested name (`team/app`) as safe segments joined by `/`; `-` when nothing is left."""
    segments = [s for s in (value or "").split("/") if s]
    if not segments:
        return MISSING
    if len(segments) > max_depth:
        segments = [*segments[: max_depth - 1], "/".join(segments[max_depth - 1 :])]
    return "/".join(sanitize_component(s) for s in segments)


def code_sha_component(code_sha256: str | None) -> str:
    """Lambda's CodeSha256 (base64 of 32 bytes) as 64 hex digits; other values are sanitized as they are."""
    if code_sha256 and re.match(_HEX64, code_sha256):
        return code_sha256.lower()
    if code_sha256:
        try:
            raw = base64.b64decode(code_sha256, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32:
            return raw.hex()
    return sanitize_component(code_sha256)


def _function_name(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[5] == "function":
        return parts[6]
    return arn


def _arn_field(arn: str | None, index: int) -> str | None:
    parts = (arn or "").split(":")
    return parts[index] or None if len(parts) > index and parts[0] == "arn" else None


def result_prefix(result: ScanResult) -> str:
    """`results/<platform>/<account>/<region>/<repository or function>/<digest or code sha>`."""
    target = result.target
    if target.kind == "function":
        account = target.account or _arn_field(target.function_arn, 4)
        region = target.region or _arn_field(target.function_arn, 3)
        name = sanitize_component(_function_name(target.function_arn))
        artifact = code_sha_component(target.code_sha256)
    else:
        account, region = target.account, target.region
        name = sanitize_path(target.repository)
        artifact = sanitize_component(target.digest)
    return "/".join(
        [
            PREFIX,
            sanitize_component(target.platform),
            sanitize_component(account),
            sanitize_component(region),
            name,
            artifact,
        ]
    )


def result_key(result: ScanResult) -> str:
    return f"{result_prefix(result)}/{sanitize_component(result.scan_id)}.json"


def raw_output_key(result: ScanResult, raw_name: str) -> str:
    return f"{result_prefix(result)}/{sanitize_component(result.scan_id)}/{sanitize_component(raw_name)}"
