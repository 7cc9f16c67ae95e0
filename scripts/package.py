"""`make package`: build every handler into reproducible, content-addressed zips under dist/.

Artifacts:
- `aws-<name>`: each `handlers/aws/<name>/` (with a `handler.py`): the handler files at the zip root, the core
  package `qscan/`, and the third-party packages of `requirements/lambda.lock` as manylinux x86_64 wheels for
  the Lambda runtime (boto3 is provided by the runtime and never bundled).
- `azure-functions`: `handlers/azure/` (`function_app.py`, `host.json`, ...) with the core and
  `requirements/azure-functions.lock` vendored into `.python_packages/lib/site-packages` (Linux x86_64, 3.11),
  and `bin/qscanner` from `QSCANNER_BINARY` when it is set (Functions has no layers: the binary ships in the
  app's zip; modules/aci-aca's `qscanner_path` points at it, and the app copies it to a temp dir to run it).
- `qscanner-layer`: `bin/qscanner` from the file named by `QSCANNER_BINARY` (proprietary, never committed).

The core ships whole except `PLATFORM_ONLY` (the other cloud's backends, which import its SDK at module level)
and `DEV_ONLY` (test and tooling helpers, e.g. `qscan.results.schema`, whose jsonschema no artifact carries).
Before building, `scripts/shipped_imports.py` checks every shipped file's imports against the artifact's lock
and runtime, and every lock entry against the imports (`--check-imports` runs only that check).

Reproducible from any checkout path: entries sorted, timestamps fixed (1980-01-01), permissions normalized
(0644, 0755 for executables), fixed deflate level, no bytecode. Nothing the installer writes about the build
machine ships: console scripts (`bin/`, their shebang names the build interpreter), `direct_url.json`,
`REQUESTED`, tests and caches are left out, and each vendored `*.dist-info/RECORD` is rewritten to list exactly
the files shipped, with their hashes. A zip that still contains the checkout, build or interpreter path is
refused. File names carry the first 16 hex digits of the zip's sha256; `dist/manifest.json` records path,
hashes, size, inputs hash, runtime and lock hash. When an artifact's inputs hash is unchanged and its zip
exists, it is not rebuilt.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import shipped_imports

REPO = Path(__file__).resolve().parent.parent
FORMAT_VERSION = "2"  # bump when the zip layout or this script's output changes
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
LAMBDA_RUNTIME = "python3.12"
AZURE_RUNTIME = "python3.11"
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
EXCLUDED_DIRS = {"__pycache__", "tests", ".pytest_cache", ".mypy_cache", "bin"}
EXCLUDED_FILES = {"direct_url.json", "REQUESTED"}
# Core paths (relative to shared/) an artifact of that cloud leaves out: the other cloud's backends, which
# import its SDK at module level (nothing the handlers run imports them: shipped_imports checks it).
PLATFORM_ONLY = {
    "aws": ("qscan/azure/", "qscan/dedupe/azure_table.py", "qscan/results/blob.py"),
    "azure": ("qscan/aws/", "qscan/dedupe/dynamodb.py", "qscan/results/s3.py"),
}
# Core paths no artifact ships: JSON Schema validation of results is for tests and local tools (jsonschema is a
# dev dependency); the handlers never validate at run time. The `qscan` command line is such a local tool (run
# from a checkout or an install of shared/; no handler runs it), and its `qscan report` validates every result
# it reads.
DEV_ONLY = ("qscan/results/schema.py", "qscan/report/", "qscan/cli/")
# handlers/azure/ files the Functions app never reads: the scan-job image's Dockerfile builds from the package.
AZURE_NOT_SHIPPED = ("scan_job/",)
# Distributions the runtime provides (never bundled), and the other cloud's SDK namespaces: imported only inside
# functions the artifact's handlers never run (like the other cloud's PLATFORM_ONLY core modules).
PROVIDED = {"aws": frozenset({"boto3", "botocore"}), "azure": frozenset()}
FOREIGN_SDKS = {"aws": ("azure",), "azure": ("boto3", "botocore")}


@dataclass(frozen=True)
class Spec:
    name: str
    runtime: str
    sources: tuple[tuple[str, Path], ...]  # (arcname, file)
    lock: Path | None
    python_version: str | None
    deps_prefix: str  # where vendored packages go inside the zip
    platform: str | None = None  # "aws" / "azure": which PROVIDED / FOREIGN rules its imports follow


def log(message: str) -> None:
    print(f"package: {message}", flush=True)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_files(root: Path, prefix: str) -> list[tuple[str, Path]]:
    """Files under root as (arcname, path), skipping caches, tests and bytecode."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or any(part in EXCLUDED_DIRS for part in rel.parts[:-1]):
            continue
        if path.suffix in {".pyc", ".pyo"} or path.name in EXCLUDED_FILES:
            continue
        found.append((f"{prefix}{rel.as_posix()}", path))
    return found


def core_files(repo: Path, platform: str) -> list[tuple[str, Path]]:
    """The core package as shipped in an artifact of `platform` (`qscan/...` arcnames)."""
    left_out = (*PLATFORM_ONLY[platform], *DEV_ONLY)
    return [(a, p) for a, p in tree_files(repo / "shared" / "qscan", "qscan/") if not a.startswith(left_out)]


def specs(repo: Path, qscanner_binary: Path | None) -> list[Spec]:
    result = []
    aws_root = repo / "handlers" / "aws"
    for handler_dir in sorted(p for p in aws_root.glob("*") if (p / "handler.py").is_file()):
        result.append(
            Spec(
                name=f"aws-{handler_dir.name}",
                runtime=LAMBDA_RUNTIME,
                sources=tuple(tree_files(handler_dir, "") + core_files(repo, "aws")),
                lock=repo / "requirements" / "lambda.lock",
                python_version="3.12",
                deps_prefix="",
                platform="aws",
            )
        )
    azure_dir = repo / "handlers" / "azure"
    if (azure_dir / "function_app.py").is_file():
        site = ".python_packages/lib/site-packages/"
        result.append(
            Spec(
                name="azure-functions",
                runtime=AZURE_RUNTIME,
                sources=tuple(
                    [(a, p) for a, p in tree_files(azure_dir, "") if not a.startswith(AZURE_NOT_SHIPPED)]
                    + [(site + a, p) for a, p in core_files(repo, "azure")]
                    + ([("bin/qscanner", qscanner_binary)] if qscanner_binary is not None else [])
                ),
                lock=repo / "requirements" / "azure-functions.lock",
                python_version="3.11",
                deps_prefix=site,
                platform="azure",
            )
        )
    if qscanner_binary is not None:
        result.append(
            Spec(
                name="qscanner-layer",
                runtime="any",
                sources=(("bin/qscanner", qscanner_binary),),
                lock=None,
                python_version=None,
                deps_prefix="",
            )
        )
    return result


def inputs_hash(spec: Spec) -> str:
    digest = hashlib.sha256(f"{FORMAT_VERSION}\n{spec.runtime}\n".encode())
    for arcname, path in sorted(spec.sources):
        digest.update(f"{arcname}\0{sha256_file(path)}\n".encode())
    if spec.lock is not None:
        digest.update(f"lock\0{sha256_file(spec.lock)}\n".encode())
    return digest.hexdigest()


def install_deps(spec: Spec, build_dir: Path, wheelhouse: Path) -> Path:
    """Install the lock's wheels for the target platform once per (lock, python) into build/deps/."""
    if spec.lock is None or spec.python_version is None:
        raise ValueError(f"{spec.name} has no dependencies to install")
    lock_hash = sha256_file(spec.lock)[:16]
    target = build_dir / "deps" / f"{spec.lock.stem}-py{spec.python_version}-{lock_hash}"
    done = target.with_name(target.name + ".complete")
    if done.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    house = wheelhouse / f"py{spec.python_version}"
    house.mkdir(parents=True, exist_ok=True)
    platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
    common = [
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        *platform_args,
        "--implementation",
        "cp",
        "--python-version",
        spec.python_version,
        "-r",
        str(spec.lock),
    ]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    offline = subprocess.run(
        [*pip, "download", "--no-index", "--find-links", str(house), "-d", str(house), *common],
        capture_output=True,
        check=False,
    )
    if offline.returncode != 0:
        log(f"downloading wheels for {spec.lock.name} (python {spec.python_version}, linux x86_64)")
        subprocess.run([*pip, "download", "-d", str(house), *common], check=True)
    subprocess.run(
        [
            *pip,
            "install",
            "--no-index",
            "--find-links",
            str(house),
            "--no-compile",
            "--target",
            str(target),
            *common,
        ],
        check=True,
    )
    done.touch()
    return target


def import_problems(spec: Spec) -> list[str]:
    """What `scripts/shipped_imports.py` finds wrong with the imports of a Python artifact (none: [])."""
    if spec.lock is None or spec.platform is None:
        return []
    artifact = import_artifact(spec)
    return shipped_imports.check_artifact(artifact) + shipped_imports.unused_entries([artifact])


def import_artifact(spec: Spec) -> shipped_imports.Artifact:
    """The shipped_imports view of a Python artifact: its shipped modules, lock, runtime and foreign SDKs."""
    if spec.lock is None or spec.platform is None:
        raise ValueError(f"{spec.name} ships no Python code")
    modules = {}
    for arcname, path in spec.sources:
        if not arcname.endswith(".py"):
            continue
        parts = arcname.removeprefix(spec.deps_prefix).removesuffix(".py").split("/")
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    left_out = tuple(
        p.removesuffix("/").removesuffix(".py").replace("/", ".") for p in PLATFORM_ONLY[spec.platform]
    )
    return shipped_imports.Artifact.for_lock(
        spec.name,
        modules,
        spec.lock,
        provided=PROVIDED[spec.platform],
        foreign=(*FOREIGN_SDKS[spec.platform], *left_out),
    )


def rewrite_records(entries: dict[str, bytes], prefix: str) -> None:
    """Make each vendored `*.dist-info/RECORD` list exactly the shipped files of its distribution.

    pip's RECORD also lists what is not shipped (console scripts in `bin/`, whose shebang and hash name the
    build interpreter's path; REQUESTED; tests) : those rows are dropped, the others re-hashed from the bytes
    that ship, and RECORD's own row left without a hash (as the wheel spec says).
    """
    for arcname in sorted(entries):
        rel = arcname.removeprefix(prefix)
        if not arcname.startswith(prefix) or rel.count("/") != 1 or not rel.endswith(".dist-info/RECORD"):
            continue
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in csv.reader(io.StringIO(entries[arcname].decode("utf-8"))):
            if not row or row[0].startswith(("/", "../")):
                continue
            shipped = prefix + row[0]
            if shipped == arcname:
                writer.writerow([row[0], "", ""])
            elif shipped in entries:
                data = entries[shipped]
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                writer.writerow([row[0], f"sha256={digest}", str(len(data))])
        entries[arcname] = out.getvalue().encode("utf-8")


def zip_entries(spec: Spec, deps_dir: Path | None) -> list[tuple[str, bytes]]:
    """The artifact's (arcname, content) pairs, sorted; vendored RECORD files rewritten (rewrite_records)."""
    files = list(spec.sources)
    if deps_dir is not None:
        files += tree_files(deps_dir, spec.deps_prefix)
    names = [a for a, _ in files]
    duplicates = sorted({a for a in names if names.count(a) > 1})
    if duplicates:
        raise SystemExit(f"package: {spec.name}: duplicate entries {duplicates[:5]}")
    entries = {arcname: path.read_bytes() for arcname, path in files}
    if deps_dir is not None:
        rewrite_records(entries, spec.deps_prefix)
    return sorted(entries.items())


def machine_paths(repo: Path, build_dir: Path) -> list[str]:
    """Paths of this machine that must never appear inside an artifact (each with 2+ components)."""
    paths = [str(repo), str(build_dir)]
    if sys.prefix != sys.base_prefix:  # a virtualenv: its interpreter path is specific to this checkout
        paths += [sys.prefix, sys.executable]
    return sorted({p for p in paths if len(Path(p).parts) > 2})


def path_leaks(entries: Iterable[tuple[str, bytes]], paths: Iterable[str]) -> list[str]:
    """`arcname: path` for every entry whose content names one of `paths` (as `<path>/...`)."""
    needles = [(p, p.encode() + b"/") for p in paths]
    return [f"{arcname}: {p}" for arcname, data in entries for p, needle in needles if needle in data]


def build_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix, so the permission bits below are honoured
            # only the layer's binary is executable; the mode is never taken from the file system
            executable = arcname.startswith("bin/")
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def package(
    repo: Path, out: Path, build_dir: Path, wheelhouse: Path, qscanner_binary: Path | None
) -> dict[str, dict]:
    manifest_path = out / "manifest.json"
    previous = json.loads(manifest_path.read_text())["artifacts"] if manifest_path.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, dict] = {}
    for spec in specs(repo, qscanner_binary):
        problems = import_problems(spec)
        if problems:
            raise SystemExit("package: imports do not match the lock:\n  " + "\n  ".join(problems))
        digest_in = inputs_hash(spec)
        old = previous.get(spec.name)
        if old and old["inputs_hash"] == digest_in and (repo / old["path"]).is_file():
            log(f"{spec.name}: up to date ({old['path']})")
            artifacts[spec.name] = old
            continue
        log(f"{spec.name}: building ({len(spec.sources)} source files, runtime {spec.runtime})")
        deps_dir = install_deps(spec, build_dir, wheelhouse) if spec.lock else None
        entries = zip_entries(spec, deps_dir)
        leaks = path_leaks(entries, machine_paths(repo, build_dir))
        if leaks:
            raise SystemExit(f"package: {spec.name} would ship machine paths: {leaks[:5]}")
        data = build_zip(entries)
        sha = hashlib.sha256(data)
        path = out / f"{spec.name}-{sha.hexdigest()[:16]}.zip"
        for stale in out.glob(f"{spec.name}-*.zip"):
            if stale != path:
                stale.unlink()
        path.write_bytes(data)
        artifacts[spec.name] = {
            "path": path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path),
            "sha256": sha.hexdigest(),
            "sha256_base64": base64.b64encode(sha.digest()).decode(),
            "size": len(data),
            "inputs_hash": digest_in,
            "runtime": spec.runtime,
            "lock_hash": sha256_file(spec.lock) if spec.lock else None,
        }
        log(f"{spec.name}: {artifacts[spec.name]['path']} ({len(data) / 1024:.0f} KiB)")
    manifest = {"format_version": FORMAT_VERSION, "artifacts": artifacts}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if not manifest_path.exists() or manifest_path.read_text() != text:
        manifest_path.write_text(text)
    return artifacts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="repository root (default: this checkout)")
    parser.add_argument("--out", type=Path, help="output directory (default: <repo>/dist)")
    parser.add_argument("--build-dir", type=Path, help="scratch directory (default: <repo>/build)")
    parser.add_argument(
        "--wheelhouse", type=Path, help="wheel download cache (default: <build-dir>/wheelhouse)"
    )
    parser.add_argument(
        "--check-imports",
        action="store_true",
        help="only check shipped imports against the locks (scripts/shipped_imports.py); build nothing",
    )
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    if args.check_imports:
        problems = [p for spec in specs(repo, None) for p in import_problems(spec)]
        for problem in problems:
            print(f"package: {problem}", file=sys.stderr)
        log(f"imports: {len(problems)} problem(s)")
        return 1 if problems else 0
    build_dir = (args.build_dir or repo / "build").resolve()
    qscanner = os.environ.get("QSCANNER_BINARY")
    binary = None
    if qscanner:
        binary = Path(qscanner)
        if not binary.is_file():
            print(f"package: QSCANNER_BINARY={qscanner} is not a file", file=sys.stderr)
            return 2
    else:
        log(
            "qscanner-layer: skipped; set QSCANNER_BINARY=/path/to/qscanner (linux-amd64, from Qualys) to build it"
        )
    artifacts = package(
        repo,
        (args.out or repo / "dist").resolve(),
        build_dir,
        (args.wheelhouse or build_dir / "wheelhouse").resolve(),
        binary,
    )
    if not artifacts:
        log("no handlers found under handlers/aws/*/handler.py or handlers/azure/function_app.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
