"""CloudWatch metrics through the Embedded Metric Format (EMF): JSON log lines per flush, no API calls.

    metrics = EmfMetrics("qscan", {"service": "qscan-ecr"}, declared=DASHBOARD_METRICS)
    metrics.add("ScansStarted")
    metrics.add("ScansSucceeded", account="222233334444")
    metrics.flush()   # prints {"_aws": {...}, "service": "qscan-ecr", "ScansStarted": 1, ...} and the account's line

CloudWatch Logs turns each line into metrics in `namespace` with the given dimensions. Values added under one
name are summed (counts). A value added with `account` (hub-spoke: the AWS account the event came from) goes to
that account's line, whose directive has two dimension sets, `[<dimensions>]` and `[<dimensions>, "account"]`:
CloudWatch adds its values both to the series the dashboards and alarms read (e.g. `service` alone, summed over
every line of every account) and to the account's own series (`service` + `account`). A value without an account
goes to a line with the dimensions alone. Names in `declared` are always emitted, as 0 when nothing was added, in
every line written (so every account seen gets a full set), and in an account-less line when nothing at all was
added, so dashboards and alarms see a continuous series; `flush` with nothing declared and nothing added writes
nothing. Each account seen costs `len(declared)` (plus names added only for it) custom metrics per service: the
`account` series; the account-less series are the same whatever the number of accounts.

Limits enforced (CloudWatch EMF specification): at most 100 metrics per line, 30 dimensions, names of 1-255
characters, dimension values of 1-1024 characters; the namespace follows the CloudWatch rules and may not start
with `AWS/`.

The lines go to stdout by default: the Lambda runtime forwards stdout to the function's log group, which is
where EMF is extracted. Each is written whole, with one `write` call, so it never interleaves with log lines.
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
ACCOUNT_DIMENSION = "account"  # the per-account series' extra dimension (see the module docstring)

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
        if ACCOUNT_DIMENSION in dimensions:
            raise ValueError(f"the {ACCOUNT_DIMENSION!r} dimension is per value: add(..., account=...)")
        self.dimensions = dict(dimensions)
        self.declared = tuple(dict.fromkeys(declared))
        for name in self.declared:
            self._check_name(name)
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str | None, dict[str, float]] = {}  # account (None: none) -> name -> value
        self._units: dict[str, Unit] = {}

    def _check_name(self, name: str) -> None:
        if (
            not re.match(_NAME, name)
            or name in self.dimensions
            or name in _RESERVED_KEYS
            or name == ACCOUNT_DIMENSION
        ):
            raise ValueError(f"invalid metric name {name[:40]!r}")

    def add(self, name: str, value: float = 1, unit: Unit = "Count", *, account: str | None = None) -> None:
        """Add `value` to the metric `name` (created on first use), for `account` when given."""
        self._check_name(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("a metric value must be a finite number")
        if account is not None:
            validate_dimension_value(account, setting=f"dimension {ACCOUNT_DIMENSION}")
        with self._lock:
            values = self._values.setdefault(account, {})
            if name not in values and len(set(values) | set(self.declared)) >= MAX_METRICS:
                raise ValueError(f"at most {MAX_METRICS} metrics per EMF line")
            values[name] = values.get(name, 0) + value
            self._units[name] = unit

    def snapshot(self, account: str | None = None) -> dict[str, float]:
        """Current values summed over every account, or of `account` only (declared metrics as 0 when unset)."""
        with self._lock:
            values = dict.fromkeys(self.declared, 0.0)
            for owner, added in self._values.items():
                if account is None or owner == account:
                    for name, value in added.items():
                        values[name] = values.get(name, 0) + value
        return values

    def documents(self) -> list[dict[str, Any]]:
        """The EMF documents for the current values: one per account seen, plus the account-less one when
        values were added without an account or nothing was added at all (empty when there is nothing)."""
        with self._lock:
            groups = {owner: dict(values) for owner, values in self._values.items()}
            units = dict(self._units)
        if not groups:
            groups = {None: {}}
        timestamp = int(self._clock() * 1000)
        documents = []
        for owner in sorted(groups, key=lambda a: (a is not None, a or "")):
            values = dict.fromkeys(self.declared, 0.0) | groups[owner]
            if not values:
                continue
            base = sorted(self.dimensions)
            dimension_sets = [base] if owner is None else [base, [*base, ACCOUNT_DIMENSION]]
            document: dict[str, Any] = {
                "_aws": {
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": dimension_sets,
                            "Metrics": [{"Name": n, "Unit": units.get(n, "Count")} for n in values],
                        }
                    ],
                }
            }
            document.update(self.dimensions)
            if owner is not None:
                document[ACCOUNT_DIMENSION] = owner
            for name, value in values.items():
                document[name] = int(value) if float(value).is_integer() else value
            documents.append(document)
        return documents

    def flush(self) -> list[dict[str, Any]]:
        """Write the EMF lines (one per document), reset the values, return the documents."""
        documents = self.documents()
        with self._lock:
            self._values.clear()
            self._units.clear()
        if not documents:
            return documents
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in documents))
        stream.flush()
        return documents
