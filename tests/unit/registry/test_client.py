"""The distribution client against a programmable loopback server: digests, auth, retries, bounds, redirects."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
from typing import Any

import pytest
import requests
from qscan.errors import InvalidEvent, TransientError
from qscan.oci import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from qscan.refs import parse_image_ref
from qscan.registry.client import ACCEPT, DistributionClient, RequestRecord, _unknown_host
from qscan.registry.credentials import RegistryCredential, StaticCredentials
from qscan.registry.errors import (
    ManifestNotFound,
    ManifestTooLarge,
    RedirectRefused,
    RegistryAccessDenied,
    RegistryUnavailable,
    UnknownRegistryHost,
    UnusableAnswer,
)
from urllib3.exceptions import MaxRetryError

from tests.unit.registry.fake_registry import Answer, FakeServer, Seen, fake_server

BODY = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(BODY).hexdigest()
SECRET = "s3cret-registry-password"


def ok(body: bytes = BODY, media_type: str = OCI_MANIFEST, digest: str | None = DIGEST) -> Answer:
    headers = {"Content-Type": media_type}
    if digest:
        headers["Docker-Content-Digest"] = digest
    return 200, headers, body


def client(server: FakeServer, *, password: str | None = SECRET, **kwargs: Any) -> DistributionClient:
    creds = StaticCredentials({server.host: RegistryCredential("bot", password)}) if password else None
    kwargs.setdefault("sleep", lambda _: None)
    return DistributionClient(credentials=creds, insecure_hosts=frozenset({server.host}), **kwargs)


def ref(server: FakeServer, tail: str = "team/app:1") -> Any:
    return parse_image_ref(f"{server.host}/{tail}")


def test_head_reads_the_digest_with_the_full_accept_list() -> None:
    with fake_server(lambda seen: ok()) as server:
        answer = client(server).head_manifest(ref(server), "1")
    assert (answer.digest, answer.media_type, answer.body) == (DIGEST, OCI_MANIFEST, None)
    assert [s.method for s in server.seen] == ["HEAD"]
    accept = server.seen[0].headers["accept"]
    assert accept == ACCEPT
    for media_type in (
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST,
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ):
        assert media_type in accept


def test_without_docker_content_digest_the_get_body_is_hashed() -> None:
    with fake_server(lambda seen: ok(digest=None)) as server:
        answer = client(server).head_manifest(ref(server), "1")
    assert answer.digest == DIGEST
    assert [s.method for s in server.seen] == ["HEAD", "GET"]


def test_a_schema1_answer_without_digest_is_unusable() -> None:
    with (
        fake_server(
            lambda seen: ok(
                media_type="application/vnd.docker.distribution.manifest.v1+prettyjws", digest=None
            )
        ) as server,
        pytest.raises(UnusableAnswer, match="re-signed on every GET") as info,
    ):
        client(server).head_manifest(ref(server), "1")
    assert isinstance(info.value, InvalidEvent)


def test_a_body_that_does_not_match_its_digest_is_refused() -> None:
    other = "sha256:" + "0" * 64
    with (
        fake_server(lambda seen: ok(digest=None)) as server,
        pytest.raises(UnusableAnswer, match="does not match the requested digest"),
    ):
        client(server).get_manifest(ref(server), other)
    with (
        fake_server(lambda seen: ok(digest=other)) as server,
        pytest.raises(UnusableAnswer, match="Docker-Content-Digest does not match"),
    ):
        client(server).get_manifest(ref(server), "1")
    with (
        fake_server(lambda seen: ok(digest="md5:abc")) as server,
        pytest.raises(UnusableAnswer, match="not a sha256 digest"),
    ):
        client(server).head_manifest(ref(server), "1")


def test_a_registry_refusing_head_is_asked_with_get() -> None:
    with fake_server(lambda seen: (405, {}, b"") if seen.method == "HEAD" else ok()) as server:
        assert client(server).head_manifest(ref(server), "1").digest == DIGEST


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, ManifestNotFound), (403, RegistryAccessDenied), (400, UnusableAnswer)],
)
def test_permanent_answers_are_typed_invalid_events(status: int, error: type[Exception]) -> None:
    with fake_server(lambda seen: (status, {}, b"{}")) as server, pytest.raises(error) as info:
        client(server).head_manifest(ref(server), "1")
    assert isinstance(info.value, InvalidEvent)
    assert len(server.seen) == 1  # never retried


def test_5xx_is_retried_with_backoff_then_transient() -> None:
    sleeps: list[float] = []
    with (
        fake_server(lambda seen: (503, {}, b"")) as server,
        pytest.raises(RegistryUnavailable, match="answered 503 3 times") as info,
    ):
        client(server, sleep=sleeps.append, backoff_seconds=0.5).head_manifest(ref(server), "1")
    assert isinstance(info.value, TransientError)
    assert len(server.seen) == 3
    assert sleeps == [0.5, 1.0]


def test_a_5xx_then_success_resolves() -> None:
    answers = iter([(502, {}, b""), ok()])
    with fake_server(lambda seen: next(answers)) as server:
        assert client(server).head_manifest(ref(server), "1").digest == DIGEST


def test_429_waits_retry_after_capped() -> None:
    sleeps: list[float] = []
    answers = iter([(429, {"Retry-After": "7"}, b""), (429, {"Retry-After": "900"}, b""), ok()])
    with fake_server(lambda seen: next(answers)) as server:
        found = client(server, sleep=sleeps.append, max_wait_seconds=30).head_manifest(ref(server), "1")
    assert found.digest == DIGEST
    assert sleeps == [7.0, 30.0]


class _Failing(requests.Session):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc, self.calls = exc, 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise self.exc


def test_timeouts_are_retried_then_transient() -> None:
    session = _Failing(requests.ReadTimeout("slow"))
    http = DistributionClient(session=session, sleep=lambda _: None, attempts=2)
    with pytest.raises(RegistryUnavailable, match="timed out 2 times"):
        http.head_manifest(parse_image_ref("registry.example.com/a:1"), "1")
    assert session.calls == 2


def test_an_unknown_host_is_permanent_at_once() -> None:
    error = requests.ConnectionError("resolve")
    error.__context__ = socket.gaierror(-2, "Name or service not known")
    session = _Failing(error)
    http = DistributionClient(session=session, sleep=lambda _: None)
    with pytest.raises(UnknownRegistryHost, match=r"registry\.invalid is unknown") as info:
        http.head_manifest(parse_image_ref("registry.invalid/a:1"), "1")
    assert isinstance(info.value, InvalidEvent)
    assert session.calls == 1


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    host = f"127.0.0.1:{port}"
    http = DistributionClient(insecure_hosts=frozenset({host}), sleep=lambda _: None, attempts=2)
    with pytest.raises(RegistryUnavailable, match="failed after 2 attempts"):
        http.head_manifest(parse_image_ref(f"{host}/a:1"), "1")


def test_manifests_over_the_cap_are_refused() -> None:
    big = b"{" + b" " * 2000 + b"}"
    with (
        fake_server(lambda seen: ok(body=big, digest=None)) as server,
        pytest.raises(ManifestTooLarge, match="larger than 1024 bytes"),
    ):
        client(server, max_manifest_bytes=1024).get_manifest(ref(server), "1")
    with (
        fake_server(
            lambda seen: (200, {"Content-Type": OCI_MANIFEST, "Content-Length": "5"}, b"{}   ")
        ) as server,
        pytest.raises(ManifestTooLarge),
    ):
        client(server, max_manifest_bytes=4).get_manifest(ref(server), "1")


def _basic(seen: Seen) -> Answer:
    if "authorization" not in seen.headers:
        return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""
    return ok() if seen.headers["authorization"].startswith("Basic ") else (500, {}, b"")


def test_basic_challenges_get_the_registry_s_credential() -> None:
    with fake_server(_basic) as server:
        assert client(server).head_manifest(ref(server), "1").digest == DIGEST
    assert (
        server.seen[1].headers["authorization"]
        == "Basic " + base64.b64encode(f"bot:{SECRET}".encode()).decode()
    )


def test_basic_without_credentials_or_refused_twice_is_denied() -> None:
    with fake_server(_basic) as server, pytest.raises(RegistryAccessDenied, match="wants credentials"):
        client(server, password=None).head_manifest(ref(server), "1")
    with (
        fake_server(lambda seen: (401, {"WWW-Authenticate": "Basic"}, b"")) as server,
        pytest.raises(RegistryAccessDenied, match="refused the credentials") as info,
    ):
        client(server).head_manifest(ref(server), "1")
    assert SECRET not in str(info.value)
    with (
        fake_server(lambda seen: (401, {}, b"")) as server,
        pytest.raises(RegistryAccessDenied, match="without a usable WWW-Authenticate"),
    ):
        client(server).head_manifest(ref(server), "1")


def _bearer_registry(realm: str) -> Any:
    def route(seen: Seen) -> Answer:
        if seen.headers.get("authorization") == "Bearer tok-1":
            return ok()
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake",scope="x"'}, b""

    return route


def _token_route(seen: Seen) -> Answer:
    return (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"token": "tok-1", "expires_in": 300}).encode(),
    )


def test_bearer_tokens_get_credentials_only_on_the_expected_host_and_are_cached() -> None:
    with fake_server(_token_route) as tokens:
        realm = f"http://127.0.0.1:{tokens.host.rsplit(':', 1)[1]}/token"
        with fake_server(_bearer_registry(realm)) as server:
            http = client(server, trace=[])
            assert http.head_manifest(ref(server), "1").digest == DIGEST
            assert http.head_manifest(ref(server), "1").digest == DIGEST
    assert len(tokens.seen) == 1  # warm token on the second resolution
    asked = tokens.seen[0]
    assert asked.path == "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull"
    assert asked.headers["authorization"].startswith("Basic ")  # same host as the registry
    assert http.trace is not None
    assert RequestRecord("GET", realm, 200) in http.trace  # recorded without its query
    assert all(SECRET not in r.url for r in http.trace)


def test_a_realm_on_another_host_gets_no_credentials() -> None:
    with (
        fake_server(_token_route, hostname="localhost") as tokens,
        fake_server(_bearer_registry(f"http://{tokens.host}/token")) as server,
        pytest.raises(UnusableAnswer, match="token realm is not https"),
    ):
        client(server).head_manifest(ref(server), "1")
    assert tokens.seen == []


def test_an_https_realm_on_another_host_is_asked_anonymously() -> None:
    asked: list[Any] = []

    class Session(requests.Session):
        def get(self, url: str | bytes, **kwargs: Any) -> Any:
            asked.append((url, kwargs.get("auth")))
            response = requests.Response()
            response.status_code, response._content = 200, b'{"token": "tok-1"}'
            return response

    with fake_server(_bearer_registry("https://tokens.example.com/token")) as server:
        http = client(server, session=Session())
        assert http.head_manifest(ref(server), "1").digest == DIGEST
    assert asked == [
        ("https://tokens.example.com/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull", None)
    ]


def test_a_token_service_refusing_is_access_denied() -> None:
    with (
        fake_server(lambda seen: (401, {}, b"")) as tokens,
        fake_server(_bearer_registry(f"http://{tokens.host}/token")) as server,
        pytest.raises(RegistryAccessDenied, match="token service refused"),
    ):
        client(server).head_manifest(ref(server), "1")


def test_redirects_to_another_host_with_credentials_are_refused() -> None:
    with fake_server(lambda seen: ok()) as elsewhere:

        def route(seen: Seen) -> Answer:
            if "authorization" not in seen.headers:
                return 401, {"WWW-Authenticate": "Basic"}, b""
            return 307, {"Location": f"{elsewhere.url}/v2/team/app/manifests/1"}, b""

        with (
            fake_server(route) as server,
            pytest.raises(RedirectRefused, match="with credentials attached refused") as info,
        ):
            client(server).head_manifest(ref(server), "1")
    assert isinstance(info.value, InvalidEvent)
    assert elsewhere.seen == []


def test_same_host_redirects_keep_auth_and_anonymous_ones_may_leave() -> None:
    def route(seen: Seen) -> Answer:
        if seen.path.startswith("/moved"):
            return ok() if "authorization" in seen.headers else (401, {"WWW-Authenticate": "Basic"}, b"")
        if "authorization" not in seen.headers:
            return 401, {"WWW-Authenticate": "Basic"}, b""
        return 302, {"Location": "/moved/manifest"}, b""

    with fake_server(route) as server:
        assert client(server).head_manifest(ref(server), "1").digest == DIGEST
    with (
        fake_server(lambda seen: ok()) as elsewhere,
        fake_server(lambda seen: (301, {"Location": f"{elsewhere.url}/x"}, b"")) as server,
    ):
        assert client(server, password=None).head_manifest(ref(server), "1").digest == DIGEST
    assert "authorization" not in elsewhere.seen[0].headers


def test_redirect_loops_end() -> None:
    with (
        fake_server(lambda seen: (302, {"Location": "/again"}, b"")) as server,
        pytest.raises(RedirectRefused, match="too many"),
    ):
        client(server).head_manifest(ref(server), "1")


def test_a_warm_resolution_of_the_same_repository_is_one_request() -> None:
    with fake_server(_basic) as server:
        http = client(server)
        http.head_manifest(ref(server), "1")
        before = len(server.seen)
        http.head_manifest(ref(server), "2")
    assert len(server.seen) == before + 1
    assert server.seen[-1].headers["authorization"].startswith("Basic ")


def test_a_reused_token_the_registry_refuses_is_replaced() -> None:
    issued = iter(["tok-1", "tok-2"])
    accepted = {"tok-1"}

    def tokens_route(seen: Seen) -> Answer:
        body = json.dumps({"token": next(issued), "expires_in": 300}).encode()
        return 200, {"Content-Type": "application/json"}, body

    def registry_route(seen: Seen) -> Answer:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if token in accepted:
            return ok()
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'}, b""

    with fake_server(tokens_route) as tokens:
        realm = f"http://127.0.0.1:{tokens.host.rsplit(':', 1)[1]}/token"
        with fake_server(registry_route) as server:
            http = client(server)
            http.head_manifest(ref(server), "1")
            accepted = {"tok-2"}  # the registry revoked the first token early
            assert http.head_manifest(ref(server), "1").digest == DIGEST
    assert len(tokens.seen) == 2
    assert server.seen[-1].headers["authorization"] == "Bearer tok-2"


def test_a_tls_failure_is_not_mistaken_for_an_unknown_host() -> None:
    """ssl.SSLError carries a str `reason`; walking the cause chain must not trip on it."""
    failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
    failure.reason = "CERTIFICATE_VERIFY_FAILED"
    wrapped = requests.exceptions.SSLError(MaxRetryError(None, "https://r.example/v2/", failure))  # type: ignore[arg-type]
    assert _unknown_host(wrapped) is False
