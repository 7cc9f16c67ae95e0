"""Lambda functions as scan targets: resolution, the self-skip guard, result tags (boto3 clients passed in).

- `resolve`: `resolve_function(target, client)` completes a target that needs lookup `lambda_function` with
  one `lambda:GetFunction` call; `is_own_function` keeps the scanner from scanning its own functions.
- `tags`: `tag_function(client, function_arn, result)` mirrors a scan result into the function's tags, best
  effort.
- `bulk_scan`: enumerate an account's functions and enqueue one scan request each (the `qscan bulk-scan` CLI
  and the Lambda scanner's scheduled bulk-scan request); imported on its own, not re-exported here.

The names below are re-exported lazily (PEP 562 `__getattr__`): each submodule is imported when one of its names
is first read, so importing `qscan.aws.lambdas.resolve` (the Lambda scanner's cold start) does not load `tags`,
which only a deployment with QSCAN_TAG_FUNCTIONS=true uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qscan.aws.lambdas.resolve import (
        FunctionGone,
        FunctionLocator,
        function_lookup_target,
        is_own_function,
        locate_function,
        resolve_function,
        unqualified_function_arn,
    )
    from qscan.aws.lambdas.tags import (
        TAG_FAILURE_METRIC,
        TAG_KEYS,
        sanitize_tag_value,
        tag_function,
        tag_values,
    )

_SUBMODULE = {
    "FunctionGone": "resolve",
    "FunctionLocator": "resolve",
    "function_lookup_target": "resolve",
    "is_own_function": "resolve",
    "locate_function": "resolve",
    "resolve_function": "resolve",
    "unqualified_function_arn": "resolve",
    "TAG_FAILURE_METRIC": "tags",
    "TAG_KEYS": "tags",
    "sanitize_tag_value": "tags",
    "tag_function": "tags",
    "tag_values": "tags",
}

__all__ = [
    "TAG_FAILURE_METRIC",
    "TAG_KEYS",
    "FunctionGone",
    "FunctionLocator",
    "function_lookup_target",
    "is_own_function",
    "locate_function",
    "resolve_function",
    "sanitize_tag_value",
    "tag_function",
    "tag_values",
    "unqualified_function_arn",
]


def __getattr__(name: str) -> Any:
    """A re-exported name, from its submodule (imported on first use)."""
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
