"""Client for the Qualys Container Security API (`/csapi/v1.3`, DESIGN §4).

- Gateway: from the POD, or an explicit https URL; plain http is refused unless the caller opts in with
  `allow_insecure_loopback=True`, and even then only for 127.0.0.1 / localhost / [::1] (test doubles).
- Auth: a static bearer token, or username/password exchanged at `POST {gateway}/auth` for a JWT that is
  refreshed shortly before it expires and once more when the API answers 401.
- Resilience: connect/read timeouts; 429 honours `X-RateLimit-ToWait-Sec` / `Retry-After`; 5xx and network
  errors back off exponentially with jitter; every call has a bounded number of attempts and a total time
  budget. Non-idempotent POSTs are retried only when the request surely did not take effect (429, 503,
  connection refused).
- Secrets: tokens and passwords are registered with `qscan.redact`, never logged, never put in errors.

Response shapes the client relies on (the fake server in tests/doubles follows the same):
`GET /registry` -> `{"data": [{"registryUuid", "registryUri", ...}], "count"}` or 204;
`GET /images` -> `{"data": [{"sha", "repoDigests": ["repo@sha256:..."], ...}]}`;
`GET /images/{sha}` -> `{"sha", "scanStatus", ...}`; `GET /images/{sha}/vuln` ->
`{"details": [{"qid", "title", "severity", "cveids", "software": [{"name", "version", "fixVersion"}],
"cvss3Info": {"baseScore"}}], "count"}`; `GET /images/{sha}/vuln/count` -> `{"severity5Count", ...}`.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from qscan import __version__
from qscan.errors import ConfigError, QscanError, TransientError
from qscan.pods import gateway_for
from qscan.redact import redact, register_secret
from qscan.results.model import Finding, Severity, SeverityCounts
from qscan.scanners.sarif import severity_of

LOG = logging.getLogger(__name__)

API_PREFIX = "/csapi/v1.3"
JWT_DEFAULT_LIFETIME = 4 * 3600.0
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_SHA = re.compile(r"^(?:sha256:)?([a-f0-9]{12,64})$")
_UUID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
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
    """The API rejected the request (4xx other than 401/403/404/429): retrying will not help."""


class QualysResponseError(QualysApiError):
    """The API answered something the client cannot use (bad JSON, missing fields, too many pages)."""


class QualysUnavailable(QualysApiError, TransientError):
    """5xx, network failure or the time budget ran out: the platform should retry later."""


class QualysRateLimited(QualysUnavailable):
    """429 beyond the attempts or the time budget."""


# ---------------------------------------------------------------------------------------------- options
@dataclass(frozen=True, slots=True)
class QualysApiOptions:
    pod: str | None = None
    gateway_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_insecure_loopback: bool = False  # explicit opt-in for http://127.0.0.1 test doubles
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_budget_seconds: float = 120.0  # per call, retries and waits included
    max_attempts: int = 6
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 20.0
    page_size: int = 50
    max_pages: int = 200
    token_refresh_margin_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class AwsBase:
    account_id: str
    external_id: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Registry:
    uuid: str
    uri: str
    registry_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ImageStatus:
    sha: str
    status: str  # "pending" | "running" | "success" | "failed"
    raw_status: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


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
                surely_unsent = isinstance(exc, requests.ConnectTimeout) or (
                    isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout)
                )
                reason = f"{method} {label}: {type(exc).__name__}"
                if not (idempotent or surely_unsent) or attempt >= o.max_attempts:
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
                wait = _wait_hint(response, self._wall_clock())
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

    def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item under `key` over all pages (pageNumber from 1), at most `max_pages` pages."""
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
        if not isinstance(account, str | int) or not isinstance(external, str) or not external:
            raise QualysResponseError("GET /registry/aws-base: accountId/externalId missing")
        register_secret(external)
        return AwsBase(str(account), external)

    def list_aws_connectors(self) -> list[dict[str, Any]]:
        return list(self.pages("/registry/aws/connectors", "data"))

    def create_aws_connector(self, name: str, role_arn: str, description: str = "") -> dict[str, Any]:
        if not _ROLE_ARN.match(role_arn):
            raise QualysRequestError("connector role ARN is not an IAM role ARN")
        body = {"name": name[:128], "arn": role_arn, "description": description[:256]}
        response = self.request("POST", "/registry/aws/connector", json_body=body, ok=(200, 201))
        return self._object(response, "POST /registry/aws/connector")

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

    def create_ecr_registry(self, uri: str, role_arn: str, *, name: str | None = None) -> Registry:
        """Register an ECR registry that Qualys reads through `role_arn` (trusting aws-base's account)."""
        host = urlsplit(uri).hostname or ""
        match = _ECR_HOST.match(host)
        if not uri.startswith("https://") or not match:
            raise QualysRequestError("registry URI must be https://<account>.dkr.ecr.<region>.amazonaws.com")
        if not _ROLE_ARN.match(role_arn):
            raise QualysRequestError("registry role ARN is not an IAM role ARN")
        body = {
            "registryType": "AWS",
            "registryUri": uri,
            "name": (name or f"qscan-{match.group(1)}-{match.group(2)}")[:128],
            "aws": {
                "accountId": match.group(1),
                "region": match.group(2),
                "arn": role_arn,
                "accountType": "Private",
            },
        }
        response = self.request("POST", "/registry", json_body=body, ok=(200, 201))
        created = self._object(response, "POST /registry")
        uuid = created.get("registryUuid") or (created.get("data") or {}).get("registryUuid")
        if not isinstance(uuid, str) or not _UUID.match(uuid):
            raise QualysResponseError("POST /registry: no registryUuid in the response")
        return Registry(uuid=uuid, uri=uri, registry_type="AWS", raw=created)

    def schedule_scan(self, registry_uuid: str, repository: str, tag: str | None, *, name: str) -> str | None:
        """Ask the registry sensor for an on-demand scan of one repository (and tag); returns the schedule id."""
        if not _UUID.match(registry_uuid):
            raise QualysRequestError("registry uuid has unexpected characters")
        body = {
            "name": name[:128],
            "onDemand": True,
            "filters": [{"repoTags": [{"repo": repository, "tag": tag or ""}]}],
        }
        response = self.request(
            "POST", f"/registry/{registry_uuid}/schedule", json_body=body, ok=(200, 201, 202, 204)
        )
        if response.status_code == 204 or not response.content:
            return None
        created = self._object(response, "POST /registry/{uuid}/schedule")
        schedule = created.get("scheduleUuid") or created.get("scheduleId") or created.get("id")
        return str(schedule) if isinstance(schedule, str | int) else None

    def find_image_by_repo_digest(self, repo_digest: str) -> str | None:
        """The Qualys image sha (image id) of the image whose repository digest is `repo_digest`, if known yet."""
        digest = repo_digest.rsplit("@", maxsplit=1)[-1]
        if not re.match(r"^sha256:[a-f0-9]{64}$", digest):
            raise QualysRequestError("repository digest must be sha256:<64 hex>")
        for item in self.pages("/images", "data", {"filter": _filter_value("repoDigests", digest)}):
            digests = item.get("repoDigests")
            if isinstance(digests, list) and any(
                isinstance(d, str) and d.split("@")[-1] == digest for d in digests
            ):
                sha = item.get("sha") or item.get("imageId")
                if isinstance(sha, str):
                    return image_sha(sha)
        return None

    def image_status(self, sha: str) -> ImageStatus:
        sha = image_sha(sha)
        body = self._object(self.request("GET", f"/images/{sha}"), "GET /images/{sha}")
        raw = body.get("scanStatus")
        return ImageStatus(
            sha=sha, status=_scan_status(raw), raw_status=raw if isinstance(raw, str) else None, raw=body
        )

    def vulnerabilities(self, sha: str) -> list[Finding]:
        """Every vulnerability of the image as normalized findings (one per affected package)."""
        sha = image_sha(sha)
        findings: list[Finding] = []
        for vuln in self.pages(f"/images/{sha}/vuln", "details"):
            findings.extend(normalize_vuln(vuln))
        return findings

    def vulnerability_counts(self, sha: str) -> SeverityCounts:
        sha = image_sha(sha)
        body = self._object(self.request("GET", f"/images/{sha}/vuln/count"), "GET /images/{sha}/vuln/count")
        values: dict[str, int] = {}
        for severity in Severity:
            value = body.get(f"severity{int(severity)}Count", 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise QualysResponseError(
                    "GET /images/{sha}/vuln/count: counts must be non-negative integers"
                )
            values[severity.label] = value
        return SeverityCounts(**values)


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
        dataclasses.replace(
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


def _wait_hint(response: requests.Response, now: float) -> float | None:
    """Seconds to wait from `X-RateLimit-ToWait-Sec`, else `Retry-After` (seconds or an HTTP date)."""
    for header in ("X-RateLimit-ToWait-Sec", "Retry-After"):
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - now)
    return None


def _snippet(response: requests.Response) -> str:
    return redact(response.text[:200].replace("\n", " "))
