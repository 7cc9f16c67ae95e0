"""Read what `qscan report` needs from a results store (or a local copy of one) and the dedupe store.

Sources: any `qscan.results.store.DocumentStore` (S3, Blob), or `LocalDirSource`, a directory holding a copy of
the store's objects under their keys (`aws s3 sync s3://<bucket> DIR`, `az storage blob download-batch`).

Keys read:
- scan results under `prefix` (default `results/`): every key ending in `.json` that is not a raw output. Stores
  list keys in lexicographic (UTF-8 byte) order, where a result `<...>/<scan id>.json` comes before its raw
  outputs `<...>/<scan id>/<name>` ('.' sorts before '/'), so a key under a result seen before is a raw output
  and is skipped. Keys under `inventory/` are never results.
- inventory snapshots `inventory/<cloud>/<scope>/latest.json` (`qscan.reconcile.inventory`).

A document that is not valid JSON, does not match the result schema (`qscan.results.schema`) or the inventory
format is counted and listed (key and a one-line reason), never fatal. Progress lines go to `progress` every
`progress_every` documents read and once at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from qscan.dedupe.base import DedupeRecord, DedupeStore
from qscan.errors import InvalidEvent
from qscan.reconcile.inventory import InvalidInventory, Inventory
from qscan.results.keys import sanitize_component
from qscan.results.model import SEVERITY_LABELS
from qscan.results.store import check_document_key
from qscan.structs import field, struct
from qscan.target import ScanTarget

RESULTS_PREFIX = "results/"
INVENTORY_PREFIX = "inventory/"
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a result with every finding of a large image stays far below
MAX_REASON = 200
READ_WORKERS = 16
READ_BATCH = 256
_INVENTORY_KEY = r"inventory/(aws|azure)/[0-9a-fA-F-]{12,36}/latest\.json"
_FRACTION = r"(\.[0-9]{1,6})[0-9]*"
T = TypeVar("T")


class Source(Protocol):
    """What the report reads: the listing and the objects of a results store (`DocumentStore` is one)."""

    def iter_keys(self, prefix: str) -> Iterator[str]: ...

    def get_document(self, key: str) -> bytes | None: ...


class LocalDirSource:
    """A directory with a copy of a results store: the object `k` is the file `root/k`.

    Only regular files inside `root` are read (no symlink is followed), listed in the byte order of their keys.
    """

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ValueError(f"{root} is not a directory")
        self.root = root.resolve()

    def iter_keys(self, prefix: str) -> Iterator[str]:
        check_document_key(prefix, prefix=True)
        keys: list[str] = []
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not Path(directory, d).is_symlink()]
            for name in files:
                path = Path(directory, name)
                if path.is_file() and not path.is_symlink():
                    key = path.relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
        yield from sorted(keys, key=lambda k: k.encode("utf-8", "surrogateescape"))

    def get_document(self, key: str) -> bytes | None:
        path = self.root / check_document_key(key)
        if path.resolve() != path or not path.is_file():  # a symlink on the way: not a listed key
            return None
        return path.read_bytes()


@struct
class Vulnerability:
    """One finding of a result, reduced to what the report counts."""

    vuln_id: str  # "QID <qid>", else the CVE, else the title
    title: str | None
    severity: int
    cves: tuple[str, ...]


@struct
class ResultRow:
    """One stored scan result, as the report uses it."""

    key: str
    location: str | None
    scan_id: str
    status: str
    reason: str | None
    started_at: str
    scanned_at: float  # epoch seconds of started_at
    target: ScanTarget
    counts: dict[str, int]
    vulnerabilities: tuple[Vulnerability, ...]
    raw_outputs: tuple[tuple[str, str], ...]  # (name, store key)

    @property
    def artifact(self) -> str:
        return artifact_text(self.target)


@struct
class Malformed:
    key: str
    reason: str


@struct(frozen=False)
class Collected:
    results: list[ResultRow] = field(default_factory=list)
    inventories: list[Inventory] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    dedupe: dict[str, DedupeRecord | None] = field(default_factory=dict)
    dedupe_store: bool = False  # a dedupe store was given (its records of the inventory artifacts are above)
    documents_read: int = 0
    raw_outputs_skipped: int = 0


def artifact_text(target: ScanTarget) -> str:
    """How the report names an artifact: `repository@digest` (or the image ref), or the function ARN."""
    if target.kind == "function":
        return target.function_arn or target.resource_id or "-"
    if target.repository and target.digest:
        return f"{target.repository}@{target.digest}"
    return target.image or target.digest or target.resource_id or "-"


def scan_epoch(timestamp: str) -> float:
    """Epoch seconds of an RFC 3339 time as results carry it (`Z` or an offset; nanoseconds cut to micro)."""
    text = re.sub(_FRACTION, r"\1", timestamp)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).timestamp()


class Progress:
    """Counts documents read and prints a line every `every` of them (and `done()` at the end)."""

    def __init__(self, emit: Callable[[str], None] | None, every: int) -> None:
        self.emit = emit
        self.every = max(1, every)

    def tick(self, collected: Collected) -> None:
        collected.documents_read += 1
        if self.emit is not None and collected.documents_read % self.every == 0:
            self.emit(self.line(collected))

    def done(self, collected: Collected) -> None:
        if self.emit is not None:
            self.emit(self.line(collected) + ", done")

    @staticmethod
    def line(collected: Collected) -> str:
        return (
            f"qscan report: read {collected.documents_read} documents ({len(collected.results)} results, "
            f"{len(collected.inventories)} inventories, {len(collected.malformed)} malformed)"
        )


def collect(
    source: Source,
    *,
    prefix: str = RESULTS_PREFIX,
    dedupe: DedupeStore | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every: int = 500,
    workers: int = READ_WORKERS,
) -> Collected:
    """Every result and inventory of `source` (see the module docstring); dedupe records of inventory artifacts.

    Documents are fetched `workers` at a time (object reads are network-bound), parsed in listing order.
    """
    check_document_key(prefix, prefix=True)
    collected = Collected()
    ticker = Progress(progress, progress_every)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="qscan-report") as pool:
        for key, body in _fetch(pool, source, _result_keys(source, prefix, collected)):
            row = _parse(key, body, collected, _result_row)
            if row is not None:
                collected.results.append(row)
            ticker.tick(collected)
        inventory_keys = (k for k in source.iter_keys(INVENTORY_PREFIX) if re.fullmatch(_INVENTORY_KEY, k))
        for key, body in _fetch(pool, source, inventory_keys):
            inventory = _parse(key, body, collected, _inventory)
            if inventory is not None:
                collected.inventories.append(inventory)
            ticker.tick(collected)
    if dedupe is not None:
        collected.dedupe_store = True
        for inventory in collected.inventories:
            for item in inventory.artifacts:
                if item.dedupe_key not in collected.dedupe:
                    collected.dedupe[item.dedupe_key] = dedupe.lookup(item.dedupe_key)
    ticker.done(collected)
    return collected


def _result_keys(source: Source, prefix: str, collected: Collected) -> Iterator[str]:
    stems: set[str] = set()
    for key in source.iter_keys(prefix):
        if key.startswith(INVENTORY_PREFIX) or not key.endswith(".json"):
            continue
        if _under_result(key, stems):
            collected.raw_outputs_skipped += 1
            continue
        stems.add(key[: -len(".json")])
        yield key


def _fetch(
    pool: ThreadPoolExecutor, source: Source, keys: Iterator[str]
) -> Iterator[tuple[str, bytes | None]]:
    """(key, body) in the order of `keys`, reading a batch of keys concurrently."""
    while batch := list(itertools.islice(keys, READ_BATCH)):
        yield from zip(batch, pool.map(source.get_document, batch), strict=True)


def _under_result(key: str, stems: set[str]) -> bool:
    parts = key.split("/")
    return any("/".join(parts[:depth]) in stems for depth in range(1, len(parts)))


def _parse(key: str, body: bytes | None, collected: Collected, parse: Callable[[str, bytes], T]) -> T | None:
    if body is None:  # deleted between the listing and the read
        collected.malformed.append(Malformed(key, "listed but gone when read"))
        return None
    if len(body) > MAX_DOCUMENT_BYTES:
        collected.malformed.append(Malformed(key, f"larger than {MAX_DOCUMENT_BYTES} bytes"))
        return None
    try:
        return parse(key, body)
    # InvalidInventory and ResultSchemaError are ValueErrors
    except (ValueError, UnicodeDecodeError, InvalidEvent) as exc:
        collected.malformed.append(Malformed(key, _one_line(exc)))
        return None


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:MAX_REASON]


def _inventory(_key: str, body: bytes) -> Inventory:
    try:
        return Inventory.from_json(body)
    except InvalidInventory as exc:
        raise ValueError(f"not a qscan.inventory/1 document: {exc}") from exc


def _result_row(key: str, body: bytes) -> ResultRow:
    from qscan.results.schema import validate_result  # noqa: PLC0415 - jsonschema: the `schema` extra

    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise ValueError("not JSON") from exc
    validate_result(data)
    target = ScanTarget.from_dict(data["target"])
    stem = key[: -len(".json")]
    return ResultRow(
        key=key,
        location=data["result_location"],
        scan_id=data["scan_id"],
        status=data["status"],
        reason=data["reason"],
        started_at=data["started_at"],
        scanned_at=scan_epoch(data["started_at"]),
        target=target,
        counts={label: int(data["counts"][label]) for label in SEVERITY_LABELS},
        vulnerabilities=tuple(_vulnerability(finding) for finding in data["findings"]),
        raw_outputs=tuple((name, f"{stem}/{sanitize_component(name)}") for name in data["raw_outputs"]),
    )


def _vulnerability(finding: dict[str, Any]) -> Vulnerability:
    cves = tuple(finding["cves"])
    if finding["qid"]:
        vuln_id = f"QID {finding['qid']}"
    elif cves:
        vuln_id = cves[0]
    else:
        vuln_id = finding["title"] or "(untitled)"
    return Vulnerability(vuln_id, finding["title"], int(finding["severity"]), cves)
