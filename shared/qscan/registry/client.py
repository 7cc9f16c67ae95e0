"""The OCI distribution client: manifests by tag or digest, with the token flow, retries and safety bounds.

- `HEAD /v2/<name>/manifests/<ref>` with the full Accept list (`ACCEPT`: OCI index, Docker manifest list, OCI
  manifest, Docker v2 manifest; schema 1 last). A shorter list is wrong on real registries: docker-registry 2.8
  answers 404 `MANIFEST_UNKNOWN` for an OCI manifest or index whose type is not accepted, converts a Docker v2
  manifest to a re-signed schema-1 manifest (another digest on every GET), and resolves a manifest list to its
  own platform. The digest is `Docker-Content-Digest`; without it, the sha256 of the GET body, except for a
  schema-1 answer (re-signed per GET: no stable digest, `UnusableAnswer`). A GET by digest is verified against
  the digest. A registry that refuses HEAD (405) is asked with GET.
- Authentication on a 401: `Bearer realm=...,service=...,scope=...` fetches a token from the realm (with the
  registry's credential only when `reference.realm_allowed`, else anonymously) and caches it until shortly before
  its `expires_in` (60 s when absent); `Basic` sends the credential to the registry host itself. The working
  Authorization is remembered per repository, so a warm resolution is one request; when the registry refuses a
  remembered one it is forgotten and the challenge answered anew. A second 401 after authenticating, or a 403,
  is `RegistryAccessDenied`.
- Redirects are followed by hand (at most `MAX_REDIRECTS`): to the same host with its Authorization; to another
  host only when no credential was attached; to http from https never. Anything else is `RedirectRefused`.
- Timeouts (connect, read) on every request; 5xx, timeouts and connection failures are retried `attempts`
  times with exponential backoff; 429 waits `Retry-After` (seconds or an HTTP date, capped at `max_wait`).
  Then `RegistryUnavailable`. An unknown host name is `UnknownRegistryHost` at once.
- Bodies are read up to `max_manifest_bytes` (`ManifestTooLarge` beyond, also when Content-Length says so).
- `trace`, when given, receives one `RequestRecord` (method, URL without its query, status) per request sent,
  for `qscan resolve`. Nothing secret is ever recorded or logged.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests

from qscan.http_wait import wait_hint
from qscan.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
)
from qscan.refs import ImageRef, is_valid_digest
from qscan.registry.challenge import Challenge, parse_challenges
from qscan.registry.credentials import CredentialSource, RegistryCredential
from qscan.registry.errors import (
    ManifestNotFound,
    ManifestTooLarge,
    RedirectRefused,
    RegistryAccessDenied,
    RegistryUnavailable,
    UnknownRegistryHost,
    UnusableAnswer,
)
from qscan.registry.reference import Endpoint, endpoint_of, realm_allowed
from qscan.structs import struct

ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST, *sorted(DOCKER_SCHEMA1)))
MAX_REDIRECTS = 3
DEFAULT_TOKEN_SECONDS = 60.0
TOKEN_MARGIN_SECONDS = 10.0
MAX_TOKEN_BYTES = 64 * 1024
USER_AGENT = "qscan-registry"


@struct
class RequestRecord:
    method: str
    url: str  # without query string
    status: int | None  # None: no answer (timeout, connection failure)


@struct
class ManifestAnswer:
    digest: str
    media_type: str | None
    body: bytes | None = None  # None for HEAD


@struct(frozen=False)
class _Call:
    endpoint: Endpoint
    repository: str
    credential: RegistryCredential | None
    authorization: str | None = None
    tried_auth: bool = False
    reused: bool = False  # `authorization` comes from an earlier call to this repository
    token_key: tuple[str, str, str, str | None] | None = None
    valid_until: float = float("inf")


class DistributionClient:
    """One per process (tokens are cached); thread-safe."""

    def __init__(
        self,
        *,
        credentials: CredentialSource | None = None,
        session: requests.Session | None = None,
        insecure_hosts: frozenset[str] = frozenset(),
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        max_wait_seconds: float = 30.0,
        max_manifest_bytes: int = MAX_MANIFEST_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        trace: list[RequestRecord] | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._credentials = credentials
        self._session = session or requests.Session()
        self._insecure = insecure_hosts
        self._timeout = (connect_timeout, read_timeout)
        self._attempts, self._backoff, self._max_wait = attempts, backoff_seconds, max_wait_seconds
        self._max_bytes = max_manifest_bytes
        self._sleep, self._now = sleep, now
        self.trace = trace
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str, str | None], tuple[float, str]] = {}
        # (API base, repository) -> (valid until, Authorization, token key): a warm resolution is one request
        self._known: dict[tuple[str, str], tuple[float, str, tuple[str, str, str, str | None] | None]] = {}

    # ------------------------------------------------------------------ public
    def head_manifest(self, ref: ImageRef, reference: str) -> ManifestAnswer:
        """The digest and media type of `reference` (tag or digest), from HEAD (GET when HEAD gives no digest)."""
        call = self._call(ref)
        url = call.endpoint.manifest_url(ref.repository, reference)
        response = self._send(call, "HEAD", url, allow_405=True)
        if response is None:  # HEAD refused (405)
            return self.get_manifest(ref, reference)
        with response:
            digest = response.headers.get("Docker-Content-Digest")
            media_type = _media_type(response)
        if digest is None:
            return self.get_manifest(ref, reference)
        return ManifestAnswer(self._digest(digest, ref), media_type)

    def get_manifest(self, ref: ImageRef, reference: str) -> ManifestAnswer:
        """The manifest body of `reference`, its media type and digest (verified for a digest reference)."""
        call = self._call(ref)
        url = call.endpoint.manifest_url(ref.repository, reference)
        response = self._send(call, "GET", url)
        assert response is not None
        with response:
            media_type = _media_type(response)
            body = self._read(response, ref)
            header = response.headers.get("Docker-Content-Digest")
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        if media_type in DOCKER_SCHEMA1:
            if header is None:
                raise UnusableAnswer(
                    f"{ref.name}: the registry answered a schema-1 manifest without Docker-Content-Digest "
                    "(schema-1 bodies are re-signed on every GET: no stable digest)"
                )
            return ManifestAnswer(self._digest(header, ref), media_type, body)
        if is_valid_digest(reference) and computed != reference:
            raise UnusableAnswer(f"{ref.name}: the manifest body does not match the requested digest")
        digest = self._digest(header, ref) if header is not None else computed
        if digest != computed:
            raise UnusableAnswer(f"{ref.name}: Docker-Content-Digest does not match the manifest body")
        return ManifestAnswer(digest, media_type, body)

    # ------------------------------------------------------------------ requests
    def _call(self, ref: ImageRef) -> _Call:
        endpoint = endpoint_of(ref, self._insecure)
        credential = self._credentials.credential_for(ref.registry) if self._credentials else None
        call = _Call(endpoint, ref.repository, credential)
        with self._lock:
            known = self._known.get((endpoint.base, ref.repository))
        if known is not None and self._now() < known[0]:
            call.valid_until, call.authorization, call.token_key = known
            call.reused = True
        return call

    def _send(
        self, call: _Call, method: str, url: str, *, allow_405: bool = False
    ) -> requests.Response | None:
        """The 2xx answer to `method url` (authenticating, retrying, following redirects); None: 405 allowed."""
        redirects = 0
        for _ in range(self._attempts * 4 + MAX_REDIRECTS):  # bounded however the registry behaves
            response = self._attempt(call, method, url)
            status = response.status_code
            if 200 <= status < 300:
                return response
            response.close()
            if status in (301, 302, 303, 307, 308):
                redirects += 1
                url = self._redirect(call, url, response, redirects)
                continue
            if status == 401:
                self._authenticate(call, response, url)
                continue
            if status == 405 and allow_405:
                return None
            self._fail(call, status)
        raise RegistryUnavailable(f"{_name(call)}: the registry kept asking for more (auth or redirect loop)")

    def _attempt(self, call: _Call, method: str, url: str) -> requests.Response:
        """One request with retries for 5xx, 429, timeouts and connection failures."""
        headers = {"Accept": ACCEPT, "User-Agent": USER_AGENT}
        if call.authorization and _same_host(url, call.endpoint):
            headers["Authorization"] = call.authorization
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._session.request(
                    method, url, headers=headers, timeout=self._timeout, allow_redirects=False, stream=True
                )
            except requests.ConnectionError as exc:
                self._record(method, url, None)
                if _unknown_host(exc):
                    raise UnknownRegistryHost(
                        f"registry host {call.endpoint.api_host} is unknown (DNS)"
                    ) from None
                if attempt == self._attempts:
                    raise RegistryUnavailable(
                        f"{_name(call)}: {method} failed after {attempt} attempts ({type(exc).__name__})"
                    ) from None
                self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            except requests.Timeout as exc:
                self._record(method, url, None)
                if attempt == self._attempts:
                    raise RegistryUnavailable(
                        f"{_name(call)}: {method} timed out {attempt} times ({type(exc).__name__})"
                    ) from None
                self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            self._record(method, url, response.status_code)
            if response.status_code == 429 or response.status_code >= 500:
                wait = self._wait(response, attempt)
                response.close()
                if attempt == self._attempts:
                    raise RegistryUnavailable(
                        f"{_name(call)}: the registry answered {response.status_code} {attempt} times"
                    )
                self._sleep(wait)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, response: requests.Response, attempt: int) -> float:
        backoff: float = self._backoff * 2 ** (attempt - 1)
        if response.status_code == 429:
            asked = wait_hint(response.headers, time.time())
            backoff = backoff if asked is None else asked
        return min(backoff, self._max_wait)

    def _fail(self, call: _Call, status: int) -> None:
        name = _name(call)
        if status == 403:
            raise RegistryAccessDenied(f"{name}: access denied (403)")
        if status == 404:
            raise ManifestNotFound(f"{name}: manifest unknown (404: no such repository, tag or digest)")
        raise UnusableAnswer(f"{name}: the registry answered {status}")

    def _redirect(self, call: _Call, url: str, response: requests.Response, count: int) -> str:
        location = response.headers.get("Location")
        if not location or count > MAX_REDIRECTS:
            raise RedirectRefused(f"{_name(call)}: too many or empty redirects")
        target = urljoin(url, location)
        old, new = urlsplit(url), urlsplit(target)
        if old.scheme == "https" and new.scheme != "https":
            raise RedirectRefused(f"{_name(call)}: redirect from https to {new.scheme or 'nothing'} refused")
        if (new.hostname, new.port) != (old.hostname, old.port) and call.authorization is not None:
            raise RedirectRefused(
                f"{_name(call)}: redirect to another host ({new.hostname}) with credentials attached refused"
            )
        return target

    # ------------------------------------------------------------------ authentication
    def _authenticate(self, call: _Call, response: requests.Response, url: str) -> None:
        name = _name(call)
        if call.reused:  # an earlier call's token or credential no longer works: forget it, authenticate anew
            self._forget(call)
        elif call.tried_auth:
            raise RegistryAccessDenied(f"{name}: the registry refused the credentials (401)")
        call.tried_auth = True
        challenges = parse_challenges(response.headers.get("WWW-Authenticate"))
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        if bearer is not None:
            call.authorization = "Bearer " + self._token(call, bearer)
        elif any(c.scheme == "basic" for c in challenges):
            if call.credential is None:
                raise RegistryAccessDenied(f"{name}: the registry wants credentials (Basic) and has none")
            pair = f"{call.credential.username}:{call.credential.password}".encode()
            call.authorization = "Basic " + base64.b64encode(pair).decode()
        else:
            raise RegistryAccessDenied(f"{name}: 401 without a usable WWW-Authenticate challenge")
        with self._lock:
            self._known[(call.endpoint.base, call.repository)] = (
                call.valid_until,
                call.authorization,
                call.token_key,
            )

    def _forget(self, call: _Call) -> None:
        with self._lock:
            self._known.pop((call.endpoint.base, call.repository), None)
            if call.token_key is not None:
                self._tokens.pop(call.token_key, None)
        call.authorization, call.token_key, call.reused = None, None, False
        call.valid_until = float("inf")

    def _token(self, call: _Call, challenge: Challenge) -> str:
        realm = challenge.realm or ""
        service = challenge.params.get("service", "")
        scope = f"repository:{call.repository}:pull"
        credential = call.credential
        if credential is not None and not realm_allowed(call.endpoint, realm, credential.realm_hosts):
            credential = None  # never hand the registry's credential to a realm on another host
        if urlsplit(realm).scheme != "https" and not realm_allowed(call.endpoint, realm):
            raise UnusableAnswer(
                f"{_name(call)}: the token realm is not https (only a plain-http registry's own)"
            )
        key = (realm, service, scope, credential.username if credential else None)
        call.token_key = key
        with self._lock:
            cached = self._tokens.get(key)
        if cached and self._now() < cached[0]:
            call.valid_until = cached[0]
            return cached[1]
        query = urlencode({k: v for k, v in (("service", service), ("scope", scope)) if v})
        parts = urlsplit(realm)
        token_url = urlunsplit(
            (parts.scheme, parts.netloc, parts.path, "&".join(filter(None, (parts.query, query))), "")
        )
        auth = (credential.username, credential.password) if credential else None
        answer = self._token_request(call, token_url, auth)
        token, lifetime = _token_of(answer)
        if token is None:
            raise UnusableAnswer(f"{_name(call)}: the token service gave no token")
        call.valid_until = self._now() + max(lifetime - TOKEN_MARGIN_SECONDS, 1.0)
        with self._lock:
            self._tokens[key] = (call.valid_until, token)
        return token

    def _token_request(self, call: _Call, url: str, auth: tuple[str, str] | None) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._session.get(
                    url,
                    auth=auth,
                    timeout=self._timeout,
                    allow_redirects=False,
                    headers={"User-Agent": USER_AGENT},
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._record("GET", url, None)
                if isinstance(exc, requests.ConnectionError) and _unknown_host(exc):
                    raise UnknownRegistryHost(
                        f"token service of {call.endpoint.api_host} is unknown (DNS)"
                    ) from None
                if attempt == self._attempts:
                    raise RegistryUnavailable(
                        f"{_name(call)}: token service failed ({type(exc).__name__})"
                    ) from None
                self._sleep(self._backoff * 2 ** (attempt - 1))
                continue
            self._record("GET", url, response.status_code)
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt == self._attempts:
                    raise RegistryUnavailable(f"{_name(call)}: token service answered {status}")
                self._sleep(self._wait(response, attempt))
                continue
            if status in (401, 403):
                raise RegistryAccessDenied(f"{_name(call)}: the token service refused ({status})")
            if status != 200 or len(response.content) > MAX_TOKEN_BYTES:
                raise UnusableAnswer(f"{_name(call)}: the token service answered {status}")
            try:
                return response.json()
            except ValueError:
                raise UnusableAnswer(f"{_name(call)}: the token service answered no JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ helpers
    def _read(self, response: requests.Response, ref: ImageRef) -> bytes:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > self._max_bytes:
            raise ManifestTooLarge(f"{ref.name}: manifest larger than {self._max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in _chunks(response):
            size += len(chunk)
            if size > self._max_bytes:
                raise ManifestTooLarge(f"{ref.name}: manifest larger than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _digest(self, value: str, ref: ImageRef) -> str:
        if not is_valid_digest(value):
            raise UnusableAnswer(f"{ref.name}: Docker-Content-Digest is not a sha256 digest")
        return value

    def _record(self, method: str, url: str, status: int | None) -> None:
        if self.trace is not None:
            parts = urlsplit(url)
            self.trace.append(
                RequestRecord(method, urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), status)
            )


def _chunks(response: requests.Response) -> Iterator[bytes]:
    yield from response.iter_content(chunk_size=65536)


def _media_type(response: requests.Response) -> str | None:
    value = response.headers.get("Content-Type")
    return value.split(";", 1)[0].strip() or None if value else None


def _name(call: _Call) -> str:
    return f"{call.endpoint.registry}/{call.repository}"


def _same_host(url: str, endpoint: Endpoint) -> bool:
    parts = urlsplit(url)
    return parts.netloc == endpoint.api_host and parts.scheme == endpoint.scheme


def _unknown_host(exc: BaseException) -> bool:
    """Whether a connection error is a failed name resolution (urllib3's NameResolutionError / gaierror)."""
    import socket  # noqa: PLC0415 - only on failures

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        stack.extend(
            [
                current.__cause__,
                current.__context__,
                *[a for a in current.args if isinstance(a, BaseException)],
            ]
        )
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError; ssl.SSLError's is a str
        stack.append(reason if isinstance(reason, BaseException) else None)
    return False


def _token_of(answer: Any) -> tuple[str | None, float]:
    if not isinstance(answer, dict):
        return None, DEFAULT_TOKEN_SECONDS
    token = answer.get("token") or answer.get("access_token")
    lifetime = answer.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_TOKEN_SECONDS
    return (token if isinstance(token, str) and token else None), seconds
