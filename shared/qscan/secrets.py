"""The Qualys secret: one JSON shape on every platform, loaded from Secrets Manager, Key Vault or the environment.

Secret JSON (Secrets Manager SecretString / Key Vault secret value)::

    {"pod": "US2", "access_token": "<token>"}                     # POD name, token (qscanner + API)
    {"gateway_url": "https://gateway.example", "access_token": "..."}  # private cloud / GOV gateway
    {"pod": "EU1", "username": "...", "password": "..."}           # API backend with POST /auth (JWT)

`access_token` or the `username` + `password` pair is required; `pod` or `gateway_url` is required. The seeds'
keys `qualys_pod`, `qualys_gateway_url`, `qualys_access_token` and `qualys_token` (and `qualys_username`,
`qualys_password`) are accepted for migration. Unknown keys are ignored (their names, never values, are logged).

Source (from `Settings`): QSCAN_QUALYS_SECRET_ARN on AWS, QSCAN_QUALYS_SECRET_URI on Azure, else the process
environment (QUALYS_POD, QUALYS_GATEWAY_URL, QUALYS_ACCESS_TOKEN, QUALYS_USERNAME, QUALYS_PASSWORD; local runs).
Remote secrets are cached per cold start for `CACHE_TTL_SECONDS` (so a rotation is picked up within that time;
`clear_cache()` forces a reload, e.g. after a 401). Every loaded value is registered with `qscan.redact`.
Transient fetch failures raise `TransientError`; a missing, denied or malformed secret raises `ConfigError`
naming the secret id, never its value.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from qscan.config import Settings, parse_keyvault_secret_uri
from qscan.errors import ConfigError, TransientError
from qscan.redact import register_secret
from qscan.scanners.pods import gateway_for
from qscan.structs import field, replace, struct

log = logging.getLogger(__name__)

CACHE_TTL_SECONDS = 900.0
MAX_SECRET_BYTES = 64 * 1024
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_VALUE = r"^[\x21-\x7e]+$"  # printable ASCII, no whitespace (tokens, JWTs, passwords in practice)
_MAX_VALUE = 16 * 1024

_ALIASES: dict[str, tuple[str, ...]] = {
    "pod": ("pod", "qualys_pod"),
    "gateway_url": ("gateway_url", "qualys_gateway_url"),
    "access_token": ("access_token", "qualys_access_token", "qualys_token"),
    "username": ("username", "qualys_username"),
    "password": ("password", "qualys_password"),
}
_KNOWN_KEYS = frozenset(key for keys in _ALIASES.values() for key in keys)
ENV_KEYS: dict[str, str] = {
    "pod": "QUALYS_POD",
    "gateway_url": "QUALYS_GATEWAY_URL",
    "access_token": "QUALYS_ACCESS_TOKEN",
    "username": "QUALYS_USERNAME",
    "password": "QUALYS_PASSWORD",
}

_SECRETS_MANAGER_CONFIG = {
    "InvalidRequestException": "is not usable (deleted or scheduled for deletion?)",
    "ResourceNotFoundException": "was not found",
    "AccessDeniedException": "is not readable by this role (secretsmanager:GetSecretValue denied)",
    "AccessDenied": "is not readable by this role (secretsmanager:GetSecretValue denied)",
    "DecryptionFailure": "could not be decrypted (kms:Decrypt denied on its KMS key?)",
    "InvalidParameterException": "is not a valid secret id",
    "ValidationException": "is not a valid secret id",
    "UnrecognizedClientException": "could not be read: the AWS credentials are invalid",
}


def _mask(value: str | None) -> str:
    return "None" if value is None else "'***'"


@struct
class QualysSecret:
    """The Qualys secret's values (see the module docstring); `repr` masks the credentials."""

    pod: str | None
    gateway_url: str | None
    access_token: str | None = field(default=None)
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return (
            f"QualysSecret(pod={self.pod!r}, gateway_url={self.gateway_url!r}, "
            f"access_token={_mask(self.access_token)}, username={_mask(self.username)}, "
            f"password={_mask(self.password)})"
        )

    __str__ = __repr__

    @property
    def gateway(self) -> str:
        """The Container Security API base URL (explicit gateway wins over the POD's)."""
        return gateway_for(self.pod, self.gateway_url)

    @classmethod
    def from_mapping(cls, data: Any, source: str) -> QualysSecret:
        """Validate a decoded secret; `source` names where it came from (used in error reasons)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"Qualys secret {source} must be a JSON object")
        unknown = sorted(str(k) for k in data if k not in _KNOWN_KEYS)
        if unknown:
            log.warning("Qualys secret %s: ignoring unknown key(s) %s", source, ", ".join(unknown)[:200])
        values: dict[str, str | None] = {}
        for name, keys in _ALIASES.items():
            found = {data[k] for k in keys if k in data and data[k] not in (None, "")}
            if len(found) > 1:
                raise ConfigError(f"Qualys secret {source} has conflicting values for {'/'.join(keys)}")
            value = found.pop() if found else None
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"Qualys secret {source}: {name} must be a string")
            values[name] = value.strip() if isinstance(value, str) else None
        return cls.validated(source=source, **values)

    @classmethod
    def validated(cls, *, source: str, **values: str | None) -> QualysSecret:
        for name in ("access_token", "username", "password"):
            value = values.get(name)
            if value is not None and (len(value) > _MAX_VALUE or not re.match(_VALUE, value)):
                raise ConfigError(
                    f"Qualys secret {source}: {name} must be printable ASCII without whitespace (<= 16 KiB)"
                )
        if not values.get("access_token") and not (values.get("username") and values.get("password")):
            raise ConfigError(f"Qualys secret {source} needs access_token, or username and password")
        if bool(values.get("username")) != bool(values.get("password")):
            raise ConfigError(f"Qualys secret {source}: username and password go together")
        secret = cls(
            pod=values.get("pod"),
            gateway_url=values.get("gateway_url"),
            access_token=values.get("access_token"),
            username=values.get("username"),
            password=values.get("password"),
        )
        for value in (secret.access_token, secret.password):
            register_secret(value)
        try:
            gateway = secret.gateway
        except ConfigError as exc:
            raise ConfigError(f"Qualys secret {source}: {exc.reason}") from None
        if secret.gateway_url and secret.gateway_url != gateway:
            secret = replace(secret, gateway_url=gateway)  # normalized (no trailing slash)
        return secret


def parse_secret_text(text: str | bytes, source: str) -> QualysSecret:
    """Decode the secret JSON (never echoing it) and validate it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"Qualys secret {source} is not UTF-8 text") from None
    if len(text) > MAX_SECRET_BYTES:
        raise ConfigError(f"Qualys secret {source} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        data = json.loads(text)
    except ValueError:
        register_secret(text.strip())  # a bare token stored by mistake must still never reach a log
        raise ConfigError(
            f"Qualys secret {source} is not valid JSON (expected an object with pod and access_token)"
        ) from None
    return QualysSecret.from_mapping(data, source)


# ---------------------------------------------------------------- sources


def from_environment(env: Mapping[str, str] | None = None) -> QualysSecret:
    source_env = os.environ if env is None else env
    values = {name: (source_env.get(var) or "").strip() or None for name, var in ENV_KEYS.items()}
    if not any(values.values()):
        raise ConfigError(
            "no Qualys secret configured: set QSCAN_QUALYS_SECRET_ARN (AWS) or QSCAN_QUALYS_SECRET_URI (Azure), "
            "or QUALYS_POD and QUALYS_ACCESS_TOKEN for local runs"
        )
    return QualysSecret.validated(source="from the QUALYS_* environment", **values)


def from_secrets_manager(secret_id: str, client: Any) -> QualysSecret:
    """Read the Qualys secret from a Secrets Manager secret by ARN (or name)."""
    return parse_secret_text(secrets_manager_text(secret_id, client), f"Secrets Manager secret {secret_id}")


def secrets_manager_text(secret_id: str, client: Any) -> str | bytes:
    """The value of a Secrets Manager secret by ARN (or name): the one Secrets Manager reader.

    Errors never carry the value: access and missing secrets are `ConfigError`, the rest `TransientError`.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - optional dependency

    source = f"Secrets Manager secret {secret_id}"
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        if code in _SECRETS_MANAGER_CONFIG:
            raise ConfigError(f"{source} {_SECRETS_MANAGER_CONFIG[code]} ({code})") from None
        raise TransientError(f"{source} could not be read ({code}); retry") from None
    except BotoCoreError as exc:
        raise TransientError(f"{source} could not be read ({type(exc).__name__}); retry") from None
    for key in ("SecretString", "SecretBinary"):
        value = response.get(key)
        if isinstance(value, str | bytes):
            return value
    raise ConfigError(f"{source} has no value")


def from_key_vault(secret_uri: str, client_factory: Callable[[str], Any]) -> QualysSecret:
    """Read the Qualys secret from a Key Vault secret by URI."""
    vault_url, name, _ = parse_keyvault_secret_uri(secret_uri)
    return parse_secret_text(
        key_vault_text(secret_uri, client_factory), f"Key Vault secret {vault_url}/secrets/{name}"
    )


def key_vault_text(secret_uri: str, client_factory: Callable[[str], Any]) -> str:
    """The value of a Key Vault secret by URI through an azure-keyvault-secrets SecretClient: the one Key Vault
    reader (the Qualys secret, and a registry credentials secret fed to `qscan.registry.credentials`).

    Errors never carry the value: missing and unreadable secrets are `ConfigError`, the rest `TransientError`.
    """
    from azure.core.exceptions import (  # noqa: PLC0415 - optional dependency
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
    )

    vault_url, name, version = parse_keyvault_secret_uri(secret_uri)
    source = f"Key Vault secret {vault_url}/secrets/{name}"
    try:
        secret = client_factory(vault_url).get_secret(name, version)
    except ResourceNotFoundError:
        raise ConfigError(f"{source} was not found (404)") from None
    except ClientAuthenticationError as exc:
        if exc.status_code is None:  # no credential at all (e.g. no managed identity assigned)
            raise ConfigError(f"{source}: no Azure credential is available ({type(exc).__name__})") from None
        raise ConfigError(f"{source} is not readable by this identity ({exc.status_code})") from None
    except HttpResponseError as exc:
        status = exc.status_code
        if status == 403:
            raise ConfigError(
                f"{source} is not readable by this identity (403: needs 'Key Vault Secrets User')"
            ) from None
        if status in (400, 404):
            raise ConfigError(f"{source} could not be read ({status})") from None
        raise TransientError(f"{source} could not be read (HTTP {status}); retry") from None
    except AzureError as exc:
        raise TransientError(f"{source} could not be read ({type(exc).__name__}); retry") from None
    value = getattr(secret, "value", None)
    if not isinstance(value, str):
        raise ConfigError(f"{source} has no value")
    return value


# ---------------------------------------------------------------- clients and cache

_lock = threading.Lock()
_cache: dict[str, tuple[float, QualysSecret]] = {}
_sm_clients: dict[str | None, Any] = {}
_kv_clients: dict[str, Any] = {}


def secretsmanager_client(endpoint_url: str | None = None) -> Any:
    with _lock:
        if endpoint_url not in _sm_clients:
            from qscan.aws.sessions import boto3_client  # noqa: PLC0415 - boto3 only when needed

            _sm_clients[endpoint_url] = boto3_client("secretsmanager", endpoint_url=endpoint_url)
        return _sm_clients[endpoint_url]


def keyvault_client(vault_url: str) -> Any:
    with _lock:
        if vault_url not in _kv_clients:
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415
            from azure.keyvault.secrets import SecretClient  # noqa: PLC0415

            _kv_clients[vault_url] = SecretClient(vault_url=vault_url, credential=DefaultAzureCredential())
        return _kv_clients[vault_url]


def clear_cache() -> None:
    """Forget cached secrets (tests; or after the API answered 401 with a cached token)."""
    with _lock:
        _cache.clear()


def source_of(settings: Settings) -> str:
    """Which source `load_qualys_secret` uses: 'secretsmanager', 'keyvault' or 'environment'."""
    if settings.cloud == "aws":
        if settings.qualys_secret_uri and not settings.qualys_secret_arn:
            raise ConfigError(
                "QSCAN_QUALYS_SECRET_URI is an Azure setting; on AWS set QSCAN_QUALYS_SECRET_ARN"
            )
        return "secretsmanager" if settings.qualys_secret_arn else "environment"
    if settings.qualys_secret_arn and not settings.qualys_secret_uri:
        raise ConfigError("QSCAN_QUALYS_SECRET_ARN is an AWS setting; on Azure set QSCAN_QUALYS_SECRET_URI")
    return "keyvault" if settings.qualys_secret_uri else "environment"


def load_qualys_secret(
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    sm_client: Any | None = None,
    kv_client_factory: Callable[[str], Any] | None = None,
    now: Callable[[], float] = time.monotonic,
) -> QualysSecret:
    """Load (or return the cached) Qualys secret from the source the settings name."""
    kind = source_of(settings)
    if kind == "environment":
        return from_environment(env)
    key = (
        f"sm:{settings.qualys_secret_arn}" if kind == "secretsmanager" else f"kv:{settings.qualys_secret_uri}"
    )
    with _lock:
        cached = _cache.get(key)
    if cached and now() - cached[0] < CACHE_TTL_SECONDS:
        return cached[1]
    if kind == "secretsmanager":
        client = sm_client if sm_client is not None else secretsmanager_client(settings.aws_endpoint_url)
        secret = from_secrets_manager(settings.require("qualys_secret_arn"), client)
    else:
        secret = from_key_vault(settings.require("qualys_secret_uri"), kv_client_factory or keyvault_client)
    with _lock:
        _cache[key] = (now(), secret)
    return secret


def rotated_secret(current: QualysSecret, load: Callable[[], QualysSecret]) -> QualysSecret | None:
    """The reloaded Qualys secret when its POD or token differ from `current`, else None.

    A reload that fails transiently is logged and answers None: the loaded secret stays in use.
    """
    try:
        secret = load()
    except TransientError as exc:
        log.warning("Qualys secret refresh failed, keeping the loaded one: %s", exc.reason)
        return None
    if (secret.pod, secret.access_token) == (current.pod, current.access_token):
        return None
    log.info("Qualys secret changed: scanner rebuilt")
    return secret
