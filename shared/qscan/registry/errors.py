"""Typed registry errors. Each is a `RegistryError` and one of the `qscan.errors` kinds handlers act on.

Permanent (`InvalidEvent`: skipped with the reason, counted, never retried): an unknown registry host, access
denied (401/403 after authenticating), a missing manifest (404), a manifest over the size cap, a redirect that
would carry credentials to another host (or to plain http), a registry answer qscan cannot use.
Transient (`TransientError`: raised so the platform retries): 5xx, 429 after its retries, timeouts, connection
failures. Reasons name the registry and repository, never credentials or response bodies.
"""

from __future__ import annotations

from qscan.errors import InvalidEvent, QscanError, TransientError


class RegistryError(QscanError):
    """Base class of the registry errors (always combined with a `qscan.errors` kind)."""


class UnknownRegistryHost(RegistryError, InvalidEvent):
    """The registry host name does not resolve."""


class RegistryAccessDenied(RegistryError, InvalidEvent):
    """401/403: no credentials, wrong credentials, or no pull permission."""


class ManifestNotFound(RegistryError, InvalidEvent):
    """404: the repository, tag or digest does not exist."""


class ManifestTooLarge(RegistryError, InvalidEvent):
    """The manifest is larger than the cap (`qscan.oci.MAX_MANIFEST_BYTES`)."""


class RedirectRefused(RegistryError, InvalidEvent):
    """A redirect to another host (or to http) while credentials were attached."""


class UnusableAnswer(RegistryError, InvalidEvent):
    """The registry answered, but not with something qscan can resolve (bad digest, schema-1 without digest)."""


class RegistryUnavailable(RegistryError, TransientError):
    """5xx, 429, timeouts, connection failures: retried here a bounded number of times, then raised."""


class PlatformNotFound(RegistryError, InvalidEvent):
    """The image index lists no image manifest for the wanted platform."""
