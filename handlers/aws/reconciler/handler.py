"""The scheduled AWS reconciler: the Lambda function behind modules/reconciler-aws (python3.12).

EventBridge Scheduler invokes it (the input is ignored: every run lists the same scope); one invocation is one
run of `qscan.aws.reconciler.AwsReconciler` (what it lists, where requests go, limits, metrics: see there and
docs/reconciler.md). The cold start builds the settings, JSON logging and the clients once; a cold start that
fails (bad settings) raises, so every invocation fails and the function's error alarm fires. A run whose
sources or some accounts failed still returns its summary (the errors are in it, logged and counted as
`ReconcileErrors`); a run in which every account failed (the dedupe store, the results bucket) fails the
invocation.
"""

from __future__ import annotations

from typing import Any

from qscan.aws.context import LambdaContext
from qscan.aws.reconciler import AwsReconciler
from qscan.aws.scan_handler import cold_start

HANDLER = cold_start(AwsReconciler)


def lambda_handler(event: Any, context: LambdaContext | None = None) -> dict[str, Any]:
    """One reconciler run; returns its summary. This function itself is never listed as a workload."""
    own = (context.invoked_function_arn,) if context is not None and context.invoked_function_arn else ()
    return HANDLER.run(own_functions=own)
