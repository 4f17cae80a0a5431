"""The project's s-expression syntax: ``(+ x (* 2 y))``.

Atoms are numbers (any literal ``parse_number`` reads, plus ``inf``, ``-inf``, ``nan``)
or variables (any other symbol; rule patterns use ``?a``-style names). A list applies its
head to its arguments; the head may be an op's s-expression spelling (``+``, ``neg``,
``select``), its op-table name (``add``), its FPCore spelling (``fabs``, ``if``, and
``-`` with one argument for negation) or a lowered function (``sinh``). Printing gives
the canonical text (``Expr.text``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from . import trampoline
from .calls import build_call, call_table
from .errors import ParseError, SourceLoc
from .expr import Expr, ExprError, const, var
from .numbers import SPECIAL_VALUES, parse_number
from .reader import Atom, Datum, SList, read_data

# The function names this syntax reads.
CALLS = call_table(lambda spec: (spec.sexpr, spec.name, spec.fpcore))


def read_one(text: str, file: str | None, what: str) -> Datum:
    """The single datum ``text`` holds; a ParseError if it holds none or several."""
    data = read_data(text, file)
    first = next(data, None)
    if first is None:
        raise ParseError(f"empty input: expected {what}", SourceLoc(1, 1, file))
    extra = next(data, None)
    if extra is not None:
        raise ParseError(f"unexpected text after {what}", extra.loc)
    return first


def parse_atom(atom: Atom) -> Expr:
    """A number literal as a constant, any other symbol as a variable."""
    value = SPECIAL_VALUES.get(atom.text)
    if value is None:
        value = parse_number(atom.text)
    if value is not None:
        return const(value)
    try:
        return var(atom.text)
    except ExprError as error:
        raise ParseError(str(error), atom.loc) from None


def _convert(datum: Datum) -> Generator[Any, Expr, Expr]:
    if isinstance(datum, Atom):
        return parse_atom(datum)
    if not isinstance(datum, SList):
        raise ParseError("a string is not an expression", datum.loc)
    if not datum.items:
        raise ParseError("empty list is not an expression", datum.loc)
    head = datum.items[0]
    if not isinstance(head, Atom):
        raise ParseError("expected an operator name at the head of the list", head.loc)
    args = []
    for item in datum.items[1:]:
        args.append((yield _convert(item)))
    return build_call(CALLS, head.text, args, head.loc)


def parse_sexpr(text: str, file: str | None = None) -> Expr:
    """Parse one s-expression. Raises ParseError (with line and column) on bad input."""
    return trampoline.run(_convert(read_one(text, file, "an expression")))


def print_sexpr(expr: Expr) -> str:
    """``expr`` as an s-expression: its canonical text."""
    return expr.text
