#!/usr/bin/env python3
"""Extract the azurerm provider's configuration schema from the jsii assembly of ``@cdktf/provider-azurerm``.

No azurerm provider can be installed offline, but the prebuilt CDKTF bindings on npm carry every resource,
data source and the provider itself as jsii "config structs": a property with ``optional`` unset is a
required argument, a property typed as another struct of the assembly is a nested block (a single struct
means ``max_items = 1``, a list of structs means a repeatable block), and computed-only attributes are
absent. The exact Terraform names come from each property's registry link (``...#account_tier
Foo#account_tier``), so jsii renames such as ``systemAttribute`` -> ``system`` or ``use32BitWorker`` ->
``use_32_bit_worker`` map back.

Usage (``make azurerm-schema``)::

    python scripts/extract_azurerm_schema.py [--version 14.23.1] [--tarball pkg.tgz] [--output PATH]

Output: compact, sorted JSON (gzip-compressed with a fixed mtime if larger than ``--max-bytes``), shaped as::

    {"metadata": {...}, "provider": BODY,
     "resources": {"azurerm_x": BODY}, "data_sources": {"azurerm_y": BODY}}
    BODY  = {"a": {"arg": 1 | 0}, "b": {"block": BLOCK}}     (1 = required; empty "a"/"b" omitted)
    BLOCK = BODY + {"r": 1 if required, "m": 1 if at most one,
                    "x": 1 if it may also be written as an attribute (ConfigModeAttr)}
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import logging
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOG = logging.getLogger("extract_azurerm_schema")

PACKAGE = "@cdktf/provider-azurerm"
# The last release: HashiCorp archived the prebuilt bindings at azurerm 4.55.0 (December 2025).
DEFAULT_VERSION = "14.23.1"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "azurerm_schema.json"
DEFAULT_MAX_BYTES = 6_000_000
FORMAT_VERSION = 1

RESOURCE_BASE = "cdktf.TerraformResource"
DATA_SOURCE_BASE = "cdktf.TerraformDataSource"
PROVIDER_BASE = "cdktf.TerraformProvider"
# cdktf meta-arguments (inherited from cdktf.TerraformMetaArguments); never part of the provider schema.
META_PROPERTIES = frozenset(
    {"connection", "count", "dependsOn", "forEach", "lifecycle", "provider", "provisioners"}
)

_TYPE_LINK = re.compile(r"\{@link \S+/docs/(resources|data-sources)/[a-z0-9_]+ (azurerm_[a-z0-9_]+)\}")
_NAME_ANCHOR = re.compile(r"#([a-z0-9_]+) [A-Za-z0-9_]+#([a-z0-9_]+)\}")
_PROVIDER_VERSION = re.compile(r"hashicorp/azurerm/(\d+\.\d+\.\d+)")
_README_VERSION = re.compile(r"hashicorp/azurerm provider version (\d+\.\d+\.\d+)")
_SAFE_VERSION = re.compile(r"^\d+\.\d+\.\d+([-.][0-9A-Za-z.]+)?$")


class SchemaError(ValueError):
    """The assembly does not look like a cdktf provider assembly."""


# ------------------------------------------------------------------------------------ pure transformation


def snake_case(name: str) -> str:
    """Fallback camelCase -> snake_case: ``nfsv3Enabled`` -> ``nfsv3_enabled``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def terraform_name(prop: Mapping[str, Any]) -> str:
    """The HCL name of a jsii property, from its registry link anchor, else by snake-casing."""
    docs = prop.get("docs", {})
    text = f"{docs.get('summary', '')} {docs.get('remarks', '')}"
    match = _NAME_ANCHOR.search(text)
    if match and match.group(1) == match.group(2):
        return match.group(1)
    return snake_case(str(prop["name"]))


def _is_struct(types: Mapping[str, Any], fqn: str) -> bool:
    t = types.get(fqn)
    return bool(t and t.get("kind") == "interface" and t.get("datatype"))


def block_reference(types: Mapping[str, Any], type_ref: Mapping[str, Any]) -> tuple[str, bool] | None:
    """``(struct fqn, single)`` if a property type refers to a struct of the assembly, else None.

    ``{"fqn": S}`` is a single block; ``{"collection": {"kind": "array", "elementtype": {"fqn": S}}}``,
    usually in a union with ``cdktf.IResolvable``, is a repeatable block.
    """
    fqn = type_ref.get("fqn")
    if isinstance(fqn, str):
        return (fqn, True) if _is_struct(types, fqn) else None
    collection = type_ref.get("collection")
    if isinstance(collection, Mapping):
        if collection.get("kind") != "array":
            return None
        inner = block_reference(types, collection.get("elementtype", {}))
        return (inner[0], False) if inner and inner[1] else None
    union = type_ref.get("union")
    if isinstance(union, Mapping):
        for member in union.get("types", []):
            found = block_reference(types, member)
            if found:
                return found
    return None


def _struct_properties(types: Mapping[str, Any], fqn: str) -> list[Mapping[str, Any]]:
    """Own properties of a struct plus its parent structs' inside the assembly (meta-args live outside)."""
    struct = types[fqn]
    props: list[Mapping[str, Any]] = list(struct.get("properties", []))
    for parent in struct.get("interfaces", []):
        if _is_struct(types, parent):
            props.extend(_struct_properties(types, parent))
    return props


def struct_body(
    types: Mapping[str, Any], fqn: str, *, top_level: bool = False, depth: int = 0
) -> dict[str, Any]:
    """The BODY (arguments and nested blocks) of one config struct, recursively."""
    if depth > 32:
        raise SchemaError(f"struct nesting too deep at {fqn}")
    args: dict[str, int] = {}
    blocks: dict[str, Any] = {}
    for prop in _struct_properties(types, fqn):
        if top_level and prop["name"] in META_PROPERTIES:
            continue
        name = terraform_name(prop)
        required = not prop.get("optional", False)
        ref = block_reference(types, prop.get("type", {}))
        if ref is None:
            args[name] = 1 if required else 0
            continue
        block = struct_body(types, ref[0], depth=depth + 1)
        if required:
            block["r"] = 1
        if ref[1]:
            block["m"] = 1
        if not str(prop.get("docs", {}).get("summary", "")).endswith(" block."):
            block["x"] = 1  # a list-of-objects attribute (ConfigModeAttr): block syntax is accepted too
        blocks[name] = block
    body: dict[str, Any] = {}
    if args:
        body["a"] = args
    if blocks:
        body["b"] = blocks
    return body


def config_struct(cls: Mapping[str, Any]) -> str:
    """The fqn of the ``config`` parameter of a resource/data source/provider class initializer."""
    for param in cls.get("initializer", {}).get("parameters", []):
        if param.get("name") == "config" and isinstance(param.get("type", {}).get("fqn"), str):
            return str(param["type"]["fqn"])
    raise SchemaError(f"{cls.get('fqn')}: no config parameter")


def class_terraform_type(cls: Mapping[str, Any]) -> tuple[str, str]:
    """``(kind, type)`` of a class: ``Represents a {@link .../resources/x azurerm_x}``"""
    match = _TYPE_LINK.search(str(cls.get("docs", {}).get("summary", "")))
    if not match:
        raise SchemaError(f"{cls.get('fqn')}: no Terraform type in the class docs")
    return ("resources" if match.group(1) == "resources" else "data_sources"), match.group(2)


def provider_versions(assembly: Mapping[str, Any]) -> list[str]:
    """Every azurerm provider version that the assembly's registry links name (normally exactly one)."""
    found: set[str] = set()
    for t in assembly.get("types", {}).values():
        if t.get("kind") == "class" and t.get("base") in (RESOURCE_BASE, DATA_SOURCE_BASE, PROVIDER_BASE):
            found.update(_PROVIDER_VERSION.findall(str(t.get("docs", {}).get("summary", ""))))
    return sorted(found)


def extract_schema(assembly: Mapping[str, Any], readme: str = "") -> dict[str, Any]:
    """Turn a cdktf provider jsii assembly into the compact schema document."""
    types = assembly.get("types")
    if not isinstance(types, Mapping) or not types:
        raise SchemaError("assembly has no types")
    resources: dict[str, Any] = {}
    data_sources: dict[str, Any] = {}
    provider: dict[str, Any] = {}
    for fqn in sorted(types):
        cls = types[fqn]
        if cls.get("kind") != "class":
            continue
        base = cls.get("base")
        if base == PROVIDER_BASE:
            provider = struct_body(types, config_struct(cls), top_level=True)
        elif base in (RESOURCE_BASE, DATA_SOURCE_BASE):
            kind, tf_type = class_terraform_type(cls)
            if (kind == "resources") != (base == RESOURCE_BASE):
                raise SchemaError(f"{fqn}: docs link kind {kind} does not match base {base}")
            target = resources if kind == "resources" else data_sources
            if tf_type in target:
                raise SchemaError(f"{fqn}: duplicate Terraform type {tf_type}")
            target[tf_type] = struct_body(types, config_struct(cls), top_level=True)
    if not resources:
        raise SchemaError("assembly defines no resources")
    versions = provider_versions(assembly)
    readme_match = _README_VERSION.search(readme)
    metadata = {
        "format": FORMAT_VERSION,
        "source": f"npm pack {assembly.get('name')}@{assembly.get('version')}: package/.jsii",
        "package": assembly.get("name"),
        "package_version": assembly.get("version"),
        "provider": "hashicorp/azurerm",
        "provider_version": versions[0] if len(versions) == 1 else ",".join(versions),
        "provider_version_readme": readme_match.group(1) if readme_match else None,
        "resource_count": len(resources),
        "data_source_count": len(data_sources),
        "legend": 'BODY={"a":{arg:1 required|0 optional},"b":{block:BODY+{"r":1 required,"m":1 max_items=1,'
        '"x":1 attribute syntax also allowed}}}',
    }
    return {"metadata": metadata, "provider": provider, "resources": resources, "data_sources": data_sources}


def encode(schema: Mapping[str, Any]) -> bytes:
    """Deterministic compact JSON bytes."""
    return (
        json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"
    )


def gzip_bytes(payload: bytes) -> bytes:
    """Deterministic gzip (no file name, mtime 0)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as fh:
        fh.write(payload)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------- I/O


def npm_pack(version: str, dest: Path) -> Path:
    """``npm pack`` the package into ``dest`` and return the tarball path."""
    if not _SAFE_VERSION.match(version):
        raise SchemaError(f"invalid package version {version!r}")
    cmd = ["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(dest)]
    LOG.info("running %s", " ".join(cmd))
    proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SchemaError(f"npm pack failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    try:
        filename = json.loads(proc.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError) as exc:
        raise SchemaError("npm pack printed no JSON file list") from exc
    tarball = dest / Path(str(filename)).name
    if not tarball.is_file():
        raise SchemaError(f"npm pack did not produce {tarball.name}")
    return tarball


def read_package(tarball: Path) -> tuple[dict[str, Any], str]:
    """The jsii assembly (following a gzip redirect) and README text of an npm tarball, read in memory."""

    def member(tar: tarfile.TarFile, name: str) -> bytes | None:
        try:
            info = tar.getmember(f"package/{name}")
        except KeyError:
            return None
        fh = tar.extractfile(info) if info.isfile() else None
        return fh.read() if fh else None

    with tarfile.open(tarball, mode="r:gz") as tar:
        raw = member(tar, ".jsii")
        if raw is None:
            raise SchemaError(f"{tarball.name}: no package/.jsii")
        assembly = json.loads(raw)
        if assembly.get("schema") == "jsii/file-redirect":
            target = str(assembly.get("filename", ""))
            if "/" in target or assembly.get("compression") != "gzip":
                raise SchemaError(f"unsupported jsii redirect {target!r}")
            packed = member(tar, target)
            if packed is None:
                raise SchemaError(f"{tarball.name}: missing redirected assembly {target}")
            assembly = json.loads(gzip.decompress(packed))
        readme = (member(tar, "README.md") or b"").decode("utf-8", "replace")
    if not isinstance(assembly, dict) or not str(assembly.get("schema", "")).startswith("jsii/"):
        raise SchemaError(f"{tarball.name}: package/.jsii is not a jsii assembly")
    return assembly, readme


def write_schema(schema: Mapping[str, Any], output: Path, max_bytes: int) -> Path:
    """Write JSON, or ``<output>.gz`` above max_bytes; remove the other variant. Returns the path written."""
    payload = encode(schema)
    gz_path = output.with_name(output.name + ".gz")
    if len(payload) > max_bytes:
        gz_path.write_bytes(gzip_bytes(payload))
        output.unlink(missing_ok=True)
        return gz_path
    output.write_bytes(payload)
    gz_path.unlink(missing_ok=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--version", default=DEFAULT_VERSION, help=f"{PACKAGE} version (default {DEFAULT_VERSION})"
    )
    parser.add_argument("--tarball", type=Path, help="use this npm tarball instead of running npm pack")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="gzip above this size")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        with tempfile.TemporaryDirectory(prefix="azurerm-schema-") as tmp:
            tarball = args.tarball or npm_pack(args.version, Path(tmp))
            assembly, readme = read_package(tarball)
        schema = extract_schema(assembly, readme)
        path = write_schema(schema, args.output, args.max_bytes)
    except (SchemaError, OSError, ValueError, subprocess.SubprocessError, tarfile.TarError) as exc:
        LOG.error("failed: %s", exc)
        return 1
    meta = schema["metadata"]
    LOG.info(
        "wrote %s (%d bytes): %s resources, %s data sources, azurerm %s from %s@%s",
        path,
        path.stat().st_size,
        meta["resource_count"],
        meta["data_source_count"],
        meta["provider_version"],
        meta["package"],
        meta["package_version"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
