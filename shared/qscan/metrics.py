"""CloudWatch metrics through the Embedded Metric Format (EMF): one JSON log line per flush, no API calls.

    metrics = EmfMetrics("qscan", {"service": "qscan-ecr"}, declared=DASHBOARD_METRICS)
    metrics.add("ScansStarted")
    metrics.flush()   # prints {"_aws": {...}, "service": "qscan-ecr", "ScansStarted": 1, ...}

CloudWatch Logs turns the line into metrics in `namespace` with the given dimensions (one dimension set). Values
added under one name are summed (counts). Names in `declared` are always emitted, as 0 when nothing was added,
so dashboards and alarms see a continuous series; `flush` with nothing declared and nothing added writes
nothing. Limits enforced (CloudWatch EMF specification): at most 100 metrics per line, 30 dimensions, names of
1-255 characters, dimension values of 1-1024 characters; the namespace follows the CloudWatch rules and may
not start with `AWS/`.

The line goes to stdout by default: the Lambda runtime forwards stdout to the function's log group, which is
where EMF is extracted. It is written whole, with one `write` call, so it never interleaves with log lines.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Literal

from qscan.errors import ConfigError

Unit = Literal["Count", "Seconds", "Milliseconds", "Bytes", "None"]

MAX_METRICS = 100
MAX_DIMENSIONS = 30
# Regular expressions as pattern strings, compiled on first use (re's cache), not at import.
_NAMESPACE = r"^[A-Za-z0-9._/#:-]{1,255}$"
_NAME = r"^[A-Za-z0-9._/#:-]{1,255}$"
_RESERVED_KEYS = frozenset({"_aws"})

# The scan metrics every qscan handler emits (the platform modules' dashboards read these names).
# ScansFailed counts targets that failed for good (one per failure alert), ScanAttemptsFailed every failed
# attempt, EventsDeadLettered the records a handler moved to the dead-letter queue itself.
SCAN_METRICS: tuple[str, ...] = (
    "ScansStarted",
    "ScansSucceeded",
    "ScansFailed",
    "ScanAttemptsFailed",
    "ScansDeduplicated",
    "EventsSkipped",
    "EventsDeadLettered",
)
FINDING_METRICS: dict[str, str] = {  # SeverityCounts label -> metric name
    "critical": "FindingsCritical",
    "high": "FindingsHigh",
    "medium": "FindingsMedium",
    "low": "FindingsLow",
    "info": "FindingsInformational",
}
DASHBOARD_METRICS: tuple[str, ...] = SCAN_METRICS + tuple(FINDING_METRICS.values())


def validate_namespace(value: str, *, setting: str = "QSCAN_METRICS_NAMESPACE") -> str:
    if not re.match(_NAMESPACE, value) or value.startswith("AWS/"):
        raise ConfigError(
            f"{setting} must be 1-255 characters of letters, digits and . _ / # : - and must not start with AWS/"
        )
    return value


def validate_dimension_value(value: str, *, setting: str = "QSCAN_SERVICE_NAME") -> str:
    if not value or len(value) > 1024 or not value.isprintable():
        raise ConfigError(f"{setting} must be 1-1024 printable characters")
    return value


class EmfMetrics:
    """Accumulates counts and writes them as one EMF line per `flush` (thread-safe)."""

    def __init__(
        self,
        namespace: str,
        dimensions: Mapping[str, str],
        *,
        declared: Iterable[str] = (),
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = validate_namespace(namespace)
        if not dimensions or len(dimensions) > MAX_DIMENSIONS:
            raise ValueError(f"EMF needs 1-{MAX_DIMENSIONS} dimensions")
        for key, value in dimensions.items():
            if not re.match(_NAME, key) or key in _RESERVED_KEYS:
                raise ValueError(f"invalid dimension name {key[:40]!r}")
            validate_dimension_value(value, setting=f"dimension {key}")
        self.dimensions = dict(dimensions)
        self.declared = tuple(dict.fromkeys(declared))
        for name in self.declared:
            self._check_name(name)
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, float] = {}
        self._units: dict[str, Unit] = {}

    def _check_name(self, name: str) -> None:
        if not re.match(_NAME, name) or name in self.dimensions or name in _RESERVED_KEYS:
            raise ValueError(f"invalid metric name {name[:40]!r}")

    def add(self, name: str, value: float = 1, unit: Unit = "Count") -> None:
        """Add `value` to the metric `name` (created on first use)."""
        self._check_name(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("a metric value must be a finite number")
        with self._lock:
            if name not in self._values and len(set(self._values) | set(self.declared)) >= MAX_METRICS:
                raise ValueError(f"at most {MAX_METRICS} metrics per EMF line")
            self._values[name] = self._values.get(name, 0) + value
            self._units[name] = unit

    def snapshot(self) -> dict[str, float]:
        """Current values (declared metrics included, as 0 when unset)."""
        with self._lock:
            values = dict.fromkeys(self.declared, 0.0) | dict(self._values)
        return values

    def document(self) -> dict[str, Any] | None:
        """The EMF document for the current values, or None when there is nothing to emit."""
        values = self.snapshot()
        if not values:
            return None
        with self._lock:
            units = dict(self._units)
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [sorted(self.dimensions)],
                        "Metrics": [{"Name": n, "Unit": units.get(n, "Count")} for n in values],
                    }
                ],
            }
        }
        document.update(self.dimensions)
        for name, value in values.items():
            document[name] = int(value) if float(value).is_integer() else value
        return document

    def flush(self) -> dict[str, Any] | None:
        """Write the EMF line (when there is anything to emit), reset the values, return the document."""
        document = self.document()
        with self._lock:
            self._values.clear()
            self._units.clear()
        if document is None:
            return None
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(json.dumps(document, separators=(",", ":")) + "\n")
        stream.flush()
        return document
