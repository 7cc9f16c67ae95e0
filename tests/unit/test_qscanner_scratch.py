"""The qscanner runner's disk footprint: a TMPDIR per scan, removed afterwards, and a bounded cache dir.

Driven through the fake qscanner, which (like the real tool) unpacks layers with read-only directories under
its temp dir, removes them only when it exits normally, and writes blobs into --cache-dir without pruning.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from qscan.config import Settings
from qscan.errors import ConfigError
from qscan.scanners import scratch
from qscan.scanners.qscanner import (
    DEFAULT_CACHE_MAX_MB,
    MIB,
    SCAN_DIR_PREFIX,
    QscannerOptions,
    QscannerRunner,
)
from qscan.scanners.scratch import cache_cap, prune_cache, remove_tree, sweep_stale
from qscan.target import ScanTarget

from tests.doubles.fake_qscanner import fake_runner

TOKEN = "qtok-scratch-4Rt7Yp0Lm2Qw9Zx1"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
IMAGE = f"{REGISTRY}/app:1.2"
KIB = 1024


@pytest.fixture
def outer_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's own TMPDIR: what the scanner would inherit if the runner did not give it one."""
    outer = tmp_path / "process-tmp"
    outer.mkdir()
    monkeypatch.setenv("TMPDIR", str(outer))
    return outer


def runner_for(tmp_path: Path, targets: dict[str, Any], **overrides: Any) -> QscannerRunner:
    runner: QscannerRunner = fake_runner(tmp_path, targets, {}, **{"access_token": TOKEN, **overrides})
    return runner


def target(ref: str = IMAGE) -> ScanTarget:
    return ScanTarget(kind="image", platform="ecr", image=ref)


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


# ---------------------------------------------------------------- a TMPDIR per scan
@pytest.mark.parametrize("leave_tmp", [False, True])
def test_each_scan_gets_its_own_tmpdir_under_the_work_dir(
    tmp_path: Path, outer_tmp: Path, leave_tmp: bool
) -> None:
    record = tmp_path / "rec.json"
    runner = runner_for(tmp_path, {IMAGE: {"record_file": str(record), "leave_tmp": leave_tmp}})
    assert runner.scan(target()).status == "success"
    info = json.loads(record.read_text())
    tmp_dir = info["tmp_env"]["TMPDIR"]
    assert info["tmp_env"] == {"TMPDIR": tmp_dir, "TMP": tmp_dir, "TEMP": tmp_dir}
    scan_dir = Path(tmp_dir).parent
    assert scan_dir.parent == tmp_path / "work" and scan_dir.name.startswith(SCAN_DIR_PREFIX)
    assert Path(tmp_dir).name == "tmp" and info["cwd"] == tmp_dir
    assert Path(info["scratch"]).parent == Path(tmp_dir)  # the unpacked layers went there
    out = info["argv"][info["argv"].index("--output-dir") + 1]
    assert Path(out) == scan_dir / "output"
    assert tree(tmp_path / "work") == []  # removed, read-only layer directories included
    assert tree(outer_tmp) == []  # nothing reached the process's own temp dir


def test_two_scans_never_share_a_tmpdir(tmp_path: Path, outer_tmp: Path) -> None:
    other = f"{REGISTRY}/other:2"
    records = {IMAGE: tmp_path / "r1.json", other: tmp_path / "r2.json"}
    runner = runner_for(tmp_path, {ref: {"record_file": str(path)} for ref, path in records.items()})
    runner.scan(target())
    runner.scan(target(other))
    first, second = (json.loads(path.read_text())["tmp_env"]["TMPDIR"] for path in records.values())
    assert first != second


def test_a_timeout_kill_still_removes_the_scans_tmpdir(tmp_path: Path, outer_tmp: Path) -> None:
    record = tmp_path / "rec.json"
    runner = runner_for(
        tmp_path,
        {IMAGE: {"record_file": str(record), "delay_seconds": 60, "ignore_sigterm": True}},
        timeout_seconds=1.0,
        kill_grace_seconds=0.2,
    )
    result = runner.scan(target())
    assert result.status == "timeout"
    info = json.loads(record.read_text())
    # the killed scanner never cleaned up its scratch: the runner did, read-only layer directories included
    assert Path(info["scratch"]).is_relative_to(tmp_path / "work")
    assert not Path(info["scratch"]).exists()
    assert tree(tmp_path / "work") == [] and tree(outer_tmp) == []


def test_scan_dirs_left_by_a_killed_process_are_swept_before_the_next_scan(tmp_path: Path) -> None:
    work = tmp_path / "work"
    stale = work / f"{SCAN_DIR_PREFIX}dead1234"
    locked = stale / "tmp" / "qscanner-1" / "layers" / "usr"
    locked.mkdir(parents=True)
    (locked / "lib.so").write_bytes(b"x" * 100)
    locked.chmod(0o555)
    running = work / f"{SCAN_DIR_PREFIX}live5678"  # another scan's, started a minute ago
    running.mkdir()
    unrelated = work / "not-a-scan-dir"
    unrelated.mkdir()
    long_ago = time.time() - 2 * 3600
    for path in (stale, unrelated):
        os.utime(path, (long_ago, long_ago))
    os.utime(running, (time.time() - 60, time.time() - 60))

    runner = runner_for(tmp_path, {IMAGE: {}}, timeout_seconds=600.0)
    assert runner.scan(target()).status == "success"
    assert not stale.exists()
    assert running.exists() and unrelated.exists()


def remove_as_unprivileged(path: Path) -> None:
    """`remove_tree(path)` as a user whose permissions the kernel enforces: root ignores read-only directories,
    so under root the call runs in a child process as `nobody` (the module is stdlib only) on a tree it owns,
    in a parent directory it owns."""
    if os.geteuid() != 0:
        remove_tree(str(path))
        return
    python = shutil.which("python3", path="/usr/bin:/bin")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        nobody = None
    if python is None or nobody is None:
        pytest.skip("running as root without a 'nobody' user and a system python3: permissions not enforced")
    module_dir = path.parent.parent / "module"
    module_dir.mkdir(mode=0o755)
    shutil.copy(scratch.__file__, module_dir / "scratch.py")
    for below in [path.parent, path, *path.rglob("*")]:  # like the runner's own work dir and scan dirs
        os.lchown(below, nobody.pw_uid, nobody.pw_gid)
    code = "import sys; sys.path.insert(0, sys.argv[1]); from scratch import remove_tree; remove_tree(sys.argv[2])"
    subprocess.run(
        [python, "-c", code, str(module_dir), str(path)],
        user=nobody.pw_uid,
        group=nobody.pw_gid,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )


def test_remove_tree_opens_read_only_dirs_and_never_follows_links() -> None:
    base = Path(tempfile.mkdtemp(prefix="qscan-remove-tree-"))  # not under pytest's 0700 tmp_path
    try:
        base.chmod(0o755)
        outside = base / "outside"
        (outside / "keep").mkdir(parents=True)
        (outside / "keep" / "precious").write_text("x")
        (outside / "keep").chmod(0o555)
        victim = base / "work" / "scan"
        (victim / "a" / "b").mkdir(parents=True)
        (victim / "a" / "b" / "f").write_text("y")
        (victim / "a" / "link").symlink_to(outside / "keep")
        (victim / "a" / "b").chmod(0o500)
        (victim / "a").chmod(0o500)
        remove_as_unprivileged(victim)
        assert not victim.exists()
        assert (outside / "keep" / "precious").read_text() == "x"
        assert (os.stat(outside / "keep").st_mode & 0o777) == 0o555  # the link's target was not chmodded
    finally:
        for directory, _, _ in os.walk(base):
            os.chmod(directory, 0o755)
        shutil.rmtree(base)


# ---------------------------------------------------------------- bounded cache
def test_the_cache_is_pruned_oldest_first_before_each_scan(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    images = [f"{REGISTRY}/app{i}:1" for i in range(5)]
    runner = runner_for(
        tmp_path,
        {ref: {"cache_bytes": 40 * KIB} for ref in images},
        cache_dir=str(cache),
        cache_max_bytes=100 * KIB,
    )
    base = time.time() - 1000
    order: list[str] = []
    for i, ref in enumerate(images):
        before = set(tree(cache / "fake-cache"))
        assert runner.scan(target(ref)).status == "success"
        (written,) = set(tree(cache / "fake-cache")) - before
        os.utime(cache / "fake-cache" / written, (base + i, base + i))  # a strict age order
        order.append(written)
        kept = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        assert kept <= 100 * KIB + 40 * KIB  # the cap, plus what the scan that just ran added
    # before scans 4 and 5 the cache was over its cap: the two oldest blobs went
    assert tree(cache / "fake-cache") == sorted(order[2:])


def test_a_zero_cap_keeps_nothing_between_scans(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    one, two = f"{REGISTRY}/one:1", f"{REGISTRY}/two:1"
    runner = runner_for(tmp_path, {one: {}, two: {}}, cache_dir=str(cache), cache_max_bytes=0)
    runner.scan(target(one))
    (first,) = tree(cache / "fake-cache")
    runner.scan(target(two))
    assert first not in tree(cache / "fake-cache") and len(tree(cache / "fake-cache")) == 1


def test_prune_cache_walks_nested_entries_and_ignores_links(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    outside = tmp_path / "big-outside-file"
    outside.write_bytes(b"o" * 500 * KIB)
    files = {"db/a.db": 30, "blobs/sha256/b": 30, "blobs/sha256/c": 30, "d": 30}
    for age, (name, kib) in enumerate(files.items()):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"c" * kib * KIB)
        os.utime(path, (1000 + age, 1000 + age))
    (root / "blobs" / "link").symlink_to(outside)
    pruned = prune_cache(str(root), 65 * KIB)
    assert (pruned.files_removed, pruned.bytes_freed, pruned.bytes_kept) == (2, 60 * KIB, 60 * KIB)
    assert tree(root) == ["blobs", "blobs/link", "blobs/sha256", "blobs/sha256/c", "d"]  # empty db/ removed
    assert outside.stat().st_size == 500 * KIB
    assert prune_cache(str(root), 65 * KIB).files_removed == 0


def test_the_cap_is_at_most_a_quarter_of_the_file_system(monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_tmp = SimpleNamespace(f_frsize=4096, f_blocks=512 * MIB // 4096)  # a 512 MB /tmp
    monkeypatch.setattr(scratch.os, "statvfs", lambda _: lambda_tmp)
    assert cache_cap("/tmp", DEFAULT_CACHE_MAX_MB * MIB) == 128 * MIB
    assert cache_cap("/tmp", 64 * MIB) == 64 * MIB


def test_sweep_stale_ignores_fresh_and_foreign_entries(tmp_path: Path) -> None:
    (tmp_path / f"{SCAN_DIR_PREFIX}file").write_text("not a directory")
    (tmp_path / f"{SCAN_DIR_PREFIX}fresh").mkdir()
    assert sweep_stale(str(tmp_path), SCAN_DIR_PREFIX, 3600) == 0
    assert sweep_stale(str(tmp_path / "missing"), SCAN_DIR_PREFIX, 3600) == 0
    assert sweep_stale(str(tmp_path), SCAN_DIR_PREFIX, 3600, now=time.time() + 7200) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SCAN_DIR_PREFIX}file"]


# ---------------------------------------------------------------- the setting
def test_cache_cap_setting_default_and_validation() -> None:
    assert Settings.from_env({}).scanner_cache_max_mb == DEFAULT_CACHE_MAX_MB
    assert QscannerOptions(executable="q", pod="US1", access_token="t").cache_max_bytes == (
        DEFAULT_CACHE_MAX_MB * MIB
    )
    assert Settings.from_env({"QSCAN_SCANNER_CACHE_MAX_MB": "0"}).scanner_cache_max_mb == 0
    for bad in ("-1", "102401", "2G", "1.5"):
        with pytest.raises(ConfigError, match="QSCAN_SCANNER_CACHE_MAX_MB"):
            Settings.from_env({"QSCAN_SCANNER_CACHE_MAX_MB": bad})


def test_a_negative_cap_is_refused_by_the_runner(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cache cap"):
        runner_for(tmp_path, {}, cache_max_bytes=-1)
