"""Qualys CS API client resilience: 429 wait headers, 5xx backoff, timeouts, the total time budget."""

from __future__ import annotations

import email.utils

import pytest
from qscan.errors import TransientError
from qscan.scanners.qualys_api import QualysRateLimited, QualysUnavailable

from tests.doubles.fake_qualys_api import FakeClock, FakeQualysState, Fault, adapter_client

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/qualys-ecr-read"


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


def test_post_not_retried_on_500(state: FakeQualysState, clock: FakeClock) -> None:
    state.inject(Fault(path="^/csapi/v1.3/registry$", method="POST", status=500, count=1))
    with pytest.raises(QualysUnavailable):
        adapter_client(state, clock).create_ecr_registry(f"https://{REGISTRY}", ROLE)
    assert len(state.calls("^/csapi/v1.3/registry$", "POST")) == 1


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
