"""Registry credentials, scoped per registry host, and what qscanner receives for one scan.

A `CredentialSource` answers `credential_for(registry)` with the credential of that one registry (or None:
anonymous). Sources:

- `StaticCredentials`: a mapping host -> credential (the CLI's `--credentials-file`, `--username`);
- `SecretCredentials`: a named secret (Secrets Manager / Key Vault text, read through an injected reader)
  holding the JSON mapping below, re-read after `ttl_seconds`;
- `qscan.azure.acr.AcrCredentials`: Azure Container Registry through the managed identity (its AAD token
  exchanged for an ACR refresh token, the password of the user `00000000-0000-0000-0000-000000000000`);
- `qscan.aws.ecr.EcrCredentials`: ECR through `ecr:GetAuthorizationToken` (user `AWS`), any account through the
  client the caller gives (the spoke role's);
- `ChainCredentials`: the first source that knows the registry.

Mapping JSON (the named secret, or `--credentials-file`)::

    {"ghcr.io": {"username": "bot", "password": "<token>"},
     "registry.example.com:5000": {"username": "ci", "password": "...", "realm_hosts": ["auth.example.com"]}}

Host keys are normalized like references (`index.docker.io` -> `docker.io`). `realm_hosts` names token-service
hosts besides the registry's own that may receive the credential. Every password is registered with
`qscan.redact`; reasons name the source and the host, never a value.

`qscanner_env(credential)` is the environment of the qscanner child for a scan of an image in that registry:
`QSCANNER_REGISTRY_USERNAME` / `QSCANNER_REGISTRY_PASSWORD` (the runner withholds any inherited ones, so no
blanket credential reaches a scan of another registry).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from qscan.errors import ConfigError, InvalidReference
from qscan.redact import register_secret
from qscan.refs import DOCKER_HUB, DOCKER_HUB_ALIASES, parse_image_ref
from qscan.structs import field, struct

MAX_MAPPING_BYTES = 256 * 1024
_MAX_VALUE = 16 * 1024
_ENTRY_KEYS = frozenset({"username", "password", "realm_hosts"})
USERNAME_ENV = "QSCANNER_REGISTRY_USERNAME"
PASSWORD_ENV = "QSCANNER_REGISTRY_PASSWORD"  # noqa: S105 - a variable name


@struct
class RegistryCredential:
    username: str
    password: str = field(repr=False)
    realm_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        register_secret(self.password)


class CredentialSource(Protocol):
    def credential_for(self, registry: str) -> RegistryCredential | None: ...


def normalize_host(host: object, source: str) -> str:
    """A registry host as references spell it (`docker.io` for Docker Hub's aliases), else `ConfigError`."""
    text = host.strip().lower() if isinstance(host, str) else ""
    try:
        registry = parse_image_ref(f"{text}/probe").registry
    except InvalidReference:
        registry = ""
    if not registry or (registry == DOCKER_HUB and text not in DOCKER_HUB_ALIASES):
        raise ConfigError(f"registry credentials {source}: a key is not a registry host (host[:port])")
    return registry


def parse_mapping(text: str | bytes, source: str) -> dict[str, RegistryCredential]:
    """Decode and validate the host -> credential mapping (never echoing values)."""
    if len(text) > MAX_MAPPING_BYTES:
        raise ConfigError(f"registry credentials {source} are larger than {MAX_MAPPING_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"registry credentials {source} are not a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigError(f"registry credentials {source} are not a JSON object")
    found: dict[str, RegistryCredential] = {}
    for key, entry in data.items():
        host = normalize_host(key, source)
        found[host] = _credential(entry, f"{source}, registry {host}")
    return found


def _credential(entry: Any, where: str) -> RegistryCredential:
    if not isinstance(entry, dict):
        raise ConfigError(f"registry credentials {where}: expected an object with username and password")
    extra = set(entry) - _ENTRY_KEYS
    if extra:
        raise ConfigError(
            f"registry credentials {where}: unexpected keys {sorted(str(k)[:40] for k in extra)}"
            " (allowed: username, password, realm_hosts)"
        )
    username, password = entry.get("username"), entry.get("password")
    for name, value in (("username", username), ("password", password)):
        if not isinstance(value, str) or not value or len(value) > _MAX_VALUE or not value.isprintable():
            raise ConfigError(f"registry credentials {where}: {name} must be a non-empty printable string")
    realms = entry.get("realm_hosts", [])
    if not isinstance(realms, list) or not all(isinstance(h, str) and h for h in realms):
        raise ConfigError(f"registry credentials {where}: realm_hosts must be a list of host names")
    assert isinstance(username, str) and isinstance(password, str)
    return RegistryCredential(username, password, frozenset(h.lower() for h in realms))


class StaticCredentials:
    def __init__(self, mapping: Mapping[str, RegistryCredential]) -> None:
        self._mapping = dict(mapping)

    def credential_for(self, registry: str) -> RegistryCredential | None:
        return self._mapping.get(registry)


class SecretCredentials:
    """The mapping in a named secret; `reader()` returns its text (raising TransientError / ConfigError)."""

    def __init__(
        self,
        reader: Callable[[], str | bytes],
        source: str,
        *,
        ttl_seconds: float = 900.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader, self._source, self._ttl, self._now = reader, source, ttl_seconds, now
        self._lock = threading.Lock()
        self._loaded: tuple[float, dict[str, RegistryCredential]] | None = None

    def credential_for(self, registry: str) -> RegistryCredential | None:
        with self._lock:
            if self._loaded is None or self._now() - self._loaded[0] >= self._ttl:
                self._loaded = (self._now(), parse_mapping(self._reader(), self._source))
            return self._loaded[1].get(registry)


class ChainCredentials:
    def __init__(self, sources: Sequence[CredentialSource]) -> None:
        self._sources = tuple(sources)

    def credential_for(self, registry: str) -> RegistryCredential | None:
        for source in self._sources:
            found = source.credential_for(registry)
            if found is not None:
                return found
        return None


def qscanner_env(credential: RegistryCredential | None) -> dict[str, str]:
    """qscanner's registry environment for one scan (empty: anonymous pull)."""
    if credential is None:
        return {}
    return {USERNAME_ENV: credential.username, PASSWORD_ENV: credential.password}
