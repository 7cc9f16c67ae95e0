"""A handler's cold start (its module import, as Lambda runs it) loads and compiles only what an invocation that
scans needs (issue 10 item 20): the bulk scan is imported when a bulk-scan request arrives, the notification
message when one goes out, and the core's regular expressions are compiled on first use (pattern strings through
re's cache), not at import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from qscan import log, metrics, refs, secrets
from qscan.aws import sessions, sqs_retry
from qscan.aws.lambdas import resolve
from qscan.events import _util, aws_lambda, reconciler
from qscan.notify import sns
from qscan.results import keys
from qscan.scanners import qscanner

from tests.bench import bench_handler_ecr

HANDLERS = bench_handler_ecr.ROOT / "handlers" / "aws"
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


def _after(platform: str, statement: str) -> tuple[set[str], set[str]]:
    """(modules loaded, pattern strings in re's cache) after `statement` in a fresh interpreter in the
    handler's directory, with the bench's handler environment."""
    code = (
        f"import json, re, sys\n{statement}\n"
        "print(json.dumps([sorted(sys.modules), [k[1] for k in re._cache if isinstance(k[1], str)]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=bench_handler_ecr._env(bench_handler_ecr.ROOT / "shared"),
        cwd=HANDLERS / platform,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules, patterns = json.loads(out.splitlines()[-1])
    return set(modules), set(patterns)


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


@pytest.mark.parametrize("platform", ["ecr", "lambda"])
def test_the_cold_start_does_not_load_the_notification_message(platform: str) -> None:
    modules, _ = _after(platform, "import handler")
    assert "qscan.notify.sns" in modules  # the publisher exists; its message is built when one goes out
    assert "qscan.notify.message" not in modules


def test_the_lambda_cold_start_does_not_load_the_bulk_scan() -> None:
    modules, _ = _after("lambda", "import handler")
    assert "qscan.aws.lambdas.bulk_request" in modules  # the request is recognized without it
    assert "qscan.aws.lambdas.bulk_scan" not in modules
