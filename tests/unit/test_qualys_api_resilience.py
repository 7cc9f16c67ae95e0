"""Qualys CS API client resilience: 429 wait headers, 5xx backoff, timeouts, the total time budget, and which
failures a POST may be retried after (only those where the request surely never reached the server).

The adapter raises the exceptions requests raises for each transport failure (`transport_error`); after-send
failures are raised after the fake handled the request, so a wrongly retried POST meets its own effect (409).
"""

from __future__ import annotations

import email.utils

import pytest
import requests
from qscan.errors import TransientError
from qscan.scanners.qualys_api import (
    QualysRateLimited,
    QualysUnavailable,
    never_reached_server,
)

from tests.doubles.fake_qualys_api import (
    CONNECT_ERRORS,
    SENT_ERRORS,
    FakeClock,
    FakeQualysState,
    Fault,
    adapter_client,
    transport_error,
)

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/qualys-ecr-read"
REGISTRY_PATH = "^/csapi/v1.3/registry$"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> FakeQualysState:
    return FakeQualysState(clock=clock.wall)


def test_429_honours_ratelimit_wait_header(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(
        Fault(path="aws-base", status=429, headers={"X-RateLimit-ToWait-Sec": "7", "Retry-After": "1"})
    )
    adapter_client(state, clock).aws_base()
    assert clock.slept == [7.0]
    assert len(state.calls("aws-base")) == 2


def test_429_honours_retry_after_seconds_and_date(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=429, headers={"Retry-After": "3"}))
    when = email.utils.formatdate(clock.wall() + 12, usegmt=True)
    state.inject(Fault(path="aws-base", status=429, headers={"Retry-After": when}))
    adapter_client(state, clock).aws_base()
    assert clock.slept[0] == 3.0
    assert 8.0 <= clock.slept[1] <= 9.0  # the date was 12 s ahead before the first 3 s wait


def test_429_without_header_backs_off(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=429, count=2))
    adapter_client(state, clock).aws_base()
    assert clock.slept == [0.375, 0.75]  # equal jitter at 0.5: half the ceiling + a quarter


def test_429_wait_beyond_budget_fails_fast(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=429, headers={"X-RateLimit-ToWait-Sec": "600"}))
    with pytest.raises(QualysRateLimited, match="time budget") as info:
        adapter_client(state, clock, total_budget_seconds=60).aws_base()
    assert isinstance(info.value, TransientError)
    assert clock.slept == []


def test_429_beyond_attempts(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=429, count=99, headers={"X-RateLimit-ToWait-Sec": "1"}))
    with pytest.raises(QualysRateLimited, match="after 4 attempt"):
        adapter_client(state, clock, max_attempts=4).aws_base()
    assert len(state.calls("aws-base")) == 4


def test_5xx_retried_then_success(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=502, count=1))
    state.inject(Fault(path="aws-base", status=500, count=1))
    assert adapter_client(state, clock).aws_base().account_id
    assert clock.slept == [0.375, 0.75]
    assert len(state.calls("aws-base")) == 3


def test_5xx_retries_then_failure(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=500, count=99))
    with pytest.raises(QualysUnavailable, match="HTTP 500 after 5 attempt") as info:
        adapter_client(state, clock, max_attempts=5, backoff_cap_seconds=2).aws_base()
    assert isinstance(info.value, TransientError)
    assert len(state.calls("aws-base")) == 5
    assert clock.slept == [0.375, 0.75, 1.5, 1.5]  # exponential, capped


def test_backoff_jitter_stays_within_bounds(state: FakeQualysState, clock: FakeClock) -> None:
    client = adapter_client(state, clock, backoff_base_seconds=1, backoff_cap_seconds=8)
    for jitter, attempt, low, high in [(0.0, 1, 0.5, 0.5), (0.999, 3, 2.0, 4.0), (1.0, 10, 8.0, 8.0)]:
        client._jitter = lambda j=jitter: j
        assert low <= client._backoff(attempt) <= high


def test_total_budget_caps_backoff(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", status=503, count=99))
    with pytest.raises(QualysUnavailable, match="time budget"):
        adapter_client(
            state, clock, max_attempts=50, backoff_base_seconds=4, total_budget_seconds=30
        ).aws_base()
    assert sum(clock.slept) <= 30


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_not_retried_on_500_502_504(state: FakeQualysState, clock: FakeClock, status: int) -> None:
    state.inject(Fault(path=REGISTRY_PATH, method="POST", status=status, count=1))
    with pytest.raises(QualysUnavailable, match=f"HTTP {status} after 1 attempt"):
        adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert len(state.calls(REGISTRY_PATH, "POST")) == 1


def test_post_retried_on_503_and_429(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", status=503, count=1))
    state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", status=429, count=1))
    adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert len(state.calls("^/csapi/v1.3/registry$", "POST")) == 3
    assert len(state.registries) == 1


def test_slow_get_times_out_and_is_retried(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", delay=60.0, count=1))
    adapter_client(state, clock, read_timeout=5).aws_base()
    assert len(state.calls("aws-base")) == 2


def test_slow_post_is_not_retried(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", delay=60.0, count=1))
    with pytest.raises(QualysUnavailable, match="ReadTimeout after 1 attempt"):
        adapter_client(state, clock, read_timeout=5).create_ecr_registry(f"https://{REGISTRY}", ROLE)


def test_slow_but_within_timeout_succeeds(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="aws-base", delay=2.0, count=1))
    adapter_client(state, clock, read_timeout=5).aws_base()
    assert len(state.calls("aws-base")) == 1
    assert clock.slept == [2.0]


# ---------------------------------------------------------------- POST: retried only when surely unsent
@pytest.mark.parametrize("error", CONNECT_ERRORS)
def test_post_retried_after_connect_phase_errors(
    state: FakeQualysState, clock: FakeClock, error: str
) -> None:
    state.inject(Fault(path=REGISTRY_PATH, method="POST", error=error, count=2))
    created = adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert state.unsent == [("POST", "/csapi/v1.3/registry", error)] * 2  # never reached the server
    assert len(state.calls(REGISTRY_PATH, "POST")) == 1
    assert list(state.registries) == [created.uuid]
    assert clock.slept == [0.375, 0.75]


@pytest.mark.parametrize("error", SENT_ERRORS)
def test_post_not_retried_once_it_may_have_been_sent(
    state: FakeQualysState, clock: FakeClock, error: str
) -> None:
    state.inject(Fault(path=REGISTRY_PATH, method="POST", error=error, count=1))
    with pytest.raises(QualysUnavailable, match=r"after 1 attempt.*may have reached the server") as info:
        adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert isinstance(info.value, TransientError)  # the step is retried as a whole (and finds the registry)
    assert len(state.calls(REGISTRY_PATH, "POST")) == 1
    assert len(state.registries) == 1  # the server did create it: a blind retry would have been a 409
    assert clock.slept == []


@pytest.mark.parametrize("error", CONNECT_ERRORS + SENT_ERRORS)
def test_get_retried_after_any_transport_error(state: FakeQualysState, clock: FakeClock, error: str) -> None:
    state.inject(Fault(path="aws-base", error=error, count=1))
    assert adapter_client(state, clock).aws_base().account_id
    assert clock.slept == [0.375]


def test_schedule_post_not_retried_after_reset(state: FakeQualysState, clock: FakeClock) -> None:
    uuid = state.add_registry(f"https://{REGISTRY}")
    state.inject(Fault(path="/schedule$", method="POST", error="reset", count=1))
    with pytest.raises(QualysUnavailable):
        adapter_client(state, clock).schedule_scan(uuid, "app", "1.0")
    assert len(state.schedules) == 1


@pytest.mark.parametrize(
    ("kind", "unsent"),
    [("refused", True), ("dns", True), ("connect_timeout", True)] + [(kind, False) for kind in SENT_ERRORS],
)
def test_never_reached_server_classification(kind: str, unsent: bool) -> None:
    assert never_reached_server(transport_error(kind, "http://127.0.0.1:1/x")) is unsent


def test_read_timeouts_and_other_errors_may_have_been_sent() -> None:
    assert not never_reached_server(requests.ReadTimeout("Read timed out."))
    assert not never_reached_server(requests.ConnectionError("connection aborted"))  # no connect-phase cause
    assert not never_reached_server(requests.exceptions.SSLError("handshake"))
    assert not never_reached_server(ValueError("x"))
