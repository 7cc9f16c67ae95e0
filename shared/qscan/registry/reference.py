"""Where a registry's distribution API lives and which hosts may receive its credentials.

References are parsed and normalized by `qscan.refs` (one parser: Docker Hub aliases become `docker.io`, a
one-component Docker Hub repository gets `library/`). The API of `docker.io` is `https://registry-1.docker.io`;
every other registry serves `/v2/` on its own host (and port). Plain http is used only for hosts the caller
lists explicitly (`insecure_hosts`, e.g. a loopback test registry), never by default.

Credential scoping: a registry's credentials go to the registry host itself (Basic) and to a token realm only
when the realm's host is the registry's host, one of the known token services of that registry (Docker Hub:
`auth.docker.io`), or a host the credential names (`RegistryCredential.realm_hosts`). Ports are not compared:
a token server beside a registry on another port of the same host is the same trust.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from qscan.refs import DOCKER_HUB, ImageRef
from qscan.structs import struct

DOCKER_HUB_API = "registry-1.docker.io"
KNOWN_REALM_HOSTS: dict[str, frozenset[str]] = {DOCKER_HUB: frozenset({"auth.docker.io"})}


@struct
class Endpoint:
    """The distribution API of one registry: `base` is `scheme://host[:port]`."""

    registry: str  # as in the reference (`docker.io`, `ghcr.io`, `127.0.0.1:5000`)
    scheme: str
    api_host: str  # host[:port] the requests go to

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.api_host}"

    def manifest_url(self, repository: str, reference: str) -> str:
        return f"{self.base}/v2/{repository}/manifests/{reference}"


def endpoint_for(registry: str, insecure_hosts: frozenset[str] = frozenset()) -> Endpoint:
    """The API endpoint of a normalized registry host; http only when `registry` is in `insecure_hosts`."""
    api_host = DOCKER_HUB_API if registry == DOCKER_HUB else registry
    scheme = "http" if registry in insecure_hosts else "https"
    return Endpoint(registry, scheme, api_host)


def endpoint_of(ref: ImageRef, insecure_hosts: frozenset[str] = frozenset()) -> Endpoint:
    return endpoint_for(ref.registry, insecure_hosts)


def hostname(host_or_url: str) -> str:
    """The lower-case host name of `host[:port]` or of a URL (IPv6 brackets kept off)."""
    netloc = urlsplit(host_or_url).hostname if "://" in host_or_url else urlsplit("//" + host_or_url).hostname
    return (netloc or "").lower()


def realm_allowed(endpoint: Endpoint, realm: str, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """Whether credentials for `endpoint` may be sent to the token `realm` URL.

    https realms only, except an http realm on the registry's own host when the registry itself is plain http
    (an explicitly allowed loopback registry).
    """
    parts = urlsplit(realm)
    host = (parts.hostname or "").lower()
    if not host:
        return False
    own = {hostname(endpoint.api_host), hostname(endpoint.registry)}
    allowed = own | KNOWN_REALM_HOSTS.get(endpoint.registry, frozenset()) | {h.lower() for h in extra_hosts}
    if host not in allowed:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and endpoint.scheme == "http" and host in own
