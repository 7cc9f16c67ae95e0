"""modules/lambda (with the modules/aws-lambda-worker it calls) and modules/aws-core agree with the core the Lambda-scanner handler is built from.

- every environment variable the modules set is one `qscan.config.Settings` reads (and parses as the module
  renders it), and the settings the handler requires are all set;
- the module's own function names (its scanner, named as modules/aws-lambda-worker names it) are exact names the
  handler parses, and the handler's defaults are the default deployment's scanner names;
- the dashboard reads exactly the EMF metric names the handler emits, under the handler's service name;
- the role may write results exactly where `qscan.results.keys` puts Lambda results;
- the tag keys the role may write are the ones `qscan.aws.lambdas.tag_function` writes;
- the scheduled bulk-scan request the module renders is one the handler runs;
- the role has each permission the handler's calls need (and the bulk-scan ones only with the schedule).
"""

from __future__ import annotations

import ast
import json
import re

from qscan.aws.lambdas import TAG_KEYS
from qscan.aws.lambdas.bulk_request import DEFAULT_OWN_FUNCTIONS, is_bulk_scan_request
from qscan.aws.lambdas.bulk_scan import options_from_input
from qscan.config import ENV_NAMES, Settings
from qscan.results import keys

from tests.harness.tf_modules import (
    MODULES,
    ROOT,
    WORKER,
    core_handler_environment,
    for_platform,
    handler_environment_names,
    locals_of,
)

MODULE = MODULES / "lambda"
HANDLER = ROOT / "handlers" / "aws" / "lambda" / "handler.py"
HANDLER_REQUIRED = {
    "QSCAN_DEDUPE_TABLE",
    "QSCAN_RESULTS_BUCKET",
    "QSCAN_ALERT_TOPIC_ARN",
    "QSCAN_QUALYS_SECRET_ARN",
}


def handler_class_attribute(name: str) -> str:
    """A class attribute of LambdaHandler, read from the source (importing the handler runs its cold start)."""
    tree = ast.parse(HANDLER.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "LambdaHandler":
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and isinstance(statement.targets[0], ast.Name)
                    and statement.targets[0].id == name
                    and isinstance(statement.value, ast.Constant)
                ):
                    return str(statement.value.value)
    raise AssertionError(f"LambdaHandler.{name} not found")


def policy_statement(sid: str) -> str:
    """The text of one role statement (from its Sid to the closing brace of the object): the platform's own
    statements are in modules/lambda/iam.tf, the common ones in modules/aws-lambda-worker/iam.tf."""
    for path in (MODULE / "iam.tf", WORKER / "iam.tf"):
        text = path.read_text()
        match = re.search(rf'Sid\s+=\s+"{sid}"', text)
        if match:
            end = re.compile(r"\n\s*\},").search(text, match.start())
            assert end is not None
            return text[match.start() : end.start()]
    raise AssertionError(f"no statement {sid}")


def test_every_module_variable_is_a_setting_the_handler_reads() -> None:
    settings_env = set(ENV_NAMES.values())
    module_env = handler_environment_names(MODULE)
    core_env = core_handler_environment()
    assert set(module_env) - settings_env == set()
    assert set(core_env) - settings_env == set()
    assert set(core_env) | set(module_env) >= HANDLER_REQUIRED
    assert {
        "QSCAN_SELF_FUNCTION_NAMES",
        "QSCAN_TAG_FUNCTIONS",
        "QSCAN_METRICS_NAMESPACE",
        "QSCAN_SERVICE_NAME",
        "QSCAN_LOG_LEVEL",
    } <= set(module_env)
    assert "QSCAN_RESULTS_PREFIX" not in module_env
    assert "QSCAN_SELF_FUNCTION_PREFIX" not in module_env  # deprecated: a prefix matched customers' functions


def test_rendered_values_parse_as_the_handler_expects() -> None:
    module_env = handler_environment_names(MODULE)
    assert module_env["QSCAN_TAG_FUNCTIONS"] == '${var.enable_tagging ? "true" : "false"}'
    assert Settings.from_env({"QSCAN_TAG_FUNCTIONS": "true"}).tag_functions is True
    assert Settings.from_env({"QSCAN_TAG_FUNCTIONS": "false"}).tag_functions is False
    assert module_env["QSCAN_SELF_FUNCTION_NAMES"] == '${join(",", local.self_function_names)}'
    lambda_locals = locals_of(MODULE / "main.tf")
    assert (
        lambda_locals["self_function_names"]
        == "${distinct(concat([local.function_name], var.self_function_names))}"
    )
    # the module's own name is the function modules/aws-lambda-worker creates
    assert lambda_locals["function_name"] == for_platform(
        locals_of(WORKER / "main.tf")["function_name"], MODULE
    )
    assert re.search(
        r'variable "name_prefix" \{[^}]*default\s*=\s*"qscan"', (MODULE / "worker_settings.tf").read_text()
    )
    rendered = ",".join(["qscan-lambda-scanner", "qscan-ecr-scanner"])  # default name_prefix, ECR passed in
    assert Settings.from_env({"QSCAN_SELF_FUNCTION_NAMES": rendered}).self_function_names == (
        "qscan-lambda-scanner",
        "qscan-ecr-scanner",
    )
    # the handler's default when the variable is unset: the default deployment's two scanners
    assert set(DEFAULT_OWN_FUNCTIONS) == {"qscan-lambda-scanner", "qscan-ecr-scanner"}


def test_the_dashboard_reads_the_handlers_service() -> None:
    """The dashboard's metric names: tests/unit/test_dashboard_module.py; here the Lambda service value."""
    assert for_platform(locals_of(WORKER / "main.tf")["service_name"], MODULE) == "${var.name_prefix}-lambda"
    assert handler_class_attribute("service_name") == "qscan-lambda"  # the default name_prefix's value


def test_results_may_be_written_exactly_under_the_core_prefix() -> None:
    assert for_platform(locals_of(WORKER / "main.tf")["results_prefix"], MODULE) == f"{keys.PREFIX}/lambda/"
    assert "${local.results_prefix}*" in policy_statement("WriteResults")


def test_the_role_may_write_exactly_the_tags_the_handler_writes() -> None:
    assert tuple(locals_of(MODULE / "main.tf")["scan_tag_keys"]) == TAG_KEYS
    statement = policy_statement("TagScannedFunctions")
    assert '"lambda:TagResource"' in statement
    assert '"aws:TagKeys" = local.scan_tag_keys' in statement
    assert "var.enable_tagging ?" in (MODULE / "iam.tf").read_text()


def test_the_scheduled_request_is_one_the_handler_runs() -> None:
    rendered = locals_of(MODULE / "events.tf")["bulk_scan_input"]
    fields = dict(re.findall(r'"?([a-z-]+)"?\s*=\s*"([^"$]+)"', rendered))
    request = {
        "version": fields["version"],
        "source": fields["source"],
        "detail-type": fields["detail-type"],
        "account": "123456789012",
        "region": "eu-west-1",
        "detail": {"platform": fields["platform"]},
    }
    assert is_bulk_scan_request(request)
    options = options_from_input(
        request, default_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    )
    assert options.regions == ("eu-west-1",) and not options.dry_run
    readme = (MODULE / "README.md").read_text()
    documented = re.search(r"`(\{\"version\": \"0\", \"source\": \"qscan\.bulk-scan\".*?\})`", readme)
    assert documented is not None
    assert is_bulk_scan_request(json.loads(documented.group(1)))


def test_the_role_has_the_permissions_the_handler_uses() -> None:
    assert '"lambda:GetFunction"' in policy_statement("ReadDeployedFunctions")  # resolve_function
    assert '"ecr:BatchGetImage"' in policy_statement("ReadFunctionImages")  # image functions are pulled
    assert '"lambda:GetLayerVersion"' in policy_statement("ReadFunctionLayers")  # qscanner reads layers
    listing = policy_statement("ListFunctionsForBulkScan")
    assert '"lambda:ListFunctions"' in listing
    sending = policy_statement("QueueBulkScanRequests")
    assert '"sqs:SendMessage"' in sending and "module.worker.queue.arn" in sending  # SendMessageBatch
    text = (MODULE / "iam.tf").read_text()
    assert "local.has_bulk_scan ?" in text
    assert '"sts:AssumeRole"' in policy_statement("AssumeSpokeReadRole")
    assert "sqs" in locals_of(WORKER / "iam.tf")["kms_via_services"]  # sending to the KMS-encrypted queue
