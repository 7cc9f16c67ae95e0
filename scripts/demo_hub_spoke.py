"""The hub-spoke part of `make demo` (scripts/demo.py): a spoke account's ECR push and Lambda deployment scanned
by the hub (issue 13, docs/hub-spoke.md), on a second moto server of its own.

1. `Deployment.start()` (right after the local environment's apply has started): a second shimmed moto server
   (tracked in the demo's `Children`, so every exit path stops it), then in a background thread: an
   organization with one member account (the spoke), environments/aws-hub applied in the hub (moto's default
   account) and environments/aws-spoke in the member account (a provider override that assumes a role there,
   `tests.harness.hub_spoke_env`), fed the hub's `spoke_config` output as its `hub.auto.tfvars.json`, as
   docs/hub-spoke.md tells users. Terraform's output goes to the demo's logs (`terraform-hub-spoke-*.log`).
   The applies are mostly waits (the AWS provider's consistency waits), so they overlap the rest of the demo.
2. `Deployment.join()` waits for them; a failure there surfaces as the demo's DemoError, with the log path.
3. `scan()`: in the spoke account, push an image into its ECR and put the native ECR push event on ITS default
   bus, create a zip Lambda function and put its CloudTrail-shaped CreateFunction event there too (the demo's
   own builders, with the spoke's account). The spoke's rules forward both to the hub bus (the moto shims keep
   the envelope and enforce the hub bus policy); the hub's real ECR and Lambda handlers run over the HUB's queues
   as the demo runs the local ones (scripts/demo_worker.py), with the hub functions' environment: they assume
   the spoke's read role (moto's STS binds the keys to the spoke) and the simulated scanner scans. The results
   in the hub's bucket are read back: they must name the spoke account.

There is no `terraform destroy` for this part: stopping its moto server discards it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scripts import demo_report
from scripts.demo import (
    DEMO_FUNCTION,
    DUMMY_SECRET,
    FINDINGS,
    HANDLER,
    LAMBDA_HANDLER,
    DemoError,
    Run,
    Scanner,
    Terraform,
    _digest,
    cloudtrail_lambda,
    create_function,
    drain,
    drive_handler,
    function_arn,
    function_environment,
    image_ref,
    native_event,
    push_image,
    put_events,
    subscribe_alerts,
)
from scripts.demo_report import Case
from tests.harness import hub_spoke_env as hs
from tests.harness import moto_server as ms

PREFIX = "hub-spoke:"
EXTERNAL_ID = "qscan-demo-hub-spoke"
SPOKE_REPOSITORY, SPOKE_TAG = "spoke/payments-api", "3.1.0"
IMAGE_CASE = Case(
    "spoke-ecr-push",
    "spoke account: ECR push, scanned by the hub",
    SPOKE_REPOSITORY,
    SPOKE_TAG,
    _digest(SPOKE_REPOSITORY, SPOKE_TAG),
    1,
    "vulnerable",
)
FUNCTION_CASE = Case(
    "spoke-fn-create",
    "spoke account: Lambda zip function created, scanned by the hub",
    DEMO_FUNCTION,
    "CreateFunction20150331",
    "",
    1,
    "vulnerable",
    kind="function",
)


@dataclass(frozen=True)
class Applied:
    """The applied hub and spoke: the organization, the spoke account and both roots' outputs."""

    org: hs.Organization
    spoke: str
    hub: dict[str, Any]
    spoke_out: dict[str, Any]


@dataclass
class HubSpokeObserved:
    """What the scan step saw, for the summary (`demo_report.summarize_hub_spoke`) and `qscan report`."""

    server: ms.MotoServer
    applied: Applied
    invocations: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    results: dict[str, list[str]]  # case key -> the accounts its result documents in the hub's bucket name
    dedupe_table: str

    def summary(self) -> demo_report.HubSpokeSummary:
        """The part's outcomes: each case's results must name the spoke account (`Case.scope`)."""
        spoke = self.applied.spoke
        return demo_report.summarize_hub_spoke(
            (replace(IMAGE_CASE, scope=spoke), replace(FUNCTION_CASE, scope=spoke)),
            self.invocations,
            self.alerts,
            hub_account=hs.HUB_ACCOUNT,
            results=self.results,
        )

    @property
    def facts(self) -> dict[str, str]:
        return {
            "hub-spoke moto server": f"{self.server.endpoint} (pid {self.server.pid})",
            "hub-spoke roots": (
                f"environments/aws-hub in account {hs.HUB_ACCOUNT}, environments/aws-spoke in member account "
                f"{self.applied.spoke} of organization {self.applied.org.id}"
            ),
        }


class Deployment:
    """The hub and spoke applies, in a background thread on a moto server of their own."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.scratch = run.run_dir / "hub-spoke"
        self.server = ms.start_server(self.scratch / "moto", detach=True)
        run.children.servers.append(self.server)
        self.applied: Applied | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._apply_all, name="hub-spoke-apply", daemon=True)

    def say(self, message: str) -> None:
        self.run.progress.say(f"{PREFIX} {message}")

    def start(self) -> None:
        self.say(
            f"moto server {self.server.endpoint} (pid {self.server.pid}); applying environments/aws-hub and "
            "environments/aws-spoke on it in the background"
        )
        self.thread.start()

    def _terraform(self, root: Path, what: str) -> dict[str, Any]:
        terraform = Terraform(root, self.run.logs, self.run.children, self.run.progress)
        terraform.run(f"hub-spoke-{what}-init", "init", "-input=false", timeout=300)
        applied = terraform.run(
            f"hub-spoke-{what}-apply", "apply", "-auto-approve", "-input=false", timeout=600
        )
        created = applied.rsplit("Resources: ", 1)[-1].split(" added", 1)[0]
        self.say(f"applied environments/aws-{what}: {created} resources")
        return terraform.outputs()

    def _apply_all(self) -> None:
        try:
            org = hs.organization(self.server, 1)
            (spoke,) = org.members
            self.say(f"organization {org.id} with member account {spoke} (the spoke)")
            root = hs.hub_root(
                self.server, self.scratch, org, self.run.manifest, spoke_external_id=EXTERNAL_ID
            )
            hub = self._terraform(root, "hub")
            spoke_root = hs.spoke_root(
                self.server, self.scratch, hs.Spoke(spoke, ms.REGION), hub["spoke_config"]
            )
            self.applied = Applied(org, spoke, hub, self._terraform(spoke_root, "spoke"))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by join()
            self.error = exc

    def join(self) -> Applied:
        """Wait for the applies (in short steps, so Ctrl-C and the demo's timeout still interrupt the wait)."""
        if self.thread.is_alive():
            self.say("waiting for the hub and spoke applies")
        while self.thread.is_alive():
            self.thread.join(0.25)
        if isinstance(self.error, DemoError):
            raise DemoError(f"{PREFIX} {self.error}") from self.error
        if self.error is not None:
            raise DemoError(
                f"{PREFIX} the hub and spoke applies failed: {type(self.error).__name__}: {self.error} "
                f"(logs {self.run.logs / 'terraform-hub-spoke-*.log'})"
            ) from self.error
        assert self.applied is not None
        return self.applied


def scenarios(spoke: str) -> dict[str, Any]:
    """The simulated scanner's answers for the spoke's image and function (tests/doubles/fake_qscanner.py)."""
    return {
        "default": {"exit_code": 0, "findings": [], "os": "debian 12"},
        "targets": {
            image_ref(IMAGE_CASE, spoke, ms.REGION): {
                "exit_code": 0,
                "findings": FINDINGS,
                "os": "ubuntu 22.04",
            },
            function_arn(spoke, ms.REGION): {"exit_code": 0, "findings": FINDINGS[1:3], "os": "python3.12"},
        },
    }


def hub_scanner(
    run: Run, server: ms.MotoServer, label: str, handler: Path, *, function: str, rule: str
) -> Scanner:
    """A hub function as the demo runs it: its configuration's environment on the hub-spoke server, the queue
    its hub rule delivers to, and that queue's redrive setting."""
    scenario_file = run.run_dir / "qscanner-scenarios-hub-spoke.json"
    configuration, env = function_environment(
        run, label, function, ms.REGION, {"QSCAN_FAKE_QSCANNER_SCENARIOS": str(scenario_file)}, server=server
    )
    queue_url, _ = hs.hub_queue(server, rule)
    redrive = server.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    receives = int(json.loads(redrive["Attributes"]["RedrivePolicy"])["maxReceiveCount"])
    return Scanner(label, handler, queue_url, function, configuration, env, server, receives)


def disable_event_source_mappings(server: ms.MotoServer, *functions: str) -> None:
    """Disable the hub functions' SQS event source mappings on moto: moto would try to invoke the function
    (in Docker) on each message, receiving it first; the demo's worker is the mapping here (environments/local
    creates none, for the same reason)."""
    lam = server.client("lambda")
    for function in functions:
        for mapping in lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]:
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)


def scan(run: Run, deployment: Deployment, numbering: list[int]) -> HubSpokeObserved:
    """Join the applies, then the spoke's ECR push and Lambda deployment, scanned by the hub (module docstring)."""
    applied = deployment.join()
    server, spoke, hub, region = deployment.server, applied.spoke, applied.hub, ms.REGION
    deployment.say(
        f"spoke {spoke} forwards to {hub['event_bus_arn']}; the hub's scanners assume "
        f"{applied.spoke_out['read_role_arn']}"
    )
    server.client("secretsmanager").put_secret_value(
        SecretId=hub["qualys_secret_arn"], SecretString=json.dumps(DUMMY_SECRET)
    )
    alerts_url = subscribe_alerts(server, hub["alert_topic_arn"], "qscan-hub")
    (run.run_dir / "qscanner-scenarios-hub-spoke.json").write_text(json.dumps(scenarios(spoke), indent=2))

    disable_event_source_mappings(server, hub["ecr_function_name"], hub["lambda_function_name"])
    events = hs.account_client(server, "events", spoke)
    push_image(hs.account_client(server, "ecr", spoke), SPOKE_REPOSITORY, SPOKE_TAG)
    put_events(events, [(IMAGE_CASE, native_event(IMAGE_CASE))])
    deployment.say(
        f"pushed {SPOKE_REPOSITORY}:{SPOKE_TAG} into account {spoke}'s ECR; its push event is on {spoke}'s default bus"
    )
    ecr = hub_scanner(run, server, "hub-ecr", HANDLER, function=hub["ecr_function_name"], rule=hs.ECR_RULE)
    invocations = drive_handler(run, ecr, region, numbering)

    request, configuration = create_function(
        hs.account_client(server, "iam", spoke), hs.account_client(server, "lambda", spoke)
    )
    put_events(
        events,
        [(FUNCTION_CASE, cloudtrail_lambda(FUNCTION_CASE.tag, request, configuration, spoke, region))],
    )
    deployment.say(
        f"lambda {FUNCTION_CASE.tag} {DEMO_FUNCTION} in account {spoke}: its CloudTrail event is on {spoke}'s "
        "default bus"
    )
    lam = hub_scanner(
        run, server, "hub-lambda", LAMBDA_HANDLER, function=hub["lambda_function_name"], rule=hs.LAMBDA_RULE
    )
    invocations += drive_handler(run, lam, region, numbering)

    bucket = hub["results_bucket_name"]
    results = {
        IMAGE_CASE.key: f"ecr/{spoke}/{region}/{SPOKE_REPOSITORY}/",
        FUNCTION_CASE.key: f"lambda/{spoke}/{region}/{DEMO_FUNCTION}/",
    }
    named = {
        key: [str(d["target"]["account"]) for d in hs.result_documents(server, bucket, prefix)]
        for key, prefix in results.items()
    }
    for key, accounts in named.items():
        deployment.say(
            f"{key}: {len(accounts)} result(s) in the hub's bucket {bucket}, naming account(s) {accounts}"
        )
    return HubSpokeObserved(
        server,
        applied,
        invocations,
        drain(server.client("sqs"), alerts_url),
        named,
        str(ecr.env["QSCAN_DEDUPE_TABLE"]),
    )
