"""boto3 clients once per cold start, the function's own account, and credentials for other accounts.

Every boto3 client qscan creates goes through `boto3_client`, with one shared botocore `Config`
(`client_config()`): the `standard` retry mode (`MAX_ATTEMPTS` attempts in total, with backoff and jitter on
throttling, 5xx and connection errors) and explicit `CONNECT_TIMEOUT_SECONDS` / `READ_TIMEOUT_SECONDS`, so a
stalled endpoint fails within seconds instead of botocore's 60 s per read and the event is retried by the
platform. boto3 is imported only when the first client is created (handler cold import time).

`ClientFactory` creates each client once (per service, region and credentials) with the endpoint override of
QSCAN_AWS_ENDPOINT_URL, so the local demo reaches its moto server with every client.

`Accounts` answers "which credentials read this account's artifacts?" (DESIGN §3, hub-spoke):

- the scanner's own account (`sts:GetCallerIdentity`, asked once per cold start, only when first needed) uses
  the function's own credentials;
- any other account needs `arn:<partition>:iam::<account>:role/<QSCAN_SPOKE_ROLE_NAME>` assumed with
  `QSCAN_SPOKE_EXTERNAL_ID`. Without both settings that is a `ConfigError` (a deployment that receives events
  from other accounts but cannot read them is misconfigured: the record fails loudly, is retried and ends in the
  dead-letter queue with its alarm, instead of being skipped where nobody looks);
- assumed credentials are cached per account until `min_validity_seconds` before they expire, so a scan that
  starts with them never outlives them (the handler passes the scan timeout plus a margin). Lambda assuming a
  role is role chaining, which AWS caps at one hour: sessions last `duration_seconds` (3600).

Credentials are handed to the scanner child process only (`AssumedCredentials.child_env`); they are registered
with `qscan.redact` and never logged (their repr hides them). `AssumeRole` failures map through
`qscan.cloud_errors`: access denied (wrong trust policy or ExternalId, role missing) is a `ConfigError`,
throttling and 5xx a `TransientError`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from qscan.cloud_errors import aws_error
from qscan.errors import ConfigError, InvalidEvent, TransientError
from qscan.redact import register_secret
from qscan.structs import field, struct

if TYPE_CHECKING:
    from botocore.config import Config

LOG = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0  # TCP/TLS connect; AWS endpoints answer in milliseconds
READ_TIMEOUT_SECONDS = 30.0  # per socket read; S3 puts of raw outputs stream well below it
MAX_ATTEMPTS = 3  # total attempts per call in botocore's standard retry mode (1 call + 2 retries)
ROLE_CHAINING_MAX_SECONDS = 3600
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_ACCOUNT = r"^[0-9]{12}$"
_SESSION_NAME = r"^[\w+=,.@-]{2,64}$"
_ARN_PARTITION = r"^arn:(aws[a-z-]*):"
_ASSUME_HINT = " - check that the spoke role exists, trusts this scanner's role and requires this ExternalId"


def partition_from_arn(arn: str | None) -> str | None:
    match = re.match(_ARN_PARTITION, arn or "")
    return match.group(1) if match else None


@struct
class AssumedCredentials:
    """Temporary credentials of an assumed role; `repr` never shows the secret parts."""

    account: str
    role_arn: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires_at: float  # epoch seconds

    def child_env(self) -> dict[str, str]:
        """Environment for a child process (qscanner) that should act with these credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


_config_lock = threading.Lock()
_config: Config | None = None


def client_config() -> Config:
    """The one botocore `Config` of every qscan boto3 client: standard retries, explicit timeouts."""
    global _config  # noqa: PLW0603 - built once per process, on first use (botocore imported lazily)
    with _config_lock:
        if _config is None:
            from botocore.config import Config  # noqa: PLC0415 - lazy: handler cold import time

            _config = Config(
                retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
            )
        return _config


def boto3_client(service: str, **kwargs: Any) -> Any:
    """`boto3.client(service, **kwargs)` with `client_config()`: the only place qscan creates boto3 clients."""
    import boto3  # noqa: PLC0415 - lazy: handler cold import time

    return boto3.client(service, config=client_config(), **kwargs)


class ClientFactory:
    """boto3 clients (`boto3_client`), each created once per (service, region, credentials)."""

    def __init__(self, *, endpoint_url: str | None = None, region: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None, str | None], Any] = {}

    def client(
        self, service: str, *, region: str | None = None, credentials: AssumedCredentials | None = None
    ) -> Any:
        region = region or self.region
        key = (service, region, credentials.access_key_id if credentials else None)
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
            kwargs: dict[str, Any] = {"endpoint_url": self.endpoint_url}
            if region:
                kwargs["region_name"] = region
            if credentials is not None:
                kwargs.update(
                    aws_access_key_id=credentials.access_key_id,
                    aws_secret_access_key=credentials.secret_access_key,
                    aws_session_token=credentials.session_token,
                )
                # clients of expired credentials of the same service and region are dropped
                for stale in [k for k in self._clients if k[:2] == key[:2] and k[2] is not None]:
                    del self._clients[stale]
            created = boto3_client(service, **kwargs)
            self._clients[key] = created
            return created


class Accounts:
    """The function's own account and cached assumed-role credentials for the others."""

    def __init__(
        self,
        clients: ClientFactory,
        *,
        role_name: str | None,
        external_id: str | None,
        partition: str,
        session_name: str = "qscan-scanner",
        duration_seconds: int = ROLE_CHAINING_MAX_SECONDS,
        min_validity_seconds: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not re.match(_SESSION_NAME, session_name):
            raise ValueError("session_name must be 2-64 characters of letters, digits and +=,.@_-")
        if not 900 <= duration_seconds <= 43200:
            raise ValueError("duration_seconds must be between 900 and 43200")
        self.clients = clients
        self.role_name = role_name
        self.external_id = external_id
        self.partition = partition
        self.session_name = session_name
        self.duration_seconds = duration_seconds
        ceiling = duration_seconds - 300
        if min_validity_seconds > ceiling:
            LOG.warning(
                "assumed credentials last %ss: scans longer than %ss may outlive them",
                duration_seconds,
                ceiling,
            )
        self.min_validity_seconds = min(min_validity_seconds, ceiling)
        self._clock = clock
        self._lock = threading.Lock()
        self._own: str | None = None
        self._cache: dict[str, AssumedCredentials] = {}
        register_secret(external_id)

    # ------------------------------------------------------------------ own account
    def own_account(self) -> str:
        """This function's account id (sts:GetCallerIdentity, once)."""
        with self._lock:
            if self._own is not None:
                return self._own
        try:
            identity = self.clients.client("sts").get_caller_identity()
        except Exception as exc:
            mapped = aws_error(exc, "sts get_caller_identity")
            if mapped is not None:
                raise mapped from exc
            raise
        account = str(identity.get("Account", ""))
        if not re.match(_ACCOUNT, account):
            raise TransientError("sts get_caller_identity returned no account id")
        with self._lock:
            self._own = account
        return account

    def is_own(self, account: str | None) -> bool:
        return account is None or account == self.own_account()

    def role_arn(self, account: str) -> str:
        if not self.role_name or not self.external_id:
            raise ConfigError(
                f"the event is from account {account}, not this scanner's account: cross-account scanning needs "
                "QSCAN_SPOKE_ROLE_NAME and QSCAN_SPOKE_EXTERNAL_ID (module variables spoke_role_name and "
                "spoke_external_id)"
            )
        return f"arn:{self.partition}:iam::{account}:role/{self.role_name}"

    # ------------------------------------------------------------------ other accounts
    def credentials_for(self, account: str | None) -> AssumedCredentials | None:
        """None for the own account (the function's credentials); assumed credentials otherwise."""
        if account is not None and not re.match(_ACCOUNT, account):
            raise InvalidEvent("the event's account is not a 12-digit AWS account id")
        if self.is_own(account):
            return None
        assert account is not None
        now = self._clock()
        with self._lock:
            cached = self._cache.get(account)
        if cached is not None and cached.expires_at - now > self.min_validity_seconds:
            return cached
        credentials = self._assume(account)
        with self._lock:
            self._cache[account] = credentials
        return credentials

    def child_env(self, account: str | None) -> dict[str, str]:
        """Environment for the scanner process reading `account` (empty for the own account)."""
        credentials = self.credentials_for(account)
        return credentials.child_env() if credentials else {}

    def client(self, service: str, account: str | None, region: str | None = None) -> Any:
        """A client acting in `account`: the function's own, or one with the assumed role's credentials."""
        return self.clients.client(service, region=region, credentials=self.credentials_for(account))

    def _assume(self, account: str) -> AssumedCredentials:
        role_arn = self.role_arn(account)
        try:
            response = self.clients.client("sts").assume_role(
                RoleArn=role_arn,
                RoleSessionName=self.session_name,
                ExternalId=self.external_id,
                DurationSeconds=self.duration_seconds,
            )
        except Exception as exc:
            mapped = aws_error(exc, f"sts assume_role {role_arn}")
            if isinstance(mapped, ConfigError):
                raise ConfigError(mapped.reason + _ASSUME_HINT) from exc
            if mapped is not None:
                raise mapped from exc
            raise
        raw = response.get("Credentials") or {}
        try:
            credentials = AssumedCredentials(
                account=account,
                role_arn=role_arn,
                access_key_id=str(raw["AccessKeyId"]),
                secret_access_key=str(raw["SecretAccessKey"]),
                session_token=str(raw["SessionToken"]),
                expires_at=_epoch(raw["Expiration"]),
            )
        except (KeyError, TypeError, ValueError):
            raise TransientError(f"sts assume_role {role_arn} returned incomplete credentials") from None
        register_secret(credentials.secret_access_key)
        register_secret(credentials.session_token)
        LOG.info(
            "assumed %s",
            role_arn,
            extra={"role_arn": role_arn, "account": account, "expires_at": int(credentials.expires_at)},
        )
        return credentials


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise TypeError("unexpected expiration type")
