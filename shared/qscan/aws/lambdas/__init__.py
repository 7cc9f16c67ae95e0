"""Lambda functions as scan targets: resolution, the self-skip guard, result tags (boto3 clients passed in).

- `resolve`: `resolve_function(target, client)` completes a target that needs lookup `lambda_function` with
  one `lambda:GetFunction` call; `is_own_function` keeps the scanner from scanning its own functions.
- `tags`: `tag_function(client, function_arn, result)` mirrors a scan result into the function's tags, best
  effort.
- `bulk_scan`: enumerate an account's functions and enqueue one scan request each (the `qscan bulk-scan` CLI
  and the Lambda scanner's scheduled bulk-scan request); imported on its own, not re-exported here.
"""

from __future__ import annotations

from qscan.aws.lambdas.resolve import (
    FunctionGone,
    FunctionLocator,
    function_lookup_target,
    is_own_function,
    locate_function,
    resolve_function,
    unqualified_function_arn,
)
from qscan.aws.lambdas.tags import TAG_FAILURE_METRIC, TAG_KEYS, sanitize_tag_value, tag_function, tag_values

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
