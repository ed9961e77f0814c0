"""The Dreammaker frontend's calls, read from tests/frontend/FRONTEND_CALLS.md (a copy of the shared
FRONTEND_CALLS.md), and a checker for the fields each call reads: the replay test (tests/frontend/) replays
exactly what that list says, not a retyping of it.

Field paths read like the frontend's code: `items[].symbol` (every element), `signals[0].type` (the first),
`[].t|timestamp|time` (a bare array's elements, the first present of those names: `x || y`),
`data.price|currentPrice`. Types: `num`, `str`, `obj`, `list`, `list+` (non-empty), `any`, or the allowed
words (`buy|sell|hold`, `healthy`); `optional` fields may be absent or null, but when present must fit.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parent / "frontend" / "FRONTEND_CALLS.md"
_CALL = re.compile(r"^- \*\*(GET|POST|WS) `([^`]+)`\*\*(?: body `([^`]+)`)?(?: sends `([^`]+)`)? — (.*)$")
_FIELD = re.compile(r"`([^`]+)` \(([^)]*)\)")
MISSING = object()
# The contract fixes these fields' types where some frontend types say `str`: a `timestamp` is epoch ms, a
# signal's `reasoning` a list of sentences. The README's compatibility section lists both; the frontend
# code that reads them only passes them on or displays them.
CONTRACT_TYPES = {"timestamp": "num", "reasoning": "list"}


@dataclass(frozen=True)
class Field:
    path: str
    kind: str
    optional: bool


@dataclass
class Call:
    method: str  # GET, POST or WS
    url: str
    source: str  # the frontend file(s) and notes, as the list gives them
    body: Any = None  # POST body, or the WebSocket message sent
    reads: list[Field] = field(default_factory=list)
    expects: str = ""  # WebSocket: what the client expects, in words

    @property
    def key(self) -> str:
        """How the README names the call: method, URL and the first frontend file."""
        return f"{self.method} {self.url} ({self.file})"

    @property
    def file(self) -> str:
        return self.source.split(" ", 1)[0].rsplit("/", 1)[-1]

    @property
    def unwraps(self) -> bool:
        """The unified client's request(): a body with `success` is replaced by data||items||news||signals."""
        return "unwraps `data||items||news||signals`" in self.source

    @property
    def credentials(self) -> bool:
        return "credentials: 'include'" in self.source

    @property
    def bare_array(self) -> bool:
        return "expects a bare JSON array" in self.source


def load(path: Path = SOURCE) -> list[Call]:
    calls: list[Call] = []
    for line in path.read_text().splitlines():
        match = _CALL.match(line)
        if match:
            method, url, body, sent, source = match.groups()
            payload = ast.literal_eval(body) if body else json.loads(sent) if sent else None
            calls.append(Call(method, url, source, payload))
        elif line.startswith("  reads: ") and calls:
            calls[-1].reads = [_field(path_, spec) for path_, spec in _FIELD.findall(line)]
        elif line.startswith("  expects: ") and calls:
            calls[-1].expects = line.removeprefix("  expects: ")
    return calls


def _field(path: str, spec: str) -> Field:
    parts = [part.strip() for part in spec.split(",")]
    return Field(path, parts[0], "optional" in parts[1:])


def unwrap(body: Any) -> Any:
    """What HuggingFaceUnifiedAPI.request() hands on: the first truthy of data, items, news, signals, else the body."""
    if isinstance(body, dict) and "success" in body:
        for key in ("data", "items", "news", "signals"):
            if body.get(key):
                return body[key]
    return body


def problems(body: Any, reads: list[Field]) -> list[str]:
    """What the call's code would not find in `body`, field by field (empty: it reads everything it needs)."""
    found = []
    for spec in reads:
        values = _resolve(body, _segments(spec.path))
        if not values:
            values = [MISSING]
        for value in values:
            why = _misfit(value, spec)
            if why:
                found.append(f"{spec.path}: {why}")
                break
    return found


def _segments(path: str) -> list[str]:
    return path.replace("[]", "[].").replace("[0]", "[0].").replace("..", ".").strip(".").split(".")


def _resolve(node: Any, segments: list[str]) -> list[Any]:
    if not segments:
        return [node]
    head, rest = segments[0], segments[1:]
    if head in ("[]", "[0]"):
        if not isinstance(node, list):
            return [MISSING]
        chosen = node if head == "[]" else node[:1]
        return [value for element in chosen for value in _resolve(element, rest)] if chosen else [MISSING]
    name, suffix = re.match(r"([^\[]*)(\[\]|\[0\])?$", head).groups()  # type: ignore[union-attr]
    value = _first_present(node, name.split("|"))
    return _resolve(value, [suffix, *rest] if suffix else rest) if value is not MISSING else [MISSING]


def _first_present(node: Any, names: list[str]) -> Any:
    if not isinstance(node, dict):
        return MISSING
    for name in names:
        if node.get(name) not in (None, "", 0, False):  # JavaScript's `x || y`
            return node[name]
    return next((node[name] for name in names if name in node and node[name] is not None), MISSING)


def _misfit(value: Any, spec: Field) -> str | None:
    if value is MISSING or value is None:
        return None if spec.optional else "missing"
    kind = spec.kind
    last = re.split(r"[.\]]", spec.path)[-1].split("|")[0]
    if kind == "str" and last in CONTRACT_TYPES:
        kind = f"str|{CONTRACT_TYPES[last]}"
    if _fits(value, kind):
        return None
    return f"{value!r:.60} is not {spec.kind}"


def _fits(value: Any, kind: str) -> bool:
    checks = {
        "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "obj": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "list+": lambda v: isinstance(v, list) and len(v) > 0,
        "any": lambda v: True,
    }
    options = kind.split("|")
    if all(option in checks for option in options):
        return any(checks[option](value) for option in options)
    return value in options  # words: buy|sell|hold, healthy, …
