"""ACI scan jobs (QSCAN_AZURE_SCAN_MODE=aci-job): one container group per image, for scans longer than the
function allows. Both halves live here: what the Functions app does (`ScanJobs`: start a job, check it) and
what the job container runs (`python -m qscan.azure.scan_job`: `main`).

Start (the queue handler, after it resolved the image and won its claim for the job's name, `job_name`):

- `ScanJobs.start` PUTs a container group through ARM (`container_groups.begin_create_or_update`, not waited
  for) in QSCAN_SCAN_JOB_RESOURCE_GROUP_ID, at QSCAN_SCAN_JOB_LOCATION: the image QSCAN_SCAN_JOB_IMAGE,
  command `JOB_COMMAND`, restart policy Never, QSCAN_SCAN_JOB_CPU / QSCAN_SCAN_JOB_MEMORY_GB, the user-assigned
  identity QSCAN_SCAN_JOB_IDENTITY_ID (the job writes Blob and Table, publishes, and pulls its own image from
  ACR with it), and the tag `qscan.azure.workloads.OWN_TAG`, so the write event of the job's own group is
  skipped like every qscan resource. Environment (`job_environment`): the target as JSON (`TARGET_ENV`), the
  claim owner (`OWNER_ENV`), the storage, result and topic settings, the scan settings, the identity's client
  id; the Qualys token and the target registry's credential (that registry only) ONLY as `secureValue`
  (ARM never returns those; never `value`, never the command line);
- then a job check goes on the scan queue with a visibility delay (QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS): the
  strict body `{"qscan_job": {"name", "key", "owner", "deadline"}}` (`JobCheck`; unknown keys rejected). The
  deadline is `START_ALLOWANCE_SECONDS` (provisioning, image pull) plus the claim's lease (scan timeout + lease
  margin) from the start; the job renews its claim when it starts scanning.
- Errors: a failed PUT releases the claim and raises (the scan message is retried, then poisoned and alerted on);
  a failed enqueue raises with the claim kept: the redelivered message wins its own claim again (the owner, the
  job name, derives from the message id and the dedupe key), PUTs the same group again (ARM's PUT is idempotent)
  and enqueues the check.

Check (`ScanJobs.check`, for a job-check message): GET the group (instance view; the answer is untrusted):

- the scan container terminated (or the group failed to provision) -> DELETE the group; exit code 0 is
  `succeeded`; 1 is `failed`, recorded by the job (`EXIT_RECORDED_FAILURE`: its pipeline persisted the failure,
  notified and released the claim); any other end (2, 3, killed, never started) is `failed` and the check
  records it through the same `Pipeline.record` (persisted, one failure notification, claim released if still
  the job's);
- still running before the deadline -> the next check is queued (`running`);
- past the deadline -> DELETE, and the same failure path with status `timeout`;
- a group that is gone (404) was cleaned up by an earlier delivery of this check (`gone`): nothing to do.
A failed job is not re-run by the queue (a redelivered check cannot repeat a scan): its failure notification
goes out once and the released claim lets the next write event, or the reconciler, scan the image again.
ARM or store errors raise, so the check is redelivered (every step is idempotent) and finally poisoned.

The job (`main`): reads `TARGET_ENV` and `OWNER_ENV` (validated: the environment is untrusted input) and the
settings, builds the same `qscan.azure.handler.AzureScanHandler` as the function (identity, stores, publisher,
runner; the Qualys secret from its environment, the registry credential from its secure variables) and runs
`Pipeline.process` with the owner: it wins its own claim again (renewing the lease), scans, persists, notifies
and completes. Exit 0 when the scan is recorded (or another scan already holds the image), 1 when the scan
failed and was recorded (the pipeline notified and released the claim), 2 on invalid input, 3 on any other
failure (nothing recorded: the check records it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, Literal

from qscan.config import ENV_NAMES, Settings
from qscan.errors import ConfigError, InvalidEvent, QscanError, TransientError
from qscan.pipeline import Pipeline, ScanFailed
from qscan.registry.credentials import PASSWORD_ENV, USERNAME_ENV, RegistryCredential
from qscan.secrets import ENV_KEYS, QualysSecret
from qscan.structs import struct
from qscan.target import ScanTarget

LOG = logging.getLogger(__name__)

CHECK_KEY = "qscan_job"
TARGET_ENV = "QSCAN_JOB_TARGET"
OWNER_ENV = "QSCAN_JOB_OWNER"
CLIENT_ID_ENV = "AZURE_CLIENT_ID"
JOB_PREFIX = "qscan-job-"
CONTAINER = "scan"
JOB_COMMAND = ("python", "-m", "qscan.azure.scan_job")
OWN_TAG_VALUE = "scan-job"
MAX_TARGET_CHARS = 8192
# The job's exit codes: the check records a failure for any but these two (the job did it itself).
EXIT_OK = 0  # the scan is recorded (or another scan holds the image)
EXIT_RECORDED_FAILURE = 1  # the scan failed and the pipeline recorded it, notified and released the claim
EXIT_INVALID = 2  # the job's own input was rejected
EXIT_FAILED = 3  # anything else: nothing recorded
START_ALLOWANCE_SECONDS = 600  # provisioning and the image pull, before the job renews its claim and scans
MAX_DEADLINE = 4102444800  # 2100-01-01: a deadline beyond is not one qscan wrote
# Settings the job needs, forwarded as plain values (never a secret: the secret ones go as secureValue).
FORWARDED: tuple[str, ...] = (
    "storage_account_url",
    "storage_table_url",
    "dedupe_table_name",
    "results_container",
    "eventgrid_topic_endpoint",
    "scan_types",
    "scan_timeout_seconds",
    "scanner_cache_max_mb",
    "lease_margin_seconds",
    "cache_ttl_seconds",
    "severity_threshold",
    "log_level",
)
_JOB_NAME = r"^qscan-job-[0-9a-f]{32}$"
_CHECK_FIELDS = frozenset({"name", "key", "owner", "deadline"})
JobState = Literal["running", "succeeded", "failed", "gone"]
GONE = object()  # what `ScanJobs._arm` answers for a 404


def job_name(message_id: str, dedupe_key: str) -> str:
    """The job (container group) name and claim owner of one image of one queue message: stable across the
    message's redeliveries, valid as an ACI name (lower-case letters, digits, hyphens; 42 characters)."""
    digest = hashlib.sha256(f"{message_id}\n{dedupe_key}".encode()).hexdigest()
    return JOB_PREFIX + digest[:32]


@struct
class JobCheck:
    """A job-check message: which group to look at, the claim it holds and when it must be done."""

    name: str
    key: str
    owner: str
    deadline: int

    def body(self) -> str:
        return json.dumps(
            {CHECK_KEY: {"name": self.name, "key": self.key, "owner": self.owner, "deadline": self.deadline}},
            separators=(",", ":"),
        )


def is_check(message: Any) -> bool:
    """Whether a decoded scan-queue message is a job check (a JSON object with the `qscan_job` key)."""
    return isinstance(message, dict) and CHECK_KEY in message


def parse_check(message: Any) -> JobCheck:
    """The validated job check, else `InvalidEvent` (the queue is writable by more than qscan: untrusted)."""
    if not isinstance(message, dict) or set(message) != {CHECK_KEY}:
        raise InvalidEvent(f"a job check is an object with the single key {CHECK_KEY!r}")
    body = message[CHECK_KEY]
    if not isinstance(body, dict) or set(body) != _CHECK_FIELDS:
        raise InvalidEvent(f"a job check has exactly the fields {', '.join(sorted(_CHECK_FIELDS))}")
    name, key, owner, deadline = body["name"], body["key"], body["owner"], body["deadline"]
    if not isinstance(name, str) or not re.fullmatch(_JOB_NAME, name):
        raise InvalidEvent("job check: name is not a qscan job name")
    if owner != name:
        raise InvalidEvent("job check: owner is not the job's name")
    if not isinstance(key, str) or not key.startswith("image#sha256:") or len(key) > 200:
        raise InvalidEvent("job check: key is not an image dedupe key")
    if isinstance(deadline, bool) or not isinstance(deadline, int) or not 0 < deadline < MAX_DEADLINE:
        raise InvalidEvent("job check: deadline is not an epoch second")
    return JobCheck(name=name, key=key, owner=owner, deadline=deadline)


def job_environment(
    settings: Settings,
    target: ScanTarget,
    owner: str,
    *,
    secret: QualysSecret,
    registry: RegistryCredential | None,
    client_id: str | None,
) -> list[tuple[str, str, bool]]:
    """The job container's environment as (name, value, secure); secure ones go only as `secureValue`."""
    plain: dict[str, str] = {
        ENV_NAMES["cloud"]: "azure",
        ENV_NAMES["scanner_backend"]: "qscanner",
        TARGET_ENV: json.dumps(target.to_dict(), separators=(",", ":")),
        OWNER_ENV: owner,
    }
    for field in FORWARDED:
        value = getattr(settings, field)
        if value is not None:
            plain[ENV_NAMES[field]] = ",".join(value) if isinstance(value, tuple) else str(value)
    if client_id:
        plain[CLIENT_ID_ENV] = client_id
    if not secret.pod or not secret.access_token:
        raise ConfigError("aci-job mode needs a Qualys secret with a pod and an access_token")
    plain[ENV_KEYS["pod"]] = secret.pod
    env = [(name, value, False) for name, value in plain.items()]
    env.append((ENV_KEYS["access_token"], secret.access_token, True))
    if registry is not None:
        env += [(USERNAME_ENV, registry.username, True), (PASSWORD_ENV, registry.password, True)]
    return env


def _resource_group(settings: Settings) -> tuple[str, str]:
    value = settings.require("scan_job_resource_group_id", "aci-job mode")
    parts = value.split("/")  # validated by Settings: /subscriptions/<id>/resourceGroups/<name>
    return parts[2], parts[4]


class ScanJobs:
    """Start and check scan jobs (the Functions app's half; see the module docstring).

    `queue`: the scan queue's `QueueClient` (default: QSCAN_STORAGE_QUEUE_URL, else the blob endpoint with
    `.queue.`, and QSCAN_SCAN_QUEUE_NAME, through `storage_credential`); `arm_base_url`: another ARM endpoint
    (https only, like `qscan.azure.workloads`); `clock`: epoch seconds."""

    def __init__(
        self,
        settings: Settings,
        *,
        credential: Any,
        storage_credential: Any,
        arm_base_url: str | None = None,
        queue: Any | None = None,
        clock: Any = time.time,
    ) -> None:
        from qscan.azure.workloads import ARM_ENDPOINT, _check_endpoint  # noqa: PLC0415 - aci-job mode only

        self.settings = settings
        self.image = settings.require("scan_job_image", "aci-job mode")
        self.identity = settings.require("scan_job_identity_id", "aci-job mode")
        self.location = settings.require("scan_job_location", "aci-job mode")
        self.subscription, self.resource_group = _resource_group(settings)
        self.credential = credential
        self.endpoint = arm_base_url.rstrip("/") if arm_base_url else ARM_ENDPOINT
        _check_endpoint(self.endpoint)
        self.client_id = (os.environ.get(CLIENT_ID_ENV) or "").strip() or None
        self.clock = clock
        if queue is None:
            from qscan.azure.handler import scan_queue_client  # noqa: PLC0415 - the handler imports this module

            queue = scan_queue_client(settings, storage_credential)
        self.queue = queue

    # ------------------------------------------------------------------ ARM
    def _groups(self) -> Any:
        from qscan.azure.workloads import _client  # noqa: PLC0415 - one client per subscription and endpoint

        return _client("aci", self.subscription, self.endpoint, self.credential).container_groups

    def _arm(self, action: str, call: Any) -> Any:
        """`call()`'s answer, `GONE` for a 404; denied is `ConfigError`, throttling and 5xx `TransientError`."""
        from azure.core.exceptions import AzureError, HttpResponseError  # noqa: PLC0415

        from qscan.cloud_errors import azure_error  # noqa: PLC0415

        try:
            return call()
        except AzureError as exc:
            if isinstance(exc, HttpResponseError) and exc.status_code == 404:
                return GONE
            if isinstance(exc, HttpResponseError) and exc.status_code in (401, 403):
                raise ConfigError(
                    f"{action}: denied ({exc.status_code}): the identity needs the module's scan-job role on "
                    "the scanner resource group"
                ) from None
            mapped = azure_error(exc, action)
            if mapped is None:
                raise
            raise mapped from None

    def group(self, name: str, env: list[tuple[str, str, bool]]) -> Any:
        """The container group model of one job."""
        from azure.mgmt.containerinstance import models  # noqa: PLC0415 - aci-job mode only

        from qscan.azure.workloads import OWN_TAG  # noqa: PLC0415

        registry = self.image.split("/", 1)[0]
        pull = (
            [models.ImageRegistryCredential(server=registry, identity=self.identity)]
            if registry.endswith(".azurecr.io")
            else None
        )
        container = models.Container(
            name=CONTAINER,
            image=self.image,
            command=list(JOB_COMMAND),
            resources=models.ResourceRequirements(
                requests=models.ResourceRequests(
                    cpu=float(self.settings.scan_job_cpu),
                    memory_in_gb=float(self.settings.scan_job_memory_gb),
                )
            ),
            environment_variables=[
                models.EnvironmentVariable(name=key, secure_value=value)
                if secure
                else models.EnvironmentVariable(name=key, value=value)
                for key, value, secure in env
            ],
        )
        return models.ContainerGroup(
            location=self.location,
            tags={OWN_TAG: OWN_TAG_VALUE},
            containers=[container],
            os_type="Linux",
            restart_policy="Never",
            identity=models.ContainerGroupIdentity(
                type="UserAssigned", user_assigned_identities={self.identity: models.UserAssignedIdentities()}
            ),
            image_registry_credentials=pull,
        )

    # ------------------------------------------------------------------ start
    def start(
        self,
        target: ScanTarget,
        name: str,
        pipeline: Pipeline,
        secret: QualysSecret,
        registry: RegistryCredential | None,
    ) -> JobCheck:
        """Create the job's group for `target` (claimed by `name`) and queue its first check (see module doc)."""
        key = target.dedupe_key
        if key is None:
            raise ValueError("a scan job needs a resolved target")
        action = f"ARM PUT container group {name}"
        try:
            env = job_environment(
                self.settings, target, name, secret=secret, registry=registry, client_id=self.client_id
            )
            answer = self._arm(
                action,
                lambda: self._groups().begin_create_or_update(
                    self.resource_group, name, self.group(name, env), polling=False
                ),
            )
            if answer is GONE:  # a PUT answers 404 only when the resource group does not exist
                raise ConfigError(f"{action}: QSCAN_SCAN_JOB_RESOURCE_GROUP_ID names no resource group (404)")
        except BaseException:
            pipeline.release(key, name)
            raise
        check = JobCheck(
            name=name,
            key=key,
            owner=name,
            deadline=int(self.clock()) + START_ALLOWANCE_SECONDS + int(pipeline.lease_seconds),
        )
        self.enqueue(check)
        LOG.info("scan job %s started for %s", name, target.image, extra={"dedupe_key": key, "job": name})
        return check

    def enqueue(self, check: JobCheck) -> None:
        from azure.core.exceptions import AzureError  # noqa: PLC0415

        try:
            self.queue.send_message(
                check.body(), visibility_timeout=self.settings.scan_job_check_delay_seconds
            )
        except AzureError as exc:
            raise TransientError(
                f"queueing the check of scan job {check.name}: {type(exc).__name__}"
            ) from None

    # ------------------------------------------------------------------ check
    def check(self, check: JobCheck, pipeline: Pipeline) -> JobState:
        """One job check (see the module docstring); raises to be redelivered."""
        from qscan.azure.workloads import _raw_json  # noqa: PLC0415

        action = f"ARM GET container group {check.name}"
        body = self._arm(action, lambda: self._groups().get(self.resource_group, check.name, cls=_raw_json))
        if body is GONE:
            LOG.info("scan job %s: already cleaned up", check.name, extra={"job": check.name})
            return "gone"
        exit_code, done = _state(body, action)
        overdue = not done and self.clock() > check.deadline
        if not done and not overdue:
            self.enqueue(check)
            LOG.info("scan job %s: still running", check.name, extra={"job": check.name})
            return "running"
        target = _group_target(body, check, action)
        self.delete(check.name)
        if done and exit_code == EXIT_OK:
            LOG.info("scan job %s: succeeded, deleted", check.name, extra={"job": check.name})
            return "succeeded"
        if done and exit_code == EXIT_RECORDED_FAILURE:
            LOG.error("scan job %s: its scan failed (recorded and notified by the job), deleted", check.name)
            return "failed"
        reason = (
            f"scan job {check.name} did not finish by its deadline"
            if overdue
            else f"scan job {check.name} exited with {exit_code if exit_code is not None else 'no exit code'}"
        )
        self._record_failure(check, target, pipeline, reason, status="timeout" if overdue else "failed")
        return "failed"

    def delete(self, name: str) -> None:
        """Delete a job's group (not waited for); one already gone is fine."""
        self._arm(
            f"ARM DELETE container group {name}",
            lambda: self._groups().begin_delete(self.resource_group, name, polling=False),
        )

    def _record_failure(
        self,
        check: JobCheck,
        target: ScanTarget,
        pipeline: Pipeline,
        reason: str,
        *,
        status: Literal["failed", "timeout"],
    ) -> None:
        """A job that ended without recording a result (it died, could not start, or outlived its deadline):
        the failure persisted, notified once and the claim released (if still the job's) through the pipeline's
        own failure path. The job's exit code is not qscanner's: it stays in the reason only."""
        from qscan.results.model import ScanResult, utc_now  # noqa: PLC0415

        result = ScanResult(target=target, backend="qscanner", status=status, reason=reason)
        result.finished_at = utc_now()
        try:
            pipeline.record(target, check.owner, result)
        except ScanFailed as failed:
            LOG.error(
                "%s; claim released, notified: %s", reason, failed.notified, extra={"dedupe_key": check.key}
            )


def _state(body: Any, action: str) -> tuple[int | None, bool]:
    """(exit code, done) of the group's scan container: done once it terminated or the group failed."""
    properties = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(properties, dict):
        raise InvalidEvent(f"{action}: the answer has no properties")
    if properties.get("provisioningState") == "Failed":
        return None, True
    for container in properties.get("containers") or []:
        if not isinstance(container, dict) or container.get("name") != CONTAINER:
            continue
        view = (container.get("properties") or {}).get("instanceView") or {}
        current = view.get("currentState") if isinstance(view, dict) else None
        if not isinstance(current, dict) or current.get("state") != "Terminated":
            return None, False
        code = current.get("exitCode")
        return (code if isinstance(code, int) and not isinstance(code, bool) else None), True
    raise InvalidEvent(f"{action}: the group has no {CONTAINER!r} container")


def _group_target(body: dict[str, Any], check: JobCheck, action: str) -> ScanTarget:
    """The target the job was started with (its plain QSCAN_JOB_TARGET), checked against the check's key."""
    for container in body["properties"].get("containers") or []:
        if not isinstance(container, dict) or container.get("name") != CONTAINER:
            continue
        for variable in (container.get("properties") or {}).get("environmentVariables") or []:
            if isinstance(variable, dict) and variable.get("name") == TARGET_ENV:
                target = parse_target(variable.get("value"))
                if target.dedupe_key != check.key:
                    raise InvalidEvent(f"{action}: the job's target is not the check's key")
                return target
    raise InvalidEvent(f"{action}: the group carries no {TARGET_ENV}")


def parse_target(text: Any) -> ScanTarget:
    """A job's target from its JSON text: an image with a digest and a dedupe key, else `InvalidEvent`."""
    if not isinstance(text, str) or len(text) > MAX_TARGET_CHARS:
        raise InvalidEvent(f"{TARGET_ENV} is missing or longer than {MAX_TARGET_CHARS} characters")
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidEvent(f"{TARGET_ENV} is not JSON") from None
    target = ScanTarget.from_dict(data)
    if target.kind != "image" or not target.digest or target.lookup is not None or not target.dedupe_key:
        raise InvalidEvent(f"{TARGET_ENV} is not a resolved image target")
    return target


def _job_registry(environ: Mapping[str, str], target: ScanTarget) -> Any:
    from qscan.registry.credentials import StaticCredentials  # noqa: PLC0415

    username, password = environ.get(USERNAME_ENV), environ.get(PASSWORD_ENV)
    if username and password and target.registry:
        return StaticCredentials({target.registry: RegistryCredential(username, password)})
    return StaticCredentials({})


def main(environ: Mapping[str, str] | None = None, **handler_options: Any) -> int:
    """The job container's entry point (see the module docstring); `handler_options` stand in for Azure in tests
    (`AzureScanHandler` keyword arguments)."""
    from qscan.azure.handler import AzureScanHandler  # noqa: PLC0415
    from qscan.log import configure_logging, correlation  # noqa: PLC0415

    env = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(env)
        configure_logging(settings.log_level)
        target = parse_target(env.get(TARGET_ENV))
        owner = env.get(OWNER_ENV) or ""
        if not re.fullmatch(_JOB_NAME, owner):
            raise InvalidEvent(f"{OWNER_ENV} is not a qscan job name")
    except (InvalidEvent, ConfigError) as exc:
        LOG.critical("scan job input rejected: %s", exc.reason)
        return EXIT_INVALID
    with correlation(owner):
        try:
            handler_options.setdefault("registry_credentials", _job_registry(env, target))
            handler = AzureScanHandler(settings, **handler_options)
            outcome = handler.pipeline.process(target, owner=owner)
        except ScanFailed as exc:  # the pipeline recorded it, notified and released the claim
            LOG.error("scan job failed: %s", exc.reason, extra={"dedupe_key": target.dedupe_key})
            return EXIT_RECORDED_FAILURE
        except QscanError as exc:
            LOG.error("scan job failed: %s", exc.reason, extra={"dedupe_key": target.dedupe_key})
            return EXIT_FAILED
        except Exception:
            LOG.exception("scan job failed: unexpected error", extra={"dedupe_key": target.dedupe_key})
            return EXIT_FAILED
    LOG.info("scan job %s: %s", owner, outcome.disposition, extra={"dedupe_key": target.dedupe_key})
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
