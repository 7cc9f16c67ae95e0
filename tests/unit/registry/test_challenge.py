"""WWW-Authenticate parsing: both challenge kinds, several challenges in one header, quoting, malformed input."""

from __future__ import annotations

import pytest
from qscan.registry.challenge import MAX_HEADER, Challenge, parse_challenges


def test_bearer_challenge_of_docker_hub() -> None:
    header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'
    assert parse_challenges(header) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/nginx:pull",
            },
        )
    ]


def test_basic_challenge_names_are_case_insensitive_and_tokens_unquoted() -> None:
    assert parse_challenges("BASIC Realm=registry") == [Challenge("basic", {"realm": "registry"})]
    assert parse_challenges("Basic") == [Challenge("basic", {})]


def test_several_challenges_in_one_header_keep_their_order() -> None:
    found = parse_challenges('Basic realm="a, b", Bearer realm="https://r.example/token", service=r')
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[0].realm == "a, b"
    assert found[1].params == {"realm": "https://r.example/token", "service": "r"}


def test_quoted_strings_unescape_and_the_first_duplicate_wins() -> None:
    found = parse_challenges(r'Bearer realm="https://x/t\"q", realm="https://evil/t"')
    assert found == [Challenge("bearer", {"realm": 'https://x/t"q'})]


def test_a_token68_challenge_keeps_no_parameters() -> None:
    assert parse_challenges("Negotiate abc123==, Basic realm=x") == [
        Challenge("negotiate", {}),
        Challenge("basic", {"realm": "x"}),
    ]


@pytest.mark.parametrize(
    "header",
    [None, "", " , ,", '=realm="x"', 'Bearer realm="unterminated', "Bearer realm=", "x" * (MAX_HEADER + 1)],
)
def test_malformed_headers_never_raise_and_give_no_usable_realm(header: str | None) -> None:
    assert all(c.realm is None for c in parse_challenges(header))
