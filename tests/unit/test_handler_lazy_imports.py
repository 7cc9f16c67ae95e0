"""A handler's cold start (its module import, as Lambda's init phase runs it) loads and compiles only what a
single scanning invocation needs (issue 10 item 20).

Each check runs `import handler` (or the handler's imports alone) in a fresh interpreter in the handler's
directory, with the bench's no-network settings (tests/bench/bench_handler_ecr), and names the modules that must
NOT be loaded afterwards, or the core patterns that must not be compiled yet (pattern strings through re's cache,
compiled on first use); then runs a path that needs one of them and checks that it loads there. Nothing is
timed: the figures are `make bench`'s.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from qscan import log, metrics, oci, redact, refs, secrets
from qscan.aws import ecr, sessions, sqs_retry
from qscan.aws.lambdas import resolve
from qscan.events import _util, aws_lambda, reconciler
from qscan.notify import sns
from qscan.results import keys
from qscan.scanners import qscanner

from tests.bench import bench_handler_ecr

HANDLERS = bench_handler_ecr.ROOT / "handlers" / "aws"
# Modules whose module-level pattern constants are compiled on first use.
LAZY_PATTERN_MODULES = (
    _util,
    aws_lambda,
    keys,
    log,
    metrics,
    qscanner,
    reconciler,
    refs,
    resolve,
    secrets,
    sessions,
    sns,
    sqs_retry,
)


# Never needed by an invocation of either AWS queue handler: other clouds and backends, the reconciler, reports,
# JSON-Schema, the bulk scan, the distribution HTTP client (ECR is read through ecr:BatchGetImage), the Lambda
# context protocol (annotations only), the notification message (built when one goes out).
NOT_LOADED = (
    "azure",
    "jsonschema",
    "requests",
    "qscan.aws.context",
    "qscan.aws.ecs",
    "qscan.aws.inventory",
    "qscan.aws.lambdas.bulk_scan",
    "qscan.aws.reconciler",
    "qscan.azure",
    "qscan.cli",
    "qscan.dedupe.azure_table",
    "qscan.events.activitylog",
    "qscan.events.arm",
    "qscan.events.ecs",
    "qscan.events.eventgrid",
    "qscan.notify.eventgrid",
    "qscan.notify.message",
    "qscan.reconcile",
    "qscan.registry",
    "qscan.report",
    "qscan.results.blob",
    "qscan.results.schema",
    "qscan.scanners.qualys_api",
    "qscan.scanners.sensor_flow",
)
NOT_LOADED_BY = {
    "ecr": (*NOT_LOADED, "qscan.aws.lambdas", "qscan.events.aws_lambda"),
    # result tags: only with QSCAN_TAG_FUNCTIONS=true
    "lambda": (*NOT_LOADED, "qscan.aws.lambdas.tags"),
}
# Patterns compiled on first use (pattern strings through re's cache), not by the cold start.
FIRST_USE_PATTERNS = {
    "qscan.redact._PATTERNS": [pattern for pattern, _ in redact._PATTERNS],
    "qscan.refs._IPV6": [refs._IPV6],
    "qscan.oci._PLATFORM_PART": [oci._PLATFORM_PART],
    "qscan.aws.ecr._SAFE_CODE": [ecr._SAFE_CODE],
}


def _after(platform: str, statement: str, **env: str) -> tuple[set[str], set[str]]:
    """(modules loaded, pattern strings in re's cache) after `statement` in a fresh interpreter in the handler's
    directory, with the bench's handler environment plus `env`."""
    code = (
        f"import json, re, sys\n{statement}\n"
        "print(json.dumps([sorted(sys.modules), [k[1] for k in re._cache if isinstance(k[1], str)]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=bench_handler_ecr._env(bench_handler_ecr.ROOT / "shared") | env,
        cwd=HANDLERS / platform,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules, patterns = json.loads(out.splitlines()[-1])
    return set(modules), set(patterns)


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The modules of `modules` that are one of `names` or inside one of those packages."""
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_the_cold_start_loads_nothing_a_single_invocation_does_not_need(platform: str) -> None:
    modules, _ = _after(platform, "import handler")
    assert "handler" in modules and "qscan.aws.queue_handler" in modules  # the cold start ran
    assert "qscan.notify.sns" in modules  # the publisher exists; its message is built when one goes out
    if platform == "lambda":
        assert "qscan.aws.lambdas.bulk_request" in modules  # recognizes a bulk request without the scan
    assert _loaded(modules, NOT_LOADED_BY[platform]) == []


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_the_cold_start_compiles_the_first_use_patterns_only_when_used(platform: str) -> None:
    _, compiled = _after(platform, "import handler")
    early = sorted(name for name, patterns in FIRST_USE_PATTERNS.items() if compiled.intersection(patterns))
    assert early == []
    _, compiled = _after(
        platform, "import handler\nfrom qscan.redact import redact\nredact('password=hunter22')"
    )
    assert set(FIRST_USE_PATTERNS["qscan.redact._PATTERNS"]) <= compiled


def test_the_lambda_cold_start_loads_the_tags_when_tagging_is_on() -> None:
    modules, _ = _after("lambda", "import handler", QSCAN_TAG_FUNCTIONS="true")
    assert "qscan.aws.lambdas.tags" in modules  # its metric is declared at cold start


def test_the_lambdas_package_loads_a_submodule_when_one_of_its_names_is_read() -> None:
    modules, _ = _after("lambda", "import qscan.aws.lambdas")
    assert _loaded(modules, ("qscan.aws.lambdas.resolve", "qscan.aws.lambdas.tags")) == []
    modules, _ = _after("lambda", "from qscan.aws.lambdas import TAG_KEYS, resolve_function")
    assert {"qscan.aws.lambdas.resolve", "qscan.aws.lambdas.tags"} <= modules


def test_an_ecr_resolution_loads_the_resolver_without_the_http_client() -> None:
    """The ECR handler resolves through ecr:BatchGetImage: the registry resolver loads, its HTTP client does not."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "ef" * 32},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "11" * 32}
        ],
    }
    answer = {
        "images": [
            {
                "imageId": {"imageDigest": "sha256:" + "ab" * 32},
                "imageManifest": json.dumps(manifest),
                "imageManifestMediaType": oci.OCI_MANIFEST,
            }
        ]
    }
    statement = (
        "import handler\n"
        "class Ecr:\n"
        f"    def batch_get_image(self, **kwargs): return {answer!r}\n"
        "found = handler.resolve(Ecr(), registry_id='123456789012', region='us-east-1', repository='team/app',"
        " tag='1.0')\n"
        "assert found.digest == 'sha256:' + 'ab' * 32 and found.manifest.scannable\n"
    )
    modules, _ = _after("ecr", statement)
    assert "qscan.registry.resolver" in modules
    assert _loaded(modules, ("requests", "qscan.registry.client", "qscan.http_wait")) == []


def _module_patterns() -> dict[str, str]:
    """The module-level pattern strings of the modules that compile on first use, by qualified name."""
    found: dict[str, str] = {}
    for module in LAZY_PATTERN_MODULES:
        for name, value in vars(module).items():
            regex = isinstance(value, str) and any(token in value for token in ("[", "(?", "\\"))
            if regex and name.lstrip("_").isupper():  # a pattern constant, not a message or a default
                found[f"{module.__name__}.{name}"] = value
    return found


def test_the_pattern_modules_hold_patterns_to_check() -> None:
    names = _module_patterns()
    assert "qscan.refs._DIGEST" in names and "qscan.scanners.qscanner._IMAGE_REF" in names
    assert len(names) >= 30


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_the_handler_imports_compile_none_of_the_core_patterns(platform: str) -> None:
    """The handler's imports alone (the cold start then compiles what it checks, on first use)."""
    imports = "\n".join(
        f"import {name}" for name in bench_handler_ecr.handler_imports(HANDLERS / platform / "handler.py")
    )
    _, compiled = _after(platform, imports)
    early = sorted(name for name, pattern in _module_patterns().items() if pattern in compiled)
    assert early == [], f"compiled at import (use a pattern string with re.fullmatch & co.): {early}"
