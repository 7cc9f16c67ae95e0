"""Fixtures of the integration tier (servers in-process or on loopback).

`azurite`: one Azurite per test session (per xdist worker), stopped at the end. The lead may move it into
tests/conftest.py; the logic lives in `tests.harness.azurite`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.azurite import Azurite, azurite_running


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with azurite_running() as running:
        yield running
