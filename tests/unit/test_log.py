"""qscan.log: JSON lines, correlation ids, and redaction that no log path can bypass."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from qscan.log import JsonFormatter, RedactingFilter, configure_logging, correlation, get_correlation_id
from qscan.redact import redact, register_secret

TOKEN = "qualys-registered-token-" + "K" * 24
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxc2NhbiIsImV4cCI6MTl9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"
)
BEARER = "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = "hunter2-correct-horse"
SECRETS = (TOKEN, JWT, "abcdefghijklmnopqrstuvwxyz0123456789", PASSWORD)


@pytest.fixture(autouse=True)
def isolated_root():
    """configure_logging changes the root logger: give every test a clean one and restore it afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, root.filters[:])
    quiet = {name: logging.getLogger(name).level for name in ("botocore", "urllib3", "azure.core")}
    root.handlers = []
    register_secret(TOKEN)
    yield root
    root.handlers, root.level, root.filters = saved[0], saved[1], saved[2]
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def json_logging(level: str = "INFO") -> io.StringIO:
    """Like a fresh process: no handlers yet (pytest adds its own to the root logger during each test)."""
    logging.getLogger().handlers = []
    out = io.StringIO()
    configure_logging(level, stream=out)
    return out


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_with_standard_fields_and_extra():
    out = json_logging()
    log = logging.getLogger("qscan.test")
    with correlation("sqs-msg-1"):
        log.info(
            "scanned %s", "image#sha256:abc", extra={"dedupe_key": "image#sha256:abc", "counts": {"high": 2}}
        )
    log.debug("not shown at INFO")
    [entry] = lines(out)
    assert entry["message"] == "scanned image#sha256:abc"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "qscan.test"
    assert entry["correlation_id"] == "sqs-msg-1"
    assert entry["dedupe_key"] == "image#sha256:abc"
    assert entry["counts"] == {"high": 2}
    assert entry["timestamp"].endswith("Z") and "T" in entry["timestamp"]


def test_extra_fields_cannot_shadow_standard_fields_and_odd_values_serialize():
    out = json_logging()
    logging.getLogger("qscan").info("x", extra={"level": "fake", "obj": object(), "items": ("a", 1)})
    [entry] = lines(out)
    assert entry["level"] == "INFO" and entry["extra_level"] == "fake"
    assert entry["obj"].startswith("<object object")
    assert entry["items"] == ["a", 1]


def test_correlation_ids_nest_reset_and_isolate_threads():
    assert get_correlation_id() is None
    with correlation("outer") as outer:
        with correlation(None) as generated:
            assert len(generated) == 32 and get_correlation_id() == generated
        assert get_correlation_id() == outer == "outer"
        seen: list[str | None] = []
        thread = threading.Thread(target=lambda: seen.append(get_correlation_id()))
        thread.start()
        thread.join()
        assert seen == [None]  # a new thread starts with a fresh context
    assert get_correlation_id() is None


def test_correlation_id_from_an_event_is_sanitized_and_bounded():
    with correlation('evil"\n{id}' + "x" * 500) as value:
        assert "\n" not in value and '"' not in value and len(value) == 128


def test_configure_logging_is_idempotent():
    out = json_logging()
    for _ in range(3):
        root = configure_logging("INFO", stream=out)
    assert len(root.handlers) == 1
    assert sum(isinstance(f, RedactingFilter) for f in root.handlers[0].filters) == 1
    logging.getLogger("qscan").warning("once")
    assert len(lines(out)) == 1


def test_existing_platform_handlers_are_kept_and_made_safe(isolated_root):
    """Lambda and Azure Functions put a handler on the root logger before our code runs."""
    platform_out = io.StringIO()
    platform = logging.StreamHandler(platform_out)
    platform.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    isolated_root.handlers = [platform]
    configure_logging("WARNING")
    assert isolated_root.handlers == [platform]  # no duplicate output
    assert isolated_root.level == logging.WARNING
    logging.getLogger("qscan").warning("token=%s", TOKEN)
    [entry] = lines(platform_out)
    assert entry["message"] == "token=***"


def test_sdk_loggers_are_quietened():
    configure_logging("INFO", stream=io.StringIO())
    assert logging.getLogger("botocore").level == logging.WARNING
    configure_logging("DEBUG", stream=io.StringIO())
    assert logging.getLogger("botocore").level == logging.DEBUG


def _log_everything(log: logging.Logger) -> None:
    log.info("token %s", TOKEN)
    log.info(f"inline token {TOKEN} and jwt {JWT}")
    log.warning("calling API with %s", BEARER)
    log.error("login failed", extra={"request": {"form": f"username=svc&password={PASSWORD}", "jwt": [JWT]}})
    log.info("%(user)s password=%(pw)s", {"user": "svc", "pw": PASSWORD})
    try:
        raise RuntimeError(f"auth failed with {TOKEN}; header {BEARER}; password: {PASSWORD}")
    except RuntimeError:
        log.exception("scan crashed, jwt=%s", JWT)
    try:
        try:
            raise ValueError(JWT)
        except ValueError as inner:
            raise KeyError(f"wrapped {TOKEN}") from inner
    except KeyError:
        log.error("chained", exc_info=True, stack_info=True)


def test_no_secret_reaches_json_output_including_tracebacks():
    out = json_logging()
    _log_everything(logging.getLogger("qscan.handlers.test"))
    text = out.getvalue()
    for secret in SECRETS:
        assert secret not in text
    entries = lines(out)
    assert len(entries) == 7
    crashed = next(e for e in entries if e["message"].startswith("scan crashed"))
    assert crashed["exception_type"] == "RuntimeError"
    assert "Traceback (most recent call last)" in crashed["exception"]
    assert "auth failed with ***" in crashed["exception"]
    chained = entries[-1]
    assert "The above exception was the direct cause" in chained["exception"]
    assert "stack_info" in chained


def test_no_secret_reaches_a_plain_platform_handler_or_pytest_caplog(caplog):
    """A foreign formatter that renders exc_info itself must not see the live exception."""

    class TracebackFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            text = super().format(record)
            if record.exc_info:  # e.g. a formatter that always re-renders the exception
                text += "\n" + self.formatException(record.exc_info)
            return text

    root = logging.getLogger()
    plain_out = io.StringIO()
    plain = logging.StreamHandler(plain_out)
    root.addHandler(plain)
    root.addHandler(caplog.handler)
    configure_logging("INFO")
    plain.setFormatter(TracebackFormatter("%(levelname)s %(message)s"))  # the platform swaps formatters back
    _log_everything(logging.getLogger("qscan.handlers.test"))
    for text in (plain_out.getvalue(), caplog.text):
        assert "Traceback" in text
        for secret in SECRETS:
            assert secret not in text


def test_formatter_redacts_on_its_own():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pw=%s password=%s", ("a", PASSWORD), None)
    entry = json.loads(JsonFormatter().format(record))
    assert PASSWORD not in json.dumps(entry)
    assert entry["message"] == "pw=a password=***"


def test_broken_format_arguments_do_not_leak_or_drop_the_record():
    out = json_logging()
    logging.getLogger("qscan").info("two %s %s", TOKEN)  # noqa: PLE1206 - a missing argument on purpose
    [entry] = lines(out)
    assert "unformattable" in entry["message"] and TOKEN not in out.getvalue()


def test_redact_masks_secret_pairs_inside_escaped_json() -> None:
    # botocore's DEBUG log prints a GetSecretValue body whose SecretString is JSON escaped inside JSON
    body = r'b\'{"SecretString": "{\\"pod\\": \\"US1\\", \\"access_token\\": \\"qtok-escaped-9Xy7\\"}"}\''
    masked = redact(body)
    assert "qtok-escaped-9Xy7" not in masked
    assert r'\\"pod\\": \\"US1\\"' in masked  # pairs that name no secret survive
