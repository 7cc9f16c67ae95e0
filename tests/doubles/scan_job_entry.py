"""The scan-job image's command in tests: `python -m qscan.azure.scan_job`'s `main` with test identities.

The fake ARM server runs this (its `ImageRun` for the scan-job image) in place of the image: the job's
environment comes from the container group as ACI delivers it; only the managed identity, which a local
process cannot have, is replaced: Azurite's account key for Blob and Table, and a static bearer token
(QSCAN_TEST_BEARER, accepted by the Event Grid double) for notifications."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from qscan.azure.scan_job import main

from tests.harness.azurite import ACCOUNT, ACCOUNT_KEY


class _Bearer:
    def get_token(self, *_scopes: str, **_kwargs: Any) -> AccessToken:
        return AccessToken(os.environ["QSCAN_TEST_BEARER"], int(time.time()) + 3600)


if __name__ == "__main__":
    sys.exit(
        main(
            credential=_Bearer(),
            storage_credential=AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY),
            temp_dir=os.environ["QSCAN_TEST_TEMP_DIR"],
        )
    )
