"""Validate `ScanResult.to_dict()` against the JSON Schema shipped in `qscan/schemas/scan-result.schema.json`.

The schema is draft 2020-12 and pins `schema_version` (`qscan.results.model.SCHEMA_VERSION`).

For tests and local tools only: the handlers never validate at run time (the suite validates every backend's
output instead), so this module needs `jsonschema` (the `schema` extra; in requirements/dev.in) and is left out
of every handler artifact (`DEV_ONLY` in scripts/package.py; scripts/shipped_imports.py checks that no shipped
code imports it).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_RESOURCE = "scan-result.schema.json"
MAX_REPORTED_ERRORS = 10


class ResultSchemaError(ValueError):
    """A result does not match the schema; `errors` lists `<json path>: <message>` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("scan result does not match the schema: " + "; ".join(errors))
        self.errors = errors


@cache
def load_schema() -> dict[str, Any]:
    text = resources.files("qscan").joinpath("schemas", SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def schema_errors(data: Any) -> list[str]:
    """Every schema violation of `data` (at most MAX_REPORTED_ERRORS), as `<json path>: <message>` lines."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    lines = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        path = error.json_path
        # The message can echo the offending value: keep it short (results carry no secrets, but stay bounded).
        lines.append(f"{path}: {error.message[:200]}")
    return lines


def validate_result(data: Any) -> None:
    """Raise `ResultSchemaError` unless `data` is a valid `ScanResult.to_dict()`."""
    errors = schema_errors(data)
    if errors:
        raise ResultSchemaError(errors)
