"""Result object stores (DESIGN §3 step 4): the contract and what the S3 and Blob backends share.

`put_result(result) -> location` writes the raw outputs first (`<prefix>/<scan id>/<raw name>`, see
`qscan.results.keys`), then the normalized JSON (`<prefix>/<scan id>.json`), so a result document never points
at raw outputs that are missing. The JSON records its own location (`result_location`). The JSON Schema
(`qscan/schemas/scan-result.schema.json`) is enforced by the test suite over every backend's output, not at run
time: results are built by this package, and the validator's dependencies would double the Lambda bundle. Writes overwrite: a retried put after a transient failure is
idempotent. Backends: `qscan.results.s3.S3ResultStore`, `qscan.results.blob.BlobResultStore`.

Documents (inventories, reports: anything that is not a scan result) go through `DocumentStore`:
`put_document(key, body)`, `get_document(key)` and `iter_keys(prefix)`. `get_document` returns None for a
missing key (a first run has no inventory yet: that is not an error); `iter_keys` pages through the listing
(S3 continuation tokens, Blob pages) lazily. Keys and prefixes are checked by `check_document_key`: at most 1,024 UTF-8 bytes, no leading
`/`, no `\\`, no control characters, no empty, `.` or `..` segment (a prefix may be empty: everything, or end
with `/`).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from qscan.results.keys import raw_output_key, result_key
from qscan.results.model import ScanResult

JSON_CONTENT_TYPE = "application/json"
MAX_KEY_BYTES = 1024  # S3 and Blob Storage both allow 1,024 bytes
LOG = logging.getLogger(__name__)


@runtime_checkable
class ResultStore(Protocol):
    def put_result(self, result: ScanResult) -> str:
        """Persist `result` and its raw outputs; returns the location and sets `result.result_location`."""
        ...

    def get_result(self, location: str) -> dict[str, Any]:
        """Read back a normalized result written by this store."""
        ...


@runtime_checkable
class DocumentStore(ResultStore, Protocol):
    """A result store that also keeps other documents (every object-store backend is one).

    A separate protocol so a decorator of `put_result` (the Lambda handler's tagging store) stays a plain
    `ResultStore`.
    """

    def put_document(self, key: str, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> str:
        """Write (overwrite) the object `key`; returns its location."""
        ...

    def get_document(self, key: str) -> bytes | None:
        """The body of the object `key`, or None when there is no such object."""
        ...

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every key starting with `prefix`, lazily, page by page, in the store's (lexicographic) order."""
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


def check_document_key(key: str, *, prefix: bool = False) -> str:
    """`key` if it is a safe object key (see the module docstring); a prefix may be empty or end with `/`."""
    if not isinstance(key, str):
        raise ValueError("an object key must be a string")
    if key == "" and prefix:
        return key
    if not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise ValueError(f"an object key must have 1 to {MAX_KEY_BYTES} bytes")
    if key.startswith("/") or "\\" in key or any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise ValueError("an object key must not start with '/' or contain '\\' or control characters")
    segments = key.split("/")
    if prefix and key.endswith("/"):
        segments = segments[:-1]
    if any(segment in {"", ".", ".."} for segment in segments):
        raise ValueError("an object key must not have an empty, '.' or '..' segment")
    return key


class ObjectResultStore(ABC):
    """The write order every object-store backend shares; backends say where a key lives and how to write it."""

    @abstractmethod
    def location(self, key: str) -> str:
        """The location string of `key` (what `put_result` returns and `get_result` reads)."""

    @abstractmethod
    def _put(self, key: str, body: bytes, content_type: str, result: ScanResult | None) -> None:
        """Write one object (overwriting; with `result`'s metadata if given), mapping SDK errors."""

    @abstractmethod
    def _get(self, key: str) -> bytes | None:
        """Read one object (None when missing), mapping other SDK errors onto qscan's typed errors."""

    @abstractmethod
    def _keys(self, prefix: str) -> Iterator[str]:
        """List keys under `prefix` page by page, mapping SDK errors onto qscan's typed errors."""

    def put_document(self, key: str, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> str:
        check_document_key(key)
        if not isinstance(body, bytes):
            raise ValueError("a document body must be bytes")
        self._put(key, body, content_type, None)
        return self.location(key)

    def get_document(self, key: str) -> bytes | None:
        return self._get(check_document_key(key))

    def iter_keys(self, prefix: str) -> Iterator[str]:
        return self._keys(check_document_key(prefix, prefix=True))

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
