"""Run a real Lambda handler for moto's Invoke calls, the way the Lambda Python runtime would (test double).

moto without Docker cannot run function code, so a Step Functions workflow on moto never reaches the real
task functions. `running_function(server, name, handler)` starts a loopback HTTP endpoint in this process that
calls `handler(event, context)` and registers it with the shimmed moto server (`moto_shims` "lambda:invoke-
runners"): moto's Invoke of function `name` (from the state machine interpreter or any client) then runs the
handler here, with this process's environment (fake qscanner, fake Qualys API, moto endpoint).

What it keeps of the real runtime: the event is the JSON payload; the return value is JSON-serialized; an
exception becomes the runtime's error payload `{"errorType": <exception class name>, "errorMessage": str(exc),
"stackTrace": []}` with `FunctionError: Unhandled`, which Step Functions matches in Retry/Catch by errorType.
What it does not: one process serves concurrent invocations (the handler's cold start is shared), no memory
or timeout limit, no /tmp isolation. `calls` records every (step or event, error type) for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.harness.moto_server import REGION, MotoServer

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FakeContext:
    """The attributes of the Lambda context object the handlers read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    memory_limit_in_mb: int = 1024

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class Runner:
    url: str
    calls: list[tuple[Any, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event: Any, error: str | None) -> None:
        with self.lock:
            self.calls.append((event.get("step") if isinstance(event, dict) else None, error))


class _Server(ThreadingHTTPServer):
    # A Map state invokes its iterations concurrently (several executions at once in `make bench`); with
    # socketserver's listen backlog of 5 a busy machine drops connections, and each SYN retransmit stalls an
    # invocation by seconds up to a minute.
    request_queue_size = 128


@contextmanager
def running_function(
    server: MotoServer, name: str, handler: Handler, *, account: str = "123456789012"
) -> Iterator[Runner]:
    """Serve `handler` for moto's Invoke of function `name` until the block ends."""
    context = FakeContext(name, f"arn:aws:lambda:{REGION}:{account}:function:{name}")
    runner: Runner

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            event = json.loads(self.rfile.read(size) or b"{}")
            try:
                reply: dict[str, Any] = {"payload": handler(event, context), "error": None}
                runner.record(event, None)
            except Exception as exc:  # the runtime reports every exception as the function's error
                reply = {
                    "error": {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
                }
                runner.record(event, type(exc).__name__)
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    http = _Server(("127.0.0.1", 0), Endpoint)
    runner = Runner(f"http://127.0.0.1:{http.server_address[1]}/")
    thread = threading.Thread(target=http.serve_forever, name=f"lambda-runner-{name}", daemon=True)
    thread.start()
    try:
        server.register_runner(name, runner.url)
        yield runner
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)
