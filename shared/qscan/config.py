"""Typed, frozen settings built once from environment variables: `Settings.from_env()`.

Every variable is optional at load time; a handler asks for what it needs with `settings.require("name")`, which
raises `ConfigError("QSCAN_X is required ...")`. Invalid values raise `ConfigError` naming the variable (values
are echoed only for enumerations, never for identifiers or ids). Empty strings count as unset.

Variables (defaults in brackets):

Common
- QSCAN_CLOUD                  aws | azure [aws]
- QSCAN_SCANNER_BACKEND        qscanner | qualys-api [qscanner]
- QSCANNER_PATH                qscanner executable, a name on PATH or an absolute path [qscanner]
- QSCAN_SCAN_TYPES             comma list of os, sca, secret, pkg, fileinsight, malware [os,sca,secret]
- QSCAN_SCAN_TIMEOUT_SECONDS   scan timeout, 30..21600 [600]
- QSCAN_SBOM_FORMAT            off | spdx | cyclonedx: qscanner also writes that SBOM (`--format json,<f>`),
                               stored beside the result as a raw output [off]
- QSCAN_SCANNER_CACHE_MAX_MB   cap of qscanner's cache dir in MB, pruned oldest-first before each scan; at
                               most a quarter of its file system; 0 keeps nothing, 0..102400 [2048]
- QSCAN_LEASE_MARGIN_SECONDS   claim lease = timeout + margin, 0..3600 [120]
- QSCAN_CACHE_TTL_SECONDS      how long a completed scan suppresses rescans, 0..31536000; 0: no cache, every
                               event scans (concurrent duplicates still dedupe) [604800 = 7 days]
- QSCAN_SEVERITY_THRESHOLD     CRITICAL | HIGH | MEDIUM | LOW | NONE [HIGH]
- QSCAN_LOG_LEVEL              DEBUG | INFO | WARNING | ERROR | CRITICAL [INFO]
- QSCAN_METRICS_NAMESPACE      CloudWatch namespace of the EMF metrics (not AWS/...) [qscan]
- QSCAN_SERVICE_NAME           value of the metrics' `service` dimension [the handler's own default, e.g. qscan-ecr]
- QSCAN_IMAGE_PLATFORM         os/architecture[/variant] picked from an image index when resolving a workload's
                               image (qscan.registry.platform) [linux/amd64]

AWS
- QSCAN_DEDUPE_TABLE           DynamoDB table name or ARN
- QSCAN_RESULTS_BUCKET         S3 bucket for results
- QSCAN_RESULTS_KMS_KEY_ID     KMS key id, alias or ARN for SSE-KMS on results
- QSCAN_ALERT_TOPIC_ARN        SNS topic ARN for notifications
- QSCAN_QUALYS_SECRET_ARN      Secrets Manager secret ARN (or name) holding the Qualys secret JSON
- QSCAN_REGISTRY_CREDENTIALS_SECRET  Secrets Manager secret ARN (or name) whose JSON maps a registry host to
                               {username, password[, realm_hosts]} (docs/registry.md); read once per cold start
- QSCAN_QUALYS_ACCOUNT_TYPE    `aws.accountType` of ECR registries qscan registers in Qualys: Global | US_Gov [Global]
- QSCAN_QUALYS_REGISTRY_ROLE_ARN  IAM role ARN Qualys assumes to read an ECR registry that the qualys-api backend
                               registers (POST /registry) when Qualys does not know it yet; unset: such an
                               image fails with the reason (connect the registry in Qualys first)
- QSCAN_SPOKE_ROLE_NAME        IAM role name the hub assumes in spoke accounts
- QSCAN_SPOKE_EXTERNAL_ID      ExternalId for that role
- QSCAN_AWS_ENDPOINT_URL       AWS endpoint override (local moto server for the demo); http(s) URL
- QSCAN_SELF_FUNCTION_NAMES    comma list of the exact names of qscan's own Lambda functions (this account and
                               region), never scanned [qscan-ecr-scanner,qscan-lambda-scanner]
- QSCAN_SELF_FUNCTION_PREFIX   deprecated and ignored (a prefix also matched customers' functions): use
                               QSCAN_SELF_FUNCTION_NAMES
- QSCAN_TAG_FUNCTIONS          true | false: tag scanned Lambda functions with their result [false]
- QSCAN_SCAN_QUEUE_URL         SQS scan queue URL that bulk scans enqueue into [the queue the request came from]
- QSCAN_MAX_RECEIVE_COUNT      scan attempts of a queued message: the queue's maxReceiveCount, 1..1000 [3]
- QSCAN_RETRY_BACKOFF_BASE_SECONDS  wait before the first retry of a failed scan, doubling per attempt,
                               0..43200 [60]
- QSCAN_RETRY_BACKOFF_MAX_SECONDS   longest wait between retries, at least the base, 0..43200 [900]
- QSCAN_DEAD_LETTER_QUEUE_ARN  SQS dead-letter queue the handler moves finally failed messages to (with their
                               reason); unset: the queue's redrive policy dead-letters them

Azure
- QSCAN_QUALYS_SECRET_URI      Key Vault secret URI https://<vault>.vault.azure.net/secrets/<name>[/<version>]
- QSCAN_REGISTRY_CREDENTIALS_SECRET_URI  Key Vault secret URI whose JSON maps a registry host to
                               {username, password[, realm_hosts]} (docs/registry.md), for registries other than
                               ACR (ACR uses the app's identity); read on first use, cached 15 min
- QSCAN_STORAGE_ACCOUNT_URL    https://<account>.blob.core.windows.net (http only on loopback, for Azurite)
- QSCAN_STORAGE_TABLE_URL      the account's table endpoint [QSCAN_STORAGE_ACCOUNT_URL with .blob. -> .table.;
                               set it where that does not hold, e.g. Azurite's own table port]
- QSCAN_DEDUPE_TABLE_NAME      Azure Table name for dedupe claims
- QSCAN_RESULTS_CONTAINER      Blob container for results
- QSCAN_EVENTGRID_TOPIC_ENDPOINT  Event Grid custom topic endpoint https://<topic>.<region>-1.eventgrid.azure.net/api/events
- QSCAN_AZURE_SCAN_MODE        function | aci-job: scan inside the Function, or in an ACI container group per image
                               for scans longer than the function allows (qscan.azure.scan_job) [function]
- QSCAN_SCAN_JOB_IMAGE         aci-job: the scan-job image (qscanner + Python + qscan; handlers/azure/scan_job)
- QSCAN_SCAN_JOB_RESOURCE_GROUP_ID  aci-job: /subscriptions/<id>/resourceGroups/<name> the job groups run in
- QSCAN_SCAN_JOB_IDENTITY_ID   aci-job: resource id of the user-assigned identity the job groups run as
- QSCAN_SCAN_JOB_LOCATION      aci-job: region of the job groups, e.g. westeurope
- QSCAN_SCAN_JOB_CPU           aci-job: CPU cores per job, 1..4 [2]
- QSCAN_SCAN_JOB_MEMORY_GB     aci-job: memory per job in GB, 1..16 [4]
- QSCAN_SCAN_JOB_CHECK_DELAY_SECONDS  aci-job: delay of each job-check message on the scan queue, 1..3600 [60]
- QSCAN_STORAGE_QUEUE_URL      the account's queue endpoint (aci-job: where job checks are queued)
                               [QSCAN_STORAGE_ACCOUNT_URL with .blob. -> .queue.]
- QSCAN_SCAN_QUEUE_NAME        the scan queue (aci-job: job checks are queued on it)
- QSCAN_RECONCILE_SUBSCRIPTION_IDS  the reconciler: comma list of the subscription ids it lists (1..50)

Reconciler (qscan.reconcile; the Azure timer trigger: qscan.azure.reconciler)
- QSCAN_RECONCILE_LOOKBACK_DAYS  days back a run lists what was pushed or started (ACA job executions), 1..90 [7]
- QSCAN_RECONCILE_MAX_PAGES      list calls per run (per subscription on Azure), 1..100000 [1000]
- QSCAN_RECONCILE_MAX_SECONDS    wall time of a run, 10..3600 [540]
- QSCAN_RECONCILE_MAX_REQUESTS   scan requests a run enqueues (per subscription on Azure), 1..100000 [500]
- QSCAN_RECONCILE_REQUEST_WINDOW_SECONDS  how long a requested artifact is not requested again while its scan is
                               pending, 60..604800 [21600]
- QSCAN_RECONCILE_SERVICES     AWS: comma list of ecr, ecs, lambda to list [ecr,ecs,lambda]
- QSCAN_RECONCILE_REGIONS      AWS: comma list of the regions listed (1..50) [the function's region]
- QSCAN_RECONCILE_ACCOUNTS     AWS: comma list of other 12-digit accounts, read through the spoke role
                               (QSCAN_SPOKE_ROLE_NAME + QSCAN_SPOKE_EXTERNAL_ID); the own account is always listed
- QSCAN_RECONCILE_ECR_QUEUE_URL  AWS: the ECR scan queue, where ECR image requests go [required for ecr]
- QSCAN_RECONCILE_LAMBDA_QUEUE_URL  AWS: the Lambda scan queue, where function requests go [required for lambda]
- QSCAN_RECONCILE_STATE_MACHINE_ARN  AWS: the Fargate workflow, where running ECS images go [required for ecs]

The Qualys credentials themselves never live in these variables: see `qscan.secrets` (the QUALYS_* environment
source exists for local runs only).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from qscan.errors import ConfigError
from qscan.metrics import validate_dimension_value, validate_namespace
from qscan.notify.policy import Threshold, parse_threshold
from qscan.notify.sns import validate_topic_arn
from qscan.structs import fields, struct

Cloud = Literal["aws", "azure"]
Backend = Literal["qscanner", "qualys-api"]
ScanMode = Literal["function", "aci-job"]
SCAN_MODES: tuple[str, ...] = get_args(ScanMode)
CLOUDS: tuple[str, ...] = get_args(Cloud)
BACKENDS: tuple[str, ...] = get_args(Backend)
SbomFormat = Literal["off", "spdx", "cyclonedx"]
SBOM_FORMATS: tuple[str, ...] = get_args(SbomFormat)
SCAN_TYPES: tuple[str, ...] = ("os", "sca", "secret", "pkg", "fileinsight", "malware")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# `aws.accountType` values POST /registry accepts (DESIGN §4): commercial AWS, or AWS GovCloud.
QUALYS_ACCOUNT_TYPES: tuple[str, ...] = ("Global", "US_Gov")
KEYVAULT_SUFFIXES: tuple[str, ...] = (
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Patterns of settings, compiled on first use (re's cache): a deployment sets only a few of them.
_DYNAMODB_TABLE = (
    r"^([A-Za-z0-9_.-]{3,255}|arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255})$"
)
_S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_KMS_KEY = (
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
_SQS_QUEUE_ARN = r"^arn:aws[a-z-]*:sqs:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$"
_SECRET_ID = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}|[A-Za-z0-9/_+=.@-]{1,512})$"  # noqa: S105 - a pattern
_KV_SECRET_NAME = r"^[0-9A-Za-z-]{1,127}$"  # noqa: S105 - a pattern
_KV_VERSION = r"^[0-9A-Za-z]{1,64}$"
_AZURE_TABLE = r"^[A-Za-z][A-Za-z0-9]{2,62}$"
_BLOB_CONTAINER = r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_IAM_ROLE = r"^[\w+=,.@-]{1,64}$"
_IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]{1,64}/)*[\w+=,.@-]{1,64}$"
_IMAGE_PLATFORM = r"^[a-z0-9._-]{1,32}/[a-z0-9._-]{1,32}(/[a-z0-9._-]{1,32})?$"
_EXTERNAL_ID = r"^[\w+=,.@:/-]{2,1224}$"
_FUNCTION_PREFIX = r"^[A-Za-z0-9_-]{1,64}$"
_AZURE_QUEUE = r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_AZURE_LOCATION = r"^[a-z][a-z0-9]{2,39}$"
_RESOURCE_GROUP_ID = r"^/subscriptions/[0-9A-Fa-f-]{36}/resourceGroups/[-\w._()]{1,90}$"
_IDENTITY_ID = (
    r"^/subscriptions/[0-9A-Fa-f-]{36}/resourceGroups/[-\w._()]{1,90}"
    r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/[A-Za-z0-9][A-Za-z0-9_-]{2,127}$"
)
_JOB_IMAGE = (
    r"^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?/[a-z0-9._/-]{1,255}(:[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})$"
)
_FUNCTION_NAME = r"[A-Za-z0-9_-]{1,64}"
_SUBSCRIPTION_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MAX_SUBSCRIPTIONS = 50
MAX_SELF_FUNCTION_NAMES = 50
_STATE_MACHINE_ARN = (
    r"^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
)
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}"
_ACCOUNT = r"[0-9]{12}"
RECONCILE_SERVICES: tuple[str, ...] = ("ecr", "ecs", "lambda")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@struct
class Variable:
    """One environment variable `Settings` reads: its field, name, default and help."""

    field: str
    env: str
    default: str | None
    help: str


def _var(field: str, help: str, default: str | None = None, env: str | None = None) -> Variable:
    return Variable(field, env or "QSCAN_" + field.upper(), default, help)


VARIABLES: tuple[Variable, ...] = (
    _var("cloud", "cloud the handler runs on: aws | azure", "aws"),
    _var("scanner_backend", "scanner backend: qscanner | qualys-api", "qscanner"),
    _var(
        "qscanner_path",
        "qscanner executable (name on PATH or absolute path)",
        "qscanner",
        env="QSCANNER_PATH",
    ),
    _var("scan_types", "comma list of qscanner scan types", "os,sca,secret"),
    _var("sbom_format", "SBOM qscanner writes beside each result: off | spdx | cyclonedx", "off"),
    _var("image_platform", "os/architecture[/variant] picked from image indexes", "linux/amd64"),
    _var("scan_timeout_seconds", "scan timeout in seconds (30..21600)", "600"),
    _var("scanner_cache_max_mb", "cap of the qscanner cache dir in MB (0..102400)", "2048"),
    _var("lease_margin_seconds", "claim lease margin over the scan timeout (0..3600)", "120"),
    _var(
        "cache_ttl_seconds",
        "seconds a completed scan suppresses rescans (0..31536000; 0: no cache)",
        str(7 * 24 * 3600),
    ),
    _var(
        "severity_threshold", "lowest severity that notifies: CRITICAL | HIGH | MEDIUM | LOW | NONE", "HIGH"
    ),
    _var("dedupe_table", "DynamoDB dedupe table (name or ARN)"),
    _var("results_bucket", "S3 bucket for scan results"),
    _var("results_kms_key_id", "KMS key (id, alias or ARN) for results"),
    _var("alert_topic_arn", "SNS topic ARN for notifications"),
    _var("qualys_secret_arn", "Secrets Manager secret (ARN or name) with the Qualys secret JSON"),
    _var("qualys_secret_uri", "Key Vault secret URI with the Qualys secret JSON"),
    _var(
        "registry_credentials_secret_uri",
        "Key Vault secret URI mapping registry host -> {username, password}",
    ),
    _var(
        "registry_credentials_secret",
        "Secrets Manager secret (ARN or name) mapping registry host -> {username, password}",
    ),
    _var(
        "qualys_account_type",
        "aws.accountType of ECR registries registered in Qualys: Global | US_Gov",
        "Global",
    ),
    _var("qualys_registry_role_arn", "IAM role ARN Qualys assumes to read ECR registries qscan registers"),
    _var("storage_account_url", "Azure Storage account blob endpoint URL"),
    _var("storage_table_url", "Azure Storage account table endpoint URL (default: from the blob endpoint)"),
    _var("dedupe_table_name", "Azure Table name for dedupe claims"),
    _var("results_container", "Azure Blob container for scan results"),
    _var("eventgrid_topic_endpoint", "Event Grid custom topic endpoint for notifications"),
    _var("azure_scan_mode", "where the Azure app scans: function | aci-job", "function"),
    _var("scan_job_image", "aci-job: the scan-job image (registry/repository:tag or @sha256:...)"),
    _var("scan_job_resource_group_id", "aci-job: resource group id the job container groups run in"),
    _var("scan_job_identity_id", "aci-job: user-assigned identity resource id of the job container groups"),
    _var("scan_job_location", "aci-job: region of the job container groups"),
    _var("scan_job_cpu", "aci-job: CPU cores per job (1..4)", "2"),
    _var("scan_job_memory_gb", "aci-job: memory per job in GB (1..16)", "4"),
    _var("scan_job_check_delay_seconds", "aci-job: delay of each job-check message (1..3600)", "60"),
    _var("storage_queue_url", "Azure Storage account queue endpoint URL (default: from the blob endpoint)"),
    _var("scan_queue_name", "Azure Storage scan queue name"),
    _var("reconcile_subscription_ids", "Azure subscription ids the reconciler lists, comma-separated"),
    _var("reconcile_lookback_days", "days back the reconciler lists pushes and job executions (1..90)", "7"),
    _var("reconcile_max_pages", "list calls per reconciler run (1..100000)", "1000"),
    _var("reconcile_max_seconds", "wall time of a reconciler run (10..3600)", "540"),
    _var("reconcile_max_requests", "scan requests per reconciler run (1..100000)", "500"),
    _var(
        "reconcile_request_window_seconds",
        "seconds a requested artifact is not requested again (60..604800)",
        str(6 * 3600),
    ),
    _var("reconcile_services", "AWS reconciler: comma list of ecr, ecs, lambda", "ecr,ecs,lambda"),
    _var("reconcile_regions", "AWS reconciler: comma list of regions (default: the function's)"),
    _var("reconcile_accounts", "AWS reconciler: comma list of other accounts read through the spoke role"),
    _var("reconcile_ecr_queue_url", "AWS reconciler: the ECR scan queue URL"),
    _var("reconcile_lambda_queue_url", "AWS reconciler: the Lambda scan queue URL"),
    _var("reconcile_state_machine_arn", "AWS reconciler: the Fargate workflow's state machine ARN"),
    _var("spoke_role_name", "IAM role name assumed in spoke accounts"),
    _var("spoke_external_id", "ExternalId for the spoke role"),
    _var("aws_endpoint_url", "AWS endpoint override (local moto server)"),
    _var("log_level", "log level: DEBUG | INFO | WARNING | ERROR | CRITICAL", "INFO"),
    _var("metrics_namespace", "CloudWatch namespace of the EMF metrics", "qscan"),
    _var("service_name", "value of the metrics' service dimension"),
    _var(
        "self_function_names", "exact names of qscan's own Lambda functions (never scanned), comma-separated"
    ),
    _var("self_function_prefix", "deprecated and ignored: use QSCAN_SELF_FUNCTION_NAMES"),
    _var("tag_functions", "tag scanned Lambda functions with their result: true | false", "false"),
    _var("scan_queue_url", "SQS scan queue URL that bulk scans enqueue into"),
    _var(
        "max_receive_count", "scan attempts of a queued message, the queue's maxReceiveCount (1..1000)", "3"
    ),
    _var("retry_backoff_base_seconds", "wait before the first retry, doubling per attempt (0..43200)", "60"),
    _var("retry_backoff_max_seconds", "longest wait between retries, at least the base (0..43200)", "900"),
    _var("dead_letter_queue_arn", "SQS dead-letter queue ARN for messages whose scans finally failed"),
)
ENV_NAMES: dict[str, str] = {v.field: v.env for v in VARIABLES}


def env_name(field: str) -> str:
    return ENV_NAMES[field]


def _choice(name: str, value: str, choices: tuple[str, ...], *, upper: bool = False) -> str:
    key = value.upper() if upper else value.lower()
    if key not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)} (got {value[:20]!r})")
    return key


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer between {low} and {high}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be an integer between {low} and {high} (got {number})")
    return number


def _scan_types(name: str, value: str) -> tuple[str, ...]:
    items = [item.strip().lower() for item in value.split(",")]
    if not all(items):
        raise ConfigError(f"{name} must be a comma list of {', '.join(SCAN_TYPES)} without empty items")
    unknown = sorted({item for item in items if item not in SCAN_TYPES})
    if unknown:
        shown = ", ".join(u[:20] for u in unknown[:5])
        raise ConfigError(f"{name} has unknown scan type(s) {shown}; allowed: {', '.join(SCAN_TYPES)}")
    return tuple(dict.fromkeys(items))


def _function_names(name: str, value: str) -> tuple[str, ...]:
    items = [item.strip() for item in value.split(",")]
    if not all(items) or len(items) > MAX_SELF_FUNCTION_NAMES:
        raise ConfigError(
            f"{name} must be a comma list of 1-{MAX_SELF_FUNCTION_NAMES} Lambda function names without empty items"
        )
    if not all(re.fullmatch(_FUNCTION_NAME, item) for item in items):
        raise ConfigError(
            f"{name} must list exact Lambda function names (1-64 of A-Z a-z 0-9 _ -; no wildcards, prefixes "
            "or ARNs)"
        )
    return tuple(dict.fromkeys(items))


def _subscription_ids(name: str, value: str) -> tuple[str, ...]:
    items = [item.strip().lower() for item in value.split(",")]
    if not all(re.fullmatch(_SUBSCRIPTION_ID, item) for item in items) or len(items) > MAX_SUBSCRIPTIONS:
        raise ConfigError(f"{name} must be a comma list of 1-{MAX_SUBSCRIPTIONS} subscription ids (GUIDs)")
    return tuple(dict.fromkeys(items))


def _list(name: str, value: str, item: str, what: str, limit: int) -> tuple[str, ...]:
    """A comma list of 1..`limit` items that each fully match `item` (duplicates dropped)."""
    items = [part.strip() for part in value.split(",")]
    if len(items) > limit or not all(re.fullmatch(item, part) for part in items):
        raise ConfigError(f"{name} must be a comma list of 1-{limit} {what}")
    return tuple(dict.fromkeys(items))


def _account_type(name: str, value: str) -> str:
    """One of QUALYS_ACCOUNT_TYPES, matched case-insensitively and returned in the spelling Qualys expects."""
    for choice in QUALYS_ACCOUNT_TYPES:
        if value.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(QUALYS_ACCOUNT_TYPES)} (got {value[:20]!r})")


def _bool(name: str, value: str) -> bool:
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise ConfigError(f"{name} must be true or false (got {value[:20]!r})") from None


def _pattern(regex: str, what: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if not re.match(regex, value):
            raise ConfigError(f"{name} must be {what}")
        return value

    return check


def _url(name: str, value: str, *, https_only: bool) -> str:
    parts = urlsplit(value)
    loopback = parts.hostname in _LOOPBACK_HOSTS
    allowed = {"https"} if https_only and not loopback else {"https", "http"}
    if parts.scheme not in allowed or not parts.hostname or parts.username or parts.query or parts.fragment:
        rule = "an https URL (http only on loopback)" if https_only else "an http(s) URL"
        raise ConfigError(f"{name} must be {rule} with a host and no credentials, query or fragment")
    return value.rstrip("/")


def _topic_endpoint(name: str, value: str) -> str:
    from qscan.notify.eventgrid import normalize_topic_endpoint  # noqa: PLC0415 - Azure only: AWS never loads it

    return normalize_topic_endpoint(value, setting=name)


def parse_keyvault_secret_uri(
    uri: str, *, name: str = "QSCAN_QUALYS_SECRET_URI"
) -> tuple[str, str, str | None]:
    """Split a Key Vault secret URI into (vault URL, secret name, version or None)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    segments = [s for s in parts.path.split("/") if s]
    valid = (
        parts.scheme == "https"
        and host.endswith(KEYVAULT_SUFFIXES)
        and not (parts.username or parts.query or parts.fragment or parts.port)
        and len(segments) in (2, 3)
        and segments[0] == "secrets"
        and bool(re.match(_KV_SECRET_NAME, segments[1]))
        and (len(segments) == 2 or bool(re.match(_KV_VERSION, segments[2])))
    )
    if not valid:
        raise ConfigError(
            f"{name} must be a Key Vault secret URI https://<vault>.vault.azure.net/secrets/<name>[/<version>]"
        )
    return f"https://{host}", segments[1], segments[2] if len(segments) == 3 else None


def _keyvault_uri(name: str, value: str) -> str:
    parse_keyvault_secret_uri(value, name=name)
    return value.rstrip("/")


def _executable(name: str, value: str) -> str:
    if any(ch in value for ch in "\x00\r\n") or len(value) > 4096:
        raise ConfigError(f"{name} must be an executable name or path")
    return value


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "cloud": lambda n, v: _choice(n, v, CLOUDS),
    "scanner_backend": lambda n, v: _choice(n, v, BACKENDS),
    "qscanner_path": _executable,
    "scan_types": _scan_types,
    "sbom_format": lambda n, v: _choice(n, v, SBOM_FORMATS),
    "image_platform": _pattern(
        _IMAGE_PLATFORM, "os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8"
    ),
    "scan_timeout_seconds": lambda n, v: _int(n, v, 30, 21600),
    "scanner_cache_max_mb": lambda n, v: _int(n, v, 0, 102400),
    "lease_margin_seconds": lambda n, v: _int(n, v, 0, 3600),
    "cache_ttl_seconds": lambda n, v: _int(n, v, 0, 365 * 24 * 3600),
    "severity_threshold": lambda n, v: parse_threshold(v, setting=n),
    "dedupe_table": _pattern(
        _DYNAMODB_TABLE, "a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -) or table ARN"
    ),
    "results_bucket": _pattern(
        _S3_BUCKET, "an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)"
    ),
    "results_kms_key_id": _pattern(_KMS_KEY, "a KMS key id, alias/<name>, or key/alias ARN"),
    "alert_topic_arn": lambda n, v: validate_topic_arn(v, setting=n),
    "qualys_secret_arn": _pattern(_SECRET_ID, "a Secrets Manager secret ARN or name"),
    "registry_credentials_secret": _pattern(_SECRET_ID, "a Secrets Manager secret ARN or name"),
    "qualys_secret_uri": _keyvault_uri,
    "registry_credentials_secret_uri": _keyvault_uri,
    "qualys_account_type": _account_type,
    "storage_account_url": lambda n, v: _url(n, v, https_only=True),
    "storage_table_url": lambda n, v: _url(n, v, https_only=True),
    "dedupe_table_name": _pattern(
        _AZURE_TABLE, "an Azure Table name (3-63 letters/digits, starting with a letter)"
    ),
    "results_container": _pattern(_BLOB_CONTAINER, "a Blob container name (3-63 of a-z 0-9 -, no '--')"),
    "eventgrid_topic_endpoint": _topic_endpoint,
    "azure_scan_mode": lambda n, v: _choice(n, v, SCAN_MODES),
    "scan_job_image": _pattern(_JOB_IMAGE, "an image reference registry/repository:tag or @sha256:<digest>"),
    "scan_job_resource_group_id": _pattern(
        _RESOURCE_GROUP_ID, "a resource group id /subscriptions/<id>/resourceGroups/<name>"
    ),
    "scan_job_identity_id": _pattern(_IDENTITY_ID, "a user-assigned identity resource id"),
    "scan_job_location": _pattern(_AZURE_LOCATION, "an Azure region name, e.g. westeurope"),
    "scan_job_cpu": lambda n, v: _int(n, v, 1, 4),
    "scan_job_memory_gb": lambda n, v: _int(n, v, 1, 16),
    "scan_job_check_delay_seconds": lambda n, v: _int(n, v, 1, 3600),
    "storage_queue_url": lambda n, v: _url(n, v, https_only=True),
    "scan_queue_name": _pattern(_AZURE_QUEUE, "a queue name (3-63 of a-z 0-9 -, no '--')"),
    "reconcile_subscription_ids": _subscription_ids,
    "reconcile_lookback_days": lambda n, v: _int(n, v, 1, 90),
    "reconcile_max_pages": lambda n, v: _int(n, v, 1, 100_000),
    "reconcile_max_seconds": lambda n, v: _int(n, v, 10, 3600),
    "reconcile_max_requests": lambda n, v: _int(n, v, 1, 100_000),
    "reconcile_request_window_seconds": lambda n, v: _int(n, v, 60, 7 * 24 * 3600),
    "reconcile_services": lambda n, v: _list(n, v, "|".join(RECONCILE_SERVICES), "of ecr, ecs, lambda", 3),
    "reconcile_regions": lambda n, v: _list(n, v, _REGION, "AWS region names", 50),
    "reconcile_accounts": lambda n, v: _list(n, v, _ACCOUNT, "12-digit AWS account ids", 1000),
    "reconcile_ecr_queue_url": lambda n, v: _url(n, v, https_only=True),
    "reconcile_lambda_queue_url": lambda n, v: _url(n, v, https_only=True),
    "reconcile_state_machine_arn": _pattern(
        _STATE_MACHINE_ARN, "a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)"
    ),
    "spoke_role_name": _pattern(_IAM_ROLE, "an IAM role name (1-64 of letters, digits and +=,.@_-)"),
    "spoke_external_id": _pattern(_EXTERNAL_ID, "an ExternalId (2-1224 of letters, digits and +=,.@:/_-)"),
    "aws_endpoint_url": lambda n, v: _url(n, v, https_only=False),
    "log_level": lambda n, v: _choice(n, v, LOG_LEVELS, upper=True),
    "metrics_namespace": lambda n, v: validate_namespace(v, setting=n),
    "service_name": lambda n, v: validate_dimension_value(v, setting=n),
    "self_function_names": _function_names,
    "self_function_prefix": _pattern(
        _FUNCTION_PREFIX, "a Lambda function-name prefix (1-64 of A-Z a-z 0-9 _ -)"
    ),
    "tag_functions": _bool,
    "scan_queue_url": lambda n, v: _url(n, v, https_only=True),
    "max_receive_count": lambda n, v: _int(n, v, 1, 1000),
    "retry_backoff_base_seconds": lambda n, v: _int(n, v, 0, 43200),
    "retry_backoff_max_seconds": lambda n, v: _int(n, v, 0, 43200),
    "qualys_registry_role_arn": _pattern(
        _IAM_ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    ),
    "dead_letter_queue_arn": _pattern(
        _SQS_QUEUE_ARN, "an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)"
    ),
}


@struct
class Settings:
    """Every setting, read once from the environment by `from_env` (see the module docstring)."""

    cloud: Cloud = "aws"
    scanner_backend: Backend = "qscanner"
    qscanner_path: str = "qscanner"
    scan_types: tuple[str, ...] = ("os", "sca", "secret")
    sbom_format: SbomFormat = "off"
    image_platform: str = "linux/amd64"
    scan_timeout_seconds: int = 600
    scanner_cache_max_mb: int = 2048
    lease_margin_seconds: int = 120
    cache_ttl_seconds: int = 7 * 24 * 3600
    severity_threshold: Threshold = "HIGH"
    dedupe_table: str | None = None
    results_bucket: str | None = None
    results_kms_key_id: str | None = None
    alert_topic_arn: str | None = None
    qualys_secret_arn: str | None = None
    qualys_secret_uri: str | None = None
    registry_credentials_secret_uri: str | None = None
    registry_credentials_secret: str | None = None
    qualys_account_type: str = "Global"
    qualys_registry_role_arn: str | None = None
    storage_account_url: str | None = None
    storage_table_url: str | None = None
    dedupe_table_name: str | None = None
    results_container: str | None = None
    eventgrid_topic_endpoint: str | None = None
    azure_scan_mode: ScanMode = "function"
    scan_job_image: str | None = None
    scan_job_resource_group_id: str | None = None
    scan_job_identity_id: str | None = None
    scan_job_location: str | None = None
    scan_job_cpu: int = 2
    scan_job_memory_gb: int = 4
    scan_job_check_delay_seconds: int = 60
    storage_queue_url: str | None = None
    scan_queue_name: str | None = None
    reconcile_subscription_ids: tuple[str, ...] | None = None
    reconcile_lookback_days: int = 7
    reconcile_max_pages: int = 1000
    reconcile_max_seconds: int = 540
    reconcile_max_requests: int = 500
    reconcile_request_window_seconds: int = 6 * 3600
    reconcile_services: tuple[str, ...] = RECONCILE_SERVICES
    reconcile_regions: tuple[str, ...] | None = None
    reconcile_accounts: tuple[str, ...] = ()
    reconcile_ecr_queue_url: str | None = None
    reconcile_lambda_queue_url: str | None = None
    reconcile_state_machine_arn: str | None = None
    spoke_role_name: str | None = None
    spoke_external_id: str | None = None
    aws_endpoint_url: str | None = None
    log_level: str = "INFO"
    metrics_namespace: str = "qscan"
    service_name: str | None = None
    self_function_names: tuple[str, ...] | None = None
    self_function_prefix: str | None = None  # deprecated, ignored (the Lambda handler warns when it is set)
    tag_functions: bool = False
    scan_queue_url: str | None = None
    max_receive_count: int = 3
    retry_backoff_base_seconds: int = 60
    retry_backoff_max_seconds: int = 900
    dead_letter_queue_arn: str | None = None

    def __post_init__(self) -> None:
        if self.retry_backoff_max_seconds < self.retry_backoff_base_seconds:
            raise ConfigError(
                f"{ENV_NAMES['retry_backoff_max_seconds']} must be at least "
                f"{ENV_NAMES['retry_backoff_base_seconds']} ({self.retry_backoff_base_seconds})"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every variable; `env` defaults to os.environ."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for var in VARIABLES:
            raw = (source.get(var.env) or "").strip()
            if not raw:
                raw = var.default or ""
            if raw:
                values[var.field] = _PARSERS[var.field](var.env, raw)
        return cls(**values)

    @property
    def lease_seconds(self) -> int:
        """How long a dedupe claim lives before another scan may take it over."""
        return self.scan_timeout_seconds + self.lease_margin_seconds

    def require(self, field: str, purpose: str | None = None) -> str:
        """The value of an optional setting, or ConfigError naming its variable when it is unset."""
        if field not in ENV_NAMES:
            raise ValueError(f"unknown setting {field!r}")
        value = getattr(self, field)
        if value is None or value == "":
            var = next(v for v in VARIABLES if v.field == field)
            why = f" for {purpose}" if purpose else ""
            raise ConfigError(f"{var.env} is required{why} ({var.help})")
        return str(value)

    def describe(self) -> dict[str, Any]:
        """Settings keyed by variable name, safe to log (the ExternalId is masked)."""
        shown: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "spoke_external_id" and value:
                value = "***"
            shown[ENV_NAMES[f.name]] = ",".join(value) if isinstance(value, tuple) else value
        return shown
