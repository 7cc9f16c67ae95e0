"""Repo-wide pytest fixtures. Keep this file small: fixture logic lives in tests/harness/."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness.moto_server import MotoServer, moto_server_fixture, terraform_env


def pytest_configure(config: pytest.Config) -> None:
    """Every terraform a test starts uses the repo's CLI config (offline provider mirror) unless one is set,
    also when pytest runs outside make."""
    os.environ.update(terraform_env())


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A shimmed moto server on a free loopback port for the whole session (one per xdist worker).

    Yields `MotoServer` (`.endpoint`, `.reset()`, `.client(service)`, `.deliveries()`); stopped at the end.
    """
    yield from moto_server_fixture(tmp_path_factory.mktemp("moto"))
