"""The registry shapes issue 15 names, each through the one resolver path (`Resolver` + `HttpManifestSource` +
`DistributionClient`) against a real docker-registry on loopback:

- ACR: the registry's name is `<name>.azurecr.io` (routed to loopback by `HostRoutes`), served over TLS like
  its token service on the same host, which answers `/oauth2/exchange` and `/oauth2/token`;
  `qscan.azure.acr.AcrCredentials` (https only) exchanges a fake managed identity's AAD token for a refresh
  token, which with the user 00000000-0000-0000-0000-000000000000 is the Basic credential the realm takes;
- Docker Hub: the realm on another host than the registry (https on 127.0.0.2): the registry's credential is
  sent there only when the credential names that host (`realm_hosts`); an http realm on another host is
  refused outright;
- plain: no auth, htpasswd Basic (tests/integration/test_registry_resolve.py covers both for every case).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from qscan.azure.acr import ACR_SCOPE, ACR_USER, AcrCredentials
from qscan.refs import parse_image_ref
from qscan.registry.client import DistributionClient
from qscan.registry.credentials import RegistryCredential, StaticCredentials
from qscan.registry.errors import RegistryAccessDenied, UnusableAnswer
from qscan.registry.resolver import HttpManifestSource, Resolver

from tests.harness.oci_registry import (
    AAD_TOKEN,
    PASSWORD,
    REFRESH_TOKEN,
    USERNAME,
    OciLayout,
    Registry,
    need_tools,
    routed_session,
    running_registry,
)

pytestmark = pytest.mark.integration
ACR = "qscanacr.azurecr.io"
OTHER_LOOPBACK = "127.0.0.2"


class FakeAadCredential:
    """An azure-identity credential double: `get_token(scope)` records the scope and returns the AAD token."""

    def __init__(self, token: str = AAD_TOKEN) -> None:
        self.token, self.scopes = token, list[str]()

    def get_token(self, *scopes: str) -> Any:
        self.scopes.extend(scopes)
        return SimpleNamespace(token=self.token, expires_on=0)


@pytest.fixture(scope="module")
def acr() -> Iterator[Registry]:
    need_tools()
    # The token service on another loopback address: its certificate is not the registry's (one CA bundle).
    with running_registry(
        "token",
        realm=f"https://{ACR}/oauth2/token",
        service=ACR,
        tls=True,
        token_host=OTHER_LOOPBACK,
        token_tls=True,
    ) as registry:
        yield registry


@pytest.fixture
def layout(tmp_path: Path) -> OciLayout:
    return OciLayout.create(tmp_path)


def _acr_session(registry: Registry) -> requests.Session:
    """https to `ACR` routed to the registry and its token service, trusting both self-signed certificates."""
    assert registry.tokens is not None and registry.tokens.tls_cert and registry.tls_cert
    bundle = registry.workdir / "acr-ca.pem"
    bundle.write_bytes(registry.tls_cert.read_bytes() + registry.tokens.tls_cert.read_bytes())
    session = routed_session(ACR, {"/v2/": registry.host, "/oauth2/": registry.tokens.address})
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
    session.verify = str(bundle)
    return session


def test_acr_resolves_through_the_aad_token_exchange(acr: Registry, layout: OciLayout) -> None:
    assert acr.tokens is not None
    digest = layout.tag("1", layout.image("acr"))
    acr.push(layout, "team/app", "1")
    session, aad = _acr_session(acr), FakeAadCredential()
    credentials = AcrCredentials(aad, session=session)
    http = DistributionClient(credentials=credentials, session=session)
    before = len(acr.tokens.authorizations)

    found = Resolver(lambda _: HttpManifestSource(http)).resolve(parse_image_ref(f"{ACR}/team/app:1"))

    assert found.digest == digest
    assert aad.scopes == [ACR_SCOPE]
    assert acr.tokens.exchanges == 1
    basic = "Basic " + base64.b64encode(f"{ACR_USER}:{REFRESH_TOKEN}".encode()).decode()
    assert acr.tokens.authorizations[before:] == [basic]  # the refresh token as ACR's Basic password


def test_acr_refuses_a_wrong_aad_token_permanently(acr: Registry, layout: OciLayout) -> None:
    layout.tag("1", layout.image("acr-denied"))
    acr.push(layout, "team/denied", "1")
    session = _acr_session(acr)
    credentials = AcrCredentials(FakeAadCredential("not-the-aad-token"), session=session)
    http = DistributionClient(credentials=credentials, session=session)
    with pytest.raises(RegistryAccessDenied, match="AAD token was refused") as denied:
        Resolver(lambda _: HttpManifestSource(http)).resolve(parse_image_ref(f"{ACR}/team/denied:1"))
    assert "not-the-aad-token" not in str(denied.value)


def test_acr_token_endpoint_takes_the_refresh_token_grant(acr: Registry, layout: OciLayout) -> None:
    """ACR's POST /oauth2/token (refresh_token grant) gives an access token the registry accepts."""
    layout.tag("1", layout.image("acr-grant"))
    acr.push(layout, "team/grant", "1")
    session = _acr_session(acr)
    scope = "repository:team/grant:pull"
    form = {"grant_type": "refresh_token", "service": ACR, "scope": scope, "refresh_token": REFRESH_TOKEN}
    token = session.post(f"https://{ACR}/oauth2/token", data=form, timeout=10).json()["access_token"]
    answer = session.head(
        f"https://{ACR}/v2/team/grant/manifests/1",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    assert answer.status_code == 200
    wrong = session.post(f"https://{ACR}/oauth2/token", data={**form, "refresh_token": "not-it"}, timeout=10)
    assert wrong.status_code == 401


@pytest.fixture(scope="module")
def hub_shaped() -> Iterator[Registry]:
    need_tools()
    with running_registry("token", token_host=OTHER_LOOPBACK, token_tls=True) as registry:
        yield registry


def _hub_client(registry: Registry, realm_hosts: frozenset[str]) -> DistributionClient:
    assert registry.tokens is not None and registry.tokens.tls_cert is not None
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
    session.verify = str(registry.tokens.tls_cert)
    credential = RegistryCredential(USERNAME, PASSWORD, realm_hosts)
    return DistributionClient(
        credentials=StaticCredentials({registry.host: credential}),
        session=session,
        insecure_hosts=frozenset({registry.host}),
    )


def test_a_realm_on_another_host_gets_the_credential_only_when_named(
    hub_shaped: Registry, layout: OciLayout
) -> None:
    """Docker Hub's shape (registry-1.docker.io, realm auth.docker.io): the realm on another host (https)."""
    registry, tokens = hub_shaped, hub_shaped.tokens
    assert tokens is not None and tokens.realm.startswith(f"https://{OTHER_LOOPBACK}:")
    digest = layout.tag("1", layout.image("hub"))
    registry.push(layout, "library/hub", "1")
    ref = parse_image_ref(f"{registry.host}/library/hub:1")
    basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    before = len(tokens.authorizations)
    with pytest.raises(RegistryAccessDenied):
        Resolver(lambda _: HttpManifestSource(_hub_client(registry, frozenset()))).resolve(ref)
    assert tokens.authorizations[before:] == [None]  # asked anonymously: the credential stayed home

    before = len(tokens.authorizations)
    named = _hub_client(registry, frozenset({OTHER_LOOPBACK}))
    assert Resolver(lambda _: HttpManifestSource(named)).resolve(ref).digest == digest
    assert tokens.authorizations[before:] == [basic]


def test_an_http_realm_on_another_host_is_refused(layout: OciLayout) -> None:
    need_tools()
    with running_registry("token", token_host=OTHER_LOOPBACK) as registry:
        layout.tag("1", layout.image("plain-realm"))
        registry.push(layout, "team/plain", "1")
        assert registry.tokens is not None
        pushed = len(registry.tokens.authorizations)  # skopeo's own token requests
        credential = RegistryCredential(USERNAME, PASSWORD, frozenset({OTHER_LOOPBACK}))
        http = DistributionClient(
            credentials=StaticCredentials({registry.host: credential}),
            insecure_hosts=frozenset({registry.host}),
        )
        with pytest.raises(UnusableAnswer, match="token realm is not https"):
            Resolver(lambda _: HttpManifestSource(http)).resolve(
                parse_image_ref(f"{registry.host}/team/plain:1")
            )
        assert registry.tokens.authorizations[pushed:] == []  # nothing was sent to it
