"""Evaluate the small subset of Terraform expressions the Azure module's filter values use.

No azurerm provider can be installed here, so `terraform console` cannot evaluate modules/aci-aca. The tests
that check what the HCL really says (the Event Grid filter values, the queue names) evaluate python-hcl2's
classic strings with this instead: string templates (`"a-${var.b}"`), whole-value references (`local.x`,
`var.x`, any other dotted name given in `env`), list literals, string literals and `concat(...)`. Anything
else raises `UnsupportedExpression`, so a module change that outgrows the subset fails loudly, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$")


class UnsupportedExpression(ValueError):
    """An expression outside the supported subset, or a reference nothing defines."""


class Evaluator:
    """Resolves references: `local.<name>` from the module's locals (evaluated on demand), others from env."""

    def __init__(self, locals_: Mapping[str, Any], env: Mapping[str, Any]) -> None:
        self._locals = locals_
        self._env = env

    def value(self, raw: Any) -> Any:
        """The value of a python-hcl2 classic value: lists element-wise, strings as templates."""
        if isinstance(raw, list):
            return [self.value(item) for item in raw]
        if isinstance(raw, str):
            return self._template(raw)
        return raw

    def reference(self, name: str) -> Any:
        if name.startswith("local."):
            key = name.removeprefix("local.")
            if key not in self._locals:
                raise UnsupportedExpression(f"undefined {name}")
            return self.value(self._locals[key])
        if name not in self._env:
            raise UnsupportedExpression(f"no value given for {name}")
        return self._env[name]

    # ------------------------------------------------------------ templates
    def _template(self, text: str) -> Any:
        parts = _split_template(text)
        if len(parts) == 1 and parts[0][0] == "expr":
            return self._expression(parts[0][1])
        rendered: list[str] = []
        for kind, piece in parts:
            if kind == "text":
                rendered.append(piece)
            else:
                value = self._expression(piece)
                if not isinstance(value, str):
                    raise UnsupportedExpression(f"non-string {piece!r} interpolated into {text!r}")
                rendered.append(value)
        return "".join(rendered)

    # ------------------------------------------------------------ expressions
    def _expression(self, source: str) -> Any:
        parser = _Parser(source, self)
        result = parser.expression()
        parser.end()
        return result


def _split_template(text: str) -> list[tuple[str, str]]:
    """[("text", ...), ("expr", ...)] with nested ${...} and quoted strings kept inside their expression."""
    parts: list[tuple[str, str]] = []
    buffer: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            if buffer:
                parts.append(("text", "".join(buffer)))
                buffer = []
            end = _closing_brace(text, i + 2)
            parts.append(("expr", text[i + 2 : end]))
            i = end + 1
            continue
        buffer.append(text[i])
        i += 1
    if buffer or not parts:
        parts.append(("text", "".join(buffer)))
    return parts


def _closing_brace(text: str, start: int) -> int:
    depth, i, in_string = 0, start, False
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 2
                continue
            if char == '"':
                in_string = False
            elif text.startswith("${", i):
                end = _closing_brace(text, i + 2)
                i = end + 1
                continue
        elif char == '"':
            in_string = True
        elif char in "{[(":
            depth += 1
        elif char in "}])":
            if depth == 0 and char == "}":
                return i
            depth -= 1
        i += 1
    raise UnsupportedExpression(f"unbalanced interpolation in {text!r}")


class _Parser:
    """Recursive descent over: string | reference | [expr, ...] | concat(expr, ...)."""

    def __init__(self, source: str, evaluator: Evaluator) -> None:
        self._source = source
        self._pos = 0
        self._evaluator = evaluator

    def _skip(self) -> None:
        while self._pos < len(self._source) and self._source[self._pos].isspace():
            self._pos += 1

    def _peek(self) -> str:
        self._skip()
        return self._source[self._pos] if self._pos < len(self._source) else ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise UnsupportedExpression(f"expected {char!r} at {self._pos} in {self._source!r}")
        self._pos += 1

    def end(self) -> None:
        if self._peek():
            raise UnsupportedExpression(f"unsupported expression {self._source!r}")

    def expression(self) -> Any:
        char = self._peek()
        if char == '"':
            return self._string()
        if char == "[":
            return self._list()
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*").match(self._source, self._pos)
        if match is None:
            raise UnsupportedExpression(f"unsupported expression {self._source!r}")
        name = match.group(0)
        self._pos = match.end()
        if self._peek() == "(":
            return self._call(name)
        if not _REFERENCE.match(name):
            raise UnsupportedExpression(f"unsupported name {name!r} in {self._source!r}")
        return self._evaluator.reference(name)

    def _string(self) -> str:
        start = self._pos
        end = start + 1
        while end < len(self._source):
            if self._source.startswith("${", end):
                end = _closing_brace(self._source, end + 2) + 1
                continue
            if self._source[end] == "\\":
                end += 2
                continue
            if self._source[end] == '"':
                break
            end += 1
        else:
            raise UnsupportedExpression(f"unterminated string in {self._source!r}")
        self._pos = end + 1
        value = self._evaluator.value(self._source[start + 1 : end])
        if not isinstance(value, str):
            raise UnsupportedExpression(f"string template {self._source[start : end + 1]!r} is not a string")
        return value

    def _items(self, closing: str) -> list[Any]:
        items: list[Any] = []
        while self._peek() != closing:
            items.append(self.expression())
            if self._peek() == ",":
                self._pos += 1
            elif self._peek() != closing:
                raise UnsupportedExpression(f"expected ',' or {closing!r} in {self._source!r}")
        self._pos += 1
        return items

    def _list(self) -> list[Any]:
        self._expect("[")
        return self._items("]")

    def _call(self, name: str) -> Any:
        self._expect("(")
        args = self._items(")")
        if name == "concat" and all(isinstance(a, list) for a in args):
            return [item for arg in args for item in arg]
        raise UnsupportedExpression(f"unsupported function {name}() in {self._source!r}")
