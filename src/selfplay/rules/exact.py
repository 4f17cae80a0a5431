"""Evaluating an expression over the reals, to many digits, with mpmath.

The soundness check evaluates rules in float64 first; where the two sides seem to differ,
it asks this evaluator whether they really do, or whether float64 merely overflowed
(``exp(a - b)`` against ``exp(a) / exp(b)`` at a = b = 1000) or rounded away a small
addend (``(a + b) + c`` at a = 1e30). mpmath has unbounded exponents, and the precision is
the caller's. Results are real: where a function is undefined (``sqrt(-1)``,
``log(-1)``, ``asin(2)``, ``0 / 0``) the value is NaN; poles give signed infinities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import mpmath
from mpmath import mpf

from src.expr import CONST, VAR, Expr, postorder

NAN = mpf("nan")
INF = mpf("inf")


def _real(function: Callable[..., mpf], *args: mpf) -> mpf:
    """``function(args)``, NaN for any argument NaN or a complex result."""
    if any(mpmath.isnan(a) for a in args):
        return NAN
    value = function(*args)
    return value if not isinstance(value, mpmath.mpc) else NAN


def _div(a: mpf, b: mpf) -> mpf:
    if b == 0:
        return NAN if a == 0 or mpmath.isnan(a) else INF * mpmath.sign(a)
    return a / b


def _log_base(base: int | None) -> Callable[[mpf], mpf]:
    """The logarithm in ``base`` (None: natural)."""

    def log(a: mpf) -> mpf:
        if a < 0:
            return NAN
        return -INF if a == 0 else mpmath.log(a, base)

    return log


def _pow(a: mpf, b: mpf) -> mpf:
    if a == 0 and b < 0:
        return INF
    if a < 0 and not mpmath.isint(b):
        return NAN
    return mpmath.power(a, b)


def _pick(chooser: Callable[..., mpf]) -> Callable[[mpf, mpf], mpf]:
    """fmin / fmax: a NaN argument gives the other one."""

    def pick(a: mpf, b: mpf) -> mpf:
        if mpmath.isnan(a):
            return b
        return a if mpmath.isnan(b) else chooser(a, b)

    return pick


def _inverse_trig(function: Callable[[mpf], mpf]) -> Callable[[mpf], mpf]:
    return lambda a: function(a) if -1 <= a <= 1 else NAN


def _round(a: mpf) -> mpf:
    return mpmath.sign(a) * mpmath.floor(abs(a) + mpf("0.5"))


def _truth(a: mpf) -> bool:
    return bool(a != 0) and not mpmath.isnan(a)


_OPS: dict[str, Callable[..., mpf]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _div,
    "neg": lambda a: -a,
    "recip": lambda a: _div(mpf(1), a),
    "sqrt": lambda a: mpmath.sqrt(a) if a >= 0 else NAN,
    "rsqrt": lambda a: _div(mpf(1), mpmath.sqrt(a)) if a >= 0 else NAN,
    "abs": abs,
    "min": _pick(min),
    "max": _pick(max),
    "fma": lambda a, b, c: a * b + c,
    "floor": mpmath.floor,
    "ceil": mpmath.ceil,
    "round": _round,
    "fract": lambda a: a - mpmath.floor(a),
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "asin": _inverse_trig(mpmath.asin),
    "acos": _inverse_trig(mpmath.acos),
    "atan": mpmath.atan,
    "atan2": mpmath.atan2,
    "exp": mpmath.exp,
    "exp2": lambda a: mpmath.power(2, a),
    "log": _log_base(None),
    "log2": _log_base(2),
    "log10": _log_base(10),
    "pow": _pow,
    "hypot": mpmath.hypot,
    "lt": lambda a, b: mpf(a < b),
    "le": lambda a, b: mpf(a <= b),
    "gt": lambda a, b: mpf(a > b),
    "ge": lambda a, b: mpf(a >= b),
    "eq": lambda a, b: mpf(a == b),
    "ne": lambda a, b: mpf(a != b),
    "and": lambda a, b: mpf(_truth(a) and _truth(b)),
    "or": lambda a, b: mpf(_truth(a) or _truth(b)),
    "not": lambda a: mpf(not _truth(a)),
    "select": lambda c, a, b: a if _truth(c) else b,
}

# Ops that are defined on NaN arguments (they decide what NaN gives themselves).
_NAN_AWARE = {"min", "max", "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not", "select"}


def evaluate_exact(expr: Expr, binding: Mapping[str, float], digits: int) -> mpf:
    """``expr`` over the reals at ``digits`` significant digits, variables bound to the
    (exact) values of ``binding``."""
    with mpmath.workdps(digits):
        values: dict[Expr, mpf] = {}
        for node in postorder(expr):
            if node.op == VAR:
                values[node] = mpf(binding[node.name])
            elif node.op == CONST:
                values[node] = mpf(node.value)
            else:
                args = [values[a] for a in node.args]
                function = _OPS[node.op]
                values[node] = function(*args) if node.op in _NAN_AWARE else _real(function, *args)
        return +values[expr]
