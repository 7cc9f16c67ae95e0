"""Scanner backends: each turns a `ScanTarget` into a normalized `ScanResult`.

- `qscanner.QscannerRunner`: runs the Qualys `qscanner` CLI as a subprocess against the remote artifact.
- `sensor_flow.QualysApiScanner`: the Container Security API registry-sensor flow (schedule + poll), whose
  steps (`sensor_flow`) are also callable one by one from a Step Functions task.

A backend never raises for a scan that ran and failed: it returns a result whose status says so (`failed`,
`partial`, `timeout`). It raises `InvalidEvent` for a target it cannot scan, `TransientError` for outside
failures worth a retry and `ConfigError` for settings that can never work.
"""

from __future__ import annotations

from typing import Protocol

from qscan.results.model import ScanResult
from qscan.target import ScanTarget


class Scanner(Protocol):
    """A scanner backend: `name` is recorded as `ScanResult.backend`."""

    name: str

    def scan(self, target: ScanTarget) -> ScanResult: ...
