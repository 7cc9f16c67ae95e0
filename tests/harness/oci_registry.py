"""A real OCI registry on loopback for the resolver's integration tests: Debian's `docker-registry` (2.8).

* `running_registry(auth=...)` starts `docker-registry serve` on 127.0.0.1 with a temp config: a random free
  port (taken again if another worker won the race), filesystem storage in a temp dir, and one of three auth
  modes: `none`, `htpasswd` (bcrypt, written by apache2-utils' `htpasswd`), `token` (the registry's
  `auth: token` with its realm on `TokenServer`, a small in-process token service that checks Basic
  credentials and signs RS256 JWTs with a test key whose certificate is the registry's `rootcertbundle`). The
  process is always terminated (then killed) when the context ends. `token_host` binds the token service to
  another loopback address than the registry (Docker Hub's shape: the realm on another host); `realm`
  overrides the realm URL the registry announces; `tls=True` serves the registry itself over https with a
  self-signed certificate for 127.0.0.1 (`Registry.tls_cert`, PEM with its key: a client's CA bundle, e.g.
  REQUESTS_CA_BUNDLE).
* ACR's shape: the token service also answers `POST /oauth2/exchange` (grant_type=access_token, service,
  access_token=`AAD_TOKEN` -> `REFRESH_TOKEN`) and `POST /oauth2/token` (grant_type=refresh_token, service,
  scope, refresh_token -> access_token), and takes Basic `ACR_USER` + `REFRESH_TOKEN` on `GET` like the test
  user. `HostRoutes` is a requests transport adapter that sends one host name's requests to loopback ports by
  path (`/v2/` to the registry, `/oauth2/` to the token service), so a client resolves `<name>.azurecr.io`
  as if that host served both, as ACR does.
* `OciLayout` builds OCI image layouts in Python (blobs + `index.json`), `push()` copies one into the
  registry with `skopeo copy` (`--all` for an index, `--format v2s2` for a Docker v2 manifest), credentials in
  a temp auth file, never in argv.
* `require_tools()` returns the missing tools; under `CI=true` the tests fail instead of skipping
  (`make bootstrap` installs them: scripts/bootstrap_registry_tools.sh).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import io
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

HOST = "127.0.0.1"
TOOLS = ("docker-registry", "skopeo", "htpasswd")
USERNAME = "qscan"
PASSWORD = "test-only-password"
SERVICE = "qscan-test-registry"
ISSUER = "qscan-test-issuer"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
ACR_USER = "00000000-0000-0000-0000-000000000000"
AAD_TOKEN = "test-only-aad-token"
REFRESH_TOKEN = "test-only-acr-refresh-token"
Auth = Literal["none", "htpasswd", "token"]


def require_tools() -> list[str]:
    """The registry tools not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------- token server


@dataclass
class TokenServer:
    """GET /token or /oauth2/token ?service=&scope=: Basic credentials (the test user's, or ACR's user with
    the refresh token) required, one signed JWT granting pull and push; ACR's POST /oauth2/exchange and
    POST /oauth2/token. `authorizations` records the Authorization header of every GET (None: none sent)."""

    key: rsa.RSAPrivateKey
    cert_pem: bytes
    kid: str
    host: str = HOST
    service: str = SERVICE  # what the registry names itself (ACR: its login server)
    requests: int = 0
    server: ThreadingHTTPServer | None = None
    authorizations: list[str | None] = field(default_factory=list)
    exchanges: int = 0
    tls_cert: Path | None = None  # serve https with this self-signed certificate (PEM, key included)

    @classmethod
    def create(cls, host: str = HOST, service: str = SERVICE) -> TokenServer:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _self_signed(key, ISSUER).sign(key, hashes.SHA256())
        return cls(key, cert.public_bytes(serialization.Encoding.PEM), _libtrust_kid(key), host, service)

    @property
    def realm(self) -> str:
        assert self.server is not None
        return f"{'https' if self.tls_cert else 'http'}://{self.address}/token"

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"{self.host}:{self.server.server_address[1]}"

    def issue(self, scope: str) -> str:
        actions = []
        for item in filter(None, scope.split(" ")):
            kind, _, rest = item.partition(":")
            name, _, wanted = rest.rpartition(":")
            actions.append({"type": kind, "name": name, "actions": wanted.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": USERNAME,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": actions,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def answer(self, status: int, body: Mapping[str, object] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                owner.requests += 1
                got = self.headers.get("Authorization")
                owner.authorizations.append(got)
                accepted = {
                    "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
                    for user, secret in ((USERNAME, PASSWORD), (ACR_USER, REFRESH_TOKEN))
                }
                if urlsplit(self.path).path not in ("/token", "/oauth2/token") or got not in accepted:
                    self.answer(401)
                    return
                query = parse_qs(urlsplit(self.path).query)
                self.answer(200, {"token": owner.issue(" ".join(query.get("scope", []))), "expires_in": 300})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(min(length, 65536)).decode()).items()}
                path = urlsplit(self.path).path
                if form.get("service") != owner.service:
                    self.answer(400, {"error": "unknown service"})
                elif path == "/oauth2/exchange" and form.get("grant_type") == "access_token":
                    owner.exchanges += 1
                    if form.get("access_token") != AAD_TOKEN:
                        self.answer(401, {"error": "invalid AAD token"})
                        return
                    self.answer(200, {"refresh_token": REFRESH_TOKEN})
                elif path == "/oauth2/token" and form.get("grant_type") == "refresh_token":
                    if form.get("refresh_token") != REFRESH_TOKEN:
                        self.answer(401, {"error": "invalid refresh token"})
                        return
                    owner.requests += 1
                    self.answer(200, {"access_token": owner.issue(form.get("scope", ""))})
                else:
                    self.answer(404)

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        if self.tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls_cert)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.CertificateBuilder:
    """A certificate for `key`, issued by itself to `common_name`, valid from yesterday to tomorrow."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def tls_certificate(directory: Path, ip: str) -> Path:
    """A self-signed server certificate for `ip` (PEM with its key): the https realm's, and a client's CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        _self_signed(key, ip)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"tls-{ip}.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def _libtrust_kid(key: rsa.RSAPrivateKey) -> str:
    """The key id docker-registry's token auth looks up: libtrust's base32 of the DER public key's sha256."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


# ---------------------------------------------------------------------------------------------- registry


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    auth: Auth
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    tokens: TokenServer | None = None
    realm: str | None = None  # the realm the registry announces (default: the token server's /token)
    pusher: Registry | None = None  # an open process on the same storage that `push` goes through
    tls_cert: Path | None = None  # serve https with this self-signed certificate (PEM, key included)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_cert else 'http'}://{self.host}"

    def push(self, layout: OciLayout, repository: str, tag: str, *, docker_v2: bool = False) -> None:
        """`skopeo copy` the layout's `tag` into `repository:tag` (an index with all its manifests)."""
        if self.pusher is not None:
            self.pusher.push(layout, repository, tag, docker_v2=docker_v2)
            return
        authfile = self.workdir / "auth.json"
        token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        authfile.write_text(json.dumps({"auths": {self.host: {"auth": token}}}))
        argv = ["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]
        argv += ["--dest-authfile", str(authfile)] if self.auth != "none" else []
        argv += ["--all"] if layout.is_index(tag) else []
        argv += ["--format", "v2s2"] if docker_v2 else []
        argv += [f"oci:{layout.root}:{tag}", f"docker://{self.host}/{repository}:{tag}"]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def get(self, path: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """A raw request as a client with the test credentials (Basic or token) would make it."""
        headers = {"Accept": accept} if accept else {}
        if self.auth == "htpasswd":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        elif self.auth == "token":
            assert self.tokens is not None
            repository = path.split("/manifests/", maxsplit=1)[0].removeprefix("/v2/")
            headers["Authorization"] = "Bearer " + self.tokens.issue(f"repository:{repository}:pull")
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


def _config(registry: Registry, port: int, storage: Path) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {HOST}:{port}",
    ]
    if registry.tls_cert is not None:  # Go's key-pair loader skips the other block of the combined PEM
        lines += ["  tls:", f"    certificate: {registry.tls_cert}", f"    key: {registry.tls_cert}"]
    if registry.auth == "htpasswd":
        htpasswd = registry.workdir / "htpasswd"
        subprocess.run(
            ["htpasswd", "-B", "-i", "-c", str(htpasswd), USERNAME],
            input=PASSWORD.encode(),
            check=True,
            capture_output=True,
        )
        lines += ["auth:", "  htpasswd:", "    realm: qscan-test", f"    path: {htpasswd}"]
    elif registry.auth == "token":
        assert registry.tokens is not None
        bundle = registry.workdir / "token.crt"
        bundle.write_bytes(registry.tokens.cert_pem)
        lines += [
            "auth:",
            "  token:",
            f"    realm: {registry.realm or registry.tokens.realm}",
            f"    service: {registry.tokens.service}",
            f"    issuer: {ISSUER}",
            f"    rootcertbundle: {bundle}",
        ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def running_registry(
    auth: Auth = "none",
    *,
    token_host: str = HOST,
    token_tls: bool = False,
    realm: str | None = None,
    service: str = SERVICE,
    tls: bool = False,
) -> Iterator[Registry]:
    """A docker-registry process on a free loopback port, stopped (and its temp dir removed) afterwards."""
    missing = require_tools()
    if missing:
        raise RuntimeError(f"missing registry tools {missing}: run `make bootstrap`")
    with tempfile.TemporaryDirectory(prefix="qscan-registry-") as tmp:
        workdir = Path(tmp)
        tokens = TokenServer.create(token_host, service) if auth == "token" else None
        if tokens is not None:
            tokens.tls_cert = tls_certificate(workdir, token_host) if token_tls else None
            tokens.start()
        registry = Registry("", auth, workdir, tokens=tokens, realm=realm)
        registry.tls_cert = tls_certificate(workdir, HOST) if tls else None
        # A realm no tool outside the test resolves (a name routed by `HostRoutes`): skopeo pushes through a
        # second, open registry process on the same storage.
        pusher = Registry("", "none", workdir) if realm is not None else None
        try:
            _serve(registry, "registry")
            if pusher is not None:
                _serve(pusher, "pusher")
                registry.pusher = pusher
            yield registry
        finally:
            for started in (registry, pusher):
                if started is not None and started.process is not None:
                    _stop(started.process)
            if tokens is not None:
                tokens.stop()


def _serve(registry: Registry, name: str) -> None:
    """Start `registry` on a free loopback port with storage under its workdir."""
    workdir = registry.workdir
    for _ in range(5):  # another worker may take the port between pick and bind
        port = _free_port()
        config = workdir / f"{name}.yml"
        config.write_text(_config(registry, port, workdir / "storage"))
        registry.host = f"{HOST}:{port}"
        with (workdir / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
            registry.process = subprocess.Popen(
                ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        if _wait_ready(registry):
            return
        _stop(registry.process)
    raise RuntimeError("docker-registry did not start: " + (workdir / f"{name}.log").read_text()[-2000:])


def _wait_ready(registry: Registry) -> bool:
    assert registry.process is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, int(registry.host.rsplit(":", 1)[1])), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class HostRoutes(HTTPAdapter):
    """Sends requests for `name` to loopback addresses by path prefix, like a hosts-file entry per path.

    `routes` maps a path prefix (`/v2/`, `/oauth2/`) to `host:port`; a request for another host or path is
    refused (ConnectionError), so nothing leaves loopback.
    """

    def __init__(self, name: str, routes: Mapping[str, str]) -> None:
        super().__init__()
        self.name, self.routes = name, dict(routes)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        target = next((addr for prefix, addr in self.routes.items() if parts.path.startswith(prefix)), None)
        if parts.hostname != self.name or target is None:
            raise requests.ConnectionError(f"no loopback route for {parts.hostname}{parts.path}")
        request.url = parts._replace(netloc=target).geturl()
        return super().send(request, *args, **kwargs)


def routed_session(name: str, routes: Mapping[str, str]) -> requests.Session:
    """A requests session whose http requests for `name` go to loopback through `HostRoutes`."""
    session = requests.Session()
    session.mount("http://", HostRoutes(name, routes))
    session.mount("https://", HostRoutes(name, routes))
    return session


# ---------------------------------------------------------------------------------------------- OCI layouts


@dataclass
class OciLayout:
    """An OCI image layout on disk that skopeo reads (`oci:<root>:<tag>`)."""

    root: Path
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)  # tag -> descriptor

    @classmethod
    def create(cls, parent: Path) -> OciLayout:
        root = Path(tempfile.mkdtemp(prefix="layout-", dir=parent))
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        return cls(root)

    def blob(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}

    def image(self, content: str, *, arch: str = "amd64", variant: str | None = None) -> dict[str, Any]:
        """One single-platform image: a gzip tar layer holding `content`, its config and manifest."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            data = content.encode()
            info = tarfile.TarInfo("etc/qscan-test")
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
        layer_tar = raw.getvalue()
        layer = self.blob(gzip.compress(layer_tar, mtime=0), OCI_LAYER)
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        config = {
            **platform,
            "config": {},
            "history": [{"created_by": "qscan test layer"}],  # docker-registry's schema-1 conversion needs it
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(json.dumps(config).encode(), OCI_CONFIG),
            "layers": [layer],
        }
        return self.blob(json.dumps(manifest).encode(), OCI_MANIFEST, platform=platform)

    def attestation(self, subject: dict[str, Any]) -> dict[str, Any]:
        """A buildx-style attestation manifest (in-toto layer) for `subject`, as an index entry."""
        statement = self.blob(json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode(), IN_TOTO)
        config = self.blob(
            json.dumps(
                {"architecture": "unknown", "os": "unknown", "rootfs": {"type": "layers", "diff_ids": []}}
            ).encode(),
            OCI_CONFIG,
        )
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [statement]}
        return self.blob(
            json.dumps(manifest).encode(),
            OCI_MANIFEST,
            platform={"architecture": "unknown", "os": "unknown"},
            annotations={
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": subject["digest"],
            },
        )

    def index(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.blob(json.dumps(body).encode(), OCI_INDEX)

    def tag(self, tag: str, descriptor: dict[str, Any]) -> str:
        """Name `descriptor` `tag` in index.json; returns its digest."""
        entry = {k: v for k, v in descriptor.items() if k in ("mediaType", "digest", "size")}
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.refs[tag] = entry
        (self.root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "manifests": list(self.refs.values())})
        )
        return str(descriptor["digest"])

    def is_index(self, tag: str) -> bool:
        return bool(self.refs[tag]["mediaType"] == OCI_INDEX)


def env_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_tools() -> None:
    """Skip the calling test when the registry tools are missing, or fail it under CI=true (they must be there:
    `make bootstrap` installs them)."""
    import pytest  # noqa: PLC0415 - the harness is also imported by scripts/demo.py, which has no pytest

    missing = require_tools()
    if missing:
        message = f"registry tools missing: {', '.join(missing)} (make bootstrap installs them)"
        if env_ci():
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def tagged_registry(root: Path, tags: dict[str, str]) -> Iterator[tuple[Registry, dict[str, str]]]:
    """A loopback registry without auth holding `team/<name>:<name>-<tag>` for every entry of `tags` (one
    single-platform image each, built under `root`), and their digests by name; skips or fails like
    `need_tools` when the registry tools are missing."""
    need_tools()
    layout = OciLayout.create(root)
    digests: dict[str, str] = {}
    with running_registry("none") as running:
        for repository, tag in tags.items():
            digests[repository] = layout.tag(f"{repository}-{tag}", layout.image(f"{repository} {tag}"))
            running.push(layout, f"team/{repository}", f"{repository}-{tag}")
        yield running, digests
