"""What the Container Security API (the fake server and the real gateway) must answer for the client.

The "real" variant is read-only and runs when QUALYS_POD or QUALYS_GATEWAY_URL is set together with
QUALYS_ACCESS_TOKEN or QUALYS_USERNAME + QUALYS_PASSWORD; otherwise it is skipped with the reason, shown in
pytest's summary (`-ra`) and printed to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from qscan.scanners.qualys_api import QualysApiClient, QualysApiOptions, QualysNotFound

from tests.doubles.fake_qualys_api import DEFAULT_TOKEN, FakeQualysApi

pytestmark = pytest.mark.contract


@pytest.fixture(params=[pytest.param("fake", marks=pytest.mark.integration), "real"])
def client(request: Any) -> Iterator[QualysApiClient]:
    if request.param == "fake":
        with FakeQualysApi() as api:
            api.state.add_registry("https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
            yield QualysApiClient(
                QualysApiOptions(
                    gateway_url=api.url, allow_insecure_loopback=True, access_token=DEFAULT_TOKEN
                )
            )
        return
    env = {k: os.environ.get(k) or None for k in ("QUALYS_POD", "QUALYS_GATEWAY_URL", "QUALYS_ACCESS_TOKEN")}
    user, password = os.environ.get("QUALYS_USERNAME") or None, os.environ.get("QUALYS_PASSWORD") or None
    if not (env["QUALYS_POD"] or env["QUALYS_GATEWAY_URL"]) or not (
        env["QUALYS_ACCESS_TOKEN"] or (user and password)
    ):
        reason = (
            "set QUALYS_POD (or QUALYS_GATEWAY_URL) and QUALYS_ACCESS_TOKEN (or QUALYS_USERNAME/PASSWORD)"
        )
        print(f"\n[contract] real Qualys API skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    yield QualysApiClient(
        QualysApiOptions(
            pod=env["QUALYS_POD"],
            gateway_url=env["QUALYS_GATEWAY_URL"],
            access_token=env["QUALYS_ACCESS_TOKEN"],
            username=user,
            password=password,
        )
    )


def test_aws_base(client: QualysApiClient) -> None:
    base = client.aws_base()
    assert base.account_id.isdigit()
    assert len(base.account_id) == 12
    assert base.external_id


def test_registries_list_and_exact_lookup(client: QualysApiClient) -> None:
    registries = client.list_registries()
    assert all(r.uuid and r.uri for r in registries)
    assert client.find_registry("https://000000000000.dkr.ecr.us-east-1.amazonaws.com") is None
    if registries:
        found = client.find_registry(registries[0].uri)
        assert found is not None
        assert found.uuid == registries[0].uuid


def test_unknown_image(client: QualysApiClient) -> None:
    assert client.find_image_by_repo_digest("sha256:" + "0" * 64) is None
    with pytest.raises(QualysNotFound):
        client.image_status("0" * 64)
