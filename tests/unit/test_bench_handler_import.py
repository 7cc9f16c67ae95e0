"""The handler start-up bench measures a real `import handler` next to `import boto3`, side by side
(tests/bench/bench_handler_ecr.py; issue 10 item 20). Figures are printed by `make bench`, never asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import bench_handler_ecr

HANDLERS = Path(__file__).resolve().parents[2] / "handlers" / "aws"


@pytest.mark.parametrize("name", ["ecr", "lambda"])
def test_the_bench_environment_cold_starts_each_handler_as_lambda_imports_it(name: str) -> None:
    """`python -c "import handler"` in the handler's directory succeeds with the bench's settings (a cold start
    that raised would make the figure meaningless); the sample is a positive duration."""
    shared = bench_handler_ecr.ROOT / "shared"
    assert bench_handler_ecr._sample_ms("import handler", shared, HANDLERS / name) > 0


def test_the_statements_are_sampled_interleaved(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def sample(statement: str, core: Path, cwd: Path) -> float:
        calls.append(statement)
        return float(len(calls))

    monkeypatch.setattr(bench_handler_ecr, "_sample_ms", sample)
    here = Path(".")
    medians = bench_handler_ecr.medians_ms(
        {"a": ("import a", here, here), "b": ("import b", here, here)}, runs=3
    )
    assert calls == ["import a", "import b"] * 3
    assert medians == {"a": 3.0, "b": 4.0}


def test_the_struct_clock_reports_the_class_creation_it_timed_not_the_statement() -> None:
    """The `structs` case's figure is the time spent creating @struct classes: zero after a statement that
    creates none (however long it takes), positive after a module that defines some."""
    shared = bench_handler_ecr.ROOT / "shared"
    clock = bench_handler_ecr.STRUCT_CLOCK
    here = HANDLERS / "ecr"
    assert bench_handler_ecr._sample_ms(f"{clock}time.sleep(0.05)", shared, here) == 0.0
    assert bench_handler_ecr._sample_ms(f"{clock}import qscan.config", shared, here) > 0
