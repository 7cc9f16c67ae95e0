"""Container image references: parse, validate, normalize, classify.

The grammar follows the distribution reference grammar (`[registry[:port]/]path[:tag][@digest]`), with these
deliberate choices:

- **Registry.** The first path component is a registry when it contains `.` or `:`, is `localhost`, or is a
  bracketed IPv6 address; otherwise the reference is on Docker Hub. Host names are lower-cased (DNS is
  case-insensitive). A port must be 1-65535, written without leading zeros. Unlike distribution, an upper-case
  first component is not taken for a host: `MyOrg/app` is rejected as an upper-case repository, which is what
  its author almost certainly meant.
- **Docker Hub.** `docker.io`, `index.docker.io` (the legacy name) and `registry-1.docker.io` (the API
  endpoint) all normalize to `docker.io`, and a one-component Docker Hub repository gets the `library/` prefix:
  `nginx`, `docker.io/nginx` and `index.docker.io/library/nginx` are the same reference
  `docker.io/library/nginx`. Other registries are kept as written: a tag-only reference is never guessed to be
  `:latest` (callers decide whether a missing tag means latest).
- **Tag and digest.** Both may be present (`repo:tag@sha256:...`); the digest then identifies the content. Only
  `sha256:` digests with 64 lower-case hex characters are accepted (what every registry qscan supports emits).
- **Bounds.** The name (`registry/repository`) is at most 255 characters (the distribution limit); the whole
  reference at most 512 characters: the longest valid name, tag and digest add up to 456, and the bound is
  checked before any pattern runs so hostile input costs nothing.
- **Safety.** Whitespace, control characters, non-ASCII, shell metacharacters, a URL scheme and a leading `-`
  are rejected up front: references end up in qscanner's argv (never through a shell, but still) and in logs.

Every rejection raises `InvalidReference` with a one-line reason that never echoes the reference itself
(an operator may paste credentials into the wrong field); it names the part that failed.
"""

from __future__ import annotations

import re
from typing import Literal

from qscan.errors import InvalidReference
from qscan.structs import struct

MAX_NAME_LENGTH = 255
MAX_REFERENCE_LENGTH = 512
MAX_TAG_LENGTH = 128

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_PREFIX = "library/"

RegistryKind = Literal["ecr", "acr", "dockerhub", "other"]

_SHELL_METACHARACTERS = frozenset(";|&$`<>()'\"\\!*?{}[]~#%^,=")
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"sha256:[a-f0-9]{64}"
_DIGEST_SHAPE = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]+"
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_IPV6 = r"(?i)\[[0-9a-f:]+(?:\.[0-9.]+)?\]"
_PORT = r"[1-9][0-9]{0,4}"

_ECR = (
    r"(?P<account>[0-9]{12})\.dkr\.ecr(?P<fips>-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9])"
    r"\.amazonaws\.com(?P<cn>\.cn)?"
)
_ECR_DUALSTACK = r"(?P<account>[0-9]{12})\.dkr-ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9])\.on\.aws"
_ACR = r"(?P<name>[a-z0-9]+)\.azurecr\.(?:io|cn|us)"


@struct
class RegistryInfo:
    """What a registry host says about itself. ECR fields are None for other registries."""

    kind: RegistryKind
    account: str | None = None  # ECR: the 12-digit registry (account) id
    region: str | None = None  # ECR: the region in the host name
    fips: bool = False  # ECR: a FIPS endpoint (dkr.ecr-fips.<region>.amazonaws.com)
    partition: str | None = None  # ECR: aws, aws-cn or aws-us-gov
    acr_name: str | None = None  # ACR: the registry name (first host label)


@struct
class ImageRef:
    """A validated, normalized image reference. `canonical` is its one string form."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def canonical(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def info(self) -> RegistryInfo:
        return classify_registry(self.registry)

    @property
    def kind(self) -> RegistryKind:
        return self.info.kind

    def __str__(self) -> str:
        return self.canonical


def classify_registry(host: str) -> RegistryInfo:
    """Classify a normalized registry host (lower-case, optional port) as ECR, ACR, Docker Hub or other."""
    if host == DOCKER_HUB:
        return RegistryInfo(kind="dockerhub")
    match = re.fullmatch(_ECR, host)
    if match:
        region = match["region"]
        china = match["cn"] is not None
        if china != region.startswith("cn-"):
            return RegistryInfo(kind="other")
        return RegistryInfo(
            kind="ecr",
            account=match["account"],
            region=region,
            fips=match["fips"] is not None,
            partition=aws_partition(region),
        )
    match = re.fullmatch(_ECR_DUALSTACK, host)
    if match:
        region = match["region"]
        return RegistryInfo(
            kind="ecr", account=match["account"], region=region, partition=aws_partition(region)
        )
    match = re.fullmatch(_ACR, host)
    if match:
        return RegistryInfo(kind="acr", acr_name=match["name"])
    return RegistryInfo(kind="other")


_PARTITION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
)


def aws_partition(region: str | None) -> str:
    """The AWS partition a region belongs to (`aws` for commercial regions and unknown input)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region and region.startswith(prefix):
            return partition
    return "aws"


def ecr_registry_host(account: str, region: str) -> str:
    """The standard ECR registry host of an account and region (China regions use `.amazonaws.com.cn`)."""
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{account}.dkr.ecr.{region}{suffix}"


def parse_image_ref(text: object) -> ImageRef:
    """Parse and normalize an image reference, or raise `InvalidReference` naming what is wrong."""
    _check_text(text)
    assert isinstance(text, str)
    rest, digest = _split_digest(text)
    rest, tag = _split_tag(rest)
    registry, repository = _split_registry(rest)
    return _build(registry, repository, tag, digest)


def format_image_ref(ref: ImageRef) -> str:
    return ref.canonical


def is_valid_digest(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(_DIGEST, value) is not None


def is_valid_tag(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(_TAG, value) is not None


def validate_digest(value: object) -> str:
    """Return a valid `sha256:<64 hex>` digest or raise `InvalidReference`."""
    if not isinstance(value, str) or not value:
        raise InvalidReference("image digest must be a non-empty string")
    if re.fullmatch(_DIGEST, value):
        return value
    if len(value) <= 200 and re.fullmatch(_DIGEST_SHAPE, value) and not value.startswith("sha256:"):
        raise InvalidReference("unsupported image digest algorithm (only sha256 is accepted)")
    raise InvalidReference("malformed image digest (expected sha256: and 64 lower-case hex characters)")


def validate_tag(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidReference("image tag must be a non-empty string")
    if len(value) > MAX_TAG_LENGTH:
        raise InvalidReference(f"image tag longer than {MAX_TAG_LENGTH} characters")
    if not re.fullmatch(_TAG, value):
        raise InvalidReference(
            "invalid image tag (letters, digits, '_', '.', '-'; not starting with '.' or '-')"
        )
    return value


def validate_repository(value: object) -> str:
    """Validate a repository path (no registry): lower-case components separated by `/`."""
    if not isinstance(value, str) or not value:
        raise InvalidReference("image repository must be a non-empty string")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidReference(f"image repository longer than {MAX_NAME_LENGTH} characters")
    for index, component in enumerate(value.split("/"), start=1):
        if not component:
            raise InvalidReference(f"empty repository path component {index}")
        if re.fullmatch(_PATH_COMPONENT, component):
            continue
        if component.lower() != component and re.fullmatch(_PATH_COMPONENT, component.lower()):
            raise InvalidReference("image repository must be lower-case")
        raise InvalidReference(f"invalid repository path component {index}")
    return value


def image_ref(registry: str, repository: str, tag: str | None = None, digest: str | None = None) -> ImageRef:
    """Build a reference from parts (as events carry them), with the same validation as `parse_image_ref`."""
    text = f"{registry}/{repository}"
    if tag is not None:
        text += f":{tag}"
    if digest is not None:
        text += f"@{digest}"
    return parse_image_ref(text)


# ---------------------------------------------------------------------------------------------- internals


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise InvalidReference("image reference must be a string")
    if not text:
        raise InvalidReference("empty image reference")
    if len(text) > MAX_REFERENCE_LENGTH:
        raise InvalidReference(f"image reference longer than {MAX_REFERENCE_LENGTH} characters")
    if not text.isascii():
        raise InvalidReference("image reference contains non-ASCII characters")
    for char in text:
        if char.isspace() or not char.isprintable():
            raise InvalidReference("image reference contains whitespace or control characters")
    if text.startswith("-"):
        raise InvalidReference("image reference must not start with '-'")
    if "://" in text:
        raise InvalidReference("image reference must not contain a URL scheme")
    # '[' and ']' are allowed only as the brackets of an IPv6 registry host.
    allowed_brackets = re.match(_IPV6, text)
    for position, char in enumerate(text):
        if char in _SHELL_METACHARACTERS:
            if char in "[]" and allowed_brackets and position < allowed_brackets.end():
                continue
            raise InvalidReference(f"image reference contains shell metacharacter {char!r}")


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    rest, _, digest = text.partition("@")
    if "@" in digest:
        raise InvalidReference("image reference contains more than one '@'")
    if not rest:
        raise InvalidReference("image reference has a digest but no name")
    return rest, validate_digest(digest)


def _split_tag(text: str) -> tuple[str, str | None]:
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon <= slash:
        return text, None
    name, tag = text[:colon], text[colon + 1 :]
    if not name:
        raise InvalidReference("image reference has a tag but no name")
    return name, validate_tag(tag)


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return _validate_host(first), rest
    return DOCKER_HUB, text


def _validate_host(host: str) -> str:
    host = host.lower()
    if host.startswith("["):
        end = host.find("]")
        address, port_part = host[: end + 1], host[end + 1 :]
        if end < 0 or not re.fullmatch(_IPV6, address):
            raise InvalidReference("invalid registry IPv6 address")
    else:
        address, colon, port = host.partition(":")
        port_part = colon + port
        labels = address.split(".")
        if not address or not all(re.fullmatch(_HOST_LABEL, label) for label in labels):
            raise InvalidReference("invalid registry host name")
    if port_part and (
        not port_part.startswith(":") or not re.fullmatch(_PORT, port_part[1:]) or int(port_part[1:]) > 65535
    ):
        raise InvalidReference("invalid registry port (expected 1-65535)")
    return "docker.io" if host in DOCKER_HUB_ALIASES else host


def _build(registry: str, repository: str, tag: str | None, digest: str | None) -> ImageRef:
    validate_repository(repository)
    if registry == DOCKER_HUB and "/" not in repository:
        repository = OFFICIAL_PREFIX + repository
    if len(registry) + 1 + len(repository) > MAX_NAME_LENGTH:
        raise InvalidReference(f"image name longer than {MAX_NAME_LENGTH} characters")
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)
