"""The Azure Functions app (handlers/azure/function_app.py): per-message overhead, a queue burst, cold import.

Set-up, like tests/integration/test_function_app_azurite.py: Azurite (Table dedupe store, Blob results, the scan
queue), the fake ARM server (tests/doubles/fake_arm.py, TLS) read by the real `qscan.azure.workloads`, a
docker-registry on loopback holding IMAGES + 1 images (tag -> digest), the Event Grid data-plane double (TLS)
and the fake qscanner (no scenario file: every scan succeeds at once, zero delay, no findings) behind
bench_burst's counting wrapper, which logs each scanner process's start and end. The app module is loaded from
its file and its `_handler` set to an `AzureScanHandler` with those endpoints (what the first invocation would
build, not timed); the functions are called as the Python worker calls them (`func.QueueMessage`).

- Per-message overhead: one invocation of `scan_queue` at a time in this process, ROUNDS rounds on a fresh
  table and container, each after one warm-up message (the first message of a process pays the lazy imports
  and the TLS handshakes). Each round sends one ACI write per container group (IMAGES groups, one image each):
  the scan path (ARM read, tag -> digest, claim, qscanner, Blob, complete), then the same groups again: the
  cached path (ARM read, tag -> digest, the claim finds the completed scan). Overhead = the invocation's wall
  time minus the wall time of the qscanner processes it ran; p50 / p99 over every message of that path.
- Burst: MESSAGES Event Grid ACI write events over IMAGES container groups (one image each, MESSAGES // IMAGES
  events per group, shuffled) enqueued on an Azurite queue, drained by INSTANCES worker processes (spawned:
  fresh interpreters, cold start before the clock). Each acts as one Functions instance with host.json's
  queue settings: it receives `batchSize` messages (visibility timeout VISIBILITY_SECONDS), runs them
  concurrently in `batchSize` threads (the Python worker's thread pool) and fetches the next batch when all
  have finished (`newBatchThreshold` 0); a message whose invocation raised is left on the queue (visible again
  after the timeout, its dequeue count up), the others deleted. Figures: messages per second from the release
  of the warm workers to the last invocation's end; the scanner double's invocations (`scans: N`, checked
  against IMAGES: the dedupe must scan each image exactly once); the accounting summed over every invocation's
  `invocation accounting` line, checked to close (events in = scanned + deduplicated + cached + skipped +
  failed); the completed claims in the table. A wrong scan count or accounting fails the section.
- Cold import: `import function_app` in handlers/azure with PYTHONPATH=shared (what indexing the functions
  costs; the handler is built on the first invocation) next to `import azure.functions` and to
  `import azure.functions` + the Azure SDKs the app uses (AZURE_SDKS), both ratios printed; beside them the
  first invocation's cold start, `function_app.handler()` with a no-network configuration (managed identity,
  Qualys token in the environment). Medians of fresh interpreters, interleaved (bench_handler_ecr's method).

Emulator figures: Azurite, the registry, the doubles and the workers share the machine's cores; compare runs
on the same machine, not with Azure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.bench.bench_burst import _collect, _percentile, _scanner_log, counting_scanner
from tests.bench.bench_handler_ecr import medians_ms

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "handlers" / "azure" / "function_app.py"
HOST_JSON = APP.with_name("host.json")
SUB = "00000000-0000-0000-0000-00000000be0c"
RESOURCE_GROUP = "bench"
ACI_WRITE = "Microsoft.ContainerInstance/containerGroups/write"
IMAGES = 50
MESSAGES = 500
INSTANCES = 2
ROUNDS = 3
VISIBILITY_SECONDS = 30
DRAIN_DEADLINE_SECONDS = 600
TOKEN = "bench-entra-token-not-a-secret"
QUALYS_TOKEN = "bench-qualys-token-not-a-secret"
AZURE_SDKS = (
    "azure.identity",
    "azure.data.tables",
    "azure.storage.blob",
    "azure.keyvault.secrets",
    "azure.mgmt.containerinstance",
    "azure.mgmt.appcontainers",
)


class Credential:
    """A managed identity stand-in: one token for every scope (ARM, Event Grid)."""

    def get_token(self, *scopes: str, **_kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken  # noqa: PLC0415 - the bench's own double

        return AccessToken(TOKEN, int(time.time()) + 3600)


def host_batch_size() -> int:
    """host.json's queue `batchSize`: the invocations one instance runs at once (newBatchThreshold 0)."""
    return int(json.loads(HOST_JSON.read_text())["extensions"]["queues"]["batchSize"])


def write_event(resource_id: str) -> dict[str, Any]:
    """An Event Grid `ResourceWriteSuccess` event for an ACI container group write, a fresh id each call."""
    return {
        "id": str(uuid.uuid4()),
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": resource_id,
        "eventTime": "2026-12-02T02:00:00Z",
        "dataVersion": "",
        "topic": f"/subscriptions/{SUB}",
        "data": {
            "operationName": ACI_WRITE,
            "status": "Succeeded",
            "resourceUri": resource_id,
            "subscriptionId": SUB,
            "authorization": {"scope": resource_id},
        },
    }


def burst_bodies(groups: list[str], messages: int = MESSAGES, seed: int = 16) -> list[str]:
    """`messages` queue bodies over `groups`, each group `messages // len(groups)` times, shuffled."""
    order = [groups[i % len(groups)] for i in range(messages)]
    random.Random(seed).shuffle(order)
    return [json.dumps(write_event(group)) for group in order]


def overhead_ms(start: float, end: float, scans: list[tuple[float, float]]) -> float:
    """An invocation's wall time minus the wall time of the scanner processes that ran inside it, in ms."""
    inside = sum(e - s for s, e in scans if start <= s and e <= end)
    return (end - start - inside) * 1000


def total_accounting(lines: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The sum of `invocation accounting` dicts (skipped summed over its reasons)."""
    keys = ("events", "scanned", "deduplicated", "cached", "failed")
    totals = {key: sum(int(line[key]) for line in lines) for key in keys}
    totals["skipped"] = sum(int(n) for line in lines for n in line["skipped"].values())
    return totals


def closes(totals: Mapping[str, int]) -> bool:
    """events in = scanned + deduplicated + cached + skipped + failed."""
    parts = ("scanned", "deduplicated", "cached", "skipped", "failed")
    return totals["events"] == sum(totals[part] for part in parts)


class _Tally(logging.Handler):
    """Collects the `accounting` of every `invocation accounting` line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("invocation accounting"):
            self.lines.append(dict(record.accounting))  # type: ignore[attr-defined]


@contextlib.contextmanager
def _tallied() -> Iterator[_Tally]:
    """The qscan logger's accounting lines, collected and not printed, for the block's duration."""
    logger = logging.getLogger("qscan")
    tally = _Tally()
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(tally)
    try:
        yield tally
    finally:
        logger.removeHandler(tally)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class Endpoints:
    """What a handler needs to reach the doubles (picklable: the burst's workers get it)."""

    arm_url: str
    eventgrid_endpoint: str
    registry_host: str
    blob_endpoint: str
    table_endpoint: str
    queue_endpoint: str
    scanner: str
    env: dict[str, str]  # CA bundle, NO_PROXY, the fake qscanner's interpreter, the Qualys token


def _app(endpoints: Endpoints, table: str, container: str, temp_dir: str) -> ModuleType:
    """The app module loaded from its file, its handler built on the doubles (the first invocation's work)."""
    from azure.core.credentials import AzureNamedKeyCredential  # noqa: PLC0415
    from qscan.azure.handler import AzureScanHandler  # noqa: PLC0415
    from qscan.config import Settings  # noqa: PLC0415
    from qscan.registry.credentials import StaticCredentials  # noqa: PLC0415

    from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY  # noqa: PLC0415

    settings = Settings.from_env(
        {
            "QSCAN_CLOUD": "azure",
            "QSCANNER_PATH": endpoints.scanner,
            "QSCAN_STORAGE_ACCOUNT_URL": endpoints.blob_endpoint,
            "QSCAN_STORAGE_TABLE_URL": endpoints.table_endpoint,
            "QSCAN_DEDUPE_TABLE_NAME": table,
            "QSCAN_RESULTS_CONTAINER": container,
            "QSCAN_EVENTGRID_TOPIC_ENDPOINT": endpoints.eventgrid_endpoint,
            "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
        }
    )
    handler = AzureScanHandler(
        settings,
        credential=Credential(),
        storage_credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
        arm_base_url=endpoints.arm_url,
        registry_credentials=StaticCredentials({}),
        insecure_registries=frozenset({endpoints.registry_host}),
        temp_dir=temp_dir,
    )
    spec = importlib.util.spec_from_file_location(f"qscan_function_app_bench_{uuid.uuid4().hex}", APP)
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    setattr(app, "_handler", handler)  # noqa: B010 - what handler() builds on the first invocation
    return app


def _scan_queue(app: ModuleType) -> Any:
    """The user function the worker calls for a scan-queue message."""
    functions = {f.get_function_name(): f for f in app.app.get_functions()}
    return functions["scan_queue"].get_user_function()


def _message(body: str, *, message_id: str | None = None, dequeue_count: int = 1) -> Any:
    from azure.functions.queue import QueueMessage  # noqa: PLC0415

    return QueueMessage(  # type: ignore[no-untyped-call]
        id=message_id or str(uuid.uuid4()), body=body.encode(), dequeue_count=dequeue_count
    )


def _fresh_stores(endpoints: Endpoints) -> tuple[str, str]:
    """A new dedupe table and results container on Azurite; their names."""
    table, container = "qscan" + uuid.uuid4().hex[:10], "results-" + uuid.uuid4().hex[:10]
    _service("table", endpoints).create_table(table)
    _service("blob", endpoints).create_container(container)
    return table, container


def _service(kind: str, endpoints: Endpoints) -> Any:
    """An Azurite service client (table, blob or queue) with the emulator's account key."""
    from azure.core.credentials import AzureNamedKeyCredential  # noqa: PLC0415
    from azure.data.tables import TableServiceClient  # noqa: PLC0415
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY  # noqa: PLC0415

    credential = AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY)
    if kind == "table":
        return TableServiceClient(endpoints.table_endpoint, credential=credential)
    if kind == "blob":
        return BlobServiceClient(endpoints.blob_endpoint, credential=credential)
    return QueueServiceClient(endpoints.queue_endpoint, credential=credential)


@dataclass(frozen=True)
class World:
    endpoints: Endpoints
    groups: list[str]  # IMAGES container groups, one image each
    warm_up: str  # one more group, for the warm-up messages
    spool: Path
    scans_log: Path


@contextlib.contextmanager
def world() -> Iterator[World]:
    """Azurite, the fake ARM server, the registry with IMAGES + 1 images, Event Grid and the fake qscanner."""
    from tests.doubles.eventgrid import EventGridDouble  # noqa: PLC0415
    from tests.doubles.fake_arm import FakeArm  # noqa: PLC0415
    from tests.doubles.fake_qscanner import PYTHON_ENV  # noqa: PLC0415
    from tests.harness.azurite import azurite_running  # noqa: PLC0415
    from tests.harness.oci_registry import OciLayout, running_registry  # noqa: PLC0415

    with (
        tempfile.TemporaryDirectory(prefix="qscan-bench-azure-") as tmp,
        running_registry("none") as registry,
        azurite_running() as azurite,
        FakeArm() as arm,
        EventGridDouble(tls_dir=Path(tmp) / "tls", data_senders={TOKEN}) as events,
    ):
        spool = Path(tmp)
        layout = OciLayout.create(spool)
        names = [f"app{i:02d}" for i in range(IMAGES)] + ["warm"]
        groups = []
        for name in names:
            layout.tag(name, layout.image(f"bench {name}"))
            registry.push(layout, f"bench/{name}", name)
            image = f"{registry.host}/bench/{name}:{name}"
            groups.append(arm.add_container_group(SUB, RESOURCE_GROUP, f"cg-{name}", [("main", image)]))
        bundle = spool / "ca.pem"
        bundle.write_text(Path(arm.ca_file).read_text() + Path(events.ca_file).read_text())
        scans_log = spool / "scans.log"
        endpoints = Endpoints(
            arm_url=arm.url,
            eventgrid_endpoint=events.endpoint,
            registry_host=registry.host,
            blob_endpoint=azurite.blob_endpoint,
            table_endpoint=azurite.table_endpoint,
            queue_endpoint=azurite.queue_endpoint,
            scanner=str(counting_scanner(spool, scans_log)),
            env={
                "REQUESTS_CA_BUNDLE": str(bundle),
                "NO_PROXY": "127.0.0.1,localhost",
                PYTHON_ENV: sys.executable,
                "QUALYS_POD": "US2",
                "QUALYS_ACCESS_TOKEN": QUALYS_TOKEN,
            },
        )
        with _environ(endpoints.env):
            yield World(endpoints, groups[:IMAGES], groups[IMAGES], spool, scans_log)


# ---------------------------------------------------------------------------------------------- overhead
@dataclass(frozen=True)
class OverheadReport:
    scanned_ms: list[float]
    cached_ms: list[float]
    scan_seconds: list[float]  # per scan: the qscanner process's wall time
    accounting: dict[str, int]  # over every message, the warm-ups included


def per_message(w: World, rounds: int = ROUNDS) -> OverheadReport:
    """One `scan_queue` invocation at a time: the scan path, then the cached path (see the module docstring)."""
    scanned: list[float] = []
    cached: list[float] = []
    here = os.getpid()
    with _tallied() as tally:
        for number in range(rounds):
            table, container = _fresh_stores(w.endpoints)
            app = _app(w.endpoints, table, container, str(w.spool / f"round-{number}"))
            scan_queue = _scan_queue(app)
            scan_queue(_message(json.dumps(write_event(w.warm_up))))
            for samples in (scanned, cached):
                for group in w.groups:
                    start = time.time()
                    scan_queue(_message(json.dumps(write_event(group))))
                    end = time.time()
                    mine = [(s, e) for s, e, ppid in _scanner_log(w.scans_log) if ppid == here]
                    samples.append(overhead_ms(start, end, mine))
    scans = [e - s for s, e, _ in _scanner_log(w.scans_log)]
    return OverheadReport(scanned, cached, scans, total_accounting(tally.lines))


# ---------------------------------------------------------------------------------------------- burst
def worker(
    index: int, endpoints: Endpoints, names: tuple[str, str, str], spool: str, barrier: Any, results: Any
) -> None:  # pragma: no cover - runs in the worker process
    """One Functions instance: cold start, then batches of host.json's batchSize (see the module docstring)."""

    log = open(Path(spool) / f"worker-{index}.log", "wb")  # noqa: SIM115 - the process's stdout until it exits
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    os.environ.update(endpoints.env)
    table, container, queue_name = names
    batch = host_batch_size()
    try:
        app = _app(endpoints, table, container, str(Path(spool) / f"instance-{index}"))
        scan_queue = _scan_queue(app)
        client = _service("queue", endpoints).get_queue_client(queue_name)
        pool = ThreadPoolExecutor(batch)
    except BaseException:
        barrier.abort()
        raise

    def invoke(message: Any) -> tuple[float, float, bool]:
        start = time.time()
        try:
            scan_queue(_message(message.content, message_id=message.id, dequeue_count=message.dequeue_count))
        except Exception:
            return start, time.time(), False
        end = time.time()
        client.delete_message(message)
        return start, end, True

    invocations: list[tuple[float, float, bool]] = []
    with _tallied() as tally:
        barrier.wait()
        deadline = time.monotonic() + DRAIN_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            messages = list(
                client.receive_messages(
                    messages_per_page=batch, max_messages=batch, visibility_timeout=VISIBILITY_SECONDS
                )
            )
            if messages:
                invocations.extend(pool.map(invoke, messages))
            elif client.get_queue_properties().approximate_message_count:
                time.sleep(0.05)  # messages left, invisible: another instance's, or due for a retry
            else:
                break
    pool.shutdown()
    results.put({"index": index, "invocations": invocations, "accounting": tally.lines})


@dataclass(frozen=True)
class BurstReport:
    messages: int
    images: int
    instances: int
    batch_size: int
    invocations: int  # redeliveries included
    raised: int
    wall_seconds: float
    scans: int
    accounting: dict[str, int]
    completed_claims: int


def burst(w: World, messages: int = MESSAGES, instances: int = INSTANCES) -> BurstReport:
    """Drain MESSAGES queue messages over IMAGES images with INSTANCES instances (see the module docstring)."""

    table, container = _fresh_stores(w.endpoints)
    queue_name = "qscan-burst-" + uuid.uuid4().hex[:10]
    client = _service("queue", w.endpoints).create_queue(queue_name)
    bodies = burst_bodies(w.groups, messages)
    for body in bodies:
        client.send_message(body)
    scans_before = len(_scanner_log(w.scans_log))
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like instances
    barrier, results = context.Barrier(instances + 1), context.Queue()
    names = (table, container, queue_name)
    processes = [
        context.Process(
            target=worker, args=(i, w.endpoints, names, str(w.spool), barrier, results), daemon=True
        )
        for i in range(instances)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=300)  # every instance has cold-started
        started = time.time()
        reports = _collect(processes, results, w.spool)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
    invocations = [inv for report in reports for inv in report["invocations"]]
    entities = _service("table", w.endpoints).get_table_client(table).list_entities()
    return BurstReport(
        messages=len(bodies),
        images=len(w.groups),
        instances=instances,
        batch_size=host_batch_size(),
        invocations=len(invocations),
        raised=sum(1 for _, _, ok in invocations if not ok),
        wall_seconds=max(end for _, end, _ in invocations) - started,
        scans=len(_scanner_log(w.scans_log)) - scans_before,
        accounting=total_accounting([line for report in reports for line in report["accounting"]]),
        completed_claims=sum(1 for entity in entities if entity.get("state") == "complete"),
    )


# ---------------------------------------------------------------------------------------------- cold import
def cold_import() -> dict[str, float]:
    """Median ms of `import function_app`, the first invocation's cold start and the Azure floor."""
    shared, app_dir = ROOT / "shared", APP.parent
    configuration = {
        "QSCAN_CLOUD": "azure",
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1",
        "QSCAN_STORAGE_ACCOUNT_URL": "https://stbench.blob.core.windows.net",
        "QSCAN_DEDUPE_TABLE_NAME": "qscandedupe",
        "QSCAN_RESULTS_CONTAINER": "results",
        "QSCAN_EVENTGRID_TOPIC_ENDPOINT": "https://bench.westeurope-1.eventgrid.azure.net/api/events",
    }
    sdks = "\n".join(f"import {name}" for name in AZURE_SDKS)
    with tempfile.TemporaryDirectory(prefix="qscan-bench-cold-") as tmp:
        setup = f"import os\nos.environ.update({configuration | {'TMPDIR': tmp}!r})"
        return medians_ms(
            {
                "functions": ("import azure.functions", shared, app_dir),
                "sdks": (f"import azure.functions\n{sdks}", shared, app_dir),
                "app": ("import function_app", shared, app_dir),
                "cold_start": (f"{setup}\nimport function_app\nfunction_app.handler()", shared, app_dir),
            }
        )


def run() -> list[tuple[str, str]]:
    with world() as w:
        overhead = per_message(w)
        b = burst(w)
    figures = (
        f"scans: {b.scans} (expected {b.images}); accounting {b.accounting}; completed claims "
        f"{b.completed_claims}"
    )
    if b.scans != b.images or not closes(b.accounting) or b.accounting["events"] != b.invocations:
        raise RuntimeError(f"the burst is wrong: {figures}")
    o = overhead.accounting
    if (o["scanned"], o["cached"]) != (ROUNDS * (IMAGES + 1), ROUNDS * IMAGES) or not closes(o):
        raise RuntimeError(f"the per-message paths are not what they claim: {o}")
    m = cold_import()
    a = b.accounting
    return [
        (
            f"per-message overhead, scan path p50 / p99 (n={len(overhead.scanned_ms)})",
            f"{statistics.median(overhead.scanned_ms):.1f} ms / {_percentile(overhead.scanned_ms, 99):.1f} ms",
        ),
        (
            f"per-message overhead, cached path p50 / p99 (n={len(overhead.cached_ms)})",
            f"{statistics.median(overhead.cached_ms):.1f} ms / {_percentile(overhead.cached_ms, 99):.1f} ms",
        ),
        (
            "qscanner double per scan, median (excluded above)",
            f"{statistics.median(overhead.scan_seconds) * 1000:.1f} ms",
        ),
        (
            "burst: messages / unique images / instances x batchSize",
            f"{b.messages} / {b.images} / {b.instances} x {b.batch_size}",
        ),
        ("burst: invocations (incl. redeliveries) / raised", f"{b.invocations} / {b.raised}"),
        ("burst: drain time (instances warm -> last invocation done)", f"{b.wall_seconds:.1f} s"),
        ("burst: throughput", f"{b.messages / b.wall_seconds:,.1f} messages/s"),
        ("burst: scanner double invocations", f"scans: {b.scans}"),
        (
            "burst: events in = scanned + deduplicated + cached + skipped + failed",
            f"{a['events']} = {a['scanned']} + {a['deduplicated']} + {a['cached']} + {a['skipped']} + {a['failed']}",
        ),
        ("burst: completed claims in the table", f"{b.completed_claims}"),
        ("import azure.functions (median ms)", f"{m['functions']:.0f}"),
        (f"import azure.functions + {len(AZURE_SDKS)} Azure SDKs (median ms)", f"{m['sdks']:.0f}"),
        ("import function_app: indexing, handler built later (median ms)", f"{m['app']:.0f}"),
        ("import function_app / import azure.functions", f"{m['app'] / m['functions']:.2f}x"),
        ("import function_app / azure.functions + SDKs", f"{m['app'] / m['sdks']:.2f}x"),
        (
            "import function_app + handler() (first invocation's cold start, no network; median ms)",
            f"{m['cold_start']:.0f} ({m['cold_start'] / m['sdks']:.2f}x azure.functions + SDKs)",
        ),
    ]


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
