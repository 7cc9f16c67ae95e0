"""The Azure part of `make demo`: ACI and ACA write events through the Functions app's queue trigger, all local.

`scripts/demo.py` calls `run_azure()` after the ECS part; it needs the loopback registry (the images below are
pushed into it by `push_images()`) and Azurite (`node_modules/.bin/azurite`, `make bootstrap`). It

1. starts Azurite (blob, queue, table; tests/harness/azurite.py), the fake ARM server (tests/doubles/fake_arm.py,
   TLS) and the Event Grid data-plane double (tests/doubles/eventgrid.py, TLS) standing in for the notification
   topic, and creates what modules/aci-aca creates in its data account: the queue `scan-events`, its poison
   queue `scan-events-poison`, the containers `results` and `eventgrid-deadletter`, the table `qscandedupe`;
2. seeds ARM with an ACI container group, a second group running the same image, an ACA container app, an ACA
   job, qscan's own scan container group (tagged `qscan:component`) and a group whose image's scan keeps
   failing, and builds the `Microsoft.Resources.ResourceWriteSuccess` event of each write plus a storage
   account write; and, in a second (spoke) subscription, a container group whose write event comes from that
   subscription's system topic (environments/azure-spoke);
3. applies each subscription's Event Grid subscription filters, read from modules/aci-aca-spoke/main.tf and
   evaluated for that subscription (the hub's as modules/aci-aca calls the module for its own subscription, the
   spoke's with environments/azure-spoke's variable defaults) (tests/harness/eventgrid_filter.py): what they
   reject never reaches the queue, as Event Grid would not deliver it; the rest goes onto the hub's queue
   base64-encoded, as Event Grid delivers it;
4. runs `host` (this file, `python scripts/demo_azure.py host ...`) in a child process with the app settings
   modules/aci-aca sets with `spoke_subscription_ids = [the spoke]` (pointing at Azurite, the doubles and the
   simulated qscanner): the stand-in for the Functions host (see `Host`), which calls the queue trigger's user
   code of handlers/azure/function_app.py; the spoke's group is read in the spoke subscription by its resource
   id, and its result names the spoke subscription;
5. runs `host --reconcile` once the queue is drained: the same app and settings (QSCAN_RECONCILE_* as
   modules/aci-aca/reconcile.tf sets them: the hub's subscription, then the spoke's) and its `reconcile` timer
   function invoked once, as its schedule would; it lists the seeded workloads of both subscriptions through the
   fake ARM (one summary per subscription) and queues a request for each image the dedupe table holds no
   completion of (the failing one), which stays on the queue (docs/demo.md);
6. reads back the notifications, the poison queue and the stored results (the subscription each names), and
   returns what `scripts/demo_report.summarize_azure` needs, with the reconcile run's summaries.

Azurite runs in its own process group and is tracked with the demo's other children; the host child too: any
exit path of the demo stops them. The servers in this process stop with the `ExitStack` the caller passes.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.demo_report import Case, describe_reconcile  # noqa: E402

APP = REPO / "handlers" / "azure" / "function_app.py"
HOST_JSON = REPO / "handlers" / "azure" / "host.json"
FAKE_QSCANNER = REPO / "tests" / "doubles" / "fake_qscanner.py"
# The event subscription and its filters: modules/aci-aca calls modules/aci-aca-spoke for its own subscription.
EVENTS_MODULE = REPO / "modules" / "aci-aca-spoke"
SUBSCRIPTION = "00000000-0000-0000-0000-00000000de70"
SCANNER_GROUP = "rg-qscan"  # modules/aci-aca's var.resource_group_name in this demo
APPS_GROUP = "rg-shop"
# The spoke subscription: environments/azure's spoke_subscription_ids in this demo, environments/azure-spoke
# applied in it with its variables' defaults (read from its variables.tf).
SPOKE_SUBSCRIPTION = "00000000-0000-0000-0000-00000000de71"
SPOKE_SUBSCRIPTION_IDS = (SPOKE_SUBSCRIPTION,)
SPOKE_ENVIRONMENT = REPO / "environments" / "azure-spoke"
SPOKE_APPS_GROUP = "rg-billing"
# modules/aci-aca/storage.tf's names
SCAN_QUEUE, POISON_QUEUE = "scan-events", "scan-events-poison"
RESULTS_CONTAINER, DEAD_LETTER_CONTAINER, DEDUPE_TABLE = "results", "eventgrid-deadletter", "qscandedupe"
# The identity's token: the doubles accept it (a demo constant, not a credential of anything real).
DEMO_TOKEN = "qscan-demo-managed-identity-token"  # noqa: S105 - a demo constant, see above
DEMO_QUALYS = {"QUALYS_POD": "US2", "QUALYS_ACCESS_TOKEN": "demo-simulated-not-a-qualys-token"}
# The host.json override the demo sets as an app setting (as modules/aci-aca applies host.json): a failed
# message returns after 1 s instead of the module's default minute, so five attempts take seconds.
DEMO_VISIBILITY_TIMEOUT = "00:00:01"
HOST_WAIT = 60.0
# The fake ARM server's address: its certificate must not share the registry's subject (127.0.0.1) in one bundle
ARM_HOST = "127.0.0.2"  # seconds for the host to drain the queue
ACI_WRITE = "Microsoft.ContainerInstance/containerGroups/write"
# The images the Azure workloads run: repository -> description (pushed as <repository>:1.0)
IMAGES = {
    "azure/shop-web": "qscan demo: ACI shop web 1.0",
    "azure/orders-app": "qscan demo: ACA orders app 1.0",
    "azure/nightly-report": "qscan demo: ACA nightly job 1.0",
    "azure/qscanner-job": "qscan demo: qscan's own scan job 1.0",
    "azure/legacy-importer": "qscan demo: importer whose scan fails 1.0",
    "azure/billing-api": "qscan demo: ACI billing API in the spoke subscription 1.0",
}
TAG = "1.0"
CRITICAL = [
    {"qid": "380101", "title": "OpenSSL remote code execution", "severity": 5, "cves": ["CVE-2024-0101"]}
]
MEDIUM = [{"qid": "380102", "title": "curl header leak", "severity": 3, "cves": ["CVE-2024-0102"]}]
HIGH = [{"qid": "380103", "title": "zlib heap overflow", "severity": 4, "cves": ["CVE-2024-0103"]}]


class Tracker(Protocol):
    """What the demo's `Children` offers: track a process so every exit path stops it."""

    processes: list[subprocess.Popen[bytes]]

    def track(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]: ...

    def stop_process(self, proc: subprocess.Popen[bytes], first: int, grace: float) -> None: ...


# ----------------------------------------------------------------------------------------------- cases
def cases(host: str, digests: dict[str, str]) -> tuple[Case, ...]:
    """The Azure cases, in the order of the events (kind "azure"; `repository` is the image)."""

    def case(
        key: str, title: str, repository: str, *, entries: int, expect: str, hits: int = 0, scope: str = ""
    ) -> Case:
        return Case(
            key,
            title,
            f"{host}/{repository}",
            tag_of(repository),
            digests[repository],
            entries,
            expect,
            expect_dedupe_hits=hits,
            kind="azure",
            scope=scope,
        )

    aci = "ACI container group write, then a second group with the same image"
    own = "qscan's own scan container group (tagged qscan:component)"
    return (
        case("aci", aci, "azure/shop-web", entries=2, expect="vulnerable", hits=1),
        case("aca-app", "ACA container app write", "azure/orders-app", entries=1, expect="clean"),
        case("aca-job", "ACA job write", "azure/nightly-report", entries=1, expect="vulnerable"),
        case("aci-own", own, "azure/qscanner-job", entries=1, expect="skipped"),
        Case(
            "storage",
            "storage account write (the filters reject it)",
            "storage account stshop",
            "",
            "",
            1,
            "not delivered",
            kind="azure",
        ),
        case(
            "aci-fails",
            "ACI group whose image's scan keeps failing",
            "azure/legacy-importer",
            entries=1,
            expect="poisoned",
        ),
        case(
            "aci-spoke",
            f"ACI container group write in the spoke subscription {SPOKE_SUBSCRIPTION} "
            "(environments/azure-spoke's event subscription, the hub's queue)",
            "azure/billing-api",
            entries=1,
            expect="vulnerable",
            scope=SPOKE_SUBSCRIPTION,
        ),
    )


def push_images(registry: Any, layout: Any) -> dict[str, str]:
    """Push the Azure workloads' images into the demo's loopback registry; repository -> digest."""
    digests = {}
    for repository, description in IMAGES.items():
        digests[repository] = layout.tag(tag_of(repository), layout.image(description))
        registry.push(layout, repository, tag_of(repository))
    return digests


def tag_of(repository: str) -> str:
    """The image's tag: unique within the demo's one OCI layout (its tags name the images), e.g. shop-web-1.0."""
    return f"{repository.rsplit('/', 1)[-1]}-{TAG}"


def image_ref(host: str, repository: str) -> str:
    return f"{host}/{repository}:{tag_of(repository)}"


def write_event(resource_id: str, operation: str, subscription: str = SUBSCRIPTION) -> dict[str, Any]:
    """A `Microsoft.Resources.ResourceWriteSuccess` event of the subscription's system topic."""
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{subscription}",
        "subject": resource_id,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dataVersion": "2",
        "metadataVersion": "1",
        "data": {
            "operationName": operation,
            "status": "Succeeded",
            "resourceProvider": operation.split("/", 1)[0],
            "resourceUri": resource_id,
            "subscriptionId": subscription,
            "tenantId": "00000000-0000-0000-0000-0000000000e1",
            "authorization": {"scope": resource_id, "action": operation},
        },
    }


def seed_events(arm: Any, host: str) -> list[tuple[str, dict[str, Any]]]:
    """Seed ARM with the workloads; the (case key, write event) pairs, in order."""

    def group(name: str, repository: str, tags: dict[str, str] | None = None) -> str:
        resource: str = arm.add_container_group(
            SUBSCRIPTION, APPS_GROUP, name, [("app", image_ref(host, repository))], tags=tags
        )
        return resource

    app_id = arm.add_container_app(
        SUBSCRIPTION, APPS_GROUP, "orders", [("api", image_ref(host, "azure/orders-app"))]
    )
    job_id = arm.add_job(
        SUBSCRIPTION, APPS_GROUP, "nightly-report", [("main", image_ref(host, "azure/nightly-report"))]
    )
    storage = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{APPS_GROUP}/providers/Microsoft.Storage/storageAccounts/stshop"
    billing = arm.add_container_group(
        SPOKE_SUBSCRIPTION, SPOKE_APPS_GROUP, "billing-api", [("api", image_ref(host, "azure/billing-api"))]
    )
    return [
        ("aci", write_event(group("shop-web", "azure/shop-web"), ACI_WRITE)),
        ("aca-app", write_event(app_id, "Microsoft.App/containerApps/write")),
        ("aca-job", write_event(job_id, "Microsoft.App/jobs/write")),
        ("aci", write_event(group("shop-web-canary", "azure/shop-web"), ACI_WRITE)),
        (
            "aci-own",
            write_event(
                group("qscan-scan-1a2b", "azure/qscanner-job", {"qscan:component": "scan-job"}), ACI_WRITE
            ),
        ),
        ("storage", write_event(storage, "Microsoft.Storage/storageAccounts/write")),
        ("aci-fails", write_event(group("importer", "azure/legacy-importer"), ACI_WRITE)),
        ("aci-spoke", write_event(billing, ACI_WRITE, SPOKE_SUBSCRIPTION)),
    ]


def scenarios(host: str, digests: dict[str, str]) -> dict[str, Any]:
    """The simulated qscanner's behaviour per image (registry/repository@digest)."""

    def ref(repository: str) -> str:
        return f"{host}/{repository}@{digests[repository]}"

    return {
        "default": {"exit_code": 0, "findings": [], "os": "debian 12"},
        "targets": {
            ref("azure/shop-web"): {"exit_code": 0, "findings": CRITICAL, "os": "ubuntu 22.04"},
            ref("azure/nightly-report"): {"exit_code": 0, "findings": MEDIUM, "os": "alpine 3.20"},
            ref("azure/billing-api"): {"exit_code": 0, "findings": HIGH, "os": "debian 12"},
            ref("azure/legacy-importer"): {
                "exit_code": 1
            },  # a failure a retry may fix: retried, then poisoned
        },
    }


def spoke_defaults() -> dict[str, Any]:
    """environments/azure-spoke's variable defaults (python-hcl2 classic shape): how the demo's spoke applies it."""
    from scripts.hcl import load_hcl  # noqa: PLC0415 - parent side only

    return {
        name: body["default"]
        for block in load_hcl(SPOKE_ENVIRONMENT / "variables.tf").get("variable", [])
        for name, body in block.items()
        if "default" in body
    }


def subscription_filters() -> dict[str, Any]:
    """Each subscription's event subscription (its system topic -> the filters): the hub's, as modules/aci-aca
    applies modules/aci-aca-spoke for its own subscription, and the spoke's, as environments/azure-spoke does."""
    spoke = spoke_defaults()
    return {
        f"/subscriptions/{SUBSCRIPTION}": module_filters(SUBSCRIPTION, SCANNER_GROUP, []),
        f"/subscriptions/{SPOKE_SUBSCRIPTION}": module_filters(
            SPOKE_SUBSCRIPTION, spoke["resource_group_name"], spoke["excluded_subject_prefixes"]
        ),
    }


def module_filters(subscription: str, resource_group: str, excluded: list[str]) -> Any:
    """The event subscription of modules/aci-aca-spoke/main.tf applied in `subscription` with those variables,
    its filter values evaluated from the HCL."""
    from scripts.hcl import load_hcl  # noqa: PLC0415 - parent side only
    from tests.harness.eventgrid_filter import subscription_from_hcl  # noqa: PLC0415
    from tests.harness.hcl_eval import Evaluator  # noqa: PLC0415

    locals_: dict[str, Any] = {}
    body: dict[str, Any] | None = None
    for path in sorted(EVENTS_MODULE.glob("*.tf")):
        parsed = load_hcl(path)
        for block in parsed.get("locals", []):
            locals_.update(block)
        for resource in parsed.get("resource", []):
            body = resource.get("azurerm_eventgrid_system_topic_event_subscription", {}).get("this", body)
    if body is None:
        raise RuntimeError(
            f"{EVENTS_MODULE.relative_to(REPO)} has no azurerm_eventgrid_system_topic_event_subscription.this"
        )
    evaluator = Evaluator(
        locals_,
        {
            "data.azurerm_client_config.current.subscription_id": subscription,
            "var.resource_group_name": resource_group,
            "var.excluded_subject_prefixes": excluded,
        },
    )
    return subscription_from_hcl(body, evaluator.value)


# ----------------------------------------------------------------------------------------------- parent
@dataclass
class AzureObserved:
    """What the Azure part saw, for `demo_report.summarize_azure`."""

    cases: tuple[Case, ...]
    lines: list[dict[str, Any]]  # the host's invocation lines
    message_cases: dict[str, str]  # queue message id -> case key
    filtered: list[str]  # case keys of the events the subscription's filters rejected
    alerts: list[dict[str, Any]]  # the notifications published to the Event Grid double
    poisoned: list[str]  # case keys of the messages in the poison queue
    facts: dict[str, str] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)  # what it started: name -> pid
    # where `qscan report` reads: blob_endpoint, table_endpoint, connection_string (Azurite's public dev key)
    storage: dict[str, str] = field(default_factory=dict)
    # the reconcile timer function's run: one summary per subscription
    reconciled: list[dict[str, Any]] = field(default_factory=list)
    # the results stored in the results container: key, account (the subscription), digest, status of each
    results: list[dict[str, str]] = field(default_factory=list)


def app_settings(azurite: Any, events_endpoint: str, qscanner: Path) -> dict[str, str]:
    """The app settings modules/aci-aca/function.tf and host_json.tf set, with local values."""
    return {
        "QSCAN_CLOUD": "azure",
        "QSCAN_SCANNER_BACKEND": "qscanner",
        "QSCANNER_PATH": str(qscanner),
        "QSCAN_SEVERITY_THRESHOLD": "HIGH",
        "QSCAN_SCAN_TIMEOUT_SECONDS": "60",
        "QSCAN_STORAGE_ACCOUNT_URL": azurite.blob_endpoint,
        "QSCAN_DEDUPE_TABLE_NAME": DEDUPE_TABLE,
        "QSCAN_RESULTS_CONTAINER": RESULTS_CONTAINER,
        "QSCAN_EVENTGRID_TOPIC_ENDPOINT": events_endpoint,
        "QSCAN_SCAN_QUEUE_NAME": SCAN_QUEUE,
        "QSCAN_STORAGE__queueServiceUri": azurite.queue_endpoint,
        "QSCAN_STORAGE__credential": "managedidentity",
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": DEMO_VISIBILITY_TIMEOUT,
        # Local only: Azurite's table and queue endpoints are not the blob endpoint with .blob. -> .table./.queue.
        "QSCAN_STORAGE_TABLE_URL": azurite.table_endpoint,
        "QSCAN_STORAGE_QUEUE_URL": azurite.queue_endpoint,
        # modules/aci-aca/reconcile.tf with var.reconcile's defaults (max_seconds: 540, below functionTimeout - 1 min)
        "QSCAN_RECONCILE_SCHEDULE": "0 0 */6 * * *",
        # its default subscription_ids: the module's own subscription and spoke_subscription_ids, in that order
        "QSCAN_RECONCILE_SUBSCRIPTION_IDS": ",".join((SUBSCRIPTION, *SPOKE_SUBSCRIPTION_IDS)),
        "QSCAN_RECONCILE_LOOKBACK_DAYS": "7",
        "QSCAN_RECONCILE_MAX_PAGES": "1000",
        "QSCAN_RECONCILE_MAX_SECONDS": "540",
        "QSCAN_RECONCILE_MAX_REQUESTS": "500",
        # Local only: the Qualys secret comes from Key Vault in Azure (QSCAN_QUALYS_SECRET_URI)
        **DEMO_QUALYS,
    }


def create_storage(azurite: Any) -> None:
    """What modules/aci-aca/storage.tf creates in the data account."""
    queues = azurite.queue_service()
    for name in (SCAN_QUEUE, POISON_QUEUE):
        queues.create_queue(name)
    blobs = azurite.blob_service()
    for name in (RESULTS_CONTAINER, DEAD_LETTER_CONTAINER):
        blobs.create_container(name)
    azurite.table_service().create_table(DEDUPE_TABLE)


def enqueue(
    arm: Any, queue: Any, registry_host: str, say: Callable[[str], None]
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Seed ARM, put each write event its subscription's filters deliver onto the hub's queue (base64, as Event
    Grid does); returns message id -> case key, event id -> case key, and the case keys filtered out."""
    from tests.harness.eventgrid_filter import delivers  # noqa: PLC0415 - parent side only

    subscriptions = subscription_filters()
    message_cases: dict[str, str] = {}
    event_cases: dict[str, str] = {}
    filtered: list[str] = []
    for key, event in seed_events(arm, registry_host):
        event_cases[event["id"]] = key
        if not delivers(subscriptions[event["topic"]], event):
            filtered.append(key)
            name = event["subject"].rsplit("/", 1)[-1]
            say(f"  Event Grid: {event['data']['operationName']} {name} -> filtered out, not delivered")
            continue
        sent = queue.send_message(base64.b64encode(json.dumps(event).encode()).decode())
        message_cases[sent.id] = key
        if event["topic"] != f"/subscriptions/{SUBSCRIPTION}":
            say(
                f"  Event Grid: {event['data']['operationName']} {event['subject'].rsplit('/', 1)[-1]} in the spoke "
                f"subscription {event['data']['subscriptionId']} -> its event subscription "
                f"(environments/azure-spoke) delivered it to the hub's {SCAN_QUEUE}"
            )
    say(
        f"  {len(event_cases)} ResourceWriteSuccess events of {len(subscriptions)} subscriptions' system topics; "
        f"their event subscriptions' filters (modules/aci-aca-spoke, evaluated per subscription) delivered "
        f"{len(message_cases)} to {SCAN_QUEUE} (base64, as Event Grid does)"
    )
    return message_cases, event_cases, filtered


def host_environment(
    run_dir: Path, settings: dict[str, str], cas: list[Path], scenario: dict[str, Any]
) -> dict[str, str]:
    """The host child's environment: the app settings, the simulated qscanner and the doubles' certificates."""
    from tests.doubles.fake_qscanner import write_scenarios  # noqa: PLC0415 - parent side only

    bundle = run_dir / "azure-ca.pem"
    bundle.write_text("".join(path.read_text() for path in cas))
    tmp = run_dir / "tmp" / "azure"
    tmp.mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {
        **base,
        **settings,
        "QSCAN_FAKE_PYTHON": sys.executable,
        "QSCAN_FAKE_QSCANNER_SCENARIOS": str(
            write_scenarios(run_dir / "azure-qscanner-scenarios.json", **scenario)
        ),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "NO_PROXY": f"127.0.0.1,{ARM_HOST},localhost",
        "TMPDIR": str(tmp),
        "HOME": str(tmp),
    }


def shipped_qscanner(run_dir: Path) -> Path:
    """The simulated qscanner as zip deploy leaves a shipped binary: no exec bit (the app stages a copy)."""
    package = run_dir / "azure-wwwroot" / "bin"
    package.mkdir(parents=True)
    shipped = package / "qscanner"
    shipped.write_text(f'#!/bin/sh\nexec "$QSCAN_FAKE_PYTHON" {FAKE_QSCANNER} "$@"\n')
    shipped.chmod(0o444)
    return shipped


def run_host(
    logs: Path,
    report: Path,
    children: Tracker,
    env: dict[str, str],
    *,
    arm_url: str,
    reconcile: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """`host` in a child process (its own session, tracked) until it drained the queue (with `reconcile`: until
    the timer function's one run ended); its report lines and its pid."""
    log = logs / "handler-azure.log"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "host",
        "--arm-url",
        arm_url,
        "--report",
        str(report),
        *(("--reconcile",) if reconcile else ()),
    ]
    with log.open("ab") as out:
        host = children.track(
            subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        )
    try:
        host.wait(HOST_WAIT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the Azure host did not end its work in {HOST_WAIT:.0f} s (log {log})") from None
    finally:
        children.stop_process(host, signal.SIGTERM, 5.0)
        children.processes.remove(host)
    if host.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
        raise RuntimeError(f"the Azure host exited with {host.returncode} (log {log}):\n{tail}")
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    return [json.loads(line) for line in text.splitlines()], host.pid


def run_azure(
    *,
    run_dir: Path,
    logs: Path,
    say: Callable[[str], None],
    children: Tracker,
    stack: contextlib.ExitStack,
    registry_host: str,
    registry_ca: Path,
    digests: dict[str, str],
) -> AzureObserved:
    """Steps 1-6 of the module docstring."""
    from tests.doubles.eventgrid import EventGridDouble  # noqa: PLC0415 - parent side only
    from tests.doubles.fake_arm import FakeArm  # noqa: PLC0415
    from tests.harness.azurite import start_azurite  # noqa: PLC0415

    azurite = start_azurite()
    children.track(azurite.process)
    stack.callback(azurite.stop)
    arm = stack.enter_context(FakeArm(host=ARM_HOST))
    events = stack.enter_context(
        EventGridDouble(tls_dir=run_dir / "eventgrid-tls", data_senders={DEMO_TOKEN})
    )
    create_storage(azurite)
    say(
        f"Azure: Azurite (pid {azurite.pid}: blob, queue, table), fake ARM {arm.url}, Event Grid double "
        f"{events.endpoint}; created {SCAN_QUEUE}, {POISON_QUEUE}, {RESULTS_CONTAINER}, {DEAD_LETTER_CONTAINER}, "
        f"{DEDUPE_TABLE} as modules/aci-aca names them"
    )
    queue = azurite.queue_service().get_queue_client(SCAN_QUEUE)
    message_cases, event_cases, filtered = enqueue(arm, queue, registry_host, say)
    env = host_environment(
        run_dir,
        app_settings(azurite, events.endpoint, shipped_qscanner(run_dir)),
        [registry_ca, Path(arm.ca_file), Path(events.ca_file)],
        scenarios(registry_host, digests),
    )
    say(
        f"  the Functions host stand-in runs {APP.relative_to(REPO)}'s scan_queue over {SCAN_QUEUE} "
        f"(host.json batchSize and maxDequeueCount; visibilityTimeout {DEMO_VISIBILITY_TIMEOUT} by app setting)"
    )
    lines, host_pid = run_host(logs, run_dir / "invocations-azure.jsonl", children, env, arm_url=arm.url)
    for line in lines:
        say(f"  Azure invocation {line['invocation']}: {describe(line, message_cases)}")
    reconciled, reconcile_pid = run_host(
        logs, run_dir / "reconcile-azure.jsonl", children, env, arm_url=arm.url, reconcile=True
    )
    for summary in reconciled:
        say(
            f"  Azure reconcile timer function (one run), subscription {summary['subscription']}: "
            + describe_reconcile(summary)
        )
    results = stored_results(azurite)
    for result in results:
        if result["account"] != SUBSCRIPTION:
            say(f"  Azure result of the spoke subscription {result['account']}: {result['key']}")
    poisoned = []
    for message in azurite.queue_service().get_queue_client(POISON_QUEUE).receive_messages():
        event = json.loads(base64.b64decode(message.content))
        poisoned.append(event_cases.get(str(event.get("id")), "?"))
    facts = {
        "Azure storage": f"Azurite (pid {azurite.pid}), queues {SCAN_QUEUE} / {POISON_QUEUE}, table {DEDUPE_TABLE}",
        "Azure ARM": f"{arm.url} (tests/doubles/fake_arm.py)",
        "Azure app": f"{APP.relative_to(REPO)} (scan_queue) under scripts/demo_azure.py host",
    }
    the_cases = cases(registry_host, digests)
    started = {"azurite": azurite.pid, "host": host_pid, "reconcile": reconcile_pid}
    storage = {
        "blob_endpoint": azurite.blob_endpoint,
        "table_endpoint": azurite.table_endpoint,
        "connection_string": azurite.connection_string,
    }
    return AzureObserved(
        the_cases,
        lines,
        message_cases,
        filtered,
        list(events.events),
        poisoned,
        facts,
        started,
        storage,
        reconciled,
        results,
    )


def stored_results(azurite: Any) -> list[dict[str, str]]:
    """The scan results in the results container, read as `qscan report` reads them (raw outputs skipped):
    key, account (the subscription the result names), digest and status of each."""
    from qscan.report.collect import collect  # noqa: PLC0415 - parent side only
    from qscan.results.blob import BlobResultStore  # noqa: PLC0415

    store = BlobResultStore(azurite.blob_service().get_container_client(RESULTS_CONTAINER))
    return [
        {
            "key": row.key,
            "account": str(row.target.account),
            "digest": str(row.target.digest),
            "status": row.status,
        }
        for row in collect(store).results
    ]


def describe(line: dict[str, Any], message_cases: dict[str, str]) -> str:
    tally = line.get("accounting") or {}
    shown = {k: v for k, v in tally.items() if k != "events" and v}
    return (
        f"{message_cases.get(str(line.get('message_id')), '?')} [dequeue #{line.get('dequeue_count')}] -> "
        f"{line.get('result')}" + (f" ({json.dumps(shown, sort_keys=True)})" if shown else "")
    )


# ----------------------------------------------------------------------------------------------- host
class Credential:
    """The app's managed identity, as far as the doubles are concerned: one token for every scope."""

    def get_token(self, *_scopes: str, **_kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken  # noqa: PLC0415

        return AccessToken(DEMO_TOKEN, int(time.time()) + 3600)


class Capture(logging.Handler):
    """The structured fields of the handler's log records, per invocation thread."""

    FIELDS = ("accounting", "dedupe_key", "outcome", "status", "counts", "reconcile", "complete")

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: dict[int, list[dict[str, Any]]] = {}
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        fields = {name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)}
        if fields:
            with self.guard:
                self.records.setdefault(record.thread or 0, []).append(
                    json.loads(json.dumps(fields, default=str))
                )

    def take(self) -> list[dict[str, Any]]:
        with self.guard:
            return self.records.pop(threading.get_ident(), [])


def timespan_seconds(value: str) -> int:
    """host.json's "hh:mm:ss" as seconds."""
    hours, minutes, seconds = (int(part) for part in value.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def queue_options() -> dict[str, Any]:
    """host.json's queue settings with the AzureFunctionsJobHost__extensions__queues__* app settings over them."""
    options: dict[str, Any] = dict(json.loads(HOST_JSON.read_text())["extensions"]["queues"])
    for name in ("batchSize", "maxDequeueCount", "visibilityTimeout", "newBatchThreshold"):
        override = os.environ.get(f"AzureFunctionsJobHost__extensions__queues__{name}")
        if override:
            options[name] = override
    return options


class Host:
    """What the Functions host does with a queue trigger, for the demo (there is no Functions host offline).

    It indexes the app (`app.get_functions()`), takes the `scan_queue` binding's queue name (`%SETTING%`
    resolved from the app settings) and connection (`<connection>__queueServiceUri`), and polls the queue: a
    batch of up to `batchSize` messages (`newBatchThreshold` 0: the next batch after this one), run in parallel,
    each message invisible while it runs; the user function gets a `func.QueueMessage` with the body as it is
    (`messageEncoding` none) and the dequeue count. Success deletes the message; an exception makes it visible
    again after `visibilityTimeout`, and once its dequeue count reaches `maxDequeueCount` the host puts it on
    `<queue>-poison` and deletes it. It exits when the queue has been empty for two polls. The one local
    liberty: Azurite takes its account key, not the identity (`__credential=managedidentity`).
    """

    def __init__(self, app: Any, report: Any, capture: Capture) -> None:
        from azure.core.credentials import AzureNamedKeyCredential  # noqa: PLC0415
        from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

        from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY  # noqa: PLC0415

        functions = {f.get_function_name(): f for f in app.app.get_functions()}
        (binding,) = (b.get_dict_repr() for b in functions["scan_queue"].get_bindings())
        name = str(binding["queueName"])
        if name.startswith("%") and name.endswith("%"):
            name = os.environ[name.strip("%")]
        service = QueueServiceClient(
            os.environ[f"{binding['connection']}__queueServiceUri"],
            credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
        )
        self.queue = service.get_queue_client(name)
        self.poison = service.get_queue_client(f"{name}-poison")
        self.user = functions["scan_queue"].get_user_function()
        options = queue_options()
        if int(options.get("newBatchThreshold", 0)) != 0:
            raise SystemExit("demo_azure: the host stand-in implements newBatchThreshold 0 only (host.json)")
        self.batch_size = int(options["batchSize"])
        self.max_dequeue = int(options["maxDequeueCount"])
        self.visibility = timespan_seconds(str(options["visibilityTimeout"]))
        self.report = report
        self.capture = capture
        self.lock = threading.Lock()
        self.invocations = 0
        self.stop = threading.Event()

    def run(self) -> int:
        from azure.functions.queue import QueueMessage  # noqa: PLC0415 - what the worker builds

        empty = 0
        with concurrent.futures.ThreadPoolExecutor(self.batch_size) as pool:
            while not self.stop.is_set():
                page = self.queue.receive_messages(messages_per_page=self.batch_size, visibility_timeout=300)
                batch = list(next(page.by_page(), []))
                if not batch:
                    empty = (
                        empty + 1 if self.queue.get_queue_properties().approximate_message_count == 0 else 0
                    )
                    if empty >= 2:
                        return 0
                    time.sleep(0.2)
                    continue
                empty = 0
                list(pool.map(lambda m: self.invoke(QueueMessage, m), batch))
        return 0

    def invoke(self, queue_message: Any, message: Any) -> None:
        with self.lock:
            self.invocations += 1
            number = self.invocations
        body = message.content.encode()
        started = time.monotonic()
        error = None
        try:
            self.user(queue_message(id=message.id, body=body, dequeue_count=message.dequeue_count))
        except Exception as exc:  # noqa: BLE001 - the host catches every failure of the function
            error = f"{type(exc).__name__}: {exc}"[:300]
        if error is None:
            self.queue.delete_message(message)
            result = "done: deleted"
        elif message.dequeue_count >= self.max_dequeue:
            self.poison.send_message(message.content)
            self.queue.delete_message(message)
            result = f"failed: moved to {self.poison.queue_name}"
        else:
            self.queue.update_message(message, visibility_timeout=self.visibility)
            result = f"failed: visible again in {self.visibility} s"
        logged = self.capture.take()
        accounting: dict[str, Any] = next(
            (e["accounting"] for e in reversed(logged) if "accounting" in e), {}
        )
        line = {
            "invocation": number,
            "message_id": message.id,
            "dequeue_count": message.dequeue_count,
            "result": result,
            "poisoned": result.startswith("failed: moved"),
            "error": error,
            "accounting": accounting,
            "logged": [e for e in logged if "accounting" not in e],
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        with self.lock:
            self.report.write(json.dumps(line, sort_keys=True) + "\n")
            self.report.flush()


def load_app() -> Any:
    spec = importlib.util.spec_from_file_location("function_app", APP)
    if spec is None or spec.loader is None:
        raise SystemExit(f"demo_azure: cannot import {APP}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


def reconcile_once(app: Any, report: Any, capture: Capture) -> int:
    """The `reconcile` timer function, invoked once as its schedule would (not past due); one report line per
    subscription's `reconcile summary`. A failed run (`ReconcileFailed`) fails, as the invocation would."""
    from azure.functions.timer import TimerRequest  # noqa: PLC0415 - what the worker builds

    functions = {f.get_function_name(): f for f in app.app.get_functions()}
    functions["reconcile"].get_user_function()(TimerRequest(past_due=False))
    for entry in capture.take():
        if "reconcile" in entry:
            line = {**entry["reconcile"], "complete": entry.get("complete")}
            report.write(json.dumps(line, sort_keys=True) + "\n")
    return 0


def host_main(args: argparse.Namespace) -> int:
    """The child: the app with its handler built on the loopback stand-ins, under `Host`."""
    from azure.core.credentials import AzureNamedKeyCredential  # noqa: PLC0415
    from qscan.azure.handler import AzureScanHandler  # noqa: PLC0415
    from qscan.config import Settings  # noqa: PLC0415
    from qscan.log import configure_logging  # noqa: PLC0415
    from qscan.registry.credentials import StaticCredentials  # noqa: PLC0415

    from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY  # noqa: PLC0415

    if not args.arm_url.startswith(f"https://{ARM_HOST}:"):
        print(
            f"demo_azure: the ARM URL must be the loopback fake (https://{ARM_HOST}:<port>)", file=sys.stderr
        )
        return 2
    capture = Capture()
    app = load_app()
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    logging.getLogger().addHandler(capture)
    # What the app's cold start builds, with the identity, storage key and ARM endpoint of the local stand-ins.
    app._handler = AzureScanHandler(
        settings,
        credential=Credential(),
        storage_credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
        arm_base_url=args.arm_url,
        registry_credentials=StaticCredentials({}),
    )
    with args.report.open("a", encoding="utf-8") as report:
        if args.reconcile:
            return reconcile_once(app, report, capture)
        host = Host(app, report, capture)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: host.stop.set())
        return host.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    host = sub.add_parser("host", help="the Functions host stand-in (started by scripts/demo.py)")
    host.add_argument("--arm-url", required=True, help="the fake ARM server")
    host.add_argument("--report", type=Path, required=True, help="JSON lines, one per invocation")
    host.add_argument(
        "--reconcile", action="store_true", help="run the reconcile timer function once instead of the queue"
    )
    return host_main(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
