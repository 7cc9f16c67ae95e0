"""Shared HCL loading for the repository's Terraform checkers (python-hcl2 8.x).

Two views of one parse:

* ``load_hcl(path)`` returns the classic python-hcl2 dict shape
  (``{"resource": [{"type": {"name": {...}}}]}``), string quotes stripped, no comments, no ``__is_block__``.
* ``parse_hcl(path)`` returns an :class:`HclFile` that carries the same dict plus an outline of every block
  (type, labels, first/last line, attribute names with their lines, nested blocks). The outline tells
  attributes from blocks exactly, which the classic dict cannot (``x = [{...}]`` and ``x { ... }`` look
  alike there).

Import it as ``from scripts.hcl import ...``: pytest puts the repo root on ``sys.path``; a script run as
``python scripts/<name>.py`` inserts the repo root itself when ``__package__`` is empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError

__all__ = [
    "CLASSIC_OPTIONS",
    "HclBlock",
    "HclFile",
    "HclParseError",
    "block_lines",
    "iter_tf_files",
    "load_hcl",
    "parse_hcl",
    "parse_hcl_text",
]

# The options that give python-hcl2 8.x the classic (4.x-compatible) dict shape.
CLASSIC_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)

SKIP_DIRS = frozenset({".terraform", ".git", ".venv", ".venv-checkov", "node_modules"})


class HclParseError(ValueError):
    """A file that python-hcl2 could not parse; ``str()`` is ``path:line: reason``."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class HclBlock:
    """One block of a parsed file: ``type "label" ... { ... }`` with its position."""

    type: str
    labels: tuple[str, ...]
    line: int
    end_line: int
    attributes: dict[str, int] = field(default_factory=dict)  # attribute name -> line
    blocks: tuple[HclBlock, ...] = ()

    def children(self, block_type: str) -> list[HclBlock]:
        """The nested blocks of one type, in file order."""
        return [b for b in self.blocks if b.type == block_type]


@dataclass(frozen=True)
class HclFile:
    """A parsed file: the classic dict (``data``) and the block outline (``blocks``, top level)."""

    path: str
    data: dict[str, Any]
    blocks: tuple[HclBlock, ...]

    def find(self, block_type: str, *labels: str) -> HclBlock | None:
        """The first top-level block with this type and these labels, or None."""
        for block in self.blocks:
            if block.type == block_type and block.labels == labels:
                return block
        return None

    def line_of(self, block_type: str, *labels: str) -> int | None:
        """Line of the first top-level block with this type and these labels, or None."""
        block = self.find(block_type, *labels)
        return block.line if block else None


def load_hcl(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse one HCL file into the classic python-hcl2 dict shape. Raises HclParseError."""
    return parse_hcl(path).data


def parse_hcl(path: str | os.PathLike[str]) -> HclFile:
    """Parse one HCL file into an HclFile (classic dict + block outline). Raises HclParseError."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HclParseError(name, 0, f"cannot read file: {exc.__class__.__name__}") from exc
    return parse_hcl_text(text, name)


def parse_hcl_text(text: str, path: str = "<string>") -> HclFile:
    """Parse HCL text (``path`` only names it in errors). Raises HclParseError."""
    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        line = getattr(exc, "line", 0)
        raise HclParseError(path, line if isinstance(line, int) else 0, _first_line(str(exc))) from exc
    top = _body_of(tree)
    outline = tuple(_outline(child) for child in _children(top, "block"))
    try:
        data = hcl2.serialize(
            hcl2.transform(tree, discard_comments=True), serialization_options=CLASSIC_OPTIONS
        )
    except (LarkError, RuntimeError, ValueError) as exc:
        raise HclParseError(path, 0, _first_line(str(exc))) from exc
    return HclFile(path=path, data=data, blocks=outline)


def block_lines(path: str | os.PathLike[str]) -> dict[tuple[str, ...], int]:
    """``{(type, *labels): line}`` for every top-level block (first occurrence wins)."""
    lines: dict[tuple[str, ...], int] = {}
    for block in parse_hcl(path).blocks:
        lines.setdefault((block.type, *block.labels), block.line)
    return lines


def iter_tf_files(roots: Iterable[str | os.PathLike[str]], suffix: str = ".tf") -> Iterator[Path]:
    """Every ``*.tf`` file under the roots (or the root itself if it is a file), sorted, skipping
    ``.terraform/`` and other tool directories. Missing roots are skipped."""
    found: set[Path] = set()
    for root in roots:
        base = Path(root)
        if base.is_file():
            if base.name.endswith(suffix):
                found.add(base)
            continue
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            found.update(Path(dirpath) / f for f in filenames if f.endswith(suffix))
    yield from sorted(found)


# ---------------------------------------------------------------------------------------------- internals


def _first_line(message: str, limit: int = 200) -> str:
    text = message.strip().splitlines()[0] if message.strip() else "parse error"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _children(tree: Tree[Any], data: str) -> list[Tree[Any]]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data == data]


def _body_of(tree: Tree[Any]) -> Tree[Any]:
    bodies = _children(tree, "body")
    return bodies[0] if bodies else Tree("body", [])


def _token_text(node: Tree[Any] | Token) -> str:
    """Plain text of an identifier/keyword/string label node (quotes dropped)."""
    if isinstance(node, Token):
        return "" if node.type in {"DBLQUOTE", "LBRACE", "RBRACE"} else str(node)
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, Token):
            if child.type != "DBLQUOTE" and str(child) != '"':
                parts.append(str(child))
        elif isinstance(child, Tree):
            parts.append(_token_text(child))
    return "".join(parts)


def _outline(block: Tree[Any]) -> HclBlock:
    labels = [_token_text(c) for c in block.children if isinstance(c, Tree) and c.data != "body"]
    body = _body_of(block)
    attributes: dict[str, int] = {}
    for attr in _children(body, "attribute"):
        name_node = attr.children[0]
        attributes.setdefault(
            _token_text(name_node), attr.meta.line if not attr.meta.empty else block.meta.line
        )
    nested = tuple(_outline(child) for child in _children(body, "block"))
    return HclBlock(
        type=labels[0],
        labels=tuple(labels[1:]),
        line=block.meta.line,
        end_line=block.meta.end_line,
        attributes=attributes,
        blocks=nested,
    )
