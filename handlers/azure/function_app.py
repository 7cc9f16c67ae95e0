"""The qscan Azure Functions app (Python v2 programming model) behind modules/aci-aca.

Functions (thin: they read the trigger and call `qscan.azure.handler.AzureScanHandler`, the one path):

- `scan_queue`: queue trigger on the scan queue (app setting QSCAN_SCAN_QUEUE_NAME), connection prefix
  `QSCAN_STORAGE` (identity-based: QSCAN_STORAGE__queueServiceUri, QSCAN_STORAGE__credential=managedidentity,
  QSCAN_STORAGE__clientId). Each message is one Event Grid `ResourceWriteSuccess` event, JSON or base64:
  host.json sets `messageEncoding` to `none`, so the host hands the body over as it is and the handler tries
  JSON, then base64. The attempt is the message's dequeue count of the host's maxDequeueCount (host.json,
  or its app-setting override AzureFunctionsJobHost__extensions__queues__maxDequeueCount); a raised error
  makes the message visible again after visibilityTimeout, and after maxDequeueCount the host moves it to
  `<queue>-poison`. With QSCAN_AZURE_SCAN_MODE=aci-job the same queue also carries the handler's own job-check
  messages (`qscan.azure.scan_job`), which it tells apart from Event Grid events.
- `activity_log`: Event Hub trigger (cardinality many) for the alternative Activity Log trigger, registered
  only when the app setting QSCAN_ACTIVITY_LOG_HUB_NAME is set (with QSCAN_ACTIVITY_LOG_CONSUMER_GROUP;
  connection prefix `QSCAN_ACTIVITY_LOG`: QSCAN_ACTIVITY_LOG__fullyQualifiedNamespace, __credential, __clientId),
  as modules/aci-aca sets them with `enable_activity_log_trigger`. Event Hubs never redeliver a failed
  batch: the function's retry policy (`EVENT_HUB_RETRIES`, exponential) re-runs it, and its last attempt
  notifies the failures it could not scan.
- `reconcile`: timer trigger on the NCRONTAB schedule of the app setting QSCAN_RECONCILE_SCHEDULE (six fields,
  e.g. `0 0 */6 * * *`), registered only when that setting is set (modules/aci-aca sets it with
  `reconcile.enabled`); `run_on_startup` off (a restart or scale-out never adds runs), `use_monitor` on (a
  schedule missed while the app was down runs once when it is back). One run (`qscan.azure.reconciler.run_with`)
  lists the subscriptions of QSCAN_RECONCILE_SUBSCRIPTION_IDS through ARM, queues scan requests for what the
  dedupe store has not seen (or saw longer ago than the cache TTL) on the scan queue, writes each
  subscription's inventory snapshot to the results container and logs its `reconcile summary`. A run with
  errors (a listing denied or failing, an image it cannot resolve) raises after writing them
  (`ReconcileFailed`): a failed invocation, which the module alerts on; the next occurrence runs again.

host.json holds the module's defaults (`batchSize` 4 with `newBatchThreshold` 0: at most 4 scans per instance;
`maxDequeueCount` 5; `visibilityTimeout` 00:01:00; `functionTimeout` 00:12:00, the 600 s scan timeout plus two
minutes), `messageEncoding` none (above) and Application Insights sampling off, so no accounting line is
sampled away. The module's variables override them (its `host_json` output, or AzureFunctionsJobHost__* app
settings). The handler is built on the first invocation, not at
import: indexing the functions never needs Azure, and a cold start that fails raises in every invocation, so
messages are retried, poisoned and alerted on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import azure.functions as func

if TYPE_CHECKING:
    from qscan.azure.handler import AzureScanHandler

LOG = logging.getLogger("qscan.handlers.azure")

QUEUE_CONNECTION = "QSCAN_STORAGE"
EVENT_HUB_CONNECTION = "QSCAN_ACTIVITY_LOG"
EVENT_HUB_SETTING = "QSCAN_ACTIVITY_LOG_HUB_NAME"
EVENT_HUB_RETRIES = 5
RECONCILE_SETTING = "QSCAN_RECONCILE_SCHEDULE"
HOST_JSON = Path(__file__).with_name("host.json")
MAX_DEQUEUE_OVERRIDE = "AzureFunctionsJobHost__extensions__queues__maxDequeueCount"

app = func.FunctionApp()

_lock = threading.Lock()
_handler: AzureScanHandler | None = None


def handler() -> AzureScanHandler:
    """The handler, built once per process on first use; a failed cold start is logged and raised (retried)."""
    global _handler  # noqa: PLW0603 - one handler per worker process is the point
    with _lock:
        if _handler is None:
            from qscan.azure.handler import AzureScanHandler  # noqa: PLC0415 - not needed to index
            from qscan.config import Settings  # noqa: PLC0415
            from qscan.errors import QscanError  # noqa: PLC0415
            from qscan.log import configure_logging  # noqa: PLC0415

            settings = Settings.from_env()
            configure_logging(settings.log_level)
            try:
                _handler = AzureScanHandler(settings)
            except QscanError as exc:
                LOG.critical("cold start failed: %s", exc.reason, extra={"error_type": type(exc).__name__})
                raise
        return _handler


def max_dequeue_count() -> int:
    """The host's maxDequeueCount: the app-setting override, else host.json's value."""
    override = (os.environ.get(MAX_DEQUEUE_OVERRIDE) or "").strip()
    if override.isdigit() and int(override) > 0:
        return int(override)
    value = json.loads(HOST_JSON.read_text())["extensions"]["queues"]["maxDequeueCount"]
    return int(value)


@app.function_name("scan_queue")
@app.queue_trigger(arg_name="msg", queue_name="%QSCAN_SCAN_QUEUE_NAME%", connection=QUEUE_CONNECTION)
def scan_queue(msg: func.QueueMessage) -> None:
    """One scan-queue message: raises to have it retried (then poisoned)."""
    handler().handle_queue(
        msg.get_body(),
        message_id=msg.id,
        dequeue_count=getattr(msg, "dequeue_count", None),
        max_dequeue_count=max_dequeue_count(),
    )


def activity_log(events: list[func.EventHubEvent], context: func.Context) -> None:
    """A batch of Activity Log bodies: raises to have the batch re-run by the retry policy."""
    retry = getattr(context, "retry_context", None)
    handler().handle_event_hub(
        [event.get_body() for event in events],
        retry_count=int(getattr(retry, "retry_count", 0) or 0),
        max_retry_count=int(getattr(retry, "max_retry_count", EVENT_HUB_RETRIES) or 0),
    )


if os.environ.get(EVENT_HUB_SETTING):
    app.function_name("activity_log")(
        app.retry(
            strategy="exponential_backoff",
            max_retry_count=str(EVENT_HUB_RETRIES),
            minimum_interval="00:00:10",
            maximum_interval="00:15:00",
        )(
            app.event_hub_message_trigger(
                arg_name="events",
                event_hub_name=f"%{EVENT_HUB_SETTING}%",
                connection=EVENT_HUB_CONNECTION,
                cardinality=func.Cardinality.MANY,
                consumer_group="%QSCAN_ACTIVITY_LOG_CONSUMER_GROUP%",
            )(activity_log)
        )
    )


def reconcile(timer: func.TimerRequest) -> None:
    """One reconciler run (the handler's identity, stores and resolution); raises when it cannot run."""
    from qscan.azure.reconciler import run_with  # noqa: PLC0415 - not needed to index

    if getattr(timer, "past_due", False):
        LOG.info("reconcile: the timer is past due (a missed schedule): running now")
    run_with(handler())


if os.environ.get(RECONCILE_SETTING):
    app.function_name("reconcile")(
        app.timer_trigger(
            arg_name="timer", schedule=f"%{RECONCILE_SETTING}%", run_on_startup=False, use_monitor=True
        )(reconcile)
    )
