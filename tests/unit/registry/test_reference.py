"""Docker Hub naming, API endpoints and which hosts may receive a registry's credentials."""

from __future__ import annotations

import pytest
from qscan.refs import parse_image_ref
from qscan.registry.reference import endpoint_for, endpoint_of, realm_allowed


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("nginx:1.27", "https://registry-1.docker.io/v2/library/nginx/manifests/1.27"),
        (
            "index.docker.io/library/nginx:1.27",
            "https://registry-1.docker.io/v2/library/nginx/manifests/1.27",
        ),
        ("registry-1.docker.io/bitnami/redis:7", "https://registry-1.docker.io/v2/bitnami/redis/manifests/7"),
        ("ghcr.io/org/app:1", "https://ghcr.io/v2/org/app/manifests/1"),
        ("public.ecr.aws/nginx/nginx:1", "https://public.ecr.aws/v2/nginx/nginx/manifests/1"),
        ("registry.example.com:5000/team/app:2", "https://registry.example.com:5000/v2/team/app/manifests/2"),
    ],
)
def test_references_map_to_their_distribution_api(text: str, url: str) -> None:
    ref = parse_image_ref(text)
    assert endpoint_of(ref).manifest_url(ref.repository, ref.tag or "") == url


def test_plain_http_only_for_listed_hosts() -> None:
    assert endpoint_for("127.0.0.1:5000").base == "https://127.0.0.1:5000"
    assert endpoint_for("127.0.0.1:5000", frozenset({"127.0.0.1:5000"})).base == "http://127.0.0.1:5000"
    assert endpoint_for("127.0.0.1:5001", frozenset({"127.0.0.1:5000"})).scheme == "https"


@pytest.mark.parametrize(
    ("registry", "realm", "allowed"),
    [
        ("docker.io", "https://auth.docker.io/token", True),
        ("docker.io", "https://auth.docker.io.evil.example/token", False),
        ("ghcr.io", "https://ghcr.io/token", True),
        ("ghcr.io", "https://auth.docker.io/token", False),  # another registry's token service
        ("myreg.azurecr.io", "https://myreg.azurecr.io/oauth2/token", True),
        ("myreg.azurecr.io", "https://other.azurecr.io/oauth2/token", False),
        ("registry.example.com:5000", "https://registry.example.com/token", True),  # same host, other port
        ("registry.example.com", "http://registry.example.com/token", False),  # https registry, http realm
        ("registry.example.com", "ftp://registry.example.com/token", False),
        ("registry.example.com", "/token", False),
    ],
)
def test_credentials_go_only_to_a_realm_on_the_expected_host(
    registry: str, realm: str, allowed: bool
) -> None:
    assert realm_allowed(endpoint_for(registry), realm) is allowed


def test_an_http_realm_is_allowed_only_on_a_plain_http_registry_s_own_host() -> None:
    loopback = endpoint_for("127.0.0.1:5000", frozenset({"127.0.0.1:5000"}))
    assert realm_allowed(loopback, "http://127.0.0.1:5001/token")
    assert not realm_allowed(loopback, "http://localhost:5001/token")


def test_a_credential_may_name_more_realm_hosts() -> None:
    endpoint = endpoint_for("registry.example.com")
    assert not realm_allowed(endpoint, "https://auth.example.com/token")
    assert realm_allowed(endpoint, "https://auth.example.com/token", frozenset({"auth.example.com"}))
