"""`WWW-Authenticate` challenges (RFC 7235): `Bearer realm="...",service="...",scope="..."` and `Basic realm=...`.

One header may hold several challenges (`Basic realm="x", Bearer realm="y"`); parameters are `name=token` or
`name="quoted \\" string"`, names are case-insensitive. A scheme followed by a token68 (no `=` pairs) keeps no
parameters. Malformed input never raises: what cannot be parsed is dropped, and the caller treats a header
without a usable challenge as access denied. The header is bounded before parsing (`MAX_HEADER`).
"""

from __future__ import annotations

import re

from qscan.structs import field, struct

MAX_HEADER = 8192

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SPACE = re.compile(r"[ \t]*")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")


@struct
class Challenge:
    scheme: str  # lower-case: "bearer", "basic", ...
    params: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


def parse_challenges(header: str | None) -> list[Challenge]:
    """Every challenge in one `WWW-Authenticate` header value, in order."""
    if not header or len(header) > MAX_HEADER:
        return []
    parser = _Parser(header)
    return parser.challenges()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def _token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            return None
        self.pos = match.end()
        return match.group()

    def _quoted(self) -> str | None:
        if self.text[self.pos : self.pos + 1] != '"':
            return None
        out: list[str] = []
        index = self.pos + 1
        while index < len(self.text):
            char = self.text[index]
            if char == "\\" and index + 1 < len(self.text):
                out.append(self.text[index + 1])
                index += 2
                continue
            if char == '"':
                self.pos = index + 1
                return "".join(out)
            out.append(char)
            index += 1
        return None  # unterminated

    def _commas(self) -> None:
        while True:
            self._skip()
            if self.text[self.pos : self.pos + 1] != ",":
                return
            self.pos += 1

    def challenges(self) -> list[Challenge]:
        found: list[Challenge] = []
        self._commas()
        while self.pos < len(self.text):
            scheme = self._token()
            if scheme is None:
                break
            params: dict[str, str] = {}
            self._skip()
            start = self.pos
            token68 = _TOKEN68.match(self.text, self.pos)
            if token68 and not self._is_param_start():
                self.pos = token68.end()
            else:
                self.pos = start
                if not self._params(params):
                    found.append(Challenge(scheme.lower(), params))
                    break
            found.append(Challenge(scheme.lower(), params))
            self._commas()
        return found

    def _is_param_start(self) -> bool:
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            return False
        rest = self.text[match.end() :].lstrip(" \t")
        return rest.startswith("=") and not rest.startswith("==")

    def _params(self, params: dict[str, str]) -> bool:
        """Read `name=value` pairs until the next challenge's scheme; False when the rest is unparseable."""
        while self.pos < len(self.text):
            self._commas()
            mark = self.pos
            if not self._is_param_start():
                self.pos = mark
                return True  # the next challenge starts here (or the header ends)
            name = self._token()
            self._skip()
            self.pos += 1  # "="
            self._skip()
            value = self._quoted() if self.text[self.pos : self.pos + 1] == '"' else self._token()
            if name is None or value is None:
                return False
            params.setdefault(name.lower(), value)
        return True
