"""Client for the Qualys Container Security API (`/csapi/v1.3`, DESIGN §4).

- Gateway: from the POD, or an explicit https URL; plain http is refused unless the caller opts in with
  `allow_insecure_loopback=True`, and even then only for 127.0.0.1 / localhost / [::1] (test doubles).
- Auth: a static bearer token, or username/password exchanged at `POST {gateway}/auth` for a JWT that is
  refreshed shortly before it expires and once more when the API answers 401.
- Resilience: connect/read timeouts; 429 honours `X-RateLimit-ToWait-Sec` / `Retry-After`; 5xx and network
  errors back off exponentially with jitter; every call has a bounded number of attempts and a total time
  budget. GETs are retried on any network error, read timeout or 5xx. A POST creates something (a registry,
  a scan schedule), so it is retried only when it surely never reached the server: a connect-phase failure
  (connection refused, DNS failure, connect timeout: urllib3's `NewConnectionError` / `ConnectTimeoutError`
  inside requests' `ConnectionError`), 429 or 503. Never after the request may have been sent: read timeout,
  connection reset or aborted mid-request (`RemoteDisconnected`), `ChunkedEncodingError`, 500/502/504.
- Secrets: tokens, passwords and the external id are registered with `qscan.redact`, never logged, never put
  in errors.

Response shapes the client relies on (DESIGN §4; the fake server in tests/doubles follows the same):
- `GET /registry/aws-base` -> `{"accountId", "externalId"}`; `externalId` is a string or a number (the swagger
  types it as a number): kept as a string and registered as a secret.
- `GET /registry?filter=&pageNumber=&pageSize=` (also `/registry/aws/connectors`, `/images`) ->
  `{"data": [...], "count"}`, or 204 when nothing matches.
- `POST /registry` with `{"registryType": "AWS", "registryUri", "aws": {"accountId", "arn", "region",
  "accountType"}}`, `accountType` mandatory, `Global` or `US_Gov` (`QualysApiOptions.account_type`) -> the
  new registry uuid as a bare JSON string (the swagger's shape), or an object with `registryUuid`.
- `POST /registry/{uuid}/schedule` with `{"onDemand": true, "filters": [{"repoTags": [{"repo", "tag"}]}],
  "forceScan": true}`, `tag` mandatory -> a bare string (the schedule id), an object, or nothing.
- `GET /images` items: `{"sha", "imageId", "repo": [{"registry", "repository", "tag"}], "repoDigests":
  [{"registry", "repository", "digest"}]}`, the digest 64 hex WITHOUT `sha256:`. Legacy string entries
  `registry/repository@sha256:<hex>` are accepted too. An image matches a target only on registry host +
  repository + manifest digest; its `sha` (the image id, not the manifest digest) names it in later paths.
- `GET /images/{sha}` -> `{"sha", "scanStatus"}` (only `SUCCESS` is documented).
- `GET /images/{sha}/vuln?type=ALL` -> `{"details": [{"qid", "title", "severity", "cveids", "software":
  [{"name", "version", "fixVersion"}], "cvss3Info": {"baseScore"}}], "vulnSummary": {...}}`. NOT paginated:
  every detail comes in this one answer (no pageNumber/pageSize is sent). `type=ALL` is asked for because it
  is the one type that carries both the details and the summary the client cross-checks them against
  (SUMMARY has no details, DETAILS no summary). No `filter` and no `applyException`: the report is the
  unfiltered one, as qscanner would report it.
- `vulnSummary` and `GET /images/{sha}/vuln/count`: per-severity totals, read as `severity<N>Count` or
  `sev<N>Count` (N = 1..5) at the top level, else summed over `confirmed` and `potential` sub-objects (the exact
  summary layout is not in DESIGN: anything else is "unreadable").

Never a false clean: a 204, an empty body, a body without `details`, or details whose per-severity count of
vulnerabilities differs from `vulnSummary` (or, when the summary is absent or unreadable, from `/vuln/count`)
raise `QualysIncompleteScan`, a `TransientError`: the scan is retried, and in the end failed, never recorded
as success with zero findings.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from qscan import __version__
from qscan.config import QUALYS_ACCOUNT_TYPES
from qscan.errors import ConfigError, QscanError, TransientError
from qscan.http_wait import wait_hint
from qscan.redact import redact, register_secret
from qscan.results.model import Finding, Severity, SeverityCounts
from qscan.scanners.pods import gateway_for
from qscan.scanners.sarif import severity_of
from qscan.structs import field, replace, struct

LOG = logging.getLogger(__name__)

API_PREFIX = "/csapi/v1.3"
JWT_DEFAULT_LIFETIME = 4 * 3600.0
VULN_REPORT_TYPE = "ALL"  # details and vulnSummary in one answer (see the module docstring)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_SHA = re.compile(r"^(?:sha256:)?([a-f0-9]{12,64})$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")
_UUID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


# ---------------------------------------------------------------------------------------------- errors
class QualysApiError(QscanError):
    """Any failure talking to the Container Security API."""


class QualysAuthError(QualysApiError, ConfigError):
    """Credentials rejected (401/403 after one refresh): a setting to fix, not something to retry."""


class QualysNotFound(QualysApiError):
    """The API answered 404."""


class QualysRequestError(QualysApiError):
    """The API rejected the request (4xx other than 401/403/404/429), or the client refused to send one that
    could never work (an empty tag, an unsafe filter value): retrying will not help."""


class QualysResponseError(QualysApiError):
    """The API answered something the client cannot use (bad JSON, missing fields, too many pages)."""


class QualysUnavailable(QualysApiError, TransientError):
    """5xx, network failure or the time budget ran out: the platform should retry later."""


class QualysRateLimited(QualysUnavailable):
    """429 beyond the attempts or the time budget."""


class QualysIncompleteScan(QualysApiError, TransientError):
    """The vulnerability report lacks its findings (204, no `details`, details disagreeing with the summary):
    findings unknown, never zero. Retry later; after the last attempt the scan is failed, not clean."""


# ---------------------------------------------------------------------------------------------- options
@struct
class QualysApiOptions:
    pod: str | None = None
    gateway_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_insecure_loopback: bool = False  # explicit opt-in for http://127.0.0.1 test doubles
    account_type: str = "Global"  # `aws.accountType` of registries this client creates: Global | US_Gov
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_budget_seconds: float = 120.0  # per call, retries and waits included
    max_attempts: int = 6
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 20.0
    page_size: int = 50  # list endpoints only (/registry, /images, connectors); /vuln is not paginated
    max_pages: int = 200
    token_refresh_margin_seconds: float = 300.0


@struct
class AwsBase:
    account_id: str
    external_id: str = field(repr=False)


@struct
class Registry:
    uuid: str
    uri: str
    registry_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@struct
class ImageStatus:
    sha: str
    status: str  # "pending" | "running" | "success" | "failed"
    raw_status: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@struct
class ImageMatch:
    """A Qualys image whose repoDigests name the wanted registry + repository + manifest digest."""

    sha: str  # Qualys image id (config digest), used in /images/{sha} paths
    tags: tuple[str, ...] = ()  # tags Qualys knows for it in that same registry + repository, sorted


@struct
class VulnReport:
    """One image's complete vulnerability report, cross-checked against a per-severity summary."""

    findings: tuple[Finding, ...]  # one per affected package
    vuln_counts: SeverityCounts  # vulnerabilities (details entries) per severity, equal to the summary's
    checked_against: str  # "vulnSummary" or "vuln/count"


def resolve_gateway(pod: str | None, gateway_url: str | None, allow_insecure_loopback: bool) -> str:
    """The gateway base URL: https always, http only for loopback and only when explicitly allowed."""
    if gateway_url and gateway_url.strip().lower().startswith("http://"):
        parts = urlsplit(gateway_url.strip())
        if not allow_insecure_loopback:
            raise ConfigError(
                "gateway_url must be https (plain http is allowed only for loopback test doubles)"
            )
        if parts.hostname not in _LOOPBACK_HOSTS or parts.query or parts.fragment or parts.username:
            raise ConfigError("plain-http gateway_url must point at 127.0.0.1, localhost or [::1]")
        return gateway_url.strip().rstrip("/")
    return gateway_for(pod, gateway_url)


def never_reached_server(exc: BaseException) -> bool:
    """True only when `exc` surely happened before the request was sent: a connect-phase failure.

    requests raises `ConnectTimeout` for a connect timeout and `ConnectionError(MaxRetryError(reason=
    NewConnectionError | NameResolutionError))` for a refused connection or a DNS failure; a connection reset or
    closed mid-request is `ConnectionError(ProtocolError(...))`, which may have reached the server.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.exceptions.SSLError):
        return False
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(current, MaxRetryError) and isinstance(current.reason, BaseException):
            stack.append(current.reason)
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        if current.__cause__ is not None:
            stack.append(current.__cause__)
    return False


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim (epoch seconds) of a JWT, if it has one; the signature is the server's business."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _filter_value(name: str, value: str) -> str:
    """A QQL filter `name:"value"`; the value is encoded once, by `requests`, when the query is built."""
    if not value or '"' in value or "\\" in value or any(ord(c) < 32 for c in value):
        raise QualysRequestError(f"unsafe value for the {name} filter")
    return f'{name}:"{value}"'


def image_sha(value: str) -> str:
    match = _SHA.match(value or "")
    if not match:
        raise QualysResponseError("not a valid image sha")
    return match.group(1)


def digest_hex(value: Any) -> str | None:
    """The 64 hex of a manifest digest given as `sha256:<hex>` or bare `<hex>`; None when it is neither."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    text = text.removeprefix("sha256:")
    return text if _HEX64.match(text) else None


def valid_tag(value: Any) -> str | None:
    """`value` when it is a well-formed image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -)."""
    return value if isinstance(value, str) and _TAG.match(value) else None


def _registry_host(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    return text.rstrip("/")


def repo_digests(item: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(registry host, repository, 64-hex digest) of every well-formed `repoDigests` entry of an image.

    Entries are objects `{"registry", "repository", "digest"}` (the real API, digest without `sha256:`) or
    legacy strings `registry/repository@sha256:<hex>`; anything else is ignored.
    """
    entries = item.get("repoDigests")
    found: list[tuple[str, str, str]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            registry, repository, digest = entry.get("registry"), entry.get("repository"), entry.get("digest")
        elif isinstance(entry, str) and "@" in entry and "/" in entry.split("@", 1)[0]:
            name, digest = entry.rsplit("@", 1)
            registry, repository = name.split("/", 1)
        else:
            continue
        hex_digest = digest_hex(digest)
        if hex_digest and isinstance(repository, str) and repository:
            found.append((_registry_host(registry), repository.strip("/"), hex_digest))
    return found


def repo_tags(item: Mapping[str, Any], registry: str, repository: str) -> tuple[str, ...]:
    """Sorted valid tags of an image in `registry` + `repository` (its `repo` / `repoTags` objects)."""
    host = _registry_host(registry)
    tags: set[str] = set()
    for key in ("repo", "repoTags"):
        entries = item.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if (
                isinstance(entry, dict)
                and _registry_host(entry.get("registry")) == host
                and entry.get("repository") == repository
                and valid_tag(entry.get("tag"))
            ):
                tags.add(entry["tag"])
    return tuple(sorted(tags))


def summary_counts(summary: Any) -> SeverityCounts | None:
    """Per-severity totals of a `vulnSummary` or `/vuln/count` body; None when it has none readable."""
    if not isinstance(summary, Mapping):
        return None
    direct = _severity_keys(summary)
    if direct is not None:
        return direct
    parts = [
        counts
        for key in ("confirmed", "potential")
        if (counts := _severity_keys(summary.get(key))) is not None
    ]
    if not parts:
        return None
    return SeverityCounts(**{s.label: sum(getattr(p, s.label) for p in parts) for s in Severity})


def _severity_keys(body: Any) -> SeverityCounts | None:
    if not isinstance(body, Mapping):
        return None
    values: dict[str, int] = {}
    seen = False
    for severity in Severity:
        for key in (f"severity{int(severity)}Count", f"sev{int(severity)}Count"):
            if key in body:
                value = body[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise QualysResponseError("vulnerability counts must be non-negative integers")
                values[severity.label] = value
                seen = True
                break
        else:
            values[severity.label] = 0
    return SeverityCounts(**values) if seen else None


def _counts_text(counts: SeverityCounts) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.to_dict().items())


class QualysApiClient:
    """One client per process (cold start); thread-compatible for sequential use."""

    def __init__(
        self,
        options: QualysApiOptions,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.options = options
        self.gateway = resolve_gateway(options.pod, options.gateway_url, options.allow_insecure_loopback)
        self.base_url = self.gateway + API_PREFIX
        if options.access_token:
            register_secret(options.access_token)
        elif options.username and options.password:
            register_secret(options.password)
        else:
            raise ConfigError("Qualys API needs an access token, or a username and password")
        if options.max_attempts < 1 or options.page_size < 1 or options.max_pages < 1:
            raise ConfigError("Qualys API attempts, page size and page count must be positive")
        if options.account_type not in QUALYS_ACCOUNT_TYPES:
            raise ConfigError(
                f"Qualys account type must be one of {', '.join(QUALYS_ACCOUNT_TYPES)} "
                "(QSCAN_QUALYS_ACCOUNT_TYPE)"
            )
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = f"qscan/{__version__}"
        self._clock, self._wall_clock, self._sleep, self._jitter = clock, wall_clock, sleep, jitter
        self._token: str | None = options.access_token
        self._token_expires: float | None = None  # monotonic; None: static token or not fetched yet

    # ------------------------------------------------------------------------------------ auth
    @property
    def _uses_password(self) -> bool:
        return not self.options.access_token

    def _bearer(self, deadline: float) -> str:
        margin = self.options.token_refresh_margin_seconds
        if self._token is None or (
            self._uses_password
            and self._token_expires is not None
            and self._clock() >= self._token_expires - margin
        ):
            self._authenticate(deadline)
        assert self._token is not None
        return self._token

    def _authenticate(self, deadline: float) -> None:
        o = self.options
        response = self._send(
            "POST",
            self.gateway + "/auth",
            "/auth",
            deadline,
            data={"username": o.username or "", "password": o.password or "", "token": "true"},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            idempotent=False,
            authenticated=False,
        )
        if response.status_code not in (200, 201):
            raise QualysAuthError(f"Qualys authentication failed (HTTP {response.status_code})")
        token = response.text.strip()
        if not token or any(c.isspace() for c in token):
            raise QualysResponseError("Qualys /auth returned no token")
        register_secret(token)
        exp = _jwt_expiry(token)
        lifetime = (exp - self._wall_clock()) if exp is not None else JWT_DEFAULT_LIFETIME
        self._token = token
        self._token_expires = self._clock() + max(0.0, lifetime)
        LOG.info("qualys auth: new token, valid %.0fs", lifetime)

    # ------------------------------------------------------------------------------------ transport
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        ok: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
    ) -> requests.Response:
        """One API call with auth, retries, waits and the time budget; returns a response whose status is in `ok`."""
        deadline = self._clock() + self.options.total_budget_seconds
        response = self._send(
            method,
            self.base_url + path,
            path,
            deadline,
            params=params,
            json=json_body,
            ok=ok,
            idempotent=method in ("GET", "HEAD") if idempotent is None else idempotent,
        )
        if response.status_code in ok:
            return response
        if response.status_code == 404:
            raise QualysNotFound(f"{method} {path}: not found")
        if response.status_code in (401, 403):
            raise QualysAuthError(
                f"{method} {path}: Qualys refused the credentials (HTTP {response.status_code})"
            )
        raise QualysRequestError(f"{method} {path}: HTTP {response.status_code} {_snippet(response)}")

    def _send(
        self,
        method: str,
        url: str,
        label: str,
        deadline: float,
        *,
        ok: tuple[int, ...] = (200, 201),
        idempotent: bool,
        authenticated: bool = True,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        o = self.options
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            all_headers = {"Accept": "application/json", **(headers or {})}
            if authenticated:
                all_headers["Authorization"] = "Bearer " + self._bearer(deadline)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise QualysUnavailable(
                    f"{method} {label}: time budget of {o.total_budget_seconds:g}s exhausted"
                )
            timeout = (min(o.connect_timeout, remaining), min(o.read_timeout, remaining))
            try:
                response = self._session.request(
                    method, url, headers=all_headers, timeout=timeout, allow_redirects=False, **kwargs
                )
            except requests.RequestException as exc:
                reason = f"{method} {label}: {type(exc).__name__}"
                if not (idempotent or never_reached_server(exc)):
                    raise QualysUnavailable(
                        f"{reason} after {attempt} attempt(s); not retried: the request may have reached "
                        "the server"
                    ) from None
                if attempt >= o.max_attempts:
                    raise QualysUnavailable(f"{reason} after {attempt} attempt(s)") from None
                LOG.warning("qualys %s; retrying", reason)
                self._pause(self._backoff(attempt), deadline, reason, QualysUnavailable)
                continue
            code = response.status_code
            LOG.debug("qualys %s %s -> %d (attempt %d)", method, label, code, attempt)
            if code == 401 and authenticated and self._uses_password and not refreshed:
                refreshed = True
                self._token = None  # refresh once, then let a second 401 surface
                attempt -= 1
                continue
            if code == 429:
                reason = f"{method} {label}: rate limited (HTTP 429)"
                if attempt >= o.max_attempts:
                    raise QualysRateLimited(f"{reason} after {attempt} attempt(s)")
                wait = wait_hint(
                    response.headers, self._wall_clock(), ("X-RateLimit-ToWait-Sec", "Retry-After")
                )
                LOG.warning("qualys %s; waiting %.1fs", reason, wait if wait is not None else -1)
                self._pause(
                    wait if wait is not None else self._backoff(attempt), deadline, reason, QualysRateLimited
                )
                continue
            if code >= 500:
                reason = f"{method} {label}: HTTP {code}"
                if not (idempotent or code == 503) or attempt >= o.max_attempts:
                    raise QualysUnavailable(f"{reason} after {attempt} attempt(s)")
                LOG.warning("qualys %s; retrying", reason)
                self._pause(self._backoff(attempt), deadline, reason, QualysUnavailable)
                continue
            return response

    def _backoff(self, attempt: int) -> float:
        o = self.options
        ceiling = min(o.backoff_cap_seconds, o.backoff_base_seconds * 2.0 ** (attempt - 1))
        return float(
            ceiling / 2 + self._jitter() * ceiling / 2
        )  # "equal jitter": never zero, never above the cap

    def _pause(self, seconds: float, deadline: float, reason: str, error: type[QualysUnavailable]) -> None:
        if self._clock() + seconds > deadline:
            raise error(f"{reason}; waiting {seconds:.1f}s more would exceed the time budget")
        self._sleep(seconds)

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise QualysResponseError(f"{what}: response is not JSON") from None

    def _object(self, response: requests.Response, what: str) -> dict[str, Any]:
        body = self._json(response, what)
        if not isinstance(body, dict):
            raise QualysResponseError(f"{what}: response is not a JSON object")
        return body

    def _created_id(self, response: requests.Response, keys: tuple[str, ...]) -> str | None:
        """The id a POST answered: a bare JSON string (or number), plain text, or an object field."""
        if response.status_code == 204 or not response.content.strip():
            return None
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text.strip()
        if isinstance(body, dict):
            nested = body.get("data")
            for container in (body, nested if isinstance(nested, dict) else {}):
                for key in keys:
                    value = container.get(key)
                    if isinstance(value, str | int) and not isinstance(value, bool):
                        return str(value).strip()
            return None
        if isinstance(body, str | int) and not isinstance(body, bool):
            return str(body).strip()
        return None

    def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item under `key` of a list endpoint over all pages (pageNumber from 1), at most `max_pages`."""
        o = self.options
        seen = 0
        for number in range(1, o.max_pages + 1):
            query = {**(params or {}), "pageNumber": number, "pageSize": o.page_size}
            response = self.request("GET", path, params=query, ok=(200, 204))
            if response.status_code == 204 or not response.content:
                return
            body = self._object(response, f"GET {path}")
            items = body.get(key)
            if items is None:
                return
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise QualysResponseError(f"GET {path}: '{key}' is not a list of objects")
            yield from items
            seen += len(items)
            count = body.get("count")
            if len(items) < o.page_size or (isinstance(count, int) and seen >= count):
                return
        raise QualysResponseError(
            f"GET {path}: more than {o.max_pages} pages of {o.page_size}; refusing to truncate"
        )

    # ------------------------------------------------------------------------------------ endpoints
    def aws_base(self) -> AwsBase:
        """The Qualys AWS account id and this subscription's external id (for the ECR read role's trust)."""
        body = self._object(self.request("GET", "/registry/aws-base"), "GET /registry/aws-base")
        account, external = body.get("accountId"), body.get("externalId")
        if isinstance(external, int) and not isinstance(external, bool):
            external = str(external)  # the swagger types it as a number
        if not isinstance(account, str | int) or not isinstance(external, str) or not external.strip():
            raise QualysResponseError("GET /registry/aws-base: accountId/externalId missing")
        external = external.strip()
        register_secret(external)
        return AwsBase(str(account), external)

    def list_aws_connectors(self) -> list[dict[str, Any]]:
        return list(self.pages("/registry/aws/connectors", "data"))

    def create_aws_connector(self, name: str, role_arn: str, description: str = "") -> dict[str, Any]:
        if not _ROLE_ARN.match(role_arn):
            raise QualysRequestError("connector role ARN is not an IAM role ARN")
        body = {"name": name[:128], "arn": role_arn, "description": description[:256]}
        response = self.request("POST", "/registry/aws/connector", json_body=body, ok=(200, 201))
        created = self._json(response, "POST /registry/aws/connector") if response.content.strip() else None
        if isinstance(created, dict):
            return created
        return {"connectorUuid": created} if isinstance(created, str) else {}

    def list_registries(self, filter_: str | None = None) -> list[Registry]:
        params = {"filter": filter_} if filter_ else None
        return [_registry(item) for item in self.pages("/registry", "data", params)]

    def find_registry(self, uri: str) -> Registry | None:
        """The registry whose URI is exactly `uri` (the filter narrows; the comparison decides)."""
        wanted = uri.rstrip("/").lower()
        for registry in self.list_registries(_filter_value("registryUri", uri)):
            if registry.uri.rstrip("/").lower() == wanted:
                return registry
        return None

    def create_ecr_registry(self, uri: str, role_arn: str) -> Registry:
        """Register an ECR registry that Qualys reads through `role_arn` (trusting aws-base's account).

        The body carries `aws.accountType` from the options (`Global`, or `US_Gov` for AWS GovCloud); a
        GovCloud registry or role under `Global` (or the reverse) is refused before anything is sent.
        """
        host = urlsplit(uri).hostname or ""
        match = _ECR_HOST.match(host)
        if not uri.startswith("https://") or not match:
            raise QualysRequestError("registry URI must be https://<account>.dkr.ecr.<region>.amazonaws.com")
        if not _ROLE_ARN.match(role_arn):
            raise QualysRequestError("registry role ARN is not an IAM role ARN")
        account_type = self.options.account_type
        govcloud = match.group(2).startswith("us-gov-") or role_arn.startswith("arn:aws-us-gov:")
        if govcloud != (account_type == "US_Gov"):
            raise ConfigError(
                f"QSCAN_QUALYS_ACCOUNT_TYPE is {account_type} but the registry is "
                f"{'in' if govcloud else 'not in'} AWS GovCloud: use {'US_Gov' if govcloud else 'Global'}"
            )
        body = {
            "registryType": "AWS",
            "registryUri": uri,
            "aws": {
                "accountId": match.group(1),
                "region": match.group(2),
                "arn": role_arn,
                "accountType": account_type,
            },
        }
        response = self.request("POST", "/registry", json_body=body, ok=(200, 201))
        uuid = self._created_id(response, ("registryUuid", "uuid"))
        if uuid is None or not _UUID.match(uuid):
            raise QualysResponseError("POST /registry: no registry uuid in the response")
        return Registry(uuid=uuid, uri=uri, registry_type="AWS", raw={"registryUuid": uuid})

    def schedule_scan(self, registry_uuid: str, repository: str, tag: str) -> str | None:
        """Ask the registry sensor for an on-demand, forced scan of one repository and tag.

        `tag` is mandatory for the API: an empty or malformed tag is refused here (`QualysRequestError`)
        instead of being sent. Returns the schedule id when the API answers one.
        """
        if not _UUID.match(registry_uuid):
            raise QualysRequestError("registry uuid has unexpected characters")
        if not repository or not isinstance(repository, str):
            raise QualysRequestError("a scan schedule needs the repository")
        if not valid_tag(tag):
            raise QualysRequestError(
                "a scan schedule needs the image tag (1-128 of A-Z a-z 0-9 _ . -): Qualys requires one"
            )
        body = {
            "onDemand": True,
            "filters": [{"repoTags": [{"repo": repository, "tag": tag}]}],
            "forceScan": True,
        }
        response = self.request(
            "POST", f"/registry/{registry_uuid}/schedule", json_body=body, ok=(200, 201, 202, 204)
        )
        schedule = self._created_id(response, ("scheduleUuid", "scheduleId", "id", "uuid"))
        return schedule if schedule and _UUID.match(schedule) else None

    def find_image(self, registry: str, repository: str, digest: str) -> ImageMatch | None:
        """The Qualys image whose repoDigests hold exactly this registry + repository + manifest digest."""
        hex_digest = digest_hex(digest)
        if hex_digest is None:
            raise QualysRequestError("repository digest must be sha256:<64 hex>")
        host, repo = _registry_host(registry), repository.strip("/")
        if not host or not repo:
            raise QualysRequestError("image lookup needs the registry and the repository")
        wanted = (host, repo, hex_digest)
        for item in self.pages("/images", "data", {"filter": _filter_value("repoDigests", hex_digest)}):
            if wanted in repo_digests(item):
                sha = item.get("sha")
                if isinstance(sha, str):
                    return ImageMatch(image_sha(sha), repo_tags(item, host, repo))
        return None

    def image_status(self, sha: str) -> ImageStatus:
        sha = image_sha(sha)
        body = self._object(self.request("GET", f"/images/{sha}"), "GET /images/{sha}")
        raw = body.get("scanStatus")
        return ImageStatus(
            sha=sha, status=_scan_status(raw), raw_status=raw if isinstance(raw, str) else None, raw=body
        )

    def vulnerability_report(self, sha: str) -> VulnReport:
        """Every vulnerability of the image in one `GET /images/{sha}/vuln?type=ALL`, cross-checked.

        Raises `QualysIncompleteScan` when the findings are not all there (see the module docstring) and
        `QualysResponseError` when the answer is malformed.
        """
        sha = image_sha(sha)
        what = f"GET /images/{sha[:12]}/vuln"
        response = self.request(
            "GET", f"/images/{sha}/vuln", params={"type": VULN_REPORT_TYPE}, ok=(200, 204)
        )
        if response.status_code == 204 or not response.content.strip():
            raise QualysIncompleteScan(
                f"{what} answered HTTP {response.status_code} without a report: findings unknown"
            )
        body = self._object(response, what)
        details = body.get("details")
        if details is None:
            raise QualysIncompleteScan(f"{what}: the answer has no 'details': findings unknown")
        if not isinstance(details, list) or not all(isinstance(v, dict) for v in details):
            raise QualysResponseError(f"{what}: 'details' is not a list of objects")
        findings: list[Finding] = []
        per_vuln: list[Finding] = []
        for vuln in details:
            normalized = normalize_vuln(vuln)
            findings.extend(normalized)
            per_vuln.append(normalized[0])
        found = SeverityCounts.of(per_vuln)
        expected, source = summary_counts(body.get("vulnSummary")), "vulnSummary"
        if expected is None:
            expected, source = self.vulnerability_counts(sha), "vuln/count"
        if expected != found:
            raise QualysIncompleteScan(
                f"{what}: details ({_counts_text(found)}) disagree with {source} ({_counts_text(expected)})"
            )
        return VulnReport(tuple(findings), found, source)

    def vulnerabilities(self, sha: str) -> list[Finding]:
        """Every vulnerability of the image as normalized findings (one per affected package)."""
        return list(self.vulnerability_report(sha).findings)

    def vulnerability_counts(self, sha: str) -> SeverityCounts:
        """`GET /images/{sha}/vuln/count` as per-severity totals (`QualysResponseError` when unreadable)."""
        sha = image_sha(sha)
        what = "GET /images/{sha}/vuln/count"
        response = self.request("GET", f"/images/{sha}/vuln/count", ok=(200, 204))
        if response.status_code == 204 or not response.content.strip():
            raise QualysIncompleteScan(f"{what} answered HTTP {response.status_code} without counts")
        counts = summary_counts(self._object(response, what))
        if counts is None:
            raise QualysResponseError(f"{what}: no per-severity counts in the answer")
        return counts


# ---------------------------------------------------------------------------------------------- helpers
def _registry(item: Mapping[str, Any]) -> Registry:
    uuid, uri = item.get("registryUuid"), item.get("registryUri")
    if not isinstance(uuid, str) or not isinstance(uri, str):
        raise QualysResponseError("registry without registryUuid/registryUri")
    kind = item.get("registryType")
    return Registry(uuid=uuid, uri=uri, registry_type=kind if isinstance(kind, str) else None, raw=dict(item))


def _scan_status(raw: Any) -> str:
    text = raw.strip().upper() if isinstance(raw, str) else ""
    if text in ("SUCCESS", "SCANNED", "COMPLETED", "COMPLETE", "FINISHED"):
        return "success"
    if "FAIL" in text or "ERROR" in text:
        return "failed"
    if text in ("RUNNING", "IN_PROGRESS", "INPROGRESS", "SCANNING", "PROCESSING"):
        return "running"
    return "pending"


def normalize_vuln(vuln: Mapping[str, Any]) -> list[Finding]:
    """One details entry as findings: one per affected package, or one without a package."""
    severity = severity_of(vuln.get("severity"))
    if severity is None:
        raise QualysResponseError("vulnerability without a 1-5 severity")
    qid = vuln.get("qid")
    cves = vuln.get("cveids") or vuln.get("cves") or []
    cvss = vuln.get("cvss3Info") if isinstance(vuln.get("cvss3Info"), dict) else {}
    score = _score((cvss or {}).get("baseScore"))
    base = Finding(
        qid=str(qid) if isinstance(qid, str | int) and not isinstance(qid, bool) else None,
        title=str(vuln["title"])[:500] if isinstance(vuln.get("title"), str) else None,
        severity=severity,
        cves=tuple(c for c in cves if isinstance(c, str)) if isinstance(cves, list) else (),
        cvss_score=score,
    )
    software = vuln.get("software")
    packages = [s for s in software if isinstance(s, dict)] if isinstance(software, list) else []
    return [
        replace(
            base,
            package_name=_opt_text(pkg.get("name")),
            installed_version=_opt_text(pkg.get("version")),
            fixed_version=_opt_text(pkg.get("fixVersion")),
        )
        for pkg in packages
    ] or [base]


def _opt_text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def _score(value: Any) -> float | None:
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0.0 <= score <= 10.0 else None


def _snippet(response: requests.Response) -> str:
    return redact(response.text[:200].replace("\n", " "))
