"""The one resolution path: an image reference -> the digest that runs (and its index, when it came from one).

`Resolver(source_for, platform)` asks a `ManifestSource` (chosen per registry by `source_for`) for the
reference's manifest:

1. the tag (or digest) is looked up: its digest and media type, and its classified manifest when the source
   reads bodies anyway (`ecr:BatchGetImage`) or when it is an index (the HTTP source GETs the index by digest);
2. an image index is resolved to the manifest of the wanted platform (`qscan.registry.platform`; never an
   attestation) when `descend` is true: the `Resolution` then carries `index_digest` and `platform`. With
   `descend=False` the index itself is the answer (the ECR handler: every platform manifest of a push arrives as
   its own event);
3. otherwise the manifest itself is the answer; `Resolution.manifest` carries its classification when the
   source read the body (an HTTP HEAD does not: a tag is not downloaded to tell an image from an attestation),
   so a caller that must scan only images checks it (`qscan.aws.ecr.require_image`).

Errors are the typed `qscan.registry.errors` (permanent `InvalidEvent`, transient `TransientError`).
`resolved_target(target, resolution)` fills a `ScanTarget` in: the digest it dedupes and scans on, the index
digest it came from, the image reference pinned to the digest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from qscan.oci import INDEX_TYPES, Manifest, classify_manifest
from qscan.refs import ImageRef, parse_image_ref
from qscan.registry.platform import DEFAULT_PLATFORM, PlatformSpec, select_platform
from qscan.structs import struct
from qscan.target import ScanTarget

if TYPE_CHECKING:  # the HTTP client (and requests) is for registries other than ECR: its caller imports it
    from qscan.registry.client import DistributionClient


@struct
class Fetched:
    """What a source knows about one manifest: digest, media type, and the classified body when it read it."""

    digest: str
    media_type: str | None
    manifest: Manifest | None = None


class ManifestSource(Protocol):
    def lookup(self, ref: ImageRef, reference: str) -> Fetched:
        """The manifest `reference` (tag or digest) names; raise `ManifestNotFound` when there is none."""
        ...

    def read(self, ref: ImageRef, digest: str) -> Fetched:
        """The manifest `digest`, with its classified body."""
        ...


class HttpManifestSource:
    """Any OCI registry over the distribution API (HEAD first: no body download, no Docker Hub pull count)."""

    def __init__(self, client: DistributionClient) -> None:
        self.client = client

    def lookup(self, ref: ImageRef, reference: str) -> Fetched:
        answer = self.client.head_manifest(ref, reference)
        return Fetched(answer.digest, answer.media_type, _classified(answer.body, answer.media_type))

    def read(self, ref: ImageRef, digest: str) -> Fetched:
        answer = self.client.get_manifest(ref, digest)
        return Fetched(answer.digest, answer.media_type, _classified(answer.body, answer.media_type))


def _classified(body: bytes | None, media_type: str | None) -> Manifest | None:
    return None if body is None else classify_manifest(body, media_type)


@struct
class Resolution:
    reference: str  # the canonical reference asked for
    digest: str  # what runs and is scanned (a platform manifest when `index_digest` is set)
    media_type: str | None
    index_digest: str | None = None
    platform: str | None = None
    manifest: Manifest | None = None  # classified body of `digest`, when the source read it


class Resolver:
    def __init__(
        self, source_for: Callable[[ImageRef], ManifestSource], platform: PlatformSpec = DEFAULT_PLATFORM
    ) -> None:
        self._source_for = source_for
        self._platform = platform

    def resolve(
        self, ref: ImageRef, *, platform: PlatformSpec | None = None, descend: bool = True
    ) -> Resolution:
        source = self._source_for(ref)
        reference = ref.digest or ref.tag or "latest"
        found = source.lookup(ref, reference)
        is_index = (found.manifest.kind == "index") if found.manifest else found.media_type in INDEX_TYPES
        if is_index and descend:
            index = found if found.manifest is not None else source.read(ref, found.digest)
            assert index.manifest is not None
            wanted = platform or self._platform
            entry = select_platform(index.manifest, wanted)
            return Resolution(ref.canonical, entry.digest, entry.media_type, found.digest, entry.platform)
        return Resolution(ref.canonical, found.digest, found.media_type, manifest=found.manifest)


def resolved_target(target: ScanTarget, resolution: Resolution) -> ScanTarget:
    """`target` with the resolved digest (its dedupe key), the index it came from and a pinned reference."""
    image = None
    if target.registry and target.repository:
        tag = f":{target.tag}" if target.tag else ""
        image = f"{target.registry}/{target.repository}{tag}@{resolution.digest}"
    return target.resolved(
        digest=resolution.digest, index_digest=resolution.index_digest, image=image or target.image
    )


def resolve_target(target: ScanTarget, source: ManifestSource, platform: PlatformSpec) -> ScanTarget:
    """An image target resolved through `source`: the digest that runs (an index resolved to `platform`)."""
    return resolved_target(
        target, Resolver(lambda _: source, platform).resolve(parse_image_ref(target.image or ""))
    )
