"""Result object stores (DESIGN §3 step 4): the contract and what the S3 and Blob backends share.

`put_result(result) -> location` writes the raw outputs first (`<prefix>/<scan id>/<raw name>`, see
`qscan.results.keys`), then the normalized JSON (`<prefix>/<scan id>.json`), so a result document never points
at raw outputs that are missing. The JSON records its own location (`result_location`). The JSON Schema
(`qscan/schemas/scan-result.schema.json`) is enforced by the test suite over every backend's output, not at run
time: results are built by this package, and the validator's dependencies would double the Lambda bundle. Writes overwrite: a retried put after a transient failure is
idempotent. Backends: `qscan.results.s3.S3ResultStore`, `qscan.results.blob.BlobResultStore`.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

from qscan.results.keys import raw_output_key, result_key
from qscan.results.model import ScanResult

JSON_CONTENT_TYPE = "application/json"
LOG = logging.getLogger(__name__)


@runtime_checkable
class ResultStore(Protocol):
    def put_result(self, result: ScanResult) -> str:
        """Persist `result` and its raw outputs; returns the location and sets `result.result_location`."""
        ...

    def get_result(self, location: str) -> dict[str, Any]:
        """Read back a normalized result written by this store."""
        ...


def result_document(result: ScanResult, location: str) -> bytes:
    """The normalized JSON of `result`, located at `location`."""
    result.result_location = location
    return json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def check_raw_names(result: ScanResult) -> None:
    names = [raw.name for raw in result.raw_outputs]
    if len(set(names)) != len(names):
        raise ValueError("raw output names of one result must be unique")


class ObjectResultStore(ABC):
    """The write order every object-store backend shares; backends say where a key lives and how to write it."""

    @abstractmethod
    def location(self, key: str) -> str:
        """The location string of `key` (what `put_result` returns and `get_result` reads)."""

    @abstractmethod
    def _put(self, key: str, body: bytes, content_type: str, result: ScanResult) -> None:
        """Write one object (overwriting), mapping SDK errors onto qscan's typed errors."""

    def put_result(self, result: ScanResult) -> str:
        check_raw_names(result)
        key = result_key(result)
        location = self.location(key)
        document = result_document(result, location)  # built first: a bad result writes nothing
        for raw in result.raw_outputs:
            self._put(
                raw_output_key(result, raw.name),
                raw.body,
                raw.content_type or "application/octet-stream",
                result,
            )
        self._put(key, document, JSON_CONTENT_TYPE, result)
        LOG.info("result stored", extra={"scan_id": result.scan_id, "location": location})
        return location
