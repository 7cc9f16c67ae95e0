"""The scanner's disk footprint under a warm process's temp directory: per-scan dirs and a bounded cache.

A warm Lambda execution environment keeps /tmp between invocations (512 MB to 10 GB), so whatever a scan leaves
behind adds up until scans fail for lack of space. The qscanner runner uses these helpers:

- `remove_tree` deletes a per-scan directory even where the scanner left read-only directories (extracted
  image layers keep their modes), without following symbolic links;
- `sweep_stale` removes per-scan directories that a killed process never cleaned up (a Lambda timeout kills the
  runtime before any `finally` runs, and /tmp survives into the next invocation);
- `prune_cache` keeps the qscanner cache directory under a byte cap by deleting the files modified longest ago
  (`cache_cap` lowers a configured cap to a quarter of the file system, so a small /tmp is never mostly cache).

Sizes are apparent file sizes (`st_size`) of regular files; symbolic links are never followed, counted or
resolved, so nothing outside the given roots is read or deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from typing import NamedTuple

CACHE_FS_SHARE = 0.25  # the cache may take at most this share of its file system


# A NamedTuple, not a core struct: this module is standard library only (a test runs it alone, as `nobody`).
class Pruned(NamedTuple):
    """What one `prune_cache` pass found and removed."""

    files_removed: int
    bytes_freed: int
    bytes_kept: int


def remove_tree(path: str) -> None:
    """Delete `path` and everything below it, making read-only directories writable first; never raises."""
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    _make_writable(path)
    for dirpath, dirnames, _ in os.walk(path):  # top-down: a directory is opened up before it is entered
        for name in dirnames:
            child = os.path.join(dirpath, name)
            if not os.path.islink(child):
                _make_writable(child)
    shutil.rmtree(path, ignore_errors=True)


def _make_writable(directory: str) -> None:
    with contextlib.suppress(OSError):
        mode = os.lstat(directory).st_mode
        if stat.S_ISDIR(mode) and (mode & 0o700) != 0o700:
            os.chmod(directory, stat.S_IMODE(mode) | 0o700)


def sweep_stale(parent: str, prefix: str, older_than_seconds: float, now: float | None = None) -> int:
    """Remove the directories `parent/<prefix>*` last modified more than `older_than_seconds` ago; returns how
    many. A per-scan directory is modified only when its scan starts, so with `older_than_seconds` above the
    longest a scan can live (timeout + kill grace) no running scan's directory is touched."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and now - info.st_mtime > older_than_seconds:
            remove_tree(entry.path)
            removed += 1
    return removed


def cache_cap(path: str, configured_bytes: int) -> int:
    """The cap `prune_cache` applies: the configured bytes, at most `CACHE_FS_SHARE` of the file system."""
    try:
        fs = os.statvfs(path)
    except OSError:
        return configured_bytes
    total = fs.f_frsize * fs.f_blocks
    return min(configured_bytes, int(total * CACHE_FS_SHARE)) if total > 0 else configured_bytes


def prune_cache(root: str, max_bytes: int) -> Pruned:
    """Delete the least recently modified files under `root` until the rest take at most `max_bytes`, then the
    directories that became empty (never `root` itself)."""
    files: list[tuple[float, str, int]] = []
    total = 0
    for dirpath, _, filenames in os.walk(root):  # does not follow symbolic links to directories
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                files.append((info.st_mtime, path, info.st_size))
                total += info.st_size
    if total <= max_bytes:
        return Pruned(0, 0, total)
    removed = freed = 0
    for _, path, size in sorted(files):
        if total - freed <= max_bytes:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        removed += 1
        freed += size
    for dirpath, _, _ in os.walk(root, topdown=False):
        if dirpath != root:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)  # only succeeds when empty
    return Pruned(removed, freed, total - freed)
