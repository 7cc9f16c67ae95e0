"""An in-memory results store: `ObjectResultStore`'s own write order and key checks over a dict.

For unit tests and benchmarks of code that reads stores (`qscan report`); the S3 and Blob backends have their
own integration tests. Keys list in byte order, as S3 and Blob Storage list them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from qscan.results.model import ScanResult
from qscan.results.store import ObjectResultStore

SCHEME = "memory://"


class MemoryResultStore(ObjectResultStore):
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads = 0

    def location(self, key: str) -> str:
        return SCHEME + key

    def get_result(self, location: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.objects[location.removeprefix(SCHEME)])
        return data

    def _put(self, key: str, body: bytes, content_type: str, result: ScanResult | None) -> None:
        self.objects[key] = body

    def _get(self, key: str) -> bytes | None:
        self.reads += 1
        return self.objects.get(key)

    def _keys(self, prefix: str) -> Iterator[str]:
        yield from sorted((key for key in self.objects if key.startswith(prefix)), key=str.encode)
