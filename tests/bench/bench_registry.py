"""Registry resolution against the loopback docker-registry (token auth): resolutions per second with a warm
token (one HEAD each, plus one GET for an index), and the cost of a cold token fetch (a new client per
resolution: 401, token request, authenticated HEAD). The baseline row is a bare `requests` HEAD with a valid
token: docker-registry's own latency, which bounds the others."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests
from qscan.refs import parse_image_ref
from qscan.registry.client import DistributionClient
from qscan.registry.credentials import RegistryCredential, StaticCredentials
from qscan.registry.resolver import HttpManifestSource, Resolver

from tests.harness.oci_registry import (
    PASSWORD,
    USERNAME,
    OciLayout,
    Registry,
    require_tools,
    running_registry,
)

WARM = 300
COLD = 60


def _resolver(registry: Registry) -> Resolver:
    credentials = StaticCredentials({registry.host: RegistryCredential(USERNAME, PASSWORD)})
    client = DistributionClient(credentials=credentials, insecure_hosts=frozenset({registry.host}))
    return Resolver(lambda _: HttpManifestSource(client))


def _per_second(registry: Registry, reference: str, iterations: int, *, cold: bool) -> float:
    ref = parse_image_ref(f"{registry.host}/{reference}")
    warm = _resolver(registry)
    warm.resolve(ref)  # the token is fetched here (and a failure shows before timing)
    start = time.perf_counter()
    for _ in range(iterations):
        (_resolver(registry) if cold else warm).resolve(ref)
    return iterations / (time.perf_counter() - start)


def _baseline(registry: Registry, repository: str, tag: str, iterations: int) -> float:
    assert registry.tokens is not None
    headers = {
        "Accept": "application/vnd.oci.image.manifest.v1+json",
        "Authorization": "Bearer " + registry.tokens.issue(f"repository:{repository}:pull"),
    }
    url = f"{registry.url}/v2/{repository}/manifests/{tag}"
    with requests.Session() as session:
        session.head(url, headers=headers).raise_for_status()
        start = time.perf_counter()
        for _ in range(iterations):
            session.head(url, headers=headers)
        return iterations / (time.perf_counter() - start)


def run() -> list[tuple[str, str]]:
    missing = require_tools()
    if missing:
        return [("registry tools missing", ", ".join(missing) + " (make bootstrap)")]
    with running_registry("token") as registry, tempfile.TemporaryDirectory() as tmp:
        layout = OciLayout.create(Path(tmp))
        layout.tag("single", layout.image("bench single"))
        registry.push(layout, "bench/app", "single")
        amd64 = layout.image("bench amd64")
        layout.tag(
            "multi",
            layout.index([amd64, layout.image("bench arm64", arch="arm64"), layout.attestation(amd64)]),
        )
        registry.push(layout, "bench/app", "multi")
        single = _per_second(registry, "bench/app:single", WARM, cold=False)
        multi = _per_second(registry, "bench/app:multi", WARM, cold=False)
        cold = _per_second(registry, "bench/app:single", COLD, cold=True)
        bare = _baseline(registry, "bench/app", "single", WARM)
    return [
        ("baseline: bare HEAD with a token", f"{bare:,.0f} requests/s ({1000 / bare:.2f} ms each)"),
        ("image tag, warm token", f"{single:,.0f} resolutions/s ({1000 / single:.2f} ms each)"),
        ("index tag -> linux/amd64, warm token", f"{multi:,.0f} resolutions/s ({1000 / multi:.2f} ms each)"),
        ("image tag, cold token (new client)", f"{cold:,.0f} resolutions/s ({1000 / cold:.2f} ms each)"),
        ("cold token fetch cost", f"{1000 / cold - 1000 / single:.2f} ms over a warm resolution"),
    ]
