"""`make demo`: the ECR push, Lambda deployment and ECS deployment scanning pipelines end to end on this machine,
with a SIMULATED scanner, also across accounts (hub-spoke) and on Azure.

    python scripts/demo.py [--no-destroy] [--work-dir .demo] [--report-dir reports] [--timeout 540]

Needs `make bootstrap package` (the Makefile's `demo` target runs both). Steps:

1. start a local moto server (tests/harness/moto_server.py: shimmed moto on 127.0.0.1, free port);
2. `terraform init` + `apply` environments/local (modules aws-core + ecr + lambda + fargate + reconciler-aws) on
   it, from a copy under the work dir, with the provider override that points every endpoint at moto;
3. start a loopback OCI registry over https (tests/harness/oci_registry.py: docker-registry with a self-signed
   certificate; skipped, with a message, when `make bootstrap` has not installed the tools) and push one public
   image with skopeo; put the Qualys secret (a dummy token: the scanner is simulated), subscribe a queue to the
   alerts topic;
4. put sample ECR events on the default event bus: a clean image, a vulnerable one, a duplicate of it (the
   CloudTrail PutImage call for the same digest), a failed push, a DELETE (neither may reach the queue) and an
   image whose scan fails. The real EventBridge rules route them into the real SQS queue;
5. run the real handler (handlers/aws/ecr/handler.py) over the queue as Lambda's event source mapping would
   (scripts/demo_worker.py: batches, partial batch failures, redelivery, the redrive to the dead-letter queue
   after max_receive_count receives; a short visibility timeout makes that take seconds), with the
   environment of the function's configuration, QSCAN_AWS_ENDPOINT_URL and QSCANNER_PATH pointing at the
   simulated scanner (tests/doubles/bin/qscanner with a scenario file written here);
6. Lambda: create a zip function on moto (a tiny zip built here), put its CloudTrail-shaped
   `CreateFunction20150331` event on the bus (moto delivers no CloudTrail events itself), and run the real
   handlers/aws/lambda/handler.py over the Lambda scan queue the same way; then really update the code (a new
   code SHA-256) and put `UpdateFunctionCode20150331v2` (scanned again), then change only the description and
   put `UpdateFunctionConfiguration20150331v2` (same code, same layers: a dedupe cache hit). Each event is
   handled before the next change, since the handler always reads what is deployed NOW (GetFunction);
7. ECS: push three images into moto's ECR (explicit digests), register task definition `demo-shop` (an ECR
   image by tag, an ECR image by digest, the public image), run it, create a service and update it to the
   same revision, then register `demo-reports` (one image whose scan fails); after each call its
   CloudTrail-shaped event goes on the bus, the real Fargate rule starts the real state machine, which moto
   executes (Map, Choice, Retry and Catch included), and every Task's Lambda Invoke runs the real
   handlers/aws/fargate/handler.py in scripts/demo_tasks.py (tests/harness/lambda_runner.running_function) with
   the task function's environment, the endpoint, the simulated scanner and the registry's CA bundle. Each
   execution ends before the next call;
8. the reconcilers, once each: the AWS reconciler function invoked on moto as its schedule would (its Invoke
   runs the real handlers/aws/reconciler/handler.py in scripts/demo_tasks.py with the function's environment),
   then, after the Azure part, the Functions app's `reconcile` timer function (scripts/demo_azure.py). The
   requests they enqueue for the artifacts whose scans failed stay queued: the report shows them
   never-scanned and requested (docs/demo.md);
9. hub-spoke (scripts/demo_hub_spoke.py): on a second moto server, started with step 2's apply, a background
   thread creates an organization with one member account and applies environments/aws-hub (moto's default
   account) and environments/aws-spoke (the member account, fed the hub's `spoke_config`); joined here, the
   spoke pushes an image into its ECR and creates a zip Lambda function, their events go on the SPOKE's
   default bus, its rules forward them to the hub bus, and the hub's real ECR and Lambda handlers drain the
   hub's queues (as in 5 and 6, with the hub functions' environment), assuming the spoke's read role; the
   results in the hub's bucket are read back and must name the spoke account. No destroy for this part;
10. print a summary table, write reports/demo-<timestamp>.html (and .json), run `qscan report` on the demo's
   stores (reports/qscan-report-aws-<timestamp>/, qscan-report-aws-hub-<timestamp>/ and, with the Azure part,
   qscan-report-azure-<timestamp>/: the results bucket and dedupe table on each moto server, Azurite's
   container and table), `terraform destroy` environments/local and stop everything it started. Ctrl-C (SIGINT), SIGTERM or a failure stop the workers and Terraform, the registry
   and then the moto servers (all of their resources vanish with them); no process or port is left behind.

Between 8's two reconcilers, the Azure part (scripts/demo_azure.py): Azurite, a fake ARM server and an Event Grid double on
loopback, ACI / ACA app / ACA job write events filtered as modules/aci-aca's event subscription filters them,
and the Functions app's queue trigger run over the Storage queue by a stand-in for the Functions host (retries,
poison queue). It needs the registry tools and Azurite (`make bootstrap`); without them it is skipped.

Exit status: 0 when every image ended as expected, 1 when an outcome differs, 2 when a prerequisite is
missing, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts import demo_azure, demo_report  # noqa: E402
from scripts.demo_report import Case  # noqa: E402
from tests.harness import moto_server as ms  # noqa: E402

if TYPE_CHECKING:
    from scripts import demo_hub_spoke
if __name__ == "__main__":  # scripts/demo_hub_spoke.py imports this module's parts: one module, one DemoError
    sys.modules.setdefault("scripts.demo", sys.modules[__name__])

ENVIRONMENT = Path("environments") / "local"
HANDLER = REPO / "handlers" / "aws" / "ecr" / "handler.py"
LAMBDA_HANDLER = REPO / "handlers" / "aws" / "lambda" / "handler.py"
DEMO_FUNCTION = "demo-orders-fn"  # not "<name_prefix>-...": qscan's own functions are never scanned
FAKE_QSCANNER = REPO / "tests" / "doubles" / "bin" / "qscanner"
WORKER = REPO / "scripts" / "demo_worker.py"
FARGATE_HANDLER = REPO / "handlers" / "aws" / "fargate" / "handler.py"
RECONCILER_HANDLER = REPO / "handlers" / "aws" / "reconciler" / "handler.py"
TASK_RUNNER = REPO / "scripts" / "demo_tasks.py"
HANDLER_ARTIFACTS = ("aws-ecr", "aws-lambda", "aws-fargate", "aws-reconciler")
# environments/local applies the reconciler only when asked (its schedule invokes nothing on moto)
TF_VARS = ("-var=enable_reconciler=true",)
ECS_CLUSTER, ECS_SERVICE = "demo-shop", "demo-shop-web"
SHOP_FAMILY, REPORTS_FAMILY = "demo-shop", "demo-reports"
# The ECS calls the demo makes for the shop task definition, in order; each one's CloudTrail event starts a run
# of the workflow. RegisterTaskDefinition scans; the others deploy the same revision: deduplicated.
ECS_SHOP_CALLS = ("RegisterTaskDefinition", "RunTask", "CreateService", "UpdateService")
EXECUTION_WAIT = 90.0  # seconds for one workflow execution
ESM_BATCH_SIZE = 1  # modules/ecr's batch_size default: one push per invocation
VISIBILITY_TIMEOUT = 2  # seconds; the module's 6x function timeout would make the redrive take minutes
TITLE = "qscan demo: ECR push, Lambda deployment, ECS deployment and Azure ACI/ACA scanning"
DUMMY_SECRET = {"pod": "US1", "access_token": "demo-simulated-not-a-qualys-token"}
TERRAFORM_STOP_GRACE = 20.0


class DemoError(Exception):
    """A step failed; the message says which and why."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# ----------------------------------------------------------------------------------------------- output
class Progress:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {message}", flush=True)


# ----------------------------------------------------------------------------------------------- cases
def oci_manifest(name: str) -> bytes:
    """A deterministic single-platform OCI image manifest (its blobs are never pulled: the scanner is simulated)."""

    def blob(part: str, media_type: str, size: int) -> dict[str, Any]:
        digest = hashlib.sha256(f"qscan-demo/{name}/{part}".encode()).hexdigest()
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": size}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob("config", "application/vnd.oci.image.config.v1+json", 1469),
        "layers": [blob("layer", "application/vnd.oci.image.layer.v1.tar+gzip", 3_145_728)],
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()


def _digest(repository: str, tag: str) -> str:
    """The digest of the image `repository:tag` (its `oci_manifest`), pushed into ECR or not."""
    return "sha256:" + hashlib.sha256(oci_manifest(f"{repository}:{tag}")).hexdigest()


CASES = (
    Case("clean", "clean image", "demo/web", "1.4.0", _digest("demo/web", "1.4.0"), 1, "clean"),
    Case(
        "vulnerable",
        "vulnerable image, pushed twice",
        "payments/orders-api",
        "2.14.0",
        _digest("payments/orders-api", "2.14.0"),
        2,
        "vulnerable",
        expect_dedupe_hits=1,
    ),
    Case(
        "failed-push",
        "failed push (result FAILURE)",
        "demo/web",
        "1.5.0-rc1",
        _digest("demo/web", "1.5.0-rc1"),
        1,
        "not delivered",
    ),
    Case(
        "delete",
        "non-matching event (DELETE)",
        "demo/web",
        "0.9.0",
        _digest("demo/web", "0.9.0"),
        1,
        "not delivered",
    ),
    Case(
        "scan-fails",
        "image whose scan fails",
        "legacy/batch-job",
        "0.3.2",
        _digest("legacy/batch-job", "0.3.2"),
        1,
        "dead-lettered",
    ),
)

FUNCTION_CASES = (
    Case(
        "fn-create",
        "Lambda zip function created",
        DEMO_FUNCTION,
        "CreateFunction20150331",
        "",
        1,
        "vulnerable",
        kind="function",
    ),
    Case(
        "fn-code",
        "Lambda code updated (new code SHA-256): scanned again",
        DEMO_FUNCTION,
        "UpdateFunctionCode20150331v2",
        "",
        1,
        "vulnerable",
        kind="function",
    ),
    Case(
        "fn-config",
        "Lambda configuration changed (same code, same layers)",
        DEMO_FUNCTION,
        "UpdateFunctionConfiguration20150331v2",
        "",
        1,
        "deduplicated",
        expect_dedupe_hits=1,
        kind="function",
    ),
)
ALL_CASES = CASES + FUNCTION_CASES

FINDINGS = [
    {
        "qid": "380012",
        "title": "OpenSSL buffer overflow",
        "severity": 5,
        "cves": ["CVE-2024-0001"],
        "packageName": "openssl",
        "installedVersion": "3.0.2",
        "fixedVersion": "3.0.14",
        "cvssScore": 9.8,
    },
    {
        "qid": "380013",
        "title": "glibc privilege escalation",
        "severity": 4,
        "cves": ["CVE-2024-0002"],
        "packageName": "glibc",
        "installedVersion": "2.35",
        "fixedVersion": "2.35-0ubuntu3.8",
        "cvssScore": 7.8,
    },
    {
        "qid": "380014",
        "title": "zlib memory corruption",
        "severity": 4,
        "cves": ["CVE-2024-0003"],
        "packageName": "zlib",
        "installedVersion": "1.2.11",
        "fixedVersion": "1.2.13",
        "cvssScore": 7.5,
    },
    {
        "qid": "380015",
        "title": "curl header leak",
        "severity": 3,
        "cves": ["CVE-2024-0004"],
        "packageName": "curl",
        "installedVersion": "7.81.0",
        "fixedVersion": "7.81.0-1ubuntu1.16",
        "cvssScore": 5.3,
    },
]


def native_event(case: Case, action: str = "PUSH", result: str = "SUCCESS") -> dict[str, Any]:
    return {
        "Source": "aws.ecr",
        "DetailType": "ECR Image Action",
        "Detail": json.dumps(
            {
                "result": result,
                "repository-name": case.repository,
                "image-digest": case.digest,
                "action-type": action,
                "image-tag": case.tag,
                "manifest-media-type": "application/vnd.oci.image.manifest.v1+json",
            }
        ),
    }


def cloudtrail_put_image(case: Case, account: str, region: str) -> dict[str, Any]:
    return {
        "Source": "aws.ecr",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(
            {
                "eventSource": "ecr.amazonaws.com",
                "eventName": "PutImage",
                "awsRegion": region,
                "requestParameters": {
                    "repositoryName": case.repository,
                    "imageTag": case.tag,
                    "registryId": account,
                },
                "responseElements": {
                    "image": {
                        "registryId": account,
                        "repositoryName": case.repository,
                        "imageId": {"imageDigest": case.digest, "imageTag": case.tag},
                    }
                },
            }
        ),
    }


def bus_entries(account: str, region: str) -> list[tuple[Case, dict[str, Any]]]:
    by_key = {c.key: c for c in CASES}
    return [
        (by_key["clean"], native_event(by_key["clean"])),
        (by_key["vulnerable"], native_event(by_key["vulnerable"])),
        (by_key["vulnerable"], cloudtrail_put_image(by_key["vulnerable"], account, region)),
        (by_key["failed-push"], native_event(by_key["failed-push"], result="FAILURE")),
        (by_key["delete"], native_event(by_key["delete"], action="DELETE")),
        (by_key["scan-fails"], native_event(by_key["scan-fails"])),
    ]


def function_zip(version: str) -> bytes:
    """A tiny deployment package; a fixed timestamp keeps its SHA-256 a function of `version` alone."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("app.py", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(
            info, f'VERSION = "{version}"\n\n\ndef handler(event, context):\n    return VERSION\n'
        )
    return buffer.getvalue()


def response_elements(configuration: dict[str, Any]) -> dict[str, Any]:
    """CloudTrail's responseElements of a Lambda write call: the function configuration, camelCased."""
    keys = (
        "FunctionName",
        "FunctionArn",
        "Runtime",
        "Role",
        "Handler",
        "CodeSize",
        "Description",
        "Timeout",
        "MemorySize",
        "LastModified",
        "CodeSha256",
        "Version",
        "PackageType",
        "State",
    )
    elements = {key[0].lower() + key[1:]: configuration[key] for key in keys if key in configuration}
    elements["layers"] = [
        {"arn": layer["Arn"], "codeSize": layer.get("CodeSize", 0)}
        for layer in configuration.get("Layers", [])
    ]
    return elements


def cloudtrail_lambda(
    event_name: str, request: dict[str, Any], configuration: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    """The EventBridge entry CloudTrail would deliver for one successful Lambda write call."""
    return cloudtrail_call(
        "lambda", event_name, request, response_elements(configuration), account=account, region=region
    )


def cloudtrail_call(
    service: str,
    event_name: str,
    request: dict[str, Any],
    response: dict[str, Any],
    *,
    account: str,
    region: str,
) -> dict[str, Any]:
    """The EventBridge entry CloudTrail would deliver for one successful write call to `service`."""
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "accountId": account,
            "arn": f"arn:aws:sts::{account}:assumed-role/demo-deployer/make-demo",
        },
        "eventTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "qscan-demo",
        "requestParameters": request,
        "responseElements": response,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    return {
        "Source": f"aws.{service}",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json.dumps(detail),
    }


def image_ref(case: Case, account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{case.repository}@{case.digest}"


def function_arn(account: str, region: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{DEMO_FUNCTION}"


def scenarios(account: str, region: str, ecs: EcsImages) -> dict[str, Any]:
    """The simulated scanner's behaviour per image reference or function ARN (tests/doubles/fake_qscanner.py)."""
    by_key = {c.key: c for c in CASES}
    by_ecs = {c.key: ecs.scanned_ref(c) for c in ecs.cases}
    targets: dict[str, Any] = {
        image_ref(by_key["vulnerable"], account, region): {
            "exit_code": 0,
            "findings": FINDINGS,
            "os": "ubuntu 22.04",
        },
        # 40: the scan ran but the vulnerability report could not be fetched: never recorded as clean.
        image_ref(by_key["scan-fails"], account, region): {"exit_code": 40},
        # `qscanner lambda <arn>`: the function's code with two HIGH findings (alerted at threshold HIGH).
        function_arn(account, region): {"exit_code": 0, "findings": FINDINGS[1:3], "os": "python3.12"},
        # ECS: the checkout image is vulnerable (alerted), the public one has a MEDIUM finding only (below the
        # HIGH threshold: recorded, not alerted), the report generator's scan fails (retried, then notified).
        by_ecs["ecs-checkout"]: {"exit_code": 0, "findings": FINDINGS[:2], "os": "alpine 3.20"},
        by_ecs["ecs-fails"]: {"exit_code": 40},
    }
    if "ecs-public" in by_ecs:
        targets[by_ecs["ecs-public"]] = {"exit_code": 0, "findings": FINDINGS[3:], "os": "debian 12"}
    return {"default": {"exit_code": 0, "findings": [], "os": "debian 12"}, "targets": targets}


# ----------------------------------------------------------------------------------------------- ECS
@dataclass(frozen=True)
class EcrImage:
    """An image the demo pushes into moto's ECR for the ECS part (the digest is the manifest's sha256)."""

    key: str
    title: str
    repository: str
    tag: str
    expect: str  # "clean" | "vulnerable" | "failed" (see `scenarios`)
    by_digest: bool = False  # the container names it by digest, not by tag
    family: str = SHOP_FAMILY  # the task definition that runs it

    @property
    def deployments(self) -> int:
        """The ECS calls that deploy it (`ecs_calls`): every one after the first is a dedupe hit."""
        return len(ECS_SHOP_CALLS) if self.family == SHOP_FAMILY else 1

    @property
    def digest(self) -> str:
        return _digest(self.repository, self.tag)


ECR_IMAGES = (
    EcrImage("ecs-cart", "ECS: ECR image by tag (container cart)", "shop/cart", "3.2.0", "clean"),
    EcrImage(
        "ecs-checkout",
        "ECS: ECR image by digest (container checkout)",
        "shop/checkout",
        "5.0.1",
        "vulnerable",
        by_digest=True,
    ),
    EcrImage(
        "ecs-fails",
        f"ECS: image whose scan fails (task definition {REPORTS_FAMILY})",
        "legacy/report-gen",
        "0.9.4",
        "failed",
        family=REPORTS_FAMILY,
    ),
)


@dataclass(frozen=True)
class PublicImage:
    """The public image on the loopback registry (https, self-signed: `ca_bundle` is its certificate)."""

    host: str
    repository: str
    tag: str
    digest: str
    ca_bundle: Path
    azure_digests: dict[str, str] = field(default_factory=dict)  # scripts/demo_azure.py's images


@dataclass
class EcsImages:
    """The images the demo's task definitions run, and their cases (the public one only with the tools)."""

    account: str
    region: str
    public: PublicImage | None
    cases: tuple[Case, ...] = ()

    def __post_init__(self) -> None:
        shop_calls = len(ECS_SHOP_CALLS)
        cases = [
            Case(
                image.key,
                image.title,
                image.repository,
                "" if image.by_digest else image.tag,
                image.digest,
                image.deployments,
                image.expect,
                expect_dedupe_hits=image.deployments - 1,
                kind="ecs",
            )
            for image in ECR_IMAGES
        ]
        if self.public is not None:
            cases.insert(
                2,
                Case(
                    "ecs-public",
                    "ECS: public image on the loopback registry (container web)",
                    f"{self.public.host}/{self.public.repository}",
                    self.public.tag,
                    self.public.digest,
                    shop_calls,
                    "vulnerable",
                    expect_dedupe_hits=shop_calls - 1,
                    kind="ecs",
                ),
            )
        self.cases = tuple(cases)

    @property
    def ecr_host(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    def container_image(self, key: str) -> str:
        """The image reference a container definition names."""
        if key == "ecs-public":
            assert self.public is not None
            return f"{self.public.host}/{self.public.repository}:{self.public.tag}"
        image = next(i for i in ECR_IMAGES if i.key == key)
        suffix = f"@{image.digest}" if image.by_digest else f":{image.tag}"
        return f"{self.ecr_host}/{image.repository}{suffix}"

    def scanned_ref(self, case: Case) -> str:
        """The reference qscanner gets: registry/repository@digest."""
        registry = "" if case.key == "ecs-public" else f"{self.ecr_host}/"
        return f"{registry}{case.repository}@{case.digest}"


# ----------------------------------------------------------------------------------------------- processes
@dataclass
class Children:
    """Every process this run started, so that any exit path stops them (also those the hub-spoke part's
    background thread starts: once stopping, a process started late is stopped at once)."""

    moto: ms.MotoServer | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    servers: list[ms.MotoServer] = field(default_factory=list)  # further moto servers (the hub-spoke part's)
    stopping: bool = False

    def track(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.processes.append(proc)
        if self.stopping:
            self.stop_process(proc, signal.SIGKILL, 5.0)
            raise DemoError("the demo is stopping")
        return proc

    def stop_process(self, proc: subprocess.Popen[bytes], first: int, grace: float) -> None:
        """Signal the process's own session (it leads one), wait, then SIGKILL the group."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, first)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (e.g. a scanner child)

    def stop_all(self) -> None:
        self.stopping = True
        for proc in reversed(list(self.processes)):
            # Terraform stops gracefully on SIGINT (state written); the worker on SIGTERM.
            first = signal.SIGINT if Path(str(proc.args[0])).name == "terraform" else signal.SIGTERM
            self.stop_process(proc, first, TERRAFORM_STOP_GRACE if first == signal.SIGINT else 5.0)
        self.processes.clear()
        for server in [*self.servers, *([self.moto] if self.moto is not None else [])]:
            ms.stop_server(server)
        self.servers.clear()
        self.moto = None


def popen(
    children: Children, cmd: list[str], log: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return children.track(
            subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        )


# ----------------------------------------------------------------------------------------------- terraform
class Terraform:
    def __init__(self, root: Path, logs: Path, children: Children, progress: Progress) -> None:
        terraform = shutil.which("terraform")
        if terraform is None:
            raise DemoError("terraform is not on PATH (Terraform >= 1.9 is needed)")
        self.binary = terraform
        self.root = root
        self.logs = logs
        self.children = children
        self.progress = progress
        self.env = ms.terraform_env({"TF_INPUT": "0"})

    def run(self, name: str, *args: str, timeout: float = 600, count: str | None = None) -> str:
        """Run one terraform command; progress every ~10 s (`count`: a line marker to count); returns its log."""
        log = self.logs / f"terraform-{name}.log"
        log.unlink(missing_ok=True)
        proc = popen(self.children, [self.binary, *args, "-no-color"], log, self.root, self.env)
        deadline, last = time.monotonic() + timeout, time.monotonic()
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise DemoError(f"terraform {name} took more than {timeout:.0f} s (log: {log})")
            time.sleep(0.25)
            if count and time.monotonic() - last >= 10:
                last = time.monotonic()
                text = log.read_text(errors="replace")
                total = re.search(r"Plan: (\d+) to add", text)
                done = text.count(count)
                self.progress.say(f"  terraform {name}: {done}/{total.group(1) if total else '?'} resources")
        self.children.processes.remove(proc)
        text = log.read_text(errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(text.strip().splitlines()[-25:])
            raise DemoError(f"terraform {name} failed (exit {proc.returncode}, log {log}):\n{tail}")
        return text

    def outputs(self) -> dict[str, Any]:
        done = subprocess.run(
            [self.binary, "output", "-json"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise DemoError(f"terraform output failed: {done.stderr.strip()[-500:]}")
        return {name: item["value"] for name, item in json.loads(done.stdout).items()}


def copy_environment(target: Path) -> Path:
    """environments/local and modules/ with the same relative layout, without local state or tests."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "moto_provider_override.tf", "tests")
    shutil.copytree(REPO / ENVIRONMENT, target / ENVIRONMENT, ignore=ignore)
    shutil.copytree(REPO / "modules", target / "modules", ignore=ignore)
    return target / ENVIRONMENT


# ----------------------------------------------------------------------------------------------- AWS side
def put_events(events: Any, entries: list[tuple[Case, dict[str, Any]]]) -> list[str]:
    """Put the entries on the default bus; returns their event ids."""
    response = events.put_events(Entries=[entry for _, entry in entries])
    if response.get("FailedEntryCount"):
        raise DemoError(
            f"EventBridge rejected {response['FailedEntryCount']} event(s): {response['Entries']}"
        )
    return [str(entry["EventId"]) for entry in response["Entries"]]


def subscribe_alerts(server: ms.MotoServer, topic_arn: str, name: str) -> str:
    sqs, sns = server.client("sqs"), server.client("sns")
    url = sqs.create_queue(QueueName=f"{name}-demo-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return str(url)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message body now in the queue (parsed JSON), deleted after reading."""
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {"unparsable": message["Body"][:200]}
            if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
                body = json.loads(body["Message"])  # not raw delivery: unwrap the SNS envelope
            bodies.append(body if isinstance(body, dict) else {"value": body})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def handler_environment(configuration: dict[str, Any], extra: dict[str, str]) -> dict[str, str]:
    """The function configuration's environment plus the local overrides, on a minimal base environment."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TZ")}
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    return {**base, **{str(k): str(v) for k, v in variables.items()}, **extra}


def describe_invocation(line: dict[str, Any]) -> str:
    parts = []
    failed = set(line.get("failed") or [])
    logged = line.get("logged") or []
    for record in line.get("records") or []:
        event = record.get("event") or {}
        if event.get("function"):
            what, subject = f"CloudTrail {event.get('event_name')}", f"function {event.get('function')}"
        else:
            what = (
                "CloudTrail PutImage" if event.get("detail_type") == "AWS API Call via CloudTrail" else "push"
            )
            subject = f"{event.get('repository')}:{event.get('tag')}"
        result = "FAILED (left for redelivery)" if record.get("message_id") in failed else "done"
        for entry in logged:
            code = str(entry.get("dedupe_key") or "").split("#")
            code_note = f" (code {code[2][:12]}...)" if code[0] == "lambda" and len(code) > 2 else ""
            if "status" in entry and "counts" in entry:
                counts = {k: v for k, v in (entry.get("counts") or {}).items() if v}
                result = (
                    f"scanned: {entry['status']}"
                    + (" " + ", ".join(f"{v} {k}" for k, v in counts.items()) if counts else ", no findings")
                    + code_note
                )
            elif entry.get("outcome") in ("cached", "claimed"):
                result = f"deduplicated ({entry['outcome']}: already scanned){code_note}"
        if record.get("message_id") in failed and not any("status" in e for e in logged):
            result = "scan FAILED: left for redelivery"
        parts.append(f"{subject} [{what}, receive #{record.get('receive_count')}] -> {result}")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------------- the run
@dataclass
class Options:
    work_dir: Path
    report_dir: Path
    destroy: bool
    timeout: float


def preflight() -> Path:
    manifest = REPO / "dist" / "manifest.json"
    try:
        artifacts = json.loads(manifest.read_text())["artifacts"]
        handler_zips = [REPO / artifacts[name]["path"] for name in HANDLER_ARTIFACTS]
    except (OSError, ValueError, KeyError, TypeError):
        raise DemoError(
            f"dist/manifest.json lacks one of the artifacts {', '.join(HANDLER_ARTIFACTS)}: run `make package` first"
        ) from None
    for handler_zip in handler_zips:
        if not handler_zip.is_file():
            raise DemoError(f"{handler_zip} is missing: run `make package` again")
    for path in (
        HANDLER,
        LAMBDA_HANDLER,
        FARGATE_HANDLER,
        RECONCILER_HANDLER,
        FAKE_QSCANNER,
        WORKER,
        TASK_RUNNER,
    ):
        if not path.is_file():
            raise DemoError(f"{path.relative_to(REPO)} is missing")
    return manifest


@dataclass
class Run:
    """One demo run: its directories and what it started."""

    options: Options
    progress: Progress
    children: Children
    manifest: Path
    stamp: str
    run_dir: Path
    server: ms.MotoServer | None = None
    terraform: Terraform | None = None
    out: dict[str, Any] = field(default_factory=dict)
    registry: tuple[int, int] | None = None  # the public registry's pid and port, while it runs

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def scenario_file(self) -> Path:
        return self.run_dir / "qscanner-scenarios.json"

    @property
    def moto(self) -> ms.MotoServer:
        if self.server is None:
            raise DemoError("the moto server is not running")
        return self.server


def start_run(options: Options, progress: Progress, children: Children) -> Run:
    manifest = preflight()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run = Run(options, progress, children, manifest, stamp, (options.work_dir / f"run-{stamp}").resolve())
    run.logs.mkdir(parents=True)
    shown = run.run_dir.relative_to(REPO) if run.run_dir.is_relative_to(REPO) else run.run_dir
    progress.say(f"work dir {shown}")
    children.moto = run.server = ms.start_server(run.run_dir / "moto", detach=True)
    progress.say(f"moto server {run.moto.endpoint} (pid {run.moto.pid})")
    return run


def deploy(run: Run, applying: Callable[[], None]) -> None:
    """Init and apply environments/local; `applying` is called once the apply is about to start."""
    root = copy_environment(run.run_dir / "tf")
    ms.write_provider_override(root, run.moto.endpoint)
    run.terraform = Terraform(root, run.logs, run.children, run.progress)
    run.terraform.run("init", "init", "-input=false", timeout=300)
    applying()
    run.progress.say(
        "terraform apply environments/local (modules aws-core + ecr + lambda + fargate + reconciler-aws); the AWS "
        "provider waits ~25 s "
        "after each SQS queue write, so this takes about a minute and a half"
    )
    applied = run.terraform.run(
        "apply",
        "apply",
        "-auto-approve",
        "-input=false",
        f"-var=manifest_path={run.manifest}",
        *TF_VARS,
        timeout=600,
        count="Creation complete",
    )
    created = re.search(r"Resources: (\d+) added", applied)
    run.progress.say(f"applied: {created.group(1) if created else '?'} resources")
    run.out = run.terraform.outputs()


@dataclass
class Scanner:
    """One scanner function as the demo runs it: its handler, queue and environment, the moto server it lives on
    and its queue's maxReceiveCount."""

    label: str
    handler: Path
    queue_url: str
    function_name: str
    configuration: dict[str, Any]
    env: dict[str, str]
    server: ms.MotoServer
    max_receive_count: int


def function_environment(
    run: Run,
    label: str,
    function_name: str,
    region: str,
    extra: dict[str, str] | None = None,
    *,
    server: ms.MotoServer | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A deployed function's configuration (GetFunctionConfiguration) and the environment its handler runs with
    here: the configuration's variables, the moto endpoint, the simulated scanner, a /tmp of its own. `server`:
    the moto server the function is deployed on (the demo's own by default)."""
    server = server or run.moto
    configuration = server.client("lambda").get_function_configuration(FunctionName=function_name)
    tmp = run.run_dir / "tmp" / label
    tmp.mkdir(parents=True)
    env = handler_environment(
        configuration,
        {
            "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
            "QSCANNER_PATH": str(FAKE_QSCANNER),
            "QSCAN_FAKE_QSCANNER_SCENARIOS": str(run.scenario_file),
            "QSCAN_FAKE_PYTHON": sys.executable,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": ms.FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": ms.FAKE_SECRET_KEY,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "TMPDIR": str(tmp),
            "HOME": str(tmp),
            **(extra or {}),
        },
    )
    return configuration, env


def prepare(run: Run, account: str, region: str, ecs: EcsImages) -> tuple[Scanner, Scanner, str]:
    """Secret, alerts subscription and scanner scenarios; returns the ECR and Lambda scanners and the alerts
    queue URL."""
    server, out = run.moto, run.out
    server.client("secretsmanager").put_secret_value(
        SecretId=out["qualys_secret_arn"], SecretString=json.dumps(DUMMY_SECRET)
    )
    alerts_url = subscribe_alerts(server, out["alert_topic_arn"], out["function_name"])
    run.scenario_file.write_text(json.dumps(scenarios(account, region, ecs), indent=2))
    run.progress.say(
        f"Qualys secret set (dummy token), alerts topic subscribed, scanner scenarios in {run.scenario_file.name}"
    )
    scanners = []
    for label, handler, queue_key, function_key in (
        ("ecr", HANDLER, "queue_url", "function_name"),
        ("lambda", LAMBDA_HANDLER, "lambda_queue_url", "lambda_function_name"),
    ):
        configuration, env = function_environment(run, label, out[function_key], region)
        scanners.append(
            Scanner(
                label,
                handler,
                out[queue_key],
                out[function_key],
                configuration,
                env,
                server,
                int(out["max_receive_count"]),
            )
        )
    return scanners[0], scanners[1], alerts_url


def push_image(ecr: Any, repository: str, tag: str) -> None:
    """Put `repository:tag` (its `oci_manifest`) into moto's ECR under its own digest (moto's is not its sha256)."""
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    ecr.put_image(
        repositoryName=repository,
        imageManifest=oci_manifest(f"{repository}:{tag}").decode(),
        imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
        imageTag=tag,
        imageDigest=_digest(repository, tag),
    )


def send_events(run: Run, account: str, region: str) -> None:
    """Push the images the successful push events announce into moto's ECR (a failed push and a deleted image
    are not there), then put the events on the bus."""
    ecr = run.moto.client("ecr")
    pushed = [case for case in CASES if case.expect != "not delivered"]
    for case in pushed:
        push_image(ecr, case.repository, case.tag)
    run.progress.say(f"pushed {', '.join(f'{c.repository}:{c.tag}' for c in pushed)} into moto's ECR")
    entries = bus_entries(account, region)
    put_events(run.moto.client("events"), entries)
    queued = run.moto.client("sqs").get_queue_attributes(
        QueueUrl=run.out["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    run.progress.say(
        f"put {len(entries)} events on the default bus; the rules routed "
        f"{queued['Attributes']['ApproximateNumberOfMessages']} into {run.out['queue_url'].rsplit('/', 1)[-1]}"
    )


def drive_handler(run: Run, scanner: Scanner, region: str, numbering: list[int]) -> list[dict[str, Any]]:
    """The handler over its queue, as the event source mapping would run it (scripts/demo_worker.py).
    `numbering` holds the last invocation number shown; the lines are renumbered across workers."""
    report_file = run.run_dir / f"invocations-{scanner.label}-{numbering[0]}.jsonl"
    cmd = [
        sys.executable,
        str(WORKER),
        *(
            "--handler",
            str(scanner.handler),
            "--queue-url",
            scanner.queue_url,
            "--endpoint",
            scanner.server.endpoint,
        ),
        *("--region", region, "--function-name", scanner.function_name),
        *(
            "--function-arn",
            scanner.configuration["FunctionArn"],
            "--timeout-seconds",
            str(scanner.configuration.get("Timeout", 60)),
        ),
        *("--batch-size", str(ESM_BATCH_SIZE), "--visibility-timeout", str(VISIBILITY_TIMEOUT)),
        *("--max-seconds", "150", "--report", str(report_file)),
    ]
    log = run.logs / f"handler-{scanner.label}.log"
    worker = popen(run.children, cmd, log, REPO, scanner.env)
    run.progress.say(
        f"handler {scanner.handler.relative_to(REPO)} runs over {scanner.queue_url.rsplit('/', 1)[-1]} like the "
        f"event source mapping (batch size {ESM_BATCH_SIZE}, failed records come back after "
        f"{VISIBILITY_TIMEOUT} s, dead-lettered after {scanner.max_receive_count} receives)"
    )
    invocations = follow(worker, report_file, run.progress, time.monotonic() + 170, numbering)
    run.children.processes.remove(worker)
    if worker.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
        raise DemoError(
            f"the {scanner.label} handler worker exited with {worker.returncode} (log {log}):\n{tail}"
        )
    return invocations


def lambda_deployments(
    run: Run, scanner: Scanner, account: str, region: str, numbering: list[int]
) -> list[dict[str, Any]]:
    """Create, update the code of, and reconfigure a zip function on moto; after each call its CloudTrail-shaped
    event goes on the bus and the Lambda handler drains its queue (it reads the deployed state, GetFunction)."""
    server = run.moto
    lam, events = server.client("lambda"), server.client("events")
    created = create_function(server.client("iam"), lam)
    steps: list[tuple[str, dict[str, Any], Any]] = [
        ("CreateFunction20150331", created[0], lambda: created[1]),
        (
            "UpdateFunctionCode20150331v2",
            {"functionName": DEMO_FUNCTION, "publish": False, "dryRun": False},
            lambda: lam.update_function_code(FunctionName=DEMO_FUNCTION, ZipFile=function_zip("1.1.0")),
        ),
        (
            "UpdateFunctionConfiguration20150331v2",
            {"functionName": DEMO_FUNCTION, "description": "qscan demo function, new description"},
            lambda: lam.update_function_configuration(
                FunctionName=DEMO_FUNCTION, Description="qscan demo function, new description"
            ),
        ),
    ]
    invocations: list[dict[str, Any]] = []
    for event_name, request, call in steps:
        configuration = call()
        put_events(
            events,
            [(FUNCTION_CASES[0], cloudtrail_lambda(event_name, request, configuration, account, region))],
        )
        run.progress.say(
            f"lambda {event_name} {DEMO_FUNCTION} (code {str(configuration.get('CodeSha256'))[:12]}...): "
            "its CloudTrail event is on the default bus"
        )
        invocations += drive_handler(run, scanner, region, numbering)
    return invocations


def create_function(iam: Any, lam: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo's zip function, created with its execution role in the account the clients act in; returns the
    CreateFunction request parameters as CloudTrail shows them and the function configuration."""
    role = iam.create_role(
        RoleName=f"{DEMO_FUNCTION}-exec",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    request = {
        "functionName": DEMO_FUNCTION,
        "runtime": "python3.12",
        "role": role,
        "handler": "app.handler",
        "code": {},
        "description": "qscan demo function v1",
        "timeout": 30,
        "memorySize": 128,
        "packageType": "Zip",
    }
    configuration = lam.create_function(
        FunctionName=DEMO_FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": function_zip("1.0.0")},
        Description="qscan demo function v1",
        Timeout=30,
        MemorySize=128,
    )
    return request, configuration


def start_public_registry(run: Run, stack: contextlib.ExitStack) -> PublicImage | None:
    """A loopback OCI registry (docker-registry over https) with one public image pushed by skopeo, stopped when
    `stack` closes; None (with a message) when the registry tools are missing."""
    from tests.harness import oci_registry  # noqa: PLC0415 - needs the registry tools' Python side only here

    missing = oci_registry.require_tools()
    if missing:
        run.progress.say(
            f"the public-registry image is SKIPPED: {', '.join(missing)} missing (`make bootstrap` installs them)"
        )
        return None
    registry = stack.enter_context(oci_registry.running_registry("none", tls=True))
    assert registry.tls_cert is not None and registry.process is not None
    layout = oci_registry.OciLayout.create(run.run_dir)
    digest = layout.tag("1.27", layout.image("qscan demo: public web image 1.27"))
    registry.push(layout, "public/web", "1.27")
    azure = demo_azure.push_images(registry, layout)
    run.registry = registry.process.pid, int(registry.host.rsplit(":", 1)[1])
    run.progress.say(
        f"public registry {registry.url} (docker-registry, self-signed TLS): pushed public/web:1.27 and the "
        f"Azure workloads' {', '.join(azure)}"
    )
    return PublicImage(registry.host, "public/web", "1.27", digest, registry.tls_cert, azure)


def jsonable(answer: dict[str, Any]) -> dict[str, Any]:
    """An API answer as CloudTrail records it: JSON (timestamps as text), without boto's metadata."""
    return {k: v for k, v in json.loads(json.dumps(answer, default=str)).items() if k != "ResponseMetadata"}


@dataclass
class EcsWorld:
    """What the ECS part created on moto: the network a Fargate task needs, the cluster, the task definitions."""

    network: dict[str, Any]
    shop_revision: str = ""


def ecs_setup(run: Run, ecs: EcsImages) -> EcsWorld:
    """The ECR images (explicit digests: moto's are not the manifest's sha256), a VPC for Fargate and the cluster."""
    server = run.moto
    ecr = server.client("ecr")
    for image in ECR_IMAGES:
        push_image(ecr, image.repository, image.tag)
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="demo-shop", Description="qscan demo", VpcId=vpc)["GroupId"]
    server.client("ecs").create_cluster(clusterName=ECS_CLUSTER)
    run.progress.say(
        f"ECS: pushed {', '.join(f'{i.repository}:{i.tag}' for i in ECR_IMAGES)} to ECR, created cluster "
        f"{ECS_CLUSTER} (Fargate network: {vpc})"
    )
    network = {
        "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}
    }
    return EcsWorld(network)


def task_definition_request(family: str, containers: dict[str, str]) -> dict[str, Any]:
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {"name": name, "image": image, "memory": 128, "essential": name == next(iter(containers))}
            for name, image in containers.items()
        ],
    }


def ecs_calls(ecs: EcsImages, world: EcsWorld) -> list[tuple[str, str, dict[str, Any]]]:
    """The ECS calls, in order: (eventName, what it deploys, request parameters as CloudTrail shows them)."""
    # DescribeTasks reports every container of the task (the moto shim ecs:task-containers), so the reconciler's
    # listing of the running task sees the public image too, which no ECR listing shows (ECR lists the other two)
    shop = {"web": ecs.container_image("ecs-public")} if ecs.public is not None else {}
    shop |= {"cart": ecs.container_image("ecs-cart"), "checkout": ecs.container_image("ecs-checkout")}
    revision = f"{SHOP_FAMILY}:1"
    service = {
        "cluster": ECS_CLUSTER,
        "taskDefinition": revision,
        "launchType": "FARGATE",
        "networkConfiguration": world.network,
    }
    shop_requests = {
        "RegisterTaskDefinition": task_definition_request(SHOP_FAMILY, shop),
        "RunTask": {**service, "count": 1},
        "CreateService": {**service, "serviceName": ECS_SERVICE, "desiredCount": 1},
        "UpdateService": {
            "cluster": ECS_CLUSTER,
            "service": ECS_SERVICE,
            "taskDefinition": revision,
            "forceNewDeployment": True,
        },
    }
    reports = task_definition_request(REPORTS_FAMILY, {"report": ecs.container_image("ecs-fails")})
    return [
        *((name, revision, shop_requests[name]) for name in ECS_SHOP_CALLS),
        ("RegisterTaskDefinition", f"{REPORTS_FAMILY}:1", reports),
    ]


def start_function_runner(
    run: Run, label: str, handler: Path, function_name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Path]:
    """scripts/demo_tasks.py: the real `handler` serving moto's Invoke calls of a deployed function; the runner
    and its report (one JSON line per invocation)."""
    ready, report = run.run_dir / f"{label}-runner.ready", run.run_dir / f"invocations-{label}.jsonl"
    cmd = [
        sys.executable,
        str(TASK_RUNNER),
        *("--handler", str(handler), "--function-name", function_name),
        *("--moto-state-dir", str(run.moto.state_dir), "--ready-file", str(ready)),
        *("--report", str(report)),
    ]
    log = run.logs / f"handler-{label}.log"
    runner = popen(run.children, cmd, log, REPO, env)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if runner.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
            raise DemoError(f"the {label} function runner did not start (log {log}):\n{tail}")
        time.sleep(0.1)
    return runner, report


def finished_execution(run: Run, event_id: str) -> dict[str, Any]:
    """The workflow execution the rule started for `event_id` (the shim records it), once it has ended."""
    machine, sfn = run.out["fargate_state_machine_arn"], run.moto.client("stepfunctions")
    deadline = time.monotonic() + EXECUTION_WAIT
    arn = None
    while time.monotonic() < deadline:
        if arn is None:
            routed = [
                d
                for d in run.moto.deliveries()
                if d["event"]["id"] == event_id and d["target_arn"] == machine
            ]
            if routed and routed[0].get("execution_error"):
                raise DemoError(f"EventBridge could not start the workflow: {routed[0]['execution_error']}")
            arn = routed[0].get("execution_arn") if routed else None
        if arn is not None:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
        time.sleep(0.2)
    raise DemoError(f"no finished workflow execution for event {event_id} after {EXECUTION_WAIT:.0f} s")


def ecs_deployments(
    run: Run, ecs: EcsImages, env: dict[str, str], account: str, region: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Register, run and deploy task definitions on moto; after each call its CloudTrail-shaped event goes on the
    bus, the Fargate rule starts the workflow on moto and its Tasks run the real handler (scripts/demo_tasks.py).
    Returns the executions (`demo_report.execution_record`) and the task function's invocation lines."""
    world = ecs_setup(run, ecs)
    client, events = run.moto.client("ecs"), run.moto.client("events")
    runner, report = start_function_runner(
        run, "fargate", FARGATE_HANDLER, run.out["fargate_function_name"], env
    )
    run.progress.say(
        f"handler {FARGATE_HANDLER.relative_to(REPO)} serves the workflow's Tasks (moto runs the state machine "
        f"{run.out['fargate_state_machine_arn'].rsplit(':', 1)[-1]} itself, Retry/Catch/Map included)"
    )
    calls = {
        "RegisterTaskDefinition": client.register_task_definition,
        "RunTask": client.run_task,
        "CreateService": client.create_service,
        "UpdateService": client.update_service,
    }
    executions = []
    for event_name, revision, request in ecs_calls(ecs, world):
        response = jsonable(calls[event_name](**request))
        (event_id,) = put_events(
            events,
            [
                (
                    ecs.cases[0],
                    cloudtrail_call("ecs", event_name, request, response, account=account, region=region),
                )
            ],
        )
        record = demo_report.execution_record(finished_execution(run, event_id))
        executions.append(record)
        run.progress.say(
            f"  ECS {event_name} {revision} -> workflow {str(record['name'])[:8]} {record['status']}: "
            + demo_report.describe_execution(record)
        )
    run.children.stop_process(runner, signal.SIGTERM, 5.0)
    run.children.processes.remove(runner)
    lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    return executions, [json.loads(line) for line in lines]


def reconcile_aws(run: Run, region: str, extra: dict[str, str]) -> list[dict[str, Any]]:
    """One run of the deployed reconciler function, invoked on moto as its schedule would invoke it (the input is
    ignored); the Invoke runs the real handler (scripts/demo_tasks.py) with the function's environment. Returns
    the run's summaries, one per account."""
    name = run.out["reconciler_function_name"]
    _, env = function_environment(run, "reconciler", name, region, extra)
    runner, _ = start_function_runner(run, "reconciler", RECONCILER_HANDLER, name, env)
    answer = run.moto.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    run.children.stop_process(runner, signal.SIGTERM, 5.0)
    run.children.processes.remove(runner)
    payload = json.loads(answer["Payload"].read())
    if answer.get("FunctionError") or not isinstance(payload, dict):
        raise DemoError(f"the reconciler failed: {payload} (log {run.logs / 'handler-reconciler.log'})")
    summaries: list[dict[str, Any]] = payload["accounts"]
    for summary in summaries:
        run.progress.say(
            f"reconciler {name} (invoked as its schedule would), account {summary['account']}: "
            + demo_report.describe_reconcile(summary)
        )
    return summaries


@dataclass
class Observed:
    """What the run saw: the queue handlers' invocations, the workflow's executions and Task invocations, and
    the reconcilers' summaries; the Azure and hub-spoke parts' observations."""

    invocations: list[dict[str, Any]]
    ecs_cases: tuple[Case, ...]
    executions: list[dict[str, Any]]
    task_calls: list[dict[str, Any]]
    reconciled: list[dict[str, Any]]
    azure: demo_azure.AzureObserved | None = None
    hub_spoke: demo_hub_spoke.HubSpokeObserved | None = None


def write_report(run: Run, observed: Observed, alerts_url: str) -> demo_report.Summary:
    sqs = run.moto.client("sqs")
    alerts = drain(sqs, alerts_url)
    dead = drain(sqs, run.out["dlq_url"]) + drain(sqs, run.out["lambda_dlq_url"])
    invocations = observed.invocations
    summary = demo_report.summarize(
        ALL_CASES + observed.ecs_cases,
        invocations,
        alerts,
        dead,
        executions=observed.executions,
        task_calls=observed.task_calls,
    )
    azure = observed.azure
    if azure is not None:
        summary.azure = demo_report.summarize_azure(
            azure.cases,
            azure.lines,
            azure.alerts,
            poisoned=azure.poisoned,
            message_cases=azure.message_cases,
            filtered=azure.filtered,
            results=azure.results,
        )
    hub_spoke = observed.hub_spoke
    if hub_spoke is not None:
        summary.hub_spoke = hub_spoke.summary()
    summary.elapsed_seconds = run.progress.elapsed()
    print()
    print(demo_report.render_table(summary))
    print()
    run.options.report_dir.mkdir(parents=True, exist_ok=True)
    html_path = run.options.report_dir / f"demo-{run.stamp}.html"
    facts = {
        "moto server": f"{run.moto.endpoint} (pid {run.moto.pid})",
        "Terraform root": "environments/local (copied into the work dir)",
        "Lambda function": f"{DEMO_FUNCTION} (zip, created and updated by the demo)",
        "ECS": f"cluster {ECS_CLUSTER}, service {ECS_SERVICE}, task definitions {SHOP_FAMILY}, {REPORTS_FAMILY}",
        "Fargate workflow": f"{run.out['fargate_state_machine_arn']} (executed by moto)",
        "handlers": ", ".join(str(h.relative_to(REPO)) for h in (HANDLER, LAMBDA_HANDLER, FARGATE_HANDLER)),
        "scanner": "tests/doubles/bin/qscanner (simulated)",
        **(azure.facts if azure is not None else {}),
        **(hub_spoke.facts if hub_spoke is not None else {}),
        "logs": str(run.logs),
    }
    page = demo_report.render_html(
        summary,
        title=TITLE,
        started_at=run.stamp,
        invocations=invocations,
        alerts=alerts,
        run_facts=facts,
        task_calls=observed.task_calls,
        azure_lines=azure.lines if azure is not None else (),
        azure_alerts=azure.alerts if azure is not None else None,
    )
    html_path.write_text(page, encoding="utf-8")
    data = summary.to_dict()
    data["moto"] = {"pid": run.moto.pid, "port": run.moto.port}
    data["registry"] = None if run.registry is None else {"pid": run.registry[0], "port": run.registry[1]}
    data["azure_processes"] = azure.processes if azure is not None else {}
    data["reconcile"] = {"aws": observed.reconciled, "azure": azure.reconciled if azure is not None else []}
    if hub_spoke is not None:
        data["hub_spoke"] |= {"moto": {"pid": hub_spoke.server.pid, "port": hub_spoke.server.port}}
    data["report"] = str(html_path)
    html_path.with_suffix(".json").write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    run.progress.say(f"report: {html_path} (summary data: {html_path.with_suffix('.json').name})")
    return summary


def coverage_reports(
    run: Run,
    azure: demo_azure.AzureObserved | None,
    hub_spoke: demo_hub_spoke.HubSpokeObserved | None,
) -> list[Path]:
    """`qscan report` (docs/report.md) on the demo's stores: the results bucket and dedupe table on moto, the
    hub's on the hub-spoke part's moto server, and Azurite's results container and dedupe table; one directory
    per store under the report dir."""
    qscan = Path(sys.executable).with_name("qscan")

    def aws_job(
        name: str, server: ms.MotoServer, bucket: str, table: str
    ) -> tuple[str, list[str], dict[str, str]]:
        env = {
            "QSCAN_AWS_ENDPOINT_URL": server.endpoint,
            "AWS_DEFAULT_REGION": ms.REGION,
            "AWS_ACCESS_KEY_ID": ms.FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": ms.FAKE_SECRET_KEY,
        }
        return name, ["--aws-bucket", bucket, "--dedupe-table", table], env

    jobs = [aws_job("aws", run.moto, run.out["results_bucket_name"], run.out["dedupe_table_name"])]
    if hub_spoke is not None:
        bucket = hub_spoke.applied.hub["results_bucket_name"]
        jobs.append(aws_job("aws-hub", hub_spoke.server, bucket, hub_spoke.dedupe_table))
    if azure is not None:
        azure_args = [
            *("--azure-account-url", azure.storage["blob_endpoint"]),
            *("--container", demo_azure.RESULTS_CONTAINER),
            *("--dedupe-table-name", demo_azure.DEDUPE_TABLE),
            *("--table-url", azure.storage["table_endpoint"]),
        ]
        jobs.append(
            ("azure", azure_args, {"AZURE_STORAGE_CONNECTION_STRING": azure.storage["connection_string"]})
        )
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "HOME")}
    written = []
    for cloud, args, extra in jobs:
        out = run.options.report_dir / f"qscan-report-{cloud}-{run.stamp}"
        log = run.logs / f"qscan-report-{cloud}.log"
        proc = popen(
            run.children, [str(qscan), "report", *args, "--out", str(out)], log, REPO, {**base, **extra}
        )
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise DemoError(f"qscan report ({cloud}) did not finish in 120 s (log: {log})") from exc
        if code != 0:
            raise DemoError(f"qscan report ({cloud}) exited {code} (log: {log})")
        written.append(out / "report.html")
        run.progress.say(f"qscan report ({cloud}): {out / 'report.html'} (and report.json)")
    return written


def run_demo(options: Options, progress: Progress, children: Children) -> int:
    from scripts import demo_hub_spoke  # noqa: PLC0415 - it imports this module's parts

    run = start_run(options, progress, children)
    hub_spoke = demo_hub_spoke.Deployment(run)
    deploy(run, hub_spoke.start)
    account = run.moto.client("sts").get_caller_identity()["Account"]
    region = ms.REGION
    with contextlib.ExitStack() as stack:  # the public registry runs until the report is written
        ecs = EcsImages(account, region, start_public_registry(run, stack))
        ecr, lambda_scanner, alerts_url = prepare(run, account, region, ecs)
        send_events(run, account, region)
        numbering = [0]
        invocations = drive_handler(run, ecr, region, numbering)
        invocations += lambda_deployments(run, lambda_scanner, account, region, numbering)
        extra = {"REQUESTS_CA_BUNDLE": str(ecs.public.ca_bundle)} if ecs.public is not None else {}
        _, fargate_env = function_environment(run, "fargate", run.out["fargate_function_name"], region, extra)
        executions, task_calls = ecs_deployments(run, ecs, fargate_env, account, region)
        reconciled = reconcile_aws(run, region, extra)
        azure = run_azure(run, stack, ecs.public)
        spoke = demo_hub_spoke.scan(run, hub_spoke, numbering)
        observed = Observed(invocations, ecs.cases, executions, task_calls, reconciled, azure, spoke)
        summary = write_report(run, observed, alerts_url)
        coverage_reports(run, azure, spoke)
    if options.destroy and run.terraform is not None:
        progress.say("terraform destroy (the queue policies wait ~25 s each, in parallel)")
        run.terraform.run(
            "destroy",
            "destroy",
            "-auto-approve",
            "-input=false",
            "-refresh=false",
            f"-var=manifest_path={run.manifest}",
            *TF_VARS,
            timeout=300,
        )
        progress.say(f"destroyed; {demo_hub_spoke.PREFIX} no destroy: stopping its moto server discards it")
    shutil.rmtree(run.run_dir / "tf", ignore_errors=True)
    return 0 if summary.ok else 1


def run_azure(
    run: Run, stack: contextlib.ExitStack, public: PublicImage | None
) -> demo_azure.AzureObserved | None:
    """The Azure part (scripts/demo_azure.py) on the registry's images; skipped, with a message, without the
    registry tools or Azurite (`make bootstrap` installs both)."""
    from tests.harness.azurite import AZURITE_BIN  # noqa: PLC0415 - the Azure SDKs load for the Azure part only

    if public is None or not AZURITE_BIN.exists():
        run.progress.say(
            "the Azure part is SKIPPED: it needs the registry tools and Azurite (`make bootstrap`)"
        )
        return None
    try:
        return demo_azure.run_azure(
            run_dir=run.run_dir,
            logs=run.logs,
            say=run.progress.say,
            children=run.children,
            stack=stack,
            registry_host=public.host,
            registry_ca=public.ca_bundle,
            digests=public.azure_digests,
        )
    except RuntimeError as exc:
        raise DemoError(f"Azure: {exc}") from exc


def follow(
    worker: subprocess.Popen[bytes], report: Path, progress: Progress, deadline: float, numbering: list[int]
) -> list[dict[str, Any]]:
    """Print each invocation as the worker reports it (numbered on from `numbering[0]`); return them all once
    the worker exits."""
    lines: list[dict[str, Any]] = []
    offset = 0
    while True:
        running = worker.poll() is None
        if report.exists():
            with report.open("r", encoding="utf-8") as handle:
                handle.seek(offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            offset += len(complete.encode())
            for raw in complete.splitlines():
                line = json.loads(raw)
                numbering[0] += 1
                line["invocation"] = numbering[0]
                lines.append(line)
                progress.say(f"  invocation {line['invocation']}: {describe_invocation(line)}")
        if not running:
            return lines
        if time.monotonic() > deadline:
            raise DemoError("the handler did not drain the queue in time")
        time.sleep(0.2)


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines)
    print("+" + "-" * (width + 2) + "+")
    for line in lines:
        print(f"| {line.ljust(width)} |")
    print("+" + "-" * (width + 2) + "+", flush=True)


INTRO = [
    f"{TITLE} on this machine",
    "SIMULATED: the scanner is a test double (tests/doubles/bin/qscanner) with made-up",
    "findings, AWS is a local moto server and Azure is Azurite with local doubles of ARM",
    "and Event Grid. Nothing leaves this machine.",
]
OUTRO = [
    "That was the SIMULATED scanner on a local moto server. For real scans:",
    "  1. QSCANNER_BINARY=/path/to/qscanner make package   (Qualys' linux-amd64 binary -> Lambda layer)",
    "     or set qscanner_layer_arn to an existing layer",
    "  2. cd environments/aws-single-account && terraform init && terraform apply -var region=...",
    '  3. put {"pod": "US2", "access_token": "..."} into the created Qualys secret (see its README)',
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=REPO / ".demo", help="state, logs, Terraform copy")
    parser.add_argument(
        "--report-dir", type=Path, default=REPO / "reports", help="where the HTML report goes"
    )
    parser.add_argument(
        "--no-destroy",
        action="store_true",
        help="skip `terraform destroy` (stopping moto discards everything anyway)",
    )
    parser.add_argument("--timeout", type=float, default=540.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    options = Options(args.work_dir, args.report_dir, not args.no_destroy, args.timeout)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signum)

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        raise DemoError(f"the demo took more than {options.timeout:.0f} s")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(options.timeout)))
    banner(INTRO)
    progress = Progress()
    children = Children()
    code = 1
    try:
        code = run_demo(options, progress, children)
    except Interrupted as exc:
        print(f"\ninterrupted ({exc}): stopping what the demo started", flush=True)
        code = 130 if exc.signum == signal.SIGINT else 143
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr, flush=True)
        code = 2 if "make package" in str(exc) else 1
    except Exception as exc:  # noqa: BLE001 - report any failure in one line, then clean up like the others
        print(f"\ndemo failed unexpectedly: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.alarm(0)
        # A second Ctrl-C must not abandon the cleanup half-way.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        children.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        progress.say(
            "stopped every process the demo started (moto servers, Terraform, handler workers, registry)"
        )
    banner(OUTRO)
    print(f"elapsed {progress.elapsed():.0f} s; exit {code}", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
