"""What the Container Security API (the fake server and the real gateway) must answer for the client.

The "real" variant is read-only and runs when QUALYS_POD or QUALYS_GATEWAY_URL is set together with
QUALYS_ACCESS_TOKEN or QUALYS_USERNAME + QUALYS_PASSWORD; otherwise it is skipped with the reason, shown in
pytest's summary (`-ra`) and printed to stderr. `QUALYS_CONTRACT_IMAGE_SHA` (the sha of an image Qualys has
scanned) adds the vulnerability report check against the real API. Write calls (POST /registry, schedules)
run against the fake only: they would create things in a real subscription.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from qscan.scanners.qualys_api import (
    QualysApiClient,
    QualysApiOptions,
    QualysNotFound,
    QualysRequestError,
    repo_digests,
)

from tests.doubles.fake_qualys_api import DEFAULT_TOKEN, FakeQualysApi

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/qualys-ecr-read"
FAKE_IMAGE_DIGEST = "sha256:" + "f" * 64
FAKE_IMAGE_SHA = "5e" * 32

pytestmark = pytest.mark.contract


@pytest.fixture(params=[pytest.param("fake", marks=pytest.mark.integration), "real"])
def client(request: Any) -> Iterator[QualysApiClient]:
    if request.param == "fake":
        with FakeQualysApi() as api:
            api.state.add_registry(f"https://{REGISTRY}")
            api.state.add_image(
                FAKE_IMAGE_DIGEST,
                sha=FAKE_IMAGE_SHA,
                registry=REGISTRY,
                repository="contract/app",
                tag="1.0",
                after_schedule=False,
                vulns=[{"qid": 1, "title": "t", "severity": 4, "cveids": []}],
            )
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
    assert client.find_image(REGISTRY, "contract/none", "sha256:" + "0" * 64) is None
    with pytest.raises(QualysNotFound):
        client.image_status("0" * 64)


def test_image_list_items_have_sha_and_object_repo_digests(client: QualysApiClient) -> None:
    for item in list(client.pages("/images", "data"))[:20]:
        assert isinstance(item.get("sha"), str)
        for entry in item.get("repoDigests") or []:
            assert isinstance(entry, dict), "repoDigests entries are objects"
            assert len(entry["digest"]) == 64, "repoDigests digests are 64 hex without sha256:"
        assert len(repo_digests(item)) == len(item.get("repoDigests") or [])


def test_vulnerability_report_in_one_call(client: QualysApiClient, request: Any) -> None:
    sha = os.environ.get("QUALYS_CONTRACT_IMAGE_SHA") or None
    if "fake" in request.node.callspec.id:
        sha = FAKE_IMAGE_SHA
    if not sha:
        pytest.skip("set QUALYS_CONTRACT_IMAGE_SHA to the sha of an image Qualys has scanned")
    report = client.vulnerability_report(sha)  # raises unless details and the summary agree
    assert report.checked_against in ("vulnSummary", "vuln/count")
    assert sum(report.vuln_counts.to_dict().values()) <= len(report.findings)


@pytest.mark.integration
def test_fake_write_contract() -> None:
    """What the fake must refuse and answer for writes, as the real API does (DESIGN §4)."""
    with FakeQualysApi() as api:
        client = QualysApiClient(
            QualysApiOptions(gateway_url=api.url, allow_insecure_loopback=True, access_token=DEFAULT_TOKEN)
        )
        aws = {"accountId": "123456789012", "region": "us-east-1", "arn": ROLE}
        body = {"registryType": "AWS", "registryUri": f"https://{REGISTRY}", "aws": aws}
        with pytest.raises(QualysRequestError, match="400"):
            client.request("POST", "/registry", json_body=body)  # accountType is mandatory
        answer = client.request(
            "POST", "/registry", json_body={**body, "aws": {**aws, "accountType": "Global"}}
        ).json()
        assert isinstance(answer, str)  # the swagger's bare string
        schedule = {
            "onDemand": True,
            "filters": [{"repoTags": [{"repo": "app", "tag": ""}]}],
            "forceScan": True,
        }
        with pytest.raises(QualysRequestError, match="400"):
            client.request("POST", f"/registry/{answer}/schedule", json_body=schedule)  # tag is mandatory
