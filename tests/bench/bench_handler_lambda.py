"""Lambda-scanner handler start-up cost, measured like the ECR handler's (see bench_handler_ecr).

`import handler` (its imports plus the cold start it runs, no network) next to `import boto3` in one run, with
`import boto3` + the handler's imports (the figure the 1.25x target is read against) and the core without
bytecode (the handler zip ships none).
"""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_handler_ecr import run_for

HANDLER = Path(__file__).resolve().parents[2] / "handlers" / "aws" / "lambda" / "handler.py"


def run() -> list[tuple[str, str]]:
    return run_for(HANDLER)


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label}: {figure}")
