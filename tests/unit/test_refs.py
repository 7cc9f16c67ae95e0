"""qscan.refs: the image reference grammar, normalization, classification and rejections."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qscan.errors import InvalidEvent, InvalidReference
from qscan.refs import (
    MAX_REFERENCE_LENGTH,
    ImageRef,
    classify_registry,
    ecr_registry_host,
    format_image_ref,
    image_ref,
    parse_image_ref,
    validate_digest,
)

from tests.hypothesis_profiles import property_settings

DIGEST = "sha256:" + "0123456789abcdef" * 4
ECR = "111122223333.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", None, None),
        ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        ("docker.io/nginx", "docker.io", "library/nginx", None, None),
        ("index.docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        ("registry-1.docker.io/bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
        ("fluent/fluent-bit:3.0.7", "docker.io", "fluent/fluent-bit", "3.0.7", None),
        (f"{ECR}/payments/orders-api:2.14.0", ECR, "payments/orders-api", "2.14.0", None),
        (f"{ECR}/payments/orders-api@{DIGEST}", ECR, "payments/orders-api", None, DIGEST),
        (f"{ECR}/orders:2.14.0@{DIGEST}", ECR, "orders", "2.14.0", DIGEST),
        ("localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", None),
        ("localhost/app", "localhost", "app", None, None),
        ("Registry.Example.COM:8443/a/b", "registry.example.com:8443", "a/b", None, None),
        ("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", None),
        ("ghcr.io/org/my__app.v2-x:TAG_1.0-rc", "ghcr.io", "org/my__app.v2-x", "TAG_1.0-rc", None),
        ("quay.io/a--b/c:latest", "quay.io", "a--b/c", "latest", None),
    ],
)
def test_parses_and_normalizes(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image_ref(text)
    assert ref == ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)
    assert parse_image_ref(ref.canonical) == ref
    assert format_image_ref(ref) == ref.canonical == str(ref)


def test_docker_hub_spellings_are_one_reference() -> None:
    spellings = ["nginx:1", "docker.io/nginx:1", "docker.io/library/nginx:1", "index.docker.io/nginx:1"]
    assert {parse_image_ref(s).canonical for s in spellings} == {"docker.io/library/nginx:1"}


def test_other_registries_keep_single_component_and_no_default_tag() -> None:
    ref = parse_image_ref("ghcr.io/app")
    assert ref.canonical == "ghcr.io/app"
    assert ref.tag is None


@pytest.mark.parametrize(
    ("host", "kind", "account", "region", "fips", "partition"),
    [
        (ECR, "ecr", "111122223333", "us-east-1", False, "aws"),
        (
            "111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "ecr",
            "111122223333",
            "us-gov-west-1",
            True,
            "aws-us-gov",
        ),
        (
            "111122223333.dkr.ecr-fips.us-east-2.amazonaws.com",
            "ecr",
            "111122223333",
            "us-east-2",
            True,
            "aws",
        ),
        (
            "444455556666.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "ecr",
            "444455556666",
            "cn-north-1",
            False,
            "aws-cn",
        ),
        ("111122223333.dkr-ecr.eu-west-1.on.aws", "ecr", "111122223333", "eu-west-1", False, "aws"),
        (
            "444455556666.dkr.ecr.cn-north-1.amazonaws.com",
            "other",
            None,
            None,
            False,
            None,
        ),  # China needs .cn
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com.cn", "other", None, None, False, None),
        ("11112222333.dkr.ecr.us-east-1.amazonaws.com", "other", None, None, False, None),  # 11 digits
        ("public.ecr.aws", "other", None, None, False, None),
        ("docker.io", "dockerhub", None, None, False, None),
        ("ghcr.io", "other", None, None, False, None),
    ],
)
def test_classifies_ecr(
    host: str, kind: str, account: str | None, region: str | None, fips: bool, partition: str | None
) -> None:
    info = classify_registry(host)
    assert (info.kind, info.account, info.region, info.fips, info.partition) == (
        kind,
        account,
        region,
        fips,
        partition,
    )


def test_classifies_acr_and_exposes_info_on_refs() -> None:
    ref = parse_image_ref("contosoprod.azurecr.io/shop/storefront:4.2.0")
    assert ref.kind == "acr"
    assert ref.info.acr_name == "contosoprod"
    assert classify_registry("contoso.azurecr.us").kind == "acr"
    assert classify_registry("contoso.azurecr.io.evil.com").kind == "other"
    assert parse_image_ref(f"{ECR}/x:1").info.account == "111122223333"


def test_ecr_registry_host() -> None:
    assert ecr_registry_host("111122223333", "us-east-1") == ECR
    assert (
        ecr_registry_host("444455556666", "cn-northwest-1")
        == "444455556666.dkr.ecr.cn-northwest-1.amazonaws.com.cn"
    )


def test_image_ref_from_parts_validates() -> None:
    assert image_ref(ECR, "a/b", "1", DIGEST).canonical == f"{ECR}/a/b:1@{DIGEST}"
    with pytest.raises(InvalidReference):
        image_ref(ECR, "a/B", "1")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("a" * (MAX_REFERENCE_LENGTH + 1), "longer than 512"),
        ("registry.example.com/" + "/".join(["abcdefghij"] * 22), "name longer than 255"),
        ("Nginx", "lower-case"),
        ("docker.io/MyOrg/app", "lower-case"),
        ("MyOrg/app", "lower-case"),
        ("nginx latest", "whitespace"),
        ("nginx\t", "whitespace"),
        ("nginx\x00", "whitespace or control"),
        ("nginx\x1b[31m", "whitespace or control"),
        ("ngïnx", "non-ASCII"),
        ("-rf", "start with '-'"),
        ("--help", "start with '-'"),
        ("nginx;rm -rf /", "whitespace"),
        ("nginx;id", "';'"),
        ("nginx|id", "'|'"),
        ("nginx&&id", "'&'"),
        ("nginx$(id)", "'$'"),
        ("nginx`id`", "'`'"),
        ("nginx>out", "'>'"),
        ("nginx<in", "'<'"),
        ("ngi(nx)", "'('"),
        ("nginx'", '"\'"'),
        ('nginx"', "'\"'"),
        ("nginx\\x", "'\\\\'"),
        ("https://ghcr.io/app", "URL scheme"),
        (f"nginx@{DIGEST.upper()}", "malformed image digest"),
        ("nginx@sha256:abc", "malformed image digest"),
        ("nginx@sha512:" + "a" * 128, "unsupported image digest algorithm"),
        (f"nginx@{DIGEST}@{DIGEST}", "more than one '@'"),
        (f"@{DIGEST}", "no name"),
        ("nginx:", "image tag must be a non-empty"),
        ("nginx:.hidden", "invalid image tag"),
        ("nginx:" + "a" * 129, "longer than 128"),
        ("registry.example.com:0/app", "port"),
        ("registry.example.com:65536/app", "port"),
        ("registry.example.com:080/app", "port"),
        ("registry.example.com:/app", "port"),
        ("registry.example.com:http/app", "port"),
        ("-registry.example.com/app", "start with '-'"),
        ("registry-.example.com/app", "host name"),
        ("registry..example.com/app", "host name"),
        ("ghcr.io//app", "empty repository path component 1"),
        ("ghcr.io/app/", "empty repository path component 2"),
        ("ghcr.io/-app", "invalid repository path component 1"),
        ("ghcr.io/app_", "invalid repository path component 1"),
        ("ghcr.io/a___b", "invalid repository path component 1"),
        ("ghcr.io/a..b", "invalid repository path component 1"),
    ],
)
def test_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_image_ref(text)
    assert reason in caught.value.reason
    assert isinstance(caught.value, InvalidEvent)  # handlers treat a bad reference as a bad event
    assert "\n" not in caught.value.reason


def test_reasons_never_echo_the_reference() -> None:
    secretish = "user:hunter2secret@registry.example.com/app"
    with pytest.raises(InvalidReference) as caught:
        parse_image_ref(secretish)
    assert "hunter2secret" not in caught.value.reason


def test_non_string_is_rejected() -> None:
    for value in (None, 42, ["nginx"], {"image": "nginx"}, b"nginx"):
        with pytest.raises(InvalidReference):
            parse_image_ref(value)


def test_validate_digest() -> None:
    assert validate_digest(DIGEST) == DIGEST
    for bad in ("", None, "sha256:" + "g" * 64, DIGEST + "0", "md5:abcd"):
        with pytest.raises(InvalidReference):
            validate_digest(bad)


# ---------------------------------------------------------------------------------------------- properties

_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_HOST = st.one_of(
    st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(_LABEL, min_size=1, max_size=3), _LABEL),
    st.builds(
        lambda acct, region, fips: f"{acct}.dkr.ecr{'-fips' if fips else ''}.{region}.amazonaws.com",
        st.from_regex(r"[0-9]{12}", fullmatch=True),
        st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"]),
        st.booleans(),
    ),
    st.sampled_from(["docker.io", "localhost", "[::1]", "[fe80::1]", "contoso.azurecr.io"]),
)
_REGISTRY = st.builds(
    lambda host, port: host if port is None else f"{host}:{port}",
    _HOST,
    st.none() | st.integers(min_value=1, max_value=65535),
)
_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_DIGEST = st.from_regex(r"[a-f0-9]{64}", fullmatch=True).map(lambda h: f"sha256:{h}")


@st.composite
def valid_refs(draw: st.DrawFn) -> ImageRef:
    registry = draw(_REGISTRY)
    components = draw(st.lists(_COMPONENT, min_size=1, max_size=4))
    if registry == "docker.io" and len(components) == 1:
        components = ["library", *components]
    return ImageRef(
        registry=registry,
        repository="/".join(components),
        tag=draw(st.none() | _TAG),
        digest=draw(st.none() | _DIGEST),
    )


@property_settings(500)
@given(valid_refs())
def test_parse_format_roundtrip(ref: ImageRef) -> None:
    assert parse_image_ref(format_image_ref(ref)) == ref


_REF_ALPHABET = string.ascii_letters + string.digits + "._-:/@[]" + ";|&$`<>()'\"\\ \t\n\x00é"


@property_settings(1000)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=_REF_ALPHABET, max_size=80)))
def test_random_text_only_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_image_ref(text)
    except InvalidReference as exc:
        reason = exc.reason
        ref = None
    if ref is None:
        assert reason and "\n" not in reason and len(reason) <= 200
        return
    # Whatever parses is canonical, stable, and free of anything a shell or a log would trip on.
    assert parse_image_ref(ref.canonical) == ref
    assert ref.canonical.isascii() and ref.canonical.isprintable() and " " not in ref.canonical
    assert not set(ref.canonical) & set(";|&$`<>()'\"\\")
    assert not ref.canonical.startswith("-")
