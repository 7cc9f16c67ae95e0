"""Azure Container Registry credentials through the managed identity: a `CredentialSource` for `*.azurecr.io`.

`AcrCredentials(credential).credential_for(registry)`, for an ACR login server (`<name>.azurecr.io`, also
`.azurecr.cn` / `.azurecr.us`; any other registry: None, and no token is fetched):

1. an AAD (Entra ID) access token from `credential` (azure-identity: `get_token(ACR_SCOPE)`, scope
   `https://containerregistry.azure.net/.default`);
2. `POST https://<registry>/oauth2/exchange`, form-encoded `grant_type=access_token`, `service=<registry>`,
   `access_token=<AAD token>` (`tenant` is optional and left out: the token names its tenant), answered
   `{"refresh_token": "<JWT>"}` (ACR data-plane REST API "Refresh Tokens - Get From Exchange", the
   `ContainerRegistryClient.ExchangeAadAccessTokenForAcrRefreshToken(service, tenant, refreshToken,
   accessToken)` operation of the Azure SDKs);
3. `RegistryCredential(ACR_USER, refresh_token)`: the user `00000000-0000-0000-0000-000000000000` with the
   refresh token as password is what the registry's `/oauth2/token` realm takes in the ordinary Bearer flow
   (`qscan.registry.client`) and what qscanner pulls with.

The refresh token is cached per registry until `REFRESH_MARGIN_SECONDS` before the `exp` of its JWT (not
verified here: it only says when to renew; `FALLBACK_TTL_SECONDS` when it carries none), then exchanged anew.
The AAD token goes to the registry host only, over https only (there is no http mode), and redirects are never
followed. Both tokens are registered with `qscan.redact`; errors name the registry and the status, never a
token or the answer's text:
- 401/403 or an answer without a refresh token: `RegistryAccessDenied` (permanent: the identity needs AcrPull);
- 429, 5xx, timeouts, connection failures: `RegistryUnavailable` (transient);
- no AAD token (no identity assigned, identity endpoint failing): `ConfigError` / `TransientError` through
  `qscan.cloud_errors.azure_error`.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from qscan.cloud_errors import azure_error
from qscan.redact import register_secret
from qscan.refs import classify_registry
from qscan.registry.credentials import RegistryCredential
from qscan.registry.errors import RegistryAccessDenied, RegistryUnavailable

ACR_USER = "00000000-0000-0000-0000-000000000000"
ACR_SCOPE = "https://containerregistry.azure.net/.default"
REFRESH_MARGIN_SECONDS = 5 * 60.0
FALLBACK_TTL_SECONDS = 45 * 60.0  # ACR refresh tokens live about 3 h
MAX_ANSWER_BYTES = 64 * 1024


class AcrCredentials:
    """ACR registries through the managed identity's AAD token (see the module doc).

    `credential`: an azure-identity credential (anything with `get_token(scope)`); `session`: the requests
    session for the exchange (one is created on first use); `now`: wall-clock seconds (compared with `exp`)."""

    def __init__(
        self,
        credential: Any,
        *,
        session: Any = None,
        timeout: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._credential, self._session, self._timeout, self._now = credential, session, timeout, now
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, RegistryCredential]] = {}  # registry -> (renew at, credential)

    def credential_for(self, registry: str) -> RegistryCredential | None:
        if classify_registry(registry).kind != "acr":
            return None
        with self._lock:
            cached = self._cache.get(registry)
            if cached and self._now() < cached[0]:
                return cached[1]
        refresh = self._exchange(registry, self._aad_token(registry))
        credential = RegistryCredential(ACR_USER, refresh)
        with self._lock:
            self._cache[registry] = (self._renew_at(refresh), credential)
        return credential

    def _aad_token(self, registry: str) -> str:
        from azure.core.exceptions import AzureError  # noqa: PLC0415 - on first use

        action = f"ACR {registry}: AAD token for {ACR_SCOPE}"
        try:
            token = self._credential.get_token(ACR_SCOPE).token
        except AzureError as exc:
            mapped = azure_error(exc, action)
            if mapped is None:
                raise
            raise mapped from None
        if not isinstance(token, str) or not token:
            raise RegistryAccessDenied(f"{action}: the identity gave no token")
        register_secret(token)
        return token

    def _exchange(self, registry: str, aad_token: str) -> str:
        import requests  # noqa: PLC0415 - on first use

        if self._session is None:
            self._session = requests.Session()
        form = {"grant_type": "access_token", "service": registry, "access_token": aad_token}
        try:
            answer = self._session.post(
                f"https://{registry}/oauth2/exchange", data=form, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise RegistryUnavailable(
                f"ACR {registry}: token exchange failed ({type(exc).__name__})"
            ) from None
        status = answer.status_code
        if status in (401, 403):
            raise RegistryAccessDenied(
                f"ACR {registry}: the identity's AAD token was refused ({status}: it needs AcrPull)"
            )
        if status == 429 or status >= 500:
            raise RegistryUnavailable(f"ACR {registry}: token exchange answered {status}")
        refresh = _refresh_token(answer) if status == 200 else None
        if refresh is None:
            raise RegistryAccessDenied(f"ACR {registry}: the token exchange gave no refresh token ({status})")
        return refresh

    def _renew_at(self, refresh: str) -> float:
        expires = _jwt_exp(refresh)
        if expires is None:
            return self._now() + FALLBACK_TTL_SECONDS
        return expires - REFRESH_MARGIN_SECONDS


def _refresh_token(answer: Any) -> str | None:
    body = answer.content or b""
    if len(body) > MAX_ANSWER_BYTES:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    refresh = data.get("refresh_token") if isinstance(data, dict) else None
    if not isinstance(refresh, str) or not refresh or len(refresh) > 16 * 1024 or not refresh.isprintable():
        return None
    return refresh


def _jwt_exp(token: str) -> float | None:
    """The `exp` claim of a JWT (unverified; None when `token` is not one or has none)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
