"""Reads s-expression text (the project's syntax and FPCore) into located data.

The reader knows only brackets, atoms, strings and comments; meaning is given by the
s-expression and FPCore parsers. It builds nested lists with an explicit stack, so
nesting depth is limited by memory, never by Python's recursion limit.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ParseError, SourceLoc

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>;[^\n]*)
      | (?P<block>\#\|.*?\|\#)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<open>[(\[])
      | (?P<close>[)\]])
      | (?P<atom>[^\s()\[\]";]+)
      | (?P<bad>.)""",
    re.VERBOSE | re.DOTALL,
)
_CLOSING = {"(": ")", "[": "]"}


@dataclass(frozen=True, slots=True)
class Atom:
    text: str
    loc: SourceLoc


@dataclass(frozen=True, slots=True)
class String:
    text: str
    loc: SourceLoc


@dataclass(frozen=True, slots=True)
class SList:
    items: tuple[Datum, ...]
    loc: SourceLoc


Datum = Atom | String | SList


class _Locator:
    def __init__(self, text: str, file: str | None) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.file = file

    def __call__(self, offset: int) -> SourceLoc:
        line = bisect.bisect_right(self.starts, offset)
        return SourceLoc(line, offset - self.starts[line - 1] + 1, self.file)


def read_data(text: str, file: str | None = None) -> Iterator[Datum]:
    """Yield each top-level datum of ``text`` in order.

    Raises ParseError at the first unbalanced bracket, unterminated string or stray
    character; the data yielded before it are complete and valid.
    """
    locate = _Locator(text, file)
    stack: list[tuple[str, SourceLoc, list[Datum]]] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("space", "comment", "block"):
            continue
        loc = locate(m.start())
        token = m.group()
        if kind == "open":
            stack.append((token, loc, []))
            continue
        if kind == "close":
            if not stack:
                raise ParseError(f"unexpected '{token}' with no open bracket", loc)
            opener, open_loc, items = stack.pop()
            if _CLOSING[opener] != token:
                raise ParseError(f"'{token}' closes the '{opener}' opened at {open_loc}", loc)
            datum: Datum = SList(tuple(items), open_loc)
        elif kind == "string":
            datum = String(re.sub(r"\\(.)", r"\1", token[1:-1], flags=re.DOTALL), loc)
        elif kind == "atom":
            datum = Atom(token, loc)
        elif token == '"':
            raise ParseError("unterminated string", loc)
        else:
            raise ParseError(f"unexpected character {token!r}", loc)
        if stack:
            stack[-1][2].append(datum)
        else:
            yield datum
    if stack:
        opener, open_loc, _ = stack[-1]
        raise ParseError(f"'{opener}' is never closed", open_loc)
