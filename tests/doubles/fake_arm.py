"""A loopback fake of the ARM reads qscan makes: ACI container groups, ACA container apps and jobs, over TLS.

`FakeArm()` is a context manager: a threaded `http.server` on 127.0.0.1 (free port; `FakeArm(host=...)` another
loopback address, whose certificate then has a subject of its own) serving https with a throwaway self-signed
certificate (`tests.harness.oci_registry.tls_certificate`); `.url` is the ARM endpoint to pass as `base_url`,
`.ca_file` the certificate a client trusts (tests set REQUESTS_CA_BUNDLE to it, as for the
Event Grid double). Production code stays https-only: the double stands in for `https://management.azure.com`
without any http exception in `qscan.azure.workloads`.

It answers `GET /subscriptions/{s}/resourceGroups/{rg}/providers/{type}/{name}?api-version=...` for
`Microsoft.ContainerInstance/containerGroups`, `Microsoft.App/containerApps` and `Microsoft.App/jobs`, with
bodies shaped like the real REST answers (the SDK models' wire names: ACI `properties.containers[].{name,
properties.image}` and `properties.initContainers[]`; ACA `properties.template.containers[].{name, image}` and
`initContainers[]`, jobs also `properties.configuration.triggerType`). Paths compare case-insensitively, as
ARM's do.

- Seeding: `add_container_group(...)`, `add_container_app(...)`, `add_job(...)` (each returns the resource id),
  `put_raw(resource_id, body)` for an arbitrary (e.g. malformed) answer, `add_job_execution(...)` (an execution
  of a job, with a template of its own, as `jobs/start` with images creates it).
- Listings, paged like ARM's (`{"value": [...], "nextLink": ...}`, `page_size` entries a page, the next link
  carrying `$skiptoken` and the api-version): `GET /subscriptions/{s}/providers/{type}` for the three types
  (the same bodies as the GETs, in the order they were added) and
  `GET .../Microsoft.App/jobs/{job}/executions` (`{id, name, type, properties.{status, startTime, endTime,
  template}}`).
- Errors as ARM sends them (`{"error": {"code", "message"}}`): an unknown resource is 404 `ResourceNotFound`,
  a missing `api-version` 400 `MissingApiVersionParameter`, no bearer token 401 `AuthenticationFailed`.
- Faults: `fail_next(status, times=1, retry_after=None, code=None)` answers the next requests with that status
  (429 `TooManyRequests` with `Retry-After`, 500, 403 `AuthorizationFailed`, ...), then normally again.
- `requests`: one `ArmRequest` per request (method, path, api-version, the bearer token sent), to assert
  which token and api-version the client used (the tokens here are test values).

Container group writes, like ACI's (qscan's aci-job mode creates and deletes its scan jobs):

- `PUT .../containerGroups/{name}` answers 201 with the group (`provisioningState` Creating) and then RUNS it:
  each container's image maps to a local command through `FakeArm(images={image: ImageRun(argv, env)})`, which
  stands in for pulling the image (`argv` for the image and its command, `env` for the image's own ENV). The
  process is spawned without a shell, with `env` plus the container's `environmentVariables`, `value` and
  `secureValue` alike, as ACI delivers both. An image not in the table fails to provision (`provisioningState`
  Failed), as an image that cannot be pulled does. A PUT of an existing group answers 200 and changes nothing.
  `puts` keeps every PUT body as sent (secure values included: what a test asserts went only as secureValue).
- `GET` of the group answers `provisioningState` Succeeded and each container's `instanceView.currentState`:
  Running while its process runs, then Terminated with its `exitCode`; it never carries `secureValue`
  (ACI omits secure values from every answer).
- `DELETE` answers 200 (the process is killed if it still runs), then the group is gone: GET 404, DELETE 204.
- `job_output(name)`: the combined stdout and stderr of a group's processes, for a failing test's message.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.harness.oci_registry import tls_certificate

HOST = "127.0.0.1"
ACI_TYPE = "Microsoft.ContainerInstance/containerGroups"
APP_TYPE = "Microsoft.App/containerApps"
JOB_TYPE = "Microsoft.App/jobs"
_DEFAULT_MESSAGES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True)
class ArmRequest:
    method: str
    path: str
    api_version: str | None
    bearer: str | None  # the token after "Bearer " (None: no bearer Authorization header)


@dataclass(frozen=True)
class ImageRun:
    """What running an image means locally: its argv (image + command) and the image's own environment."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Run:
    container: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class _Fault:
    status: int
    code: str
    retry_after: str | None


@dataclass
class FakeArm:
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case path -> body
    requests: list[ArmRequest] = field(default_factory=list)
    faults: deque[_Fault] = field(default_factory=deque)
    ca_file: str = ""
    # Another loopback address (e.g. 127.0.0.2) gives the certificate a subject of its own, so that one CA bundle
    # can trust it beside another double's 127.0.0.1 certificate (OpenSSL picks an issuer by subject name).
    host: str = HOST
    page_size: int = 100  # entries per listing page (ARM pages by its own sizes; small values test nextLink)
    executions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # lower-case job id -> bodies
    images: dict[str, ImageRun] = field(default_factory=dict)  # what a PUT container group runs
    puts: list[dict[str, Any]] = field(default_factory=list)  # container group PUT bodies as sent
    _runs: dict[str, list[_Run]] = field(default_factory=dict)  # lower-case group id -> its processes
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> FakeArm:
        self._tmp = tempfile.TemporaryDirectory(prefix="qscan-fake-arm-")
        cert = tls_certificate(Path(self._tmp.name), self.host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert)
        self.ca_file = str(cert)
        fake = self

        class Handler(_Handler):
            arm = fake

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            runs = [run for group in self._runs.values() for run in group]
        for run in runs:
            _stop(run.process)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://{self.host}:{self._server.server_address[1]}"

    # ------------------------------------------------------------------------------------------- seeding

    def put_raw(self, resource_id: str, body: Any) -> str:
        with self._lock:
            self.resources[resource_id.lower()] = body
        return resource_id

    def add_container_group(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        containers: list[tuple[str, str]],
        *,
        init_containers: list[tuple[str, str]] | None = None,
        tags: dict[str, str] | None = None,
        location: str = "westeurope",
    ) -> str:
        """An ACI container group; `containers` / `init_containers` are (name, image) pairs."""
        rid = _resource_id(subscription, resource_group, ACI_TYPE, name)
        properties: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "osType": "Linux",
            "sku": "Standard",
            "restartPolicy": "Always",
            "containers": [
                {
                    "name": cname,
                    "properties": {
                        "image": image,
                        "ports": [{"protocol": "TCP", "port": 80}],
                        "environmentVariables": [],
                        "resources": {"requests": {"memoryInGB": 1.5, "cpu": 1.0}},
                    },
                }
                for cname, image in containers
            ],
            "initContainers": [
                {"name": cname, "properties": {"image": image, "environmentVariables": []}}
                for cname, image in init_containers or []
            ],
            "instanceView": {"state": "Running", "events": []},
        }
        body = {"id": rid, "name": name, "type": ACI_TYPE, "location": location, "properties": properties}
        if tags is not None:
            body["tags"] = tags
        return self.put_raw(rid, body)

    def add_container_app(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        containers: list[tuple[str, str]],
        *,
        init_containers: list[tuple[str, str]] | None = None,
        tags: dict[str, str] | None = None,
        location: str = "West Europe",
    ) -> str:
        """An ACA container app (ARM answers the location's display name, e.g. "West Europe")."""
        rid = _resource_id(subscription, resource_group, APP_TYPE, name)
        properties = {
            "provisioningState": "Succeeded",
            "managedEnvironmentId": _environment_id(subscription, resource_group),
            "latestRevisionName": f"{name}--0000001",
            "configuration": {"activeRevisionsMode": "Single", "registries": []},
            "template": _aca_template(containers, init_containers),
        }
        return self.put_raw(rid, _aca_body(rid, name, APP_TYPE, location, tags, properties))

    def add_job(
        self,
        subscription: str,
        resource_group: str,
        name: str,
        containers: list[tuple[str, str]],
        *,
        init_containers: list[tuple[str, str]] | None = None,
        tags: dict[str, str] | None = None,
        location: str = "West Europe",
    ) -> str:
        """An ACA job (manual trigger)."""
        rid = _resource_id(subscription, resource_group, JOB_TYPE, name)
        properties = {
            "provisioningState": "Succeeded",
            "environmentId": _environment_id(subscription, resource_group),
            "configuration": {
                "triggerType": "Manual",
                "replicaTimeout": 1800,
                "replicaRetryLimit": 1,
                "manualTriggerConfig": {"replicaCompletionCount": 1, "parallelism": 1},
            },
            "template": _aca_template(containers, init_containers),
        }
        return self.put_raw(rid, _aca_body(rid, name, JOB_TYPE, location, tags, properties))

    def add_job_execution(
        self,
        job_id: str,
        name: str,
        containers: list[tuple[str, str]],
        *,
        init_containers: list[tuple[str, str]] | None = None,
        start_time: str = "2026-12-02T01:00:00Z",
        status: str = "Succeeded",
    ) -> str:
        """An execution of the job `job_id` with its own template (what `jobs/start` with images creates)."""
        rid = f"{job_id}/executions/{name}"
        body = {
            "id": rid,
            "name": name,
            "type": f"{JOB_TYPE}/executions",
            "properties": {
                "status": status,
                "startTime": start_time,
                "endTime": None if status == "Running" else start_time,
                "template": _aca_template(containers, init_containers),
            },
        }
        with self._lock:
            self.executions.setdefault(job_id.lower(), []).append(body)
        return rid

    def fail_next(
        self, status: int, times: int = 1, *, retry_after: str | None = None, code: str | None = None
    ) -> None:
        with self._lock:
            for _ in range(times):
                self.faults.append(
                    _Fault(status, code or _DEFAULT_MESSAGES.get(status, "Error"), retry_after)
                )

    def job_output(self, name: str) -> str:
        with self._lock:
            runs = [
                run
                for path, group in self._runs.items()
                if path.endswith("/" + name.lower())
                for run in group
            ]
        return "\n".join(run.log.read_text(errors="replace") for run in runs if run.log.exists())

    # ------------------------------------------------------------------------------------------- groups

    def _put_group(self, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        name = path.rsplit("/", maxsplit=1)[-1]
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return 400, {}, _error("InvalidRequestContent", "The request content was invalid.")
        containers = body["properties"].get("containers")
        if not isinstance(containers, list) or not containers:
            return 400, {}, _error("InvalidContainerGroup", "A container group needs containers.")
        key = path.lower()
        with self._lock:
            self.puts.append(body)
            existing = self.resources.get(key)
            if existing is not None:
                return 200, {}, self._view(key, existing)
        stored: dict[str, Any] = {
            "id": path,
            "name": name,
            "type": ACI_TYPE,
            "location": body.get("location"),
            "tags": body.get("tags") or {},
            "identity": body.get("identity"),
            "properties": {
                **{k: v for k, v in body["properties"].items() if k != "containers"},
                "provisioningState": "Succeeded",
                "containers": [_without_secure(c) for c in containers],
            },
        }
        runs: list[_Run] = []
        assert self._tmp is not None
        for container in containers:
            run = self.images.get((container.get("properties") or {}).get("image", ""))
            if run is None:  # stands in for an image that cannot be pulled
                stored["properties"]["provisioningState"] = "Failed"
                break
            env = dict(run.env)
            for variable in container["properties"].get("environmentVariables") or []:
                value = variable.get("secureValue", variable.get("value"))
                if value is not None:
                    env[variable["name"]] = value
            log = Path(self._tmp.name) / f"{name}-{container['name']}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    run.argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
                )
            runs.append(_Run(container["name"], process, log))
        with self._lock:
            self.resources[key] = stored
            self._runs[key] = runs
            answer = self._view(key, stored)
        answer["properties"]["provisioningState"] = "Creating"
        return 201, {}, answer

    def _view(self, key: str, stored: dict[str, Any]) -> dict[str, Any]:
        """A group as GET answers it, each container's instance view from its process. Lock held."""
        body: dict[str, Any] = json.loads(json.dumps(stored))
        if body["properties"]["provisioningState"] == "Failed":
            body["properties"]["instanceView"] = {"state": "Failed", "events": []}
            return body
        runs = {run.container: run for run in self._runs.get(key, [])}
        states = []
        for container in body["properties"]["containers"]:
            run = runs.get(container["name"])
            code = run.process.poll() if run is not None else None
            current = {"state": "Running"} if code is None else {"state": "Terminated", "exitCode": code}
            container["properties"]["instanceView"] = {"currentState": current, "restartCount": 0}
            states.append(current["state"])
        body["properties"]["instanceView"] = {
            "state": "Running" if "Running" in states else "Succeeded",
            "events": [],
        }
        return body

    def _delete_group(self, key: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            stored = self.resources.pop(key, None)
            runs = self._runs.pop(key, [])
        for run in runs:
            _stop(run.process)
        if stored is None:
            return 204, {}, b""
        return 200, {}, stored

    # ------------------------------------------------------------------------------------------- serving

    def answer(
        self, method: str, target: str, headers: Any, request: Any = None
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        auth = headers.get("Authorization") or ""
        bearer = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        versions = query.get("api-version")
        api_version = versions[0] if versions else None
        with self._lock:
            self.requests.append(ArmRequest(method, parts.path, api_version, bearer))
            fault = self.faults.popleft() if self.faults else None
            listed = self._listed(parts.path.lower())
            body = self.resources.get(parts.path.lower()) if listed is None else None
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return fault.status, extra, _error(fault.code, "injected fault")
        if not bearer:
            return (
                401,
                {},
                _error(
                    "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
                ),
            )
        if not api_version:
            return (
                400,
                {},
                _error("MissingApiVersionParameter", "The api-version query parameter is required."),
            )
        group = f"/providers/{ACI_TYPE}/".lower() in parts.path.lower()
        if method == "PUT" and group:
            return self._put_group(parts.path, request)
        if method == "DELETE" and group:
            return self._delete_group(parts.path.lower())
        if method != "GET":
            return 405, {}, _error("MethodNotAllowed", "The fake answers GETs and container group writes.")
        if listed is not None:
            return 200, {}, self._page(parts.path, listed, api_version, query.get("$skiptoken"))
        if body is None:
            return 404, {}, _error("ResourceNotFound", "The Resource was not found.")
        with self._lock:
            if group and parts.path.lower() in self._runs:  # created by a PUT: its live instance view
                return 200, {}, self._view(parts.path.lower(), body)
        return 200, {}, body

    def _listed(self, path: str) -> list[Any] | None:
        """The entries a listing path names (None: not a listing). Called with the lock held."""
        parts = path.split("/")
        if len(parts) == 6 and parts[1] == "subscriptions" and parts[3] == "providers":
            wanted = f"{parts[4]}/{parts[5]}"
            if wanted not in {t.lower() for t in (ACI_TYPE, APP_TYPE, JOB_TYPE)}:
                return None
            prefix = f"/subscriptions/{parts[2]}/"
            return [
                body
                for rid, body in self.resources.items()
                if rid.startswith(prefix) and "/".join(rid.split("/")[6:8]) == wanted
            ]
        if len(parts) == 10 and parts[9] == "executions" and "/".join(parts[6:8]) == JOB_TYPE.lower():
            job = "/".join(parts[:9])
            return list(self.executions.get(job, [])) if job in self.resources else None
        return None

    def _page(self, path: str, entries: list[Any], api_version: str, token: list[str] | None) -> Any:
        start = int(token[0]) if token and token[0].isdigit() else 0
        end = start + max(1, self.page_size)
        page: dict[str, Any] = {"value": entries[start:end]}
        if end < len(entries):
            page["nextLink"] = f"{self.url}{path}?api-version={api_version}&$skiptoken={end}"
        return page


def _resource_id(subscription: str, resource_group: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{rtype}/{name}"


def _environment_id(subscription: str, resource_group: str) -> str:
    return _resource_id(subscription, resource_group, "Microsoft.App/managedEnvironments", "env")


def _aca_template(
    containers: list[tuple[str, str]], init_containers: list[tuple[str, str]] | None
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "containers": [
            {"name": cname, "image": image, "resources": {"cpu": 0.5, "memory": "1Gi"}}
            for cname, image in containers
        ],
    }
    if init_containers:
        template["initContainers"] = [
            {"name": cname, "image": image, "resources": {"cpu": 0.25, "memory": "0.5Gi"}}
            for cname, image in init_containers
        ]
    return template


def _aca_body(
    rid: str, name: str, rtype: str, location: str, tags: dict[str, str] | None, properties: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "name": name,
        "type": rtype,
        "location": location,
        "systemData": {"createdByType": "User", "lastModifiedByType": "User"},
        "properties": properties,
    }
    if tags is not None:
        body["tags"] = tags
    return body


def _without_secure(container: dict[str, Any]) -> dict[str, Any]:
    """A container as ACI answers it: secure environment values omitted (the variable's name stays)."""
    copy: dict[str, Any] = json.loads(json.dumps(container))
    properties = copy.setdefault("properties", {})
    properties["environmentVariables"] = [
        {k: v for k, v in variable.items() if k != "secureValue"}
        for variable in properties.get("environmentVariables") or []
    ]
    return copy


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    arm: FakeArm
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall on keep-alive

    def do_GET(self) -> None:
        request: Any = None
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            try:
                request = json.loads(self.rfile.read(length))
            except ValueError:
                request = None
        status, headers, body = self.arm.answer(self.command, self.path, self.headers, request)
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000001")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return
