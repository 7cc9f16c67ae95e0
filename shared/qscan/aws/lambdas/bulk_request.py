"""The scheduled bulk-scan request: how the Lambda scanner recognizes it and whose functions it never scans.

modules/lambda's optional schedule puts an EventBridge-shaped event with source `REQUEST_SOURCE` into the scan
queue; the handler checks every record with `is_bulk_scan_request` and hands a match to
`qscan.aws.lambdas.bulk_scan.scheduled_bulk_scan`. Recognizing the request needs none of the bulk scan itself,
which is imported only when a request arrives (an invocation that scans does not load it).
"""

from __future__ import annotations

from collections.abc import Mapping

REQUEST_SOURCE = "qscan.bulk-scan"  # the scheduled request of modules/lambda (an EventBridge-shaped event)
REQUEST_DETAIL_TYPE = "qscan Bulk Scan Request"
# The scanner functions of the modules' default name_prefix "qscan" (modules/ecr, modules/lambda): the own
# functions when nothing else is configured (QSCAN_SELF_FUNCTION_NAMES, `--own-function`).
DEFAULT_OWN_FUNCTIONS: tuple[str, ...] = ("qscan-ecr-scanner", "qscan-lambda-scanner")


def is_bulk_scan_request(event: object) -> bool:
    """True for the scheduled bulk-scan request the lambda module puts into the scan queue."""
    return isinstance(event, Mapping) and event.get("source") == REQUEST_SOURCE
