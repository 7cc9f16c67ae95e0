"""A stateful fake of the Qualys Container Security API (DESIGN §4), plain http on 127.0.0.1 only.

Three ways to use it:
- `FakeQualysApi()` as a context manager: a threaded `http.server` on 127.0.0.1 with a free port; `.url` is the
  gateway URL, `.state` the Python handle for seeding data and injecting faults.
- `FakeQualysAdapter(state)`: a `requests` transport adapter that answers from the same state without a socket
  (unit tests: mount it on a session for `http://127.0.0.1:1/`).
- `python -m tests.doubles.fake_qualys_api --port 0 [--demo]`: prints its URL on the first line and serves until
  SIGINT/SIGTERM (for `make demo`). The control API under `/_control/` (no auth) seeds and injects over HTTP:
  `POST /_control/reset`, `POST /_control/images` (`add_image` arguments as JSON), `POST /_control/faults`
  (`Fault` fields as JSON), `POST /_control/expire-tokens`, `GET /_control/requests`, `GET /_control/state`.

Behaviour: `POST /auth` (form username/password/token=true) issues JWTs with an `exp` claim; bearer tokens are
checked on every call (static tokens or unexpired JWTs), else 401. Lists paginate with pageNumber (from 1) and
pageSize (at most 250) and answer `{"data"|"details": [...], "count": N}`; `GET /registry` answers 204 when
nothing matches. Filters are QQL `field:"value"`, decoded exactly once (a double-encoded value does not match).
Images added with `after_schedule=True` stay invisible until a schedule names their repository, then report
`scanStatus` PENDING -> IN_PROGRESS -> final status over `polls` GETs.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import requests
from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions
from requests.adapters import BaseAdapter

API = "/csapi/v1.3"
MAX_PAGE_SIZE = 250
DEFAULT_TOKEN = "fake-static-token-0123456789"
DEFAULT_USER, DEFAULT_PASSWORD = "qscan-user", "fake-password-123"


@dataclass
class Fault:
    """Answer matching requests with `status` (and `headers`/`body`) `count` times; `delay` first."""

    path: str  # regex searched in the path (e.g. "/images/"), "" matches everything
    status: int | None = None  # None: only delay, then answer normally
    method: str | None = None
    count: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0


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


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeQualysState:
    """The fake's data and rules; thread-safe. Every public method is a seeding or fault-injection hook."""

    def __init__(
        self,
        *,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        users: dict[str, str] | None = None,
        jwt_lifetime: float = 4 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.static_tokens = set(tokens)
        self.users = dict(users if users is not None else {DEFAULT_USER: DEFAULT_PASSWORD})
        self.jwt_lifetime = jwt_lifetime
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.issued: dict[str, float] = {}
            self.auth_calls = 0
            self.aws_base = {"accountId": "805950163170", "externalId": "qscan-ext-" + secrets.token_hex(8)}
            self.connectors: list[dict[str, Any]] = []
            self.registries: dict[str, dict[str, Any]] = {}
            self.schedules: list[dict[str, Any]] = []
            self.images: dict[str, dict[str, Any]] = {}
            self.faults: list[Fault] = []
            self.requests: list[Recorded] = []

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
        tag: str = "latest",
        sha: str | None = None,
        vulns: list[dict[str, Any]] | None = None,
        polls: int = 2,
        final_status: str = "SUCCESS",
        after_schedule: bool = True,
    ) -> str:
        """Seed an image; returns its Qualys sha (image id, distinct from the repository digest)."""
        with self._lock:
            sha = sha or secrets.token_hex(32)
            self.images[sha] = {
                "sha": sha,
                "imageId": sha[:12],
                "repoDigests": [f"{registry}/{repository}@{repo_digest}"],
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
            self.requests.append(
                Recorded(method, path, raw_query, parse_qs(raw_query), lowered.get("authorization"), text)
            )
            fault = self._take_fault(method, path)
        if path.startswith("/_control/"):
            return self._control(method, path, text)
        delay = fault.delay if fault else 0.0
        if fault and fault.status is not None:
            return Reply(
                fault.status,
                {"Content-Type": "application/json", **fault.headers},
                fault.body.encode(),
                delay,
            )
        reply = self._route(method, path, parse_qs(raw_query, keep_blank_values=True), lowered, text)
        reply.delay = delay
        return reply

    def _take_fault(self, method: str, path: str) -> Fault | None:
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
        return Reply(200, {"Content-Type": "text/plain"}, token.encode())

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> Reply:
        try:
            number = int(query.get("pageNumber", ["1"])[0])
            size = int(query.get("pageSize", ["50"])[0])
        except ValueError:
            return _json(400, {"message": "pageNumber and pageSize must be integers"})
        if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return _json(400, {"message": f"pageNumber >= 1, 1 <= pageSize <= {MAX_PAGE_SIZE}"})
        start = (number - 1) * size
        return _json(200, {key: items[start : start + size], "count": len(items)})

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
        if not items:
            return Reply(204, {}, b"")
        return self._page(items, query, "data")

    def _create_registry(self, text: str) -> Reply:
        try:
            body = json.loads(text)
        except ValueError:
            return _json(400, {"message": "body must be JSON"})
        uri, aws = body.get("registryUri"), body.get("aws") or {}
        if body.get("registryType") != "AWS" or not isinstance(uri, str) or not uri.startswith("https://"):
            return _json(400, {"message": "registryType AWS and an https registryUri are required"})
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/.+", str(aws.get("arn", ""))):
            return _json(400, {"message": "aws.arn must be an IAM role ARN"})
        with self._lock:
            if any(r["registryUri"] == uri for r in self.registries.values()):
                return _json(409, {"message": "registry already exists"})
            uuid = self.add_registry(uri)
            self.registries[uuid].update({"name": body.get("name"), "aws": aws})
        return _json(200, {"registryUuid": uuid})

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
        return _json(200, connector)

    def _schedule(self, uuid: str, text: str) -> Reply:
        try:
            body = json.loads(text)
            repo_tags = body["filters"][0]["repoTags"]
            repos = {(rt["repo"], rt.get("tag", "")) for rt in repo_tags}
        except (ValueError, KeyError, IndexError, TypeError):
            return _json(400, {"message": "filters[0].repoTags[] with repo/tag is required"})
        with self._lock:
            registry = self.registries.get(uuid)
            if registry is None:
                return _json(404, {"message": "registry not found"})
            schedule = {
                "scheduleUuid": "sch-" + secrets.token_hex(6),
                "registryUuid": uuid,
                "repos": sorted(repos),
            }
            self.schedules.append(schedule)
            host = registry["registryUri"].split("://", 1)[-1].rstrip("/")
            for image in self.images.values():
                for repo in image["repo"]:
                    tag_ok = any(r == repo["repository"] and t in ("", repo["tag"]) for r, t in repos)
                    if repo["registry"] == host and tag_ok:
                        image["visible"] = True
        return _json(200, {"scheduleUuid": schedule["scheduleUuid"]})

    def _public(self, image: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in image.items() if k not in ("visible", "polls_left", "final_status", "vulns")}

    def _list_images(self, query: dict[str, list[str]]) -> Reply:
        flt = self._filter(query, ("repoDigests", "imageId", "sha"))
        if isinstance(flt, Reply):
            return flt
        with self._lock:
            items = [self._public(i) for i in self.images.values() if i["visible"]]
        if flt and flt[0] == "repoDigests":
            items = [i for i in items if any(d.split("@")[-1] == flt[1] for d in i["repoDigests"])]
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

    def _vulns(self, sha: str, query: dict[str, list[str]]) -> Reply:
        with self._lock:
            image = self._visible(sha)
            if image is None:
                return _json(404, {"message": "image not found"})
            vulns = list(image["vulns"]) if image["scanStatus"] == "SUCCESS" else []
        return self._page(vulns, query, "details")

    def _vuln_count(self, sha: str) -> Reply:
        with self._lock:
            image = self._visible(sha)
            if image is None:
                return _json(404, {"message": "image not found"})
            counts = {f"severity{n}Count": 0 for n in range(1, 6)}
            for vuln in image["vulns"] if image["scanStatus"] == "SUCCESS" else []:
                counts[f"severity{int(vuln['severity'])}Count"] += 1
        return _json(200, counts)

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
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (read timeout): as a real server, carry on

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
class FakeQualysAdapter(BaseAdapter):
    """Answers `requests` calls from a `FakeQualysState` without a socket; delays beyond the read timeout
    raise `ReadTimeout` (without sleeping), shorter ones call `sleep`."""

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
        timeout = kwargs.get("timeout")
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if reply.delay:
            if read_timeout is not None and reply.delay > read_timeout:
                raise requests.ReadTimeout(f"fake read timeout after {read_timeout}s")
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
    args = parser.parse_args(argv)
    state = FakeQualysState(tokens=(args.token,))
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
