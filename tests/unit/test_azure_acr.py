"""qscan.azure.acr.AcrCredentials against a tiny in-process ACR token service (a requests transport adapter):
the exchange request, the refresh token as the zero-GUID user's password, renewal shortly before `exp`, the AAD
token never sent anywhere but the registry host over https, typed errors without secrets."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from qscan.azure.acr import ACR_SCOPE, ACR_USER, FALLBACK_TTL_SECONDS, REFRESH_MARGIN_SECONDS, AcrCredentials
from qscan.errors import ConfigError, TransientError
from qscan.redact import redact
from qscan.registry.credentials import CredentialSource, RegistryCredential
from qscan.registry.errors import RegistryAccessDenied, RegistryUnavailable
from requests.adapters import HTTPAdapter

REGISTRY = "qscanacr.azurecr.io"
AAD = "aad-token-for-the-acr-scope-0123456789"
EXP = 2_000_000_000


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


REFRESH = jwt({"exp": EXP, "grant_type": "refresh_token", "service": REGISTRY})


class Credential:
    def __init__(self, token: str = AAD, error: Exception | None = None) -> None:
        self.token, self.error, self.scopes = token, error, list[str]()

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        if self.error is not None:
            raise self.error
        return AccessToken(self.token, EXP)


@dataclass
class TokenService(HTTPAdapter):
    """ACR's `POST /oauth2/exchange` for `REGISTRY`; every request any host receives is recorded."""

    registry: str = REGISTRY
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    refresh: str = REFRESH
    fail: Exception | None = None
    sent: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)  # (method, url, form)

    def __post_init__(self) -> None:
        super().__init__()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        form = parse_qs(request.body if isinstance(request.body, str) else (request.body or b"").decode())
        self.sent.append((request.method or "", request.url or "", form))
        if self.fail is not None:
            raise self.fail
        response = requests.Response()
        response.request, response.url = request, request.url or ""
        response.headers.update(self.headers)
        parts = urlsplit(request.url or "")
        if (parts.scheme, parts.hostname, parts.path) != ("https", self.registry, "/oauth2/exchange"):
            response.status_code, response._content = 404, b"{}"
            return response
        good = form == {"grant_type": ["access_token"], "service": [self.registry], "access_token": [AAD]}
        response.status_code = self.status if good else 401
        body = self.body if self.body is not None else {"refresh_token": self.refresh}
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return response


def session_for(service: TokenService) -> requests.Session:
    session = requests.Session()
    session.mount("https://", service)
    session.mount("http://", service)
    return session


def test_the_aad_token_is_exchanged_for_a_refresh_token_that_is_the_zero_guid_users_password() -> None:
    service, credential = TokenService(), Credential()
    acr: CredentialSource = AcrCredentials(credential, session=session_for(service))
    found = acr.credential_for(REGISTRY)
    assert found == RegistryCredential(ACR_USER, REFRESH)
    assert ACR_USER == "00000000-0000-0000-0000-000000000000"
    assert credential.scopes == [ACR_SCOPE] == ["https://containerregistry.azure.net/.default"]
    assert service.sent == [
        (
            "POST",
            f"https://{REGISTRY}/oauth2/exchange",
            {"grant_type": ["access_token"], "service": [REGISTRY], "access_token": [AAD]},
        )
    ]


def test_the_refresh_token_is_reused_until_shortly_before_it_expires() -> None:
    clock = [float(EXP - 3600)]
    service, credential = TokenService(), Credential()
    acr = AcrCredentials(credential, session=session_for(service), now=lambda: clock[0])
    first = acr.credential_for(REGISTRY)
    clock[0] = EXP - REFRESH_MARGIN_SECONDS - 1
    assert acr.credential_for(REGISTRY) is first
    assert len(service.sent) == 1 and len(credential.scopes) == 1
    clock[0] = EXP - REFRESH_MARGIN_SECONDS
    acr.credential_for(REGISTRY)
    assert len(service.sent) == 2 and len(credential.scopes) == 2


def test_a_refresh_token_without_exp_is_renewed_after_the_fallback_ttl() -> None:
    clock = [1000.0]
    service = TokenService(refresh="opaque-refresh-token-value")
    acr = AcrCredentials(Credential(), session=session_for(service), now=lambda: clock[0])
    assert acr.credential_for(REGISTRY) == RegistryCredential(ACR_USER, "opaque-refresh-token-value")
    clock[0] += FALLBACK_TTL_SECONDS - 1
    acr.credential_for(REGISTRY)
    assert len(service.sent) == 1
    clock[0] += 1
    acr.credential_for(REGISTRY)
    assert len(service.sent) == 2


@pytest.mark.parametrize(
    "registry", ["ghcr.io", "docker.io", "qscanacr.azurecr.io.evil.example", "evil.example", "127.0.0.1:5000"]
)
def test_other_registries_get_nothing_and_no_token_is_fetched_or_sent(registry: str) -> None:
    service, credential = TokenService(), Credential()
    assert AcrCredentials(credential, session=session_for(service)).credential_for(registry) is None
    assert credential.scopes == [] and service.sent == []


def test_sovereign_cloud_login_servers_are_acr_too() -> None:
    service = TokenService(registry="qscanacr.azurecr.cn")
    found = AcrCredentials(Credential(), session=session_for(service)).credential_for("qscanacr.azurecr.cn")
    assert found == RegistryCredential(ACR_USER, REFRESH)
    assert [url for _, url, _ in service.sent] == ["https://qscanacr.azurecr.cn/oauth2/exchange"]


@pytest.mark.parametrize(
    "location",
    ["http://qscanacr.azurecr.io/oauth2/exchange", "https://collector.evil.example/oauth2/exchange"],
)
def test_a_redirect_is_never_followed_so_the_aad_token_stays_with_the_registry_over_https(
    location: str,
) -> None:
    service = TokenService(status=307, headers={"Location": location}, body=b"")
    with pytest.raises(RegistryAccessDenied, match="no refresh token"):
        AcrCredentials(Credential(), session=session_for(service)).credential_for(REGISTRY)
    assert [url for _, url, _ in service.sent] == [f"https://{REGISTRY}/oauth2/exchange"]


@pytest.mark.parametrize(
    ("status", "body", "error", "reason"),
    [
        (401, None, RegistryAccessDenied, "needs AcrPull"),
        (403, None, RegistryAccessDenied, "needs AcrPull"),
        (429, None, RegistryUnavailable, "answered 429"),
        (503, None, RegistryUnavailable, "answered 503"),
        (200, {"access_token": "x"}, RegistryAccessDenied, "no refresh token"),
        (200, b"<html>", RegistryAccessDenied, "no refresh token"),
        (200, {"refresh_token": ""}, RegistryAccessDenied, "no refresh token"),
        (200, {"refresh_token": "a\nb"}, RegistryAccessDenied, "no refresh token"),
        (200, b"{" + b" " * 70_000 + b"}", RegistryAccessDenied, "no refresh token"),
    ],
)
def test_exchange_failures_are_typed(status: int, body: Any, error: type[Exception], reason: str) -> None:
    service = TokenService(status=status, body=body)
    with pytest.raises(error, match=reason) as raised:
        AcrCredentials(Credential(), session=session_for(service)).credential_for(REGISTRY)
    assert AAD not in str(raised.value)


def test_an_unreachable_registry_is_transient() -> None:
    service = TokenService(fail=requests.ConnectionError(f"connection refused, token {AAD}"))
    with pytest.raises(RegistryUnavailable, match="ConnectionError") as raised:
        AcrCredentials(Credential(), session=session_for(service)).credential_for(REGISTRY)
    assert AAD not in str(raised.value) and isinstance(raised.value, TransientError)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ClientAuthenticationError("no managed identity endpoint"), ConfigError),
        (ServiceRequestError("identity endpoint unreachable"), TransientError),
    ],
)
def test_no_aad_token_is_a_typed_error_and_nothing_is_sent(
    error: Exception, expected: type[Exception]
) -> None:
    service = TokenService()
    with pytest.raises(expected, match="AAD token"):
        AcrCredentials(Credential(error=error), session=session_for(service)).credential_for(REGISTRY)
    assert service.sent == []


def test_both_tokens_are_masked_in_logs_and_never_in_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    found = AcrCredentials(Credential(), session=session_for(TokenService())).credential_for(REGISTRY)
    assert found is not None
    assert AAD not in redact(f"aad={AAD}") and REFRESH not in redact(f"refresh={REFRESH}")
    assert AAD not in caplog.text and REFRESH not in caplog.text
    assert REFRESH not in repr(found)
