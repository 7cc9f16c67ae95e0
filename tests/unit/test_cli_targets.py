"""`qscan targets FILE|-`: output format and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from qscan.cli import main
from qscan.target import ScanTarget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["targets", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_prints_one_sorted_json_target_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(FIXTURES / "ecs_register_task_definition.json"))
    assert code == 0 and err == []
    assert len(out) == 4
    for line in out:
        data = json.loads(line)
        assert list(data) == sorted(data)
        assert line == json.dumps(data, sort_keys=True)
        ScanTarget.from_dict(data)  # the printed form is the ScanTarget JSON contract
    assert json.loads(out[3])["image"] == "docker.io/fluent/fluent-bit:3.0.7"


def test_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (FIXTURES / "ecr_push.json").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    code, out, _ = run(capsys, "-")
    assert code == 0 and json.loads(out[0])["repository"] == "payments/orders-api"


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("sqs_batch_ecr.json", 2),
        ("azure_activitylog_eventhub_batch.json", 2),
        ("azure_eventgrid_aca_app_write_array.json", 1),
    ],
)
def test_batches_exit_zero(capsys: pytest.CaptureFixture[str], name: str, lines: int) -> None:
    code, out, err = run(capsys, str(FIXTURES / name))
    assert code == 0 and len(out) == lines
    assert all(line.startswith("qscan targets: unsupported: record ") for line in err)


def test_invalid_event_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(FIXTURES / "ecs_register_task_definition_invalid_image.json"))
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("qscan targets: invalid: ") and "metacharacter" in err[0]


def test_partial_batch_prints_good_targets_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(FIXTURES / "sqs_batch_partial_failure.json"))
    assert code == 2 and len(out) == 2
    assert err == [
        "qscan targets: invalid: record 1 (3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f): "
        "SQS record body is not valid JSON"
    ]


@pytest.mark.parametrize(
    "name", ["ecr_delete.json", "unsupported_s3_object_created.json", "ecr_push_failed.json"]
)
def test_unsupported_exits_3(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, str(FIXTURES / name))
    assert code == 3 and out == [] and len(err) == 1 and err[0].startswith("qscan targets: unsupported: ")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[" * 200_000, "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == [] and len(err) == 1 and reason in err[0]


def test_unreadable_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, str(tmp_path / "missing.json"))
    assert code == 2 and len(err) == 1 and "cannot read" in err[0]
    code, _, err = run(capsys, str(tmp_path))  # a directory
    assert code == 2 and "cannot read" in err[0]


def test_json_scalar_is_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('"just a string"')
    code, _, err = run(capsys, str(path))
    assert code == 2 and "JSON object or array" in err[0]
