"""``Kernel``: a named expression with its arguments and the ranges its inputs come from.

Every input, whatever its syntax, becomes a Kernel. FPCore kernels take their argument
order, name and ranges from the FPCore (``:pre`` bounds become per-variable ranges);
plain expressions take their variables in sorted order and the default range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ParseError, SourceLoc
from .evaluate import evaluate
from .expr import VAR, Expr
from .numbers import FLT_MAX, f32_step, to_f32

# The comparisons that bound a variable, each with its mirror image (a < b is b > a).
_FLIPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}


@dataclass(frozen=True)
class VarRange:
    """Inputs for a variable are drawn from [lo, hi]; when ``min_abs`` > 0 only values
    with magnitude at least ``min_abs`` (from a ``:pre`` bound on ``(fabs x)``)."""

    lo: float
    hi: float
    min_abs: float = 0.0

    def as_list(self) -> list[float]:
        return [self.lo, self.hi]


@dataclass(frozen=True)
class Kernel:
    """A named expression. ``args`` are the variable names in signature order (a
    superset of ``body.variables``); ``ranges`` has an entry for each of them."""

    name: str
    args: tuple[str, ...]
    body: Expr
    ranges: Mapping[str, VarRange]
    pre: Expr | None = None
    precision: str | None = None
    loc: SourceLoc | None = field(default=None, compare=False)

    @classmethod
    def from_expr(
        cls, body: Expr, name: str, default: VarRange, loc: SourceLoc | None = None
    ) -> Kernel:
        args = tuple(sorted(body.variables))
        return cls(name, args, body, {a: default for a in args}, loc=loc)


@dataclass
class _Bounds:
    lo: float = -math.inf
    hi: float = math.inf
    min_abs: float = 0.0


def _conjuncts(pre: Expr) -> list[Expr]:
    found, stack = [], [pre]
    while stack:
        node = stack.pop()
        if node.op == "and":
            stack.extend(node.args)
        else:
            found.append(node)
    return found


def _constant(expr: Expr) -> float | None:
    if expr.variables:
        return None
    value = float(evaluate(expr, {}, dtype="float64"))
    return value if math.isfinite(value) else None


def _tighten(bounds: _Bounds, relation: str, value: float, on_magnitude: bool) -> None:
    """Apply ``subject RELATION value``, where the subject is x or, on_magnitude, |x|.
    Strict bounds move to the adjacent float32."""
    value = to_f32(value)
    if relation in ("gt", "ge", "eq"):
        lower = f32_step(value, upward=True) if relation == "gt" else value
        if on_magnitude:
            bounds.min_abs = max(bounds.min_abs, lower)
        else:
            bounds.lo = max(bounds.lo, lower)
    if relation in ("lt", "le", "eq"):
        upper = f32_step(value, upward=False) if relation == "lt" else value
        if on_magnitude:
            bounds.lo, bounds.hi = max(bounds.lo, -upper), min(bounds.hi, upper)
        else:
            bounds.hi = min(bounds.hi, upper)


def ranges_from_pre(
    pre: Expr | None, args: tuple[str, ...], default: VarRange, loc: SourceLoc | None = None
) -> dict[str, VarRange]:
    """Per-variable ranges implied by a precondition.

    Conjuncts that compare one variable (or its ``fabs``) with a constant expression
    bound that variable; anything else (``(< (* a x) 710)``, ``or``) leaves the ranges
    alone. A side left unbounded takes the default's bound, unless that leaves no value
    in range (or none of the magnitude a ``fabs`` bound asks for): then it reaches one
    default width past the other bound (or past that magnitude). Raises ParseError if the
    precondition leaves a variable no values.
    """
    bounds = {a: _Bounds() for a in args}
    for test in _conjuncts(pre) if pre is not None else []:
        if test.op not in _FLIPPED:
            continue
        for subject, other, relation in (
            (test.args[0], test.args[1], test.op),
            (test.args[1], test.args[0], _FLIPPED[test.op]),
        ):
            on_magnitude = subject.op == "abs" and subject.args[0].op == VAR
            target = subject.args[0] if on_magnitude else subject
            value = _constant(other)
            if target.op == VAR and value is not None:
                _tighten(bounds[target.name], relation, value, on_magnitude)
    return {name: _finish(name, b, default, loc) for name, b in bounds.items()}


def _finish(name: str, b: _Bounds, default: VarRange, loc: SourceLoc | None) -> VarRange:
    width = default.hi - default.lo
    lo_free, hi_free = b.lo == -math.inf, b.hi == math.inf
    lo = (default.lo if default.lo <= b.hi else b.hi - width) if lo_free else b.lo
    hi = (default.hi if default.hi >= lo else lo + width) if hi_free else b.hi
    if b.min_abs > max(abs(lo), abs(hi)):  # no value of the required magnitude yet
        lo = min(lo, -(b.min_abs + width)) if lo_free else lo
        hi = max(hi, b.min_abs + width) if hi_free else hi
    lo, hi = max(lo, -FLT_MAX), min(hi, FLT_MAX)
    if lo > hi or b.min_abs > max(abs(lo), abs(hi)):
        raise ParseError(f":pre leaves no values for '{name}'", loc)
    return VarRange(lo, hi, b.min_abs)
