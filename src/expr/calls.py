"""What a function name means in each syntax: op-table ops plus parse-time lowerings.

Functions outside the op table are lowered when parsed, using identities that are exact
over the reals (the optimizer's fast-math contract). In float32 some lose accuracy near
particular points, as the same formulas written by hand would: ``expm1`` and ``log1p``
near 0 (absolute, not relative, error), ``tanh`` and ``sinh`` near 0, ``cbrt`` by about
an ulp because 1/3 is not a float32. ``copysign`` treats -0.0 as positive.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ParseError, SourceLoc
from .expr import Expr, ExprError, apply, const
from .ops import BOOL, NUM, OPS, OpSpec


@dataclass(frozen=True)
class Lowering:
    arity: int
    build: Callable[..., Expr]
    identity: str


def _op(name: str) -> Callable[..., Expr]:
    return lambda *args: apply(name, *args)


add, sub, mul, div, neg = _op("add"), _op("sub"), _op("mul"), _op("div"), _op("neg")
exp, log, sqrt, lt = _op("exp"), _op("log"), _op("sqrt"), _op("lt")
ZERO, ONE, TWO, HALF = const(0), const(1), const(2), const(0.5)


def _trunc(x: Expr) -> Expr:
    return apply("select", lt(x, ZERO), apply("ceil", x), apply("floor", x))


def _cbrt(x: Expr) -> Expr:
    third = const(1 / 3)
    return apply("select", lt(x, ZERO), neg(apply("pow", neg(x), third)), apply("pow", x, third))


LOWERINGS: dict[str, Lowering] = {
    "sinh": Lowering(
        1, lambda x: div(sub(exp(x), exp(neg(x))), TWO), "sinh(x) = (exp(x) - exp(-x)) / 2"
    ),
    "cosh": Lowering(
        1, lambda x: div(add(exp(x), exp(neg(x))), TWO), "cosh(x) = (exp(x) + exp(-x)) / 2"
    ),
    "tanh": Lowering(
        1,
        lambda x: sub(ONE, div(TWO, add(exp(mul(TWO, x)), ONE))),
        "tanh(x) = 1 - 2 / (exp(2x) + 1)",
    ),
    "asinh": Lowering(
        1, lambda x: log(add(x, sqrt(add(mul(x, x), ONE)))), "asinh(x) = log(x + sqrt(x*x + 1))"
    ),
    "acosh": Lowering(
        1, lambda x: log(add(x, sqrt(sub(mul(x, x), ONE)))), "acosh(x) = log(x + sqrt(x*x - 1))"
    ),
    "atanh": Lowering(
        1,
        lambda x: mul(HALF, log(div(add(ONE, x), sub(ONE, x)))),
        "atanh(x) = log((1 + x) / (1 - x)) / 2",
    ),
    "expm1": Lowering(1, lambda x: sub(exp(x), ONE), "expm1(x) = exp(x) - 1"),
    "log1p": Lowering(1, lambda x: log(add(ONE, x)), "log1p(x) = log(1 + x)"),
    "cbrt": Lowering(1, _cbrt, "cbrt(x) = sign(x) * |x|^(1/3)"),
    "trunc": Lowering(1, _trunc, "trunc(x) = x < 0 ? ceil(x) : floor(x)"),
    "copysign": Lowering(
        2,
        lambda a, b: apply("select", lt(b, ZERO), neg(apply("abs", a)), apply("abs", a)),
        "copysign(a, b) = b < 0 ? -|a| : |a|",
    ),
    "fdim": Lowering(2, lambda a, b: apply("max", sub(a, b), ZERO), "fdim(a, b) = max(a - b, 0)"),
    "fmod": Lowering(
        2, lambda a, b: sub(a, mul(b, _trunc(div(a, b)))), "fmod(a, b) = a - b * trunc(a / b)"
    ),
}

# How an op given other than two arguments reads, as in FPCore: (+ a b c) folds left and
# (* a) is a; (< a b c) chains as (and (< a b) (< b c)); (!= a b c) means pairwise distinct.
_VARIADIC = {
    "add": "fold",
    "mul": "fold",
    "and": "fold",
    "or": "fold",
    "lt": "chain",
    "le": "chain",
    "gt": "chain",
    "ge": "chain",
    "eq": "chain",
    "ne": "pairwise",
}


@dataclass(frozen=True)
class Call:
    build: Callable[..., Expr]
    variadic: str | None = None
    operand_sort: str = NUM

    def apply(self, args: list[Expr]) -> Expr:
        if len(args) == 2 or self.variadic is None:
            return self.build(*args)
        if self.variadic == "fold":
            result = args[0]
            if len(args) == 1 and result.sort != self.operand_sort:
                raise ExprError(f"its argument must be a {self.operand_sort}")
            for arg in args[1:]:
                result = self.build(result, arg)
            return result
        pairs = (
            itertools.pairwise(args)
            if self.variadic == "chain"
            else itertools.combinations(args, 2)
        )
        tests = [self.build(a, b) for a, b in pairs]
        return Call(_op("and"), "fold", BOOL).apply(tests)


# A syntax's call table: spelling -> {arity: Call}.
CallTable = dict[str, dict[int, Call]]


def call_table(spellings: Callable[[OpSpec], tuple[str | None, ...]]) -> CallTable:
    """The function names a syntax accepts: each op under the spellings that
    ``spellings(spec)`` gives for it, plus every lowering under its own name."""
    table: CallTable = {}
    for spec in OPS.values():
        for spelling in spellings(spec):
            if spelling:
                table.setdefault(spelling, {})[spec.arity] = Call(
                    _op(spec.name), _VARIADIC.get(spec.name), spec.arg_sorts[0]
                )
    for name, lowering in LOWERINGS.items():
        table.setdefault(name, {})[lowering.arity] = Call(lowering.build)
    return table


def build_call(table: CallTable, name: str, args: list[Expr], loc: SourceLoc) -> Expr:
    """``name(args)`` under ``table``, or a ParseError at ``loc`` saying what is wrong."""
    arities = table.get(name)
    if arities is None:
        raise ParseError(f"unknown function '{name}'", loc)
    call = arities.get(len(args))
    binary = arities.get(2)
    if (
        call is None
        and binary
        and binary.variadic
        and (len(args) > 2 or (len(args) == 1 and binary.variadic == "fold"))
    ):
        call = binary
    if call is None:
        expected = " or ".join(str(n) for n in sorted(arities))
        raise ParseError(f"'{name}' takes {expected} argument(s), got {len(args)}", loc)
    try:
        return call.apply(args)
    except ExprError as error:
        raise ParseError(f"in '{name}': {error}", loc) from None
