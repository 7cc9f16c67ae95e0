"""A loopback double of the Event Grid custom-topic data plane (publish API), served over TLS.

It follows the documented "Publish Events" behaviour of a custom topic (input schema CloudEvents 1.0 by
default, or the Event Grid schema):

- ``POST /api/events?api-version=<version>`` only: another path is 404, another method 405, a missing or
  unknown api-version 400.
- Auth: ``aeg-sas-key: <key>``, or ``Authorization: Bearer <Entra ID token>``. No or an unknown credential ->
  401; a known identity without the "EventGrid Data Sender" role -> 403. Credential values are compared, never
  stored or logged: requests record only the auth scheme.
- Body: a CloudEvents batch (``application/cloudevents-batch+json``, a JSON array) or a single event
  (``application/cloudevents+json``); for the Event Grid schema a JSON array with ``application/json``.
  A request over 1 MB, or any single event over 1 MB, is 413; malformed JSON or an event missing a required
  attribute (``specversion`` "1.0", ``id``, ``source``, ``type``; extension names lowercase alphanumeric) is
  400 with an ``{"error": {"code", "message"}}`` body. Success is 200 with an empty body.
- Faults: `fail_next(status, times, retry_after)` answers the next requests with 5xx/429 (the SDK retries).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MAX_BYTES = 1024 * 1024
API_VERSIONS = frozenset({"2018-01-01", "2020-06-01", "2021-12-01", "2022-06-15", "2023-12-15-preview"})
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CLOUDEVENT_ATTRIBUTES = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "subject",
        "datacontenttype",
        "dataschema",
        "data",
        "data_base64",
    }
)
_EVENTGRID_REQUIRED = ("id", "subject", "eventType", "eventTime", "data", "dataVersion")


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    auth_scheme: str | None  # "Bearer", "aeg-sas-key", "aeg-sas-token" or None: never the value
    status: int


@dataclass
class EventGridDouble:
    tls_dir: Path
    sas_key: str | None = None
    data_senders: set[str] = field(default_factory=set)  # bearer tokens of identities with the role
    other_identities: set[str] = field(default_factory=set)  # valid tokens without the role -> 403
    input_schema: str = "CloudEventSchemaV1_0"
    max_event_bytes: int = MAX_BYTES
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    _faults: deque[tuple[int, str | None]] = field(default_factory=deque)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> EventGridDouble:
        cert, key = _self_signed(self.tls_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.ca_file = str(cert)
        double = self

        class Handler(_Handler):
            owner = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}/api/events"

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        with self._lock:
            self._faults.extend([(status, retry_after)] * times)

    # ------------------------------------------------------------ the API
    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        scheme = _auth_scheme(headers)
        status, error, extra = self._respond(method, parts.path, query, headers, body)
        with self._lock:
            self.requests.append(
                RequestRecord(method, parts.path, query, headers.get("Content-Type"), scheme, status)
            )
        return status, error, extra

    def _respond(self, method, path, query, headers, body):
        if path.rstrip("/") != "/api/events":
            return 404, _error("NotFound", "The requested resource does not exist."), {}
        if method != "POST":
            return 405, _error("MethodNotAllowed", "Only POST is allowed."), {}
        version = (query.get("api-version") or [None])[0]
        if version is None:
            return (
                400,
                _error("BadRequest", "The api-version query parameter (?api-version=) is required."),
                {},
            )
        if version not in API_VERSIONS:
            return 400, _error("BadRequest", "The api-version is not supported."), {}
        auth = self._authorize(headers)
        if auth:
            return auth, _error("Unauthorized" if auth == 401 else "Forbidden", "Access denied."), {}
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault:
            status, retry_after = fault
            return (
                status,
                _error("ServiceUnavailable", "Injected fault."),
                ({"Retry-After": retry_after} if retry_after else {}),
            )
        if len(body) > MAX_BYTES:
            return 413, _error("PayloadTooLarge", "The request exceeds the 1 MB limit."), {}
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, _error("BadRequest", "The request body is not valid JSON."), {}
        events, problem = self._events(content_type, payload)
        if problem:
            return 400, _error("BadRequest", problem), {}
        for event in events:
            if len(json.dumps(event).encode()) > self.max_event_bytes:
                return 413, _error("PayloadTooLarge", "An event exceeds the size limit."), {}
        with self._lock:
            self.events.extend(events)
        return 200, None, {}

    def _authorize(self, headers: Any) -> int:
        sas = headers.get("aeg-sas-key")
        if sas is not None:
            return 0 if self.sas_key is not None and sas == self.sas_key else 401
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
            if token in self.data_senders:
                return 0
            return 403 if token in self.other_identities else 401
        return 401

    def _events(self, content_type: str, payload: Any) -> tuple[list[dict[str, Any]], str | None]:
        if self.input_schema == "CloudEventSchemaV1_0":
            if content_type == "application/cloudevents-batch+json":
                if not isinstance(payload, list) or not payload:
                    return [], "A CloudEvents batch must be a non-empty JSON array."
                events = payload
            elif content_type == "application/cloudevents+json":
                events = [payload]
            else:
                return [], "This topic expects CloudEvents (application/cloudevents-batch+json)."
            for event in events:
                problem = _cloud_event_problem(event)
                if problem:
                    return [], problem
            return events, None
        if content_type != "application/json" or not isinstance(payload, list) or not payload:
            return [], "This topic expects a JSON array of Event Grid events (application/json)."
        for event in payload:
            if not isinstance(event, dict) or any(k not in event for k in _EVENTGRID_REQUIRED):
                return [], f"Event Grid events require {', '.join(_EVENTGRID_REQUIRED)}."
        return payload, None


def _cloud_event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "Each CloudEvent must be a JSON object."
    if event.get("specversion") != "1.0":
        return "CloudEvent specversion must be '1.0'."
    for name in ("id", "source", "type"):
        if not isinstance(event.get(name), str) or not event[name]:
            return f"CloudEvent attribute '{name}' is required."
    if "data" in event and "data_base64" in event:
        return "A CloudEvent carries data or data_base64, not both."
    if "time" in event:
        try:
            dt.datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
        except ValueError:
            return "CloudEvent 'time' must be an RFC 3339 timestamp."
    for name in event:
        if name not in _CLOUDEVENT_ATTRIBUTES and not _EXTENSION_NAME.match(name):
            return f"CloudEvent extension attribute names must be lowercase alphanumeric ({name[:30]!r})."
    return None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _auth_scheme(headers: Any) -> str | None:
    for name in ("aeg-sas-key", "aeg-sas-token"):
        if headers.get(name) is not None:
            return name
    auth = headers.get("Authorization")
    return auth.split(" ", 1)[0] if auth else None


class _Handler(BaseHTTPRequestHandler):
    owner: EventGridDouble
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, error, extra = self.owner.handle(self.command, self.path, self.headers, body)
        payload = json.dumps(error).encode() if error else b""
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = _serve
    do_GET = _serve
    do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the request line is harmless, but headers (the credential) must never be printed."""


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway CA-flagged, self-signed certificate for 127.0.0.1 / localhost (trusted via the test's CA bundle)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "eventgrid-double.crt", directory / "eventgrid-double.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qscan eventgrid double")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
