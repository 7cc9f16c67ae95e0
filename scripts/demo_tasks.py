"""The Fargate workflow's task function for `make demo`: the real handler, invoked by the state machine on moto.

    python scripts/demo_tasks.py --handler handlers/aws/fargate/handler.py --function-name NAME \
        --moto-state-dir DIR --ready-file FILE --report FILE

moto runs the deployed state machine itself (execute mode, `tests/harness/moto_shims`
"states:execute-state-machines"); every Task's Lambda Invoke of the task function reaches this process
(`tests/harness/lambda_runner.running_function`, shim "lambda:invoke-runners"), which calls the handler's
`lambda_handler` the way the Lambda runtime does: the step's input as the event, the return value as the
result, an exception as the function error whose `errorType` drives the workflow's Retry and Catch. The demo
serves the reconciler function the same way (`--handler handlers/aws/reconciler/handler.py`) and invokes it
once, as its schedule would.

Like `scripts/demo_worker.py` for the queue handlers, the parent (`scripts/demo.py`) starts this process with the
environment the function configuration defines (plus QSCAN_AWS_ENDPOINT_URL and the simulated scanner) and sends
its output (the handler's JSON logs and EMF lines) to a log file. The handler is imported once (the cold start)
before the runner is registered with moto; then the ready file is written. Each invocation is one JSON line in
`--report`: the step, the execution (the claim owner), the image, a short result or the error, the duration.
It serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.demo_worker import load_handler  # noqa: E402
from tests.harness import moto_server as ms  # noqa: E402
from tests.harness.lambda_runner import running_function  # noqa: E402

RESULT_KEYS = ("claimed", "disposition", "status", "counts", "notified", "released", "skipped")


def image_of(event: Any) -> dict[str, Any]:
    """The image a step works on: its reference and digest (`image.target`), when the input names one."""
    image = event.get("image") if isinstance(event, dict) else None
    target = image.get("target") if isinstance(image, dict) else None
    if not isinstance(target, dict):
        return {}
    return {"image": target.get("image"), "digest": target.get("digest")}


def short_result(step: str, result: Any) -> dict[str, Any]:
    """What the report keeps of a step's output (no context, no result locations)."""
    if not isinstance(result, dict):
        return {}
    kept = {key: result[key] for key in RESULT_KEYS if key in result}
    if step == "parse":  # each image: {"target", "containers"}
        images = result.get("images") or []
        kept["images"] = [
            {**image_of({"image": item}), "containers": item.get("containers")}
            for item in images
            if isinstance(item, dict)
        ]
    return kept


class Reporter:
    """Wraps the handler: one report line per invocation (invocations may run concurrently: a Map state)."""

    def __init__(self, handler: Any, report: IO[str]) -> None:
        self.handler = handler
        self.report = report
        self.lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        step = str(event.get("step")) if isinstance(event, dict) else "?"
        execution = event.get("execution") if isinstance(event, dict) else None
        owner = (event.get("context") or {}).get("owner") if isinstance(event, dict) else None
        line: dict[str, Any] = {"step": step, "execution": execution or owner, **image_of(event)}
        started = time.monotonic()
        try:
            result = self.handler.lambda_handler(event, context)
        except Exception as exc:
            line["error"] = {"type": type(exc).__name__, "message": str(exc)[:300]}
            raise
        else:
            line["result"] = short_result(step, result)
            return result
        finally:
            line["duration_ms"] = int((time.monotonic() - started) * 1000)
            with self.lock:
                self.report.write(json.dumps(line, sort_keys=True, default=str) + "\n")
                self.report.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", type=Path, required=True, help="the handler file (handler.py)")
    parser.add_argument("--function-name", required=True, help="the task function moto's Invoke names")
    parser.add_argument("--moto-state-dir", type=Path, required=True, help="the running moto server's state")
    parser.add_argument("--ready-file", type=Path, required=True, help="written once invocations are served")
    parser.add_argument("--report", type=Path, required=True, help="JSON lines, one per invocation")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    server = ms.server_from_state_dir(args.moto_state_dir)
    if server is None:
        print(f"demo_tasks: no running moto server recorded in {args.moto_state_dir}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handler = load_handler(args.handler.resolve())
    account = server.client("sts").get_caller_identity()["Account"]
    with (
        args.report.open("a", encoding="utf-8") as report,
        running_function(server, args.function_name, Reporter(handler, report), account=account),
    ):
        args.ready_file.write_text("ready\n", encoding="utf-8")
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
