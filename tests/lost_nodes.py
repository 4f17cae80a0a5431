"""A node the intern table no longer lists, though it is alive: how CPython's garbage
collector makes one, for the tests that a second object of one expression is harmless."""

from __future__ import annotations

import gc

from src.expr import Expr, parse_sexpr

_resurrected: list[object] = []


class _Resurrecting:
    """Garbage in a reference cycle whose finalizer brings it (and its node) back."""

    def __init__(self, node: Expr) -> None:
        self.node, self.cycle = node, self

    def __del__(self) -> None:
        _resurrected.append(self)


def lost_twin(text: str) -> tuple[Expr, Expr]:
    """Two distinct live objects of the s-expression ``text``: the collector clears weak
    references to the unreachable (the intern table's entry among them) before it runs
    finalizers, so the node a finalizer resurrects lives on unlisted. ``text`` must use
    a variable no other live expression does."""
    _Resurrecting(parse_sexpr(text))
    gc.collect()
    lost = _resurrected.pop().node
    return lost, parse_sexpr(text)
