"""qscan: deploy-time Qualys scanning for cloud workloads.

The core is cloud-neutral: it turns platform events into ScanTargets (`qscan.events`), claims them once
(`qscan.dedupe`), scans them (`qscan.scanners`), persists results (`qscan.results`) and notifies
(`qscan.notify`). Handlers in `handlers/` are thin glue around it.
"""

__version__ = "0.1.0"
