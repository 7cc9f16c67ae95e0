"""`make package` is reproducible and content-addressed (scripts/package.py)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COPIED = ("shared", "handlers", "requirements", "scripts")
FIXTURE_HANDLER = "def lambda_handler(event, context):\n    return {'ok': True}\n"

pytestmark = pytest.mark.integration


def make_clone(dest: Path, umask: int, mtime_seed: int | None) -> None:
    """Copy what packaging reads into dest with the given umask and (optionally) scrambled mtimes."""
    dest.mkdir()
    for name in COPIED:
        if (REPO / name).exists():
            subprocess.run(
                ["cp", "-r", str(REPO / name), str(dest / name)],
                check=True,
                preexec_fn=lambda: os.umask(umask),
            )
    fixture = dest / "handlers" / "aws" / "zz-fixture"
    fixture.mkdir(parents=True, exist_ok=True)
    (fixture / "handler.py").write_text(FIXTURE_HANDLER)
    for junk in dest.rglob("__pycache__"):
        shutil.rmtree(junk)
    if mtime_seed is not None:
        rng = random.Random(mtime_seed)
        for path in dest.rglob("*"):
            stamp = rng.randint(1_000_000_000, 1_900_000_000)
            os.utime(path, (stamp, stamp))


def clone_python(clone: Path) -> Path:
    """A virtualenv inside the clone, as every checkout has its own: its interpreter path differs per clone
    (pip writes it into console-script shebangs). It sees this interpreter's packages (pip) through a .pth."""
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "outer-env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin" / "python"


def run_package(
    clone: Path, umask: int, wheelhouse: Path, python: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python or sys.executable), "scripts/package.py", "--wheelhouse", str(wheelhouse)],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QSCANNER_BINARY": ""},
        preexec_fn=lambda: os.umask(umask),
    )


def test_two_clones_build_byte_identical_artifacts(tmp_path: Path) -> None:
    """Two checkouts at absolute paths of different lengths, each built by its own virtualenv's interpreter."""
    wheelhouse = REPO / "build" / "wheelhouse"  # shared download cache: the same wheels either way
    first, second = tmp_path / "one", tmp_path / "a-much-longer-checkout-path" / "qscan-clone-two"
    second.parent.mkdir()
    make_clone(first, 0o022, None)
    make_clone(second, 0o077, 7)
    run_package(first, 0o022, wheelhouse, clone_python(first))
    run_package(second, 0o077, wheelhouse, clone_python(second))

    manifest_one = (first / "dist" / "manifest.json").read_text()
    manifest_two = (second / "dist" / "manifest.json").read_text()
    assert manifest_one == manifest_two
    artifacts = json.loads(manifest_one)["artifacts"]
    assert "aws-zz-fixture" in artifacts
    for name, entry in artifacts.items():
        one, two = first / entry["path"], second / entry["path"]
        assert one.read_bytes() == two.read_bytes(), name
        assert entry["sha256"][:16] in one.name
        assert entry["size"] == one.stat().st_size

    with zipfile.ZipFile(first / artifacts["aws-zz-fixture"]["path"]) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert "handler.py" in names and "qscan/target.py" in names and "requests/__init__.py" in names
        assert not [
            n for n in names if n.endswith(".pyc") or "/bin/" in n or n.startswith(("boto3/", "bin/"))
        ]
        assert not [n for n in names if n.endswith(("direct_url.json", "/REQUESTED", ".pth"))]
        assert "qscan/results/schema.py" not in names  # imports jsonschema, which the zip does not carry
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}
        assert all(str(tmp_path).encode() not in archive.read(n) for n in names)
        records = [n for n in names if n.endswith(".dist-info/RECORD")]
        assert records, "the vendored distributions keep their RECORD"
        for record in records:
            assert_record_lists_exactly_what_ships(archive, record, set(names))


def assert_record_lists_exactly_what_ships(archive: zipfile.ZipFile, record: str, names: set[str]) -> None:
    """Every RECORD row names a shipped file with its real hash and size; every shipped file of the
    distribution's own directories has a row."""
    rows = list(csv.reader(io.StringIO(archive.read(record).decode())))
    listed = set()
    for path, digest, size in rows:
        assert path in names, f"{record} lists {path}, which is not shipped"
        listed.add(path)
        if path == record:
            assert (digest, size) == ("", "")
            continue
        data = archive.read(path)
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={expected}", str(len(data))), path
    dist_info = record.rsplit("/", 1)[0] + "/"
    assert {n for n in names if n.startswith(dist_info)} <= listed


def test_rebuild_of_unchanged_sources_is_a_no_op_and_a_change_rebuilds(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    make_clone(clone, 0o022, None)
    wheelhouse = REPO / "build" / "wheelhouse"
    run_package(clone, 0o022, wheelhouse)
    manifest = json.loads((clone / "dist" / "manifest.json").read_text())["artifacts"]["aws-zz-fixture"]
    before = (clone / manifest["path"]).stat().st_mtime_ns

    again = run_package(clone, 0o022, wheelhouse)
    assert "aws-zz-fixture: up to date" in again.stdout
    assert (clone / manifest["path"]).stat().st_mtime_ns == before

    (clone / "handlers" / "aws" / "zz-fixture" / "handler.py").write_text(FIXTURE_HANDLER + "# changed\n")
    changed = run_package(clone, 0o022, wheelhouse)
    assert "aws-zz-fixture: building" in changed.stdout
    new = json.loads((clone / "dist" / "manifest.json").read_text())["artifacts"]["aws-zz-fixture"]
    assert new["sha256"] != manifest["sha256"]
    assert not (clone / manifest["path"]).exists(), "the stale artifact must be removed"


def test_qscanner_layer_is_built_from_the_named_binary_with_exec_bit(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    make_clone(clone, 0o022, None)
    binary = tmp_path / "qscanner"
    binary.write_bytes(b"\x7fELF fake binary for packaging tests")
    result = subprocess.run(
        [sys.executable, "scripts/package.py", "--wheelhouse", str(REPO / "build" / "wheelhouse")],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QSCANNER_BINARY": str(binary)},
    )
    assert "qscanner-layer: building" in result.stdout
    entry = json.loads((clone / "dist" / "manifest.json").read_text())["artifacts"]["qscanner-layer"]
    with zipfile.ZipFile(clone / entry["path"]) as archive:
        (info,) = archive.infolist()
        assert info.filename == "bin/qscanner"
        assert (info.external_attr >> 16) & 0o777 == 0o755
    # Functions has no layers: the same binary ships inside the app's zip, where modules/aci-aca's qscanner_path
    # (/home/site/wwwroot/bin/qscanner) finds it.
    app = json.loads((clone / "dist" / "manifest.json").read_text())["artifacts"]["azure-functions"]
    with zipfile.ZipFile(clone / app["path"]) as archive:
        assert archive.read("bin/qscanner") == binary.read_bytes()
        assert (archive.getinfo("bin/qscanner").external_attr >> 16) & 0o777 == 0o755


def test_the_functions_zip_holds_the_app_the_core_and_its_linux_packages(tmp_path: Path) -> None:
    """What the Functions host loads from a zip deployment: function_app.py and host.json at the root, the core
    and the locked packages (Linux x86_64 wheels) in .python_packages/lib/site-packages, no AWS code."""
    clone = tmp_path / "clone"
    make_clone(clone, 0o022, None)
    run_package(clone, 0o022, REPO / "build" / "wheelhouse")
    entry = json.loads((clone / "dist" / "manifest.json").read_text())["artifacts"]["azure-functions"]
    assert entry["runtime"] == "python3.11"
    site = ".python_packages/lib/site-packages/"
    with zipfile.ZipFile(clone / entry["path"]) as archive:
        names = set(archive.namelist())
    assert {"function_app.py", "host.json"} <= names
    assert {site + "qscan/azure/handler.py", site + "qscan/dedupe/azure_table.py"} <= names
    assert {site + "azure/functions/__init__.py", site + "azure/mgmt/containerinstance/__init__.py"} <= names
    assert not [n for n in names if n.startswith((site + "qscan/aws/", site + "boto3/", site + "botocore/"))]
    assert not [n for n in names if n.startswith("bin/")]  # no QSCANNER_BINARY: no binary
    assert not [n for n in names if n.startswith("scan_job/")]  # the scan-job image's Dockerfile stays out
    assert [n for n in names if n.endswith(".so")], "compiled wheels are vendored (manylinux x86_64)"


def test_missing_qscanner_binary_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "package.py"), "--out", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "QSCANNER_BINARY": str(tmp_path / "nope")},
    )
    assert result.returncode == 2
    assert "QSCANNER_BINARY" in result.stderr and "is not a file" in result.stderr
