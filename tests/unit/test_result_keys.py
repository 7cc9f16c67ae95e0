"""Object keys of results: layout, sanitization and (hypothesis) safety for any input."""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from qscan.results.keys import (
    MAX_COMPONENT,
    MISSING,
    code_sha_component,
    raw_output_key,
    result_key,
    result_prefix,
    sanitize_component,
    sanitize_path,
)
from qscan.results.model import ScanResult
from qscan.target import ScanTarget

DIGEST = "sha256:" + "c" * 64
# A sanitized segment: kept as is, or rewritten with a `~<12 hex>` suffix. Never `.`/`..`, never empty.
SEGMENT = re.compile(
    r"\A(?:[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9_:-])?|[A-Za-z0-9_][A-Za-z0-9._:-]*~[0-9a-f]{12}|-)\Z"
)


def _image(**changes: object) -> ScanResult:
    fields: dict[str, object] = {
        "kind": "image",
        "platform": "ecr",
        "repository": "team/app",
        "digest": DIGEST,
        "account": "123456789012",
        "region": "eu-west-1",
    }
    fields.update(changes)
    return ScanResult(
        target=ScanTarget(**fields), backend="qscanner", status="success", scan_id="20250101T000000Z-abc"
    )  # type: ignore[arg-type]


def _assert_safe_key(key: str) -> None:
    assert key.startswith("results/")
    assert len(key.encode()) <= 1024
    assert not key.startswith("/") and not key.endswith("/") and "//" not in key
    assert "\\" not in key and not any(ord(c) < 32 or ord(c) == 127 for c in key)
    assert key.isascii()
    for segment in key.removesuffix(".json").split("/"):
        assert SEGMENT.match(segment), segment
        assert segment not in (".", "..") and ".." not in segment


def test_image_layout_keeps_repository_nesting() -> None:
    result = _image()
    assert (
        result_key(result)
        == f"results/ecr/123456789012/eu-west-1/team/app/{DIGEST}/20250101T000000Z-abc.json"
    )
    assert raw_output_key(result, "r-Report.sarif.json") == (
        f"results/ecr/123456789012/eu-west-1/team/app/{DIGEST}/20250101T000000Z-abc/r-Report.sarif.json"
    )


def test_missing_values_are_dashes() -> None:
    result = _image(account=None, region=None, repository=None, digest=None, tag="v1", platform="aci")
    assert result_prefix(result) == "results/aci/-/-/-/-"


def test_function_layout_uses_name_and_hex_code_sha() -> None:
    raw = bytes(range(32))
    target = ScanTarget(
        kind="function",
        platform="lambda",
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
        code_sha256=base64.b64encode(raw).decode(),
    )
    result = ScanResult(target=target, backend="qscanner", status="failed", scan_id="s1")
    assert result_key(result) == f"results/lambda/123456789012/eu-west-1/my-fn/{raw.hex()}/s1.json"
    assert code_sha_component("A" * 64) == "a" * 64
    assert code_sha_component(None) == MISSING
    assert "~" in code_sha_component("not base64 / at all")


def test_traversal_and_hostile_components_are_neutralized() -> None:
    result = _image(repository="../../etc/passwd", account="..", region="a/../b", digest="\x00\n..")
    key = result_key(result)
    _assert_safe_key(key)
    dots = sanitize_component("..")
    assert dots.startswith("__~")
    # Nesting is kept, but every segment stays inside the result prefix: `..` is rewritten, never walked.
    assert f"/{dots}/{dots}/etc/passwd/" in key
    assert key.startswith(f"results/ecr/{dots}/")
    assert sanitize_path("team//app/") == "team/app"
    assert sanitize_path("a/b/c/d/e/f").count("/") == 3  # depth is bounded; the tail is folded and hashed
    assert sanitize_component(".hidden").startswith("_hidden~")
    assert sanitize_component("ends.").endswith(sanitize_component("ends.")[-12:])
    assert sanitize_component("-") != MISSING


def test_long_components_are_truncated_with_distinct_hashes() -> None:
    a, b = "x" * 500 + "a", "x" * 500 + "b"
    sa, sb = sanitize_component(a), sanitize_component(b)
    assert len(sa) == len(sb) == MAX_COMPONENT
    assert sa != sb


def test_safe_values_are_kept_unchanged() -> None:
    for value in ("eu-west-1", "123456789012", DIGEST, "app_1.2", "a"):
        assert sanitize_component(value) == value


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_component_is_one_safe_segment(value: str) -> None:
    out = sanitize_component(value)
    assert SEGMENT.match(out), out
    assert len(out) <= MAX_COMPONENT and "/" not in out and ".." not in out


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_distinct_components_stay_distinct(a: str, b: str) -> None:
    if a != b and a and b:
        assert sanitize_component(a) != sanitize_component(b)


@settings(max_examples=200, deadline=None)
@given(
    repository=st.one_of(st.none(), st.text()),
    account=st.one_of(st.none(), st.text()),
    region=st.one_of(st.none(), st.text()),
    digest=st.one_of(st.none(), st.text()),
    scan_id=st.text(min_size=1),
    raw=st.text(),
)
def test_any_target_yields_a_safe_key(
    repository: str | None,
    account: str | None,
    region: str | None,
    digest: str | None,
    scan_id: str,
    raw: str,
) -> None:
    result = _image(repository=repository, account=account, region=region, digest=digest)
    result.scan_id = scan_id
    _assert_safe_key(result_key(result))
    _assert_safe_key(raw_output_key(result, raw))


@settings(max_examples=100, deadline=None)
@given(arn=st.text(), sha=st.one_of(st.none(), st.text()))
def test_any_function_yields_a_safe_key(arn: str, sha: str | None) -> None:
    target = ScanTarget(kind="function", platform="lambda", function_arn=arn or None, code_sha256=sha)
    _assert_safe_key(result_key(ScanResult(target=target, backend="qscanner", status="failed")))
