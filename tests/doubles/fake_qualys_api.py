"""A stateful fake of the Qualys Container Security API (DESIGN §4), plain http on 127.0.0.1 only.

Three ways to use it:
- `FakeQualysApi()` as a context manager: a threaded `http.server` on 127.0.0.1 with a free port; `.url` is the
  gateway URL, `.state` the Python handle for seeding data and injecting faults.
- `FakeQualysAdapter(state)`: a `requests` transport adapter that answers from the same state without a socket
  (unit tests: mount it on a session for `http://127.0.0.1:1/`).
- `python -m tests.doubles.fake_qualys_api --port 0 [--demo] [--post-answers object] [--numeric-external-id]`:
  prints its URL on the first line and serves until SIGINT/SIGTERM (for `make demo`). The control API under
  `/_control/` (no auth) seeds and injects over HTTP: `POST /_control/reset`, `POST /_control/images`
  (`add_image` arguments as JSON), `POST /_control/registries`, `POST /_control/faults` (`Fault` fields as
  JSON), `POST /_control/expire-tokens`, `GET /_control/requests`, `GET /_control/state`.

Documented facts it follows (DESIGN §4, the corrected Qualys API section):
- Auth: `POST /auth` (form username/password/token=true) answers 201 with a bare JWT carrying `exp`; bearer
  tokens are checked on every call (static tokens or unexpired JWTs), else 401.
- `GET /registry/aws-base` -> `{"accountId", "externalId"}`; `numeric_external_id=True` answers the external
  id as a number, as the swagger types it.
- Lists (`/registry`, `/registry/aws/connectors`, `/images`) paginate with pageNumber (from 1) and pageSize
  (at most 1000), answer `{"data": [...], "count": N}`, and 204 with no body when nothing matches.
- `POST /registry` needs `registryType` AWS, an https `registryUri` and `aws{accountId, arn, region,
  accountType}` with `accountType` `Global` or `US_Gov` (400 otherwise). `POST /registry/{uuid}/schedule` needs
  `filters[{repoTags[{repo, tag}]}]` with a non-empty `tag` (400 otherwise); `onDemand`, `forceScan` and `days`
  are accepted. POSTs answer a bare JSON string (the new uuid), the swagger's shape; `post_answers="object"`
  answers `{"registryUuid"}` / `{"scheduleUuid"}` instead.
- Images carry `sha` (the image id, distinct from the manifest digest), `imageId` (12-char short id, also
  valid in paths), `repo` [{registry, repository, tag}] and `repoDigests` as objects {registry, repository,
  digest} with the digest 64 hex WITHOUT `sha256:` (`legacy_repo_digest=True` seeds the old
  `registry/repo@sha256:...` string instead).
- `GET /images/{sha}/vuln` is not paginated: `{"details": [...], "vulnSummary": {...}}` filtered by `type`
  (SUMMARY: only vulnSummary, DETAILS: only details, ALL: both; 400 for another value). Other query parameters
  (`filter`, `sort`, `applyException`, also `pageNumber`/`pageSize`) are ignored: they never change the answer.
  Before the image's scan succeeded there is no report: 204. `GET /images/{sha}/vuln/count` answers the same
  totals. Filters are QQL `field:"value"`, decoded exactly once (a double-encoded value does not match).

Where it stands in for the real API (its own choices, not documented facts): `vulnSummary` and `/vuln/count`
are flat `{"severity<N>Count": n}` objects (N = 1..5, counting details entries); `type` defaults to ALL when
absent; images added with `after_schedule=True` stay invisible until a schedule names their repository and tag,
then report `scanStatus` PENDING -> IN_PROGRESS -> final status over `polls` GETs. Faults (`Fault`) replace an
answer (status/headers/body), delay it, or fail the transport: connect-phase errors (`refused`, `dns`,
`connect_timeout`: the request never reaches the fake, it is counted in `state.unsent`) exist only in the
adapter; after-send errors (`reset`, `disconnected`, `chunked`) are raised after the request was handled, so
its effect (a registry created) stays, as on a real server that lost the connection while answering.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.client import RemoteDisconnected
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import requests
from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions
from requests.adapters import BaseAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

API = "/csapi/v1.3"
MAX_PAGE_SIZE = 1000
DEFAULT_TOKEN = "fake-static-token-0123456789"
DEFAULT_USER, DEFAULT_PASSWORD = "qscan-user", "fake-password-123"
ACCOUNT_TYPES = ("Global", "US_Gov")
VULN_TYPES = ("SUMMARY", "DETAILS", "ALL")
CONNECT_ERRORS = ("refused", "dns", "connect_timeout")  # the request never left the client
SENT_ERRORS = ("reset", "disconnected", "chunked")  # the server got (and handled) the request
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@dataclass
class Fault:
    """Answer matching requests with `status` (and `headers`/`body`) `count` times; `delay` first.

    `error` fails the transport instead: one of CONNECT_ERRORS (never reaches the server) or SENT_ERRORS
    (handled by the server, then the connection is lost before the answer arrives).
    """

    path: str  # regex searched in the path (e.g. "/images/"), "" matches everything
    status: int | None = None  # None: only delay (or `error`), then answer normally
    method: str | None = None
    count: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None and self.error not in CONNECT_ERRORS + SENT_ERRORS:
            raise ValueError(f"Fault.error must be one of {CONNECT_ERRORS + SENT_ERRORS}")


@dataclass
class Recorded:
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    authorization: str | None
    body: str


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    error: str | None = None  # a transport failure to simulate instead of (or after) answering


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _hex(digest: str) -> str:
    """The 64 hex of `sha256:<hex>` or `<hex>` (what the real API stores in repoDigests[].digest)."""
    text = digest.strip().lower().removeprefix("sha256:")
    if not _HEX64.match(text):
        raise ValueError("a manifest digest is sha256:<64 hex>")
    return text


class FakeQualysState:
    """The fake's data and rules; thread-safe. Every public method is a seeding or fault-injection hook."""

    def __init__(
        self,
        *,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        users: dict[str, str] | None = None,
        jwt_lifetime: float = 4 * 3600,
        clock: Callable[[], float] = time.time,
        post_answers: str = "string",
        numeric_external_id: bool = False,
    ) -> None:
        if post_answers not in ("string", "object"):
            raise ValueError("post_answers is 'string' (the swagger's bare string) or 'object'")
        self._lock = threading.RLock()
        self._clock = clock
        self.static_tokens = set(tokens)
        self.users = dict(users if users is not None else {DEFAULT_USER: DEFAULT_PASSWORD})
        self.jwt_lifetime = jwt_lifetime
        self.post_answers = post_answers
        self.numeric_external_id = numeric_external_id
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.issued: dict[str, float] = {}
            self.auth_calls = 0
            external: str | int = (
                int(secrets.randbelow(10**11) + 10**11)
                if self.numeric_external_id
                else "qscan-ext-" + secrets.token_hex(8)
            )
            self.aws_base: dict[str, Any] = {"accountId": "805950163170", "externalId": external}
            self.connectors: list[dict[str, Any]] = []
            self.registries: dict[str, dict[str, Any]] = {}
            self.schedules: list[dict[str, Any]] = []
            self.images: dict[str, dict[str, Any]] = {}
            self.faults: list[Fault] = []
            self.requests: list[Recorded] = []
            self.unsent: list[tuple[str, str, str]] = []  # (method, path, error) that never reached the fake

    # ------------------------------------------------------------------ seeding and faults
    def add_registry(self, uri: str, registry_type: str = "AWS") -> str:
        with self._lock:
            uuid = "reg-" + secrets.token_hex(6)
            self.registries[uuid] = {"registryUuid": uuid, "registryUri": uri, "registryType": registry_type}
            return uuid

    def add_image(
        self,
        repo_digest: str,
        *,
        registry: str,
        repository: str,
        tag: str | None = "latest",
        sha: str | None = None,
        vulns: list[dict[str, Any]] | None = None,
        polls: int = 2,
        final_status: str = "SUCCESS",
        after_schedule: bool = True,
        legacy_repo_digest: bool = False,
    ) -> str:
        """Seed an image; returns its Qualys sha (image id, distinct from the repository digest).

        `tag=None` seeds an untagged (digest-only) image: no schedule can name it.
        """
        digest = _hex(repo_digest)
        with self._lock:
            sha = sha or secrets.token_hex(32)
            entry: dict[str, str] | str = {"registry": registry, "repository": repository, "digest": digest}
            if legacy_repo_digest:
                entry = f"{registry}/{repository}@sha256:{digest}"
            self.images[sha] = {
                "sha": sha,
                "imageId": sha[:12],
                "repoDigests": [entry],
                "repo": [{"registry": registry, "repository": repository, "tag": tag}],
                "scanStatus": "PENDING" if after_schedule else final_status,
                "visible": not after_schedule,
                "polls_left": polls if after_schedule else 0,
                "final_status": final_status,
                "vulns": list(vulns or []),
            }
            return sha

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def expire_tokens(self) -> None:
        """Every issued JWT becomes invalid (as after 4 h): the next call gets 401."""
        with self._lock:
            self.issued = dict.fromkeys(self.issued, 0.0)

    def issue_token(self, user: str) -> str:
        with self._lock:
            exp = self._clock() + self.jwt_lifetime
            token = ".".join(
                (
                    _b64({"alg": "HS256", "typ": "JWT"}),
                    _b64({"sub": user, "exp": int(exp), "jti": secrets.token_hex(6)}),
                    secrets.token_urlsafe(16),
                )
            )
            self.issued[token] = exp
            return token

    def calls(self, path_regex: str = "", method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if re.search(path_regex, r.path) and (method is None or r.method == method)
            ]

    # ------------------------------------------------------------------ request handling
    def handle(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes) -> Reply:
        text = body.decode("utf-8", errors="replace")
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            fault = self._take_fault(method, path)
            if fault and fault.error in CONNECT_ERRORS:
                self.unsent.append((method, path, fault.error))
                return Reply(0, {}, b"", error=fault.error)
            self.requests.append(
                Recorded(method, path, raw_query, parse_qs(raw_query), lowered.get("authorization"), text)
            )
        if path.startswith("/_control/"):
            return self._control(method, path, text)
        delay = fault.delay if fault else 0.0
        if fault and fault.status is not None:
            return Reply(
                fault.status,
                {"Content-Type": "application/json", **fault.headers},
                fault.body.encode(),
                delay,
                fault.error,
            )
        reply = self._route(method, path, parse_qs(raw_query, keep_blank_values=True), lowered, text)
        reply.delay = delay
        reply.error = fault.error if fault else None
        return reply

    def _take_fault(self, method: str, path: str) -> Fault | None:
        if path.startswith("/_control/"):
            return None
        for fault in self.faults:
            if fault.count > 0 and re.search(fault.path, path) and fault.method in (None, method):
                fault.count -= 1
                return fault
        return None

    def _authorized(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer "):
            return False
        token = value[len("Bearer ") :]
        with self._lock:
            return token in self.static_tokens or self.issued.get(token, 0.0) > self._clock()

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], text: str
    ) -> Reply:
        if path == "/auth" and method == "POST":
            return self._auth(text)
        if not path.startswith(API + "/"):
            return _json(404, {"message": "not found"})
        if not self._authorized(headers):
            return _json(401, {"message": "Unauthorized"})
        sub = path[len(API) :]
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", r"/registry/aws-base", lambda: _json(200, self.aws_base)),
            ("GET", r"/registry/aws/connectors", lambda: self._page(self.connectors, query, "data")),
            ("POST", r"/registry/aws/connector", lambda: self._create_connector(text)),
            ("GET", r"/registry", lambda: self._list_registries(query)),
            ("POST", r"/registry", lambda: self._create_registry(text)),
            ("POST", r"/registry/([^/]+)/schedule", lambda uuid: self._schedule(uuid, text)),
            ("GET", r"/images", lambda: self._list_images(query)),
            ("GET", r"/images/([a-f0-9]{12,64})", self._image),
            ("GET", r"/images/([a-f0-9]{12,64})/vuln", lambda sha: self._vulns(sha, query)),
            ("GET", r"/images/([a-f0-9]{12,64})/vuln/count", self._vuln_count),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, sub)
            if match and verb == method:
                return action(*match.groups())
        return _json(404, {"message": f"no route for {method} {sub}"})

    def _auth(self, text: str) -> Reply:
        form = dict(parse_qsl(text))
        with self._lock:
            self.auth_calls += 1
            ok = form.get("token") == "true" and self.users.get(form.get("username", "")) == form.get(
                "password"
            )
        if not ok:
            return _json(401, {"message": "Invalid credentials"})
        token = self.issue_token(form["username"])
        return Reply(201, {"Content-Type": "text/plain"}, token.encode())

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> Reply:
        try:
            number = int(query.get("pageNumber", ["1"])[0])
            size = int(query.get("pageSize", ["50"])[0])
        except ValueError:
            return _json(400, {"message": "pageNumber and pageSize must be integers"})
        if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return _json(400, {"message": f"pageNumber >= 1, 1 <= pageSize <= {MAX_PAGE_SIZE}"})
        if not items:
            return Reply(204, {}, b"")
        start = (number - 1) * size
        return _json(200, {key: items[start : start + size], "count": len(items)})

    def _created(self, key: str, value: str) -> Reply:
        return _json(200, value if self.post_answers == "string" else {key: value})

    def _filter(
        self, query: dict[str, list[str]], allowed: tuple[str, ...]
    ) -> tuple[str, str] | Reply | None:
        raw = query.get("filter", [None])[0]
        if raw is None:
            return None
        match = re.fullmatch(r'(\w+):"([^"]*)"', raw)
        if not match or match.group(1) not in allowed:
            return _json(400, {"message": "invalid filter"})
        return match.group(1), match.group(2)

    def _list_registries(self, query: dict[str, list[str]]) -> Reply:
        flt = self._filter(query, ("registryUri", "registryType"))
        if isinstance(flt, Reply):
            return flt
        with self._lock:
            items = list(self.registries.values())
        if flt:
            items = [r for r in items if r.get(flt[0]) == flt[1]]
        return self._page(items, query, "data")

    def _create_registry(self, text: str) -> Reply:
        try:
            body = json.loads(text)
        except ValueError:
            return _json(400, {"message": "body must be JSON"})
        if not isinstance(body, dict):
            return _json(400, {"message": "body must be a JSON object"})
        uri, aws = body.get("registryUri"), body.get("aws") or {}
        if body.get("registryType") != "AWS" or not isinstance(uri, str) or not uri.startswith("https://"):
            return _json(400, {"message": "registryType AWS and an https registryUri are required"})
        if not isinstance(aws, dict) or not re.fullmatch(
            r"arn:aws[a-z-]*:iam::\d{12}:role/.+", str(aws.get("arn", ""))
        ):
            return _json(400, {"message": "aws.arn must be an IAM role ARN"})
        if aws.get("accountType") not in ACCOUNT_TYPES:
            return _json(400, {"message": "aws.accountType is required: Global or US_Gov"})
        if not re.fullmatch(r"\d{12}", str(aws.get("accountId", ""))) or not aws.get("region"):
            return _json(400, {"message": "aws.accountId and aws.region are required"})
        with self._lock:
            if any(r["registryUri"] == uri for r in self.registries.values()):
                return _json(409, {"message": "registry already exists"})
            uuid = self.add_registry(uri)
            self.registries[uuid].update({"aws": aws})
        return self._created("registryUuid", uuid)

    def _create_connector(self, text: str) -> Reply:
        try:
            body = json.loads(text)
        except ValueError:
            return _json(400, {"message": "body must be JSON"})
        if not isinstance(body.get("name"), str) or not isinstance(body.get("arn"), str):
            return _json(400, {"message": "name and arn are required"})
        connector = {"connectorUuid": "con-" + secrets.token_hex(6), "name": body["name"], "arn": body["arn"]}
        with self._lock:
            self.connectors.append(connector)
        return self._created("connectorUuid", connector["connectorUuid"])

    def _schedule(self, uuid: str, text: str) -> Reply:
        try:
            body = json.loads(text)
            repo_tags = [rt for flt in body["filters"] for rt in flt["repoTags"]]
            repos = {(rt["repo"], rt.get("tag")) for rt in repo_tags}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return _json(400, {"message": "filters[].repoTags[] with repo and tag is required"})
        if not repos or not all(
            isinstance(r, str) and r and isinstance(t, str) and t.strip() for r, t in repos
        ):
            return _json(400, {"message": "repoTags[].repo and repoTags[].tag are mandatory (tag non-empty)"})
        with self._lock:
            registry = self.registries.get(uuid)
            if registry is None:
                return _json(404, {"message": "registry not found"})
            schedule = {
                "scheduleUuid": "sch-" + secrets.token_hex(6),
                "registryUuid": uuid,
                "repos": sorted(repos),
                "onDemand": body.get("onDemand"),
                "forceScan": body.get("forceScan"),
            }
            self.schedules.append(schedule)
            host = registry["registryUri"].split("://", 1)[-1].rstrip("/")
            for image in self.images.values():
                for repo in image["repo"]:
                    named = (repo["repository"], repo["tag"]) in repos
                    if repo["registry"] == host and named:
                        image["visible"] = True
        return self._created("scheduleUuid", schedule["scheduleUuid"])

    def _public(self, image: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in image.items() if k not in ("visible", "polls_left", "final_status", "vulns")}

    def _list_images(self, query: dict[str, list[str]]) -> Reply:
        flt = self._filter(query, ("repoDigests", "imageId", "sha"))
        if isinstance(flt, Reply):
            return flt
        with self._lock:
            items = [self._public(i) for i in self.images.values() if i["visible"]]
        if flt and flt[0] == "repoDigests":
            wanted = flt[1].lower().removeprefix("sha256:")
            items = [i for i in items if wanted in {_entry_digest(d) for d in i["repoDigests"]}]
        elif flt:
            items = [i for i in items if str(i.get(flt[0])).startswith(flt[1])]
        return self._page(items, query, "data")

    def _visible(self, sha: str) -> dict[str, Any] | None:
        image = self.images.get(sha) or next((i for i in self.images.values() if i["imageId"] == sha), None)
        return image if image and image["visible"] else None

    def _image(self, sha: str) -> Reply:
        with self._lock:
            image = self._visible(sha)
            if image is None:
                return _json(404, {"message": "image not found"})
            if image["polls_left"] > 0:
                image["polls_left"] -= 1
                image["scanStatus"] = image["final_status"] if image["polls_left"] == 0 else "IN_PROGRESS"
            return _json(200, self._public(image))

    def _summary(self, vulns: list[dict[str, Any]]) -> dict[str, int]:
        counts = {f"severity{n}Count": 0 for n in range(1, 6)}
        for vuln in vulns:
            key = f"severity{vuln.get('severity')}Count"
            if key in counts:  # a malformed severity is the client's to reject, not the summary's to count
                counts[key] += 1
        return counts

    def _report(self, sha: str) -> list[dict[str, Any]] | Reply:
        image = self._visible(sha)
        if image is None:
            return _json(404, {"message": "image not found"})
        if image["scanStatus"] != "SUCCESS":
            return Reply(204, {}, b"")  # no report before the scan succeeded
        return list(image["vulns"])

    def _vulns(self, sha: str, query: dict[str, list[str]]) -> Reply:
        kind = query.get("type", ["ALL"])[0].upper()
        if kind not in VULN_TYPES:
            return _json(400, {"message": "type must be SUMMARY, DETAILS or ALL"})
        with self._lock:
            report = self._report(sha)
        if isinstance(report, Reply):
            return report
        body: dict[str, Any] = {}
        if kind in ("DETAILS", "ALL"):
            body["details"] = report
        if kind in ("SUMMARY", "ALL"):
            body["vulnSummary"] = self._summary(report)
        return _json(200, body)

    def _vuln_count(self, sha: str) -> Reply:
        with self._lock:
            report = self._report(sha)
        if isinstance(report, Reply):
            return report
        return _json(200, self._summary(report))

    def _control(self, method: str, path: str, text: str) -> Reply:
        action = path[len("/_control/") :]
        data = json.loads(text) if text.strip() else {}
        if method == "POST" and action == "reset":
            self.reset()
            return _json(200, {"ok": True})
        if method == "POST" and action == "images":
            return _json(200, {"sha": self.add_image(**data)})
        if method == "POST" and action == "registries":
            return _json(200, {"registryUuid": self.add_registry(**data)})
        if method == "POST" and action == "faults":
            self.inject(Fault(**data))
            return _json(200, {"ok": True})
        if method == "POST" and action == "expire-tokens":
            self.expire_tokens()
            return _json(200, {"ok": True})
        if method == "GET" and action == "requests":
            with self._lock:
                return _json(
                    200, {"requests": [asdict(r) for r in self.requests if not r.path.startswith("/_")]}
                )
        if method == "GET" and action == "state":
            with self._lock:
                return _json(
                    200,
                    {
                        "registries": list(self.registries.values()),
                        "schedules": self.schedules,
                        "images": list(self.images.values()),
                    },
                )
        return _json(404, {"message": "unknown control action"})


def _entry_digest(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("digest", ""))
    return str(entry).rsplit("@", 1)[-1].removeprefix("sha256:")


def _json(status: int, body: Any) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


# ------------------------------------------------------------------------------------------ HTTP server
class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.state.handle(
            self.command, parts.path, parts.query, dict(self.headers.items()), body
        )
        if reply.delay:
            time.sleep(reply.delay)
        if reply.error in CONNECT_ERRORS:  # a real server cannot refuse a connection it accepted
            reply = _json(501, {"message": "connect-phase faults exist only in FakeQualysAdapter"})
        try:
            if reply.error in ("reset", "disconnected"):
                self._drop(reset=reply.error == "reset")
                return
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.error == "chunked":  # announce more than is sent, then close: ChunkedEncodingError
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"ff\r\n" + reply.body[:10])
                self.wfile.flush()
                self._drop(reset=False)
                return
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (read timeout): as a real server, carry on

    def _drop(self, *, reset: bool) -> None:
        """Close the connection without (the rest of) an answer; `reset` sends a TCP RST."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `state.requests`
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: FakeQualysState) -> None:
        self.state = state
        super().__init__(("127.0.0.1", port), _Handler)


class FakeQualysApi:
    """The fake on a loopback socket: `with FakeQualysApi() as api: api.url, api.state`."""

    def __init__(self, state: FakeQualysState | None = None, port: int = 0) -> None:
        self.state = state or FakeQualysState()
        self._server = _Server(port, self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeQualysApi:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-qualys", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> FakeQualysApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------------------------------ requests adapter
def transport_error(kind: str, url: str) -> requests.RequestException:
    """The exception requests (2.x, over urllib3 2.x) raises for each simulated transport failure."""
    if kind == "refused":
        refused = NewConnectionError(
            None, "Failed to establish a new connection: [Errno 111] Connection refused"
        )
        return requests.ConnectionError(MaxRetryError(None, url, refused))
    if kind == "dns":
        unresolved = NameResolutionError(
            "gateway.invalid", None, socket.gaierror(-2, "Name or service not known")
        )
        return requests.ConnectionError(MaxRetryError(None, url, unresolved))
    if kind == "connect_timeout":
        timed_out = ConnectTimeoutError(None, "Connection to gateway timed out. (connect timeout=5)")
        return requests.ConnectTimeout(MaxRetryError(None, url, timed_out))
    if kind == "reset":
        return requests.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        )
    if kind == "disconnected":
        return requests.ConnectionError(
            ProtocolError(
                "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
            )
        )
    if kind == "chunked":
        return requests.exceptions.ChunkedEncodingError(ProtocolError("Response ended prematurely"))
    raise ValueError(f"unknown transport error {kind!r}")


class FakeQualysAdapter(BaseAdapter):
    """Answers `requests` calls from a `FakeQualysState` without a socket; delays beyond the read timeout
    raise `ReadTimeout` (without sleeping), shorter ones call `sleep`; `Fault.error` raises the exception
    requests would raise for that transport failure."""

    def __init__(self, state: FakeQualysState, sleep: Callable[[float], None] = lambda _s: None) -> None:
        super().__init__()
        self.state, self._sleep = state, sleep

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        body = request.body or b""
        reply = self.state.handle(
            request.method or "GET",
            parts.path,
            parts.query,
            dict(request.headers.items()),
            body.encode() if isinstance(body, str) else body,
        )
        if reply.error:
            raise transport_error(reply.error, request.url or "")
        timeout = kwargs.get("timeout")
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if reply.delay:
            if read_timeout is not None and reply.delay > read_timeout:
                raise requests.ReadTimeout(ReadTimeoutError(None, request.url or "", "Read timed out."))
            self._sleep(reply.delay)
        response = requests.Response()
        response.status_code = reply.status
        response.headers.update(reply.headers)
        response._content = reply.body
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return


# ------------------------------------------------------------------------------------------ demo data / CLI
def seed_demo(state: FakeQualysState) -> dict[str, str]:
    """A registry, an image whose scan finishes after 2 polls, and 3 findings; returns their identifiers."""
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    digest = "sha256:" + "d" * 64
    vulns = [
        {"qid": 376543, "title": "OpenSSL flaw", "severity": 5, "cveids": ["CVE-2024-0001"],
         "software": [{"name": "openssl", "version": "3.1.0", "fixVersion": "3.1.5"}], "cvss3Info": {"baseScore": 9.8}},
        {"qid": 376544, "title": "zlib flaw", "severity": 3, "cveids": ["CVE-2024-0002"],
         "software": [{"name": "zlib", "version": "1.2.13", "fixVersion": "1.3"}]},
        {"qid": 105943, "title": "EOL OS", "severity": 2, "cveids": []},
    ]  # fmt: skip
    sha = state.add_image(digest, registry=registry, repository="demo/app", tag="1.0", vulns=vulns)
    return {"registry": registry, "repository": "demo/app", "digest": digest, "sha": sha}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fake Qualys Container Security API on 127.0.0.1 (plain http)"
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="static bearer token accepted by the fake")
    parser.add_argument("--demo", action="store_true", help="seed a demo image (see seed_demo)")
    parser.add_argument(
        "--post-answers", choices=("string", "object"), default="string", help="shape of POST answers"
    )
    parser.add_argument("--numeric-external-id", action="store_true", help="answer externalId as a number")
    args = parser.parse_args(argv)
    state = FakeQualysState(
        tokens=(args.token,), post_answers=args.post_answers, numeric_external_id=args.numeric_external_id
    )
    if args.demo:
        seed_demo(state)
    api = FakeQualysApi(state, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    api.start()
    print(api.url, flush=True)
    try:
        stop.wait()
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())


# ------------------------------------------------------------------------------------------ test helpers
ADAPTER_URL = "http://127.0.0.1:1"  # never connected to: the adapter answers


class FakeClock:
    """Monotonic and wall clocks that only move when `sleep` is called (or `advance`)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def adapter_client(state: FakeQualysState, clock: FakeClock, **options: Any) -> QualysApiClient:
    """A `QualysApiClient` wired to `state` through `FakeQualysAdapter` and driven by `clock` (no sockets)."""
    session = requests.Session()
    session.mount(ADAPTER_URL + "/", FakeQualysAdapter(state, clock.sleep))
    options.setdefault("gateway_url", ADAPTER_URL)
    options.setdefault("allow_insecure_loopback", True)
    if "username" not in options:
        options.setdefault("access_token", DEFAULT_TOKEN)
    return QualysApiClient(
        QualysApiOptions(**options),
        session=session,
        clock=clock.monotonic,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        jitter=lambda: 0.5,
    )
