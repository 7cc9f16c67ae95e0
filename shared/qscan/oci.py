"""Which registry manifests are container images a scanner can scan (OCI image spec, Docker distribution).

A repository holds more than images. A multi-arch push (`docker buildx build --platform ...`) stores, under
their own digests: one image manifest per platform, a build attestation manifest per platform (buildx's default
provenance and SBOM: an OCI image manifest whose layers are in-toto statements, `application/vnd.in-toto+json`,
listed in the index with platform `unknown/unknown` and the annotation `vnd.docker.reference.type:
attestation-manifest`), and the image index (the tag) that lists them. Signing tools add signatures and
attestations (cosign `*.sig` / `*.att` tags, OCI 1.1 referrers with an `artifactType`), Helm and others push
non-image artifacts. Registries report all of them with the same manifest media types, and ECR's
`artifactMediaType` for an attestation manifest is the ordinary image config type: only the manifest itself
tells them apart.

`classify_manifest` decides from the manifest JSON (and the registry's media type, when it gave one):

- `index`: an image index / manifest list (it names platform manifests, it is not an image itself);
- `attestation`: an image manifest with an in-toto or DSSE layer (buildx and cosign attestations);
- `artifact`: an `artifactType` or config media type that is not an image config, or layers none of which is
  a filesystem layer (signatures, SBOMs, Helm charts, other OCI artifacts), or an unknown manifest media type;
- `image`: everything else with an image config (a manifest without layers included: nothing marks it as an
  artifact), and Docker schema 1.

Manifests are untrusted input: bounded size, type-checked access, and reasons that never echo their content.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from qscan.refs import is_valid_digest
from qscan.structs import struct

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_TYPES = INDEX_TYPES | IMAGE_MANIFEST_TYPES | DOCKER_SCHEMA1
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"}
)
LAYER_TYPE_PREFIXES = ("application/vnd.oci.image.layer.", "application/vnd.docker.image.rootfs.")
ATTESTATION_LAYER_TYPES = frozenset({"application/vnd.in-toto+json", "application/vnd.dsse.envelope.v1+json"})
REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"
ATTESTATION_REFERENCE = "attestation-manifest"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the OCI distribution spec's recommended limit (ECR's too)

_PLATFORM_PART = r"[A-Za-z0-9._-]{1,32}"  # a pattern string, compiled on first use (re's cache)

Kind = Literal["image", "index", "attestation", "artifact"]

# Skip reasons, free of digests and of manifest content so they aggregate in the batch accounting.
INDEX_REASON = "image index (multi-arch): each platform manifest is scanned from its own push event"
ATTESTATION_REASON = "build attestation manifest (in-toto provenance/SBOM), not a container image"
ARTIFACT_REASON = "OCI artifact (signature, SBOM or other non-image content), not a container image"


class ManifestError(ValueError):
    """The manifest cannot be read (not JSON, not an object, too large)."""


@struct
class IndexEntry:
    """One image manifest an index lists (attestations left out): its digest, media type and platform."""

    digest: str
    media_type: str | None
    os: str
    architecture: str
    variant: str | None = None

    @property
    def platform(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


@struct
class Manifest:
    """What `classify_manifest` found. For an index: its image platforms and how many attestations it lists."""

    kind: Kind
    media_type: str | None
    platforms: tuple[str, ...] = ()
    attestations: int = 0
    entries: tuple[IndexEntry, ...] = ()  # an index's image manifests (with a sha256 digest), in its order

    @property
    def scannable(self) -> bool:
        return self.kind == "image"

    @property
    def reason(self) -> str:
        """Why it is not scanned ("" for an image)."""
        return {"image": "", "index": INDEX_REASON, "attestation": ATTESTATION_REASON}.get(
            self.kind, ARTIFACT_REASON
        )


def classify_manifest(body: str | bytes, media_type: str | None = None) -> Manifest:
    """Classify one manifest; `media_type` is what the registry reported (it wins over the body's field)."""
    if len(body) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ManifestError("manifest is not valid JSON") from None
    if not isinstance(document, dict):
        raise ManifestError("manifest is not a JSON object")
    declared = _text(document.get("mediaType"))
    kind_of = media_type or declared or _guess(document)
    if kind_of in INDEX_TYPES:
        return _index(document, kind_of)
    if kind_of in DOCKER_SCHEMA1:
        return Manifest("image", kind_of)
    if kind_of not in IMAGE_MANIFEST_TYPES:
        return Manifest("artifact", kind_of)
    return Manifest(_image_kind(document), kind_of)


def _image_kind(document: dict[str, Any]) -> Kind:
    artifact_type = document.get("artifactType")
    if artifact_type is not None and artifact_type not in IMAGE_CONFIG_TYPES:
        return "artifact"
    config = document.get("config")
    if not isinstance(config, dict) or config.get("mediaType") not in IMAGE_CONFIG_TYPES:
        return "artifact"
    layers = document.get("layers")
    layer_types = (
        [_text(layer.get("mediaType")) for layer in layers if isinstance(layer, dict)]
        if isinstance(layers, list)
        else []
    )
    if any(t in ATTESTATION_LAYER_TYPES for t in layer_types):
        return "attestation"
    if layer_types and not any(t and t.startswith(LAYER_TYPE_PREFIXES) for t in layer_types):
        return "artifact"  # content, but no filesystem layer: a signature, SBOM, chart...
    return "image"


def _index(document: dict[str, Any], media_type: str) -> Manifest:
    platforms: list[str] = []
    found: list[IndexEntry] = []
    attestations = 0
    entries = document.get("manifests")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        annotations = entry.get("annotations")
        platform = entry.get("platform")
        if not isinstance(platform, dict):
            platform = {}
        os_name, arch = _part(platform.get("os")), _part(platform.get("architecture"))
        reference = annotations.get(REFERENCE_TYPE_ANNOTATION) if isinstance(annotations, dict) else None
        if reference == ATTESTATION_REFERENCE or (os_name, arch) == ("unknown", "unknown"):
            attestations += 1
        elif os_name and arch:
            variant = _part(platform.get("variant"))
            platforms.append("/".join(part for part in (os_name, arch, variant) if part))
            digest = entry.get("digest")
            if is_valid_digest(digest):
                found.append(IndexEntry(str(digest), _text(entry.get("mediaType")), os_name, arch, variant))
    return Manifest("index", media_type, tuple(platforms[:64]), attestations, tuple(found[:64]))


def _guess(document: dict[str, Any]) -> str | None:
    """Manifests may omit `mediaType` (OCI): an index lists `manifests`, an image manifest has `config`."""
    if isinstance(document.get("manifests"), list):
        return OCI_INDEX
    if isinstance(document.get("config"), dict):
        return OCI_MANIFEST
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 255 else None


def _part(value: object) -> str | None:
    """A platform field fit for a log line (os, architecture, variant), else None."""
    return value if isinstance(value, str) and re.fullmatch(_PLATFORM_PART, value) else None
