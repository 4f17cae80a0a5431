"""The op table: the one place that says which operations the language has.

Each row gives an op's name, arity, sorts, its spelling in each of the three syntaxes
(FPCore, the project's s-expressions, infix) and its float32 reference semantics. The
parsers, printers and the reference evaluator read this table; later layers (the JIT,
the e-graph language, the actor's features) key their own per-op data by ``OpSpec.name``.

Values are float32 everywhere. Booleans (the results of comparisons and logic ops) are
0.0 or 1.0 when a kernel runs, but the language keeps them apart as the sort ``bool`` so
that, as in FPCore, a condition and a number cannot be confused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NUM = "num"
BOOL = "bool"

# Infix binding strengths, loosest first. The parser and the printer both use these.
PREC_OR, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_NEG, PREC_POW, PREC_ATOM = range(
    1, 10
)


@dataclass(frozen=True)
class Infix:
    """How an op is written in infix: ``binary`` (``a + b``), ``prefix`` (``-a``) or
    ``call`` (``sqrt(a)``); operators carry a binding strength and associativity."""

    symbol: str
    form: str = "call"
    prec: int = PREC_ATOM
    assoc: str = "left"


@dataclass(frozen=True)
class OpSpec:
    """One row of the op table.

    ``fpcore`` is the FPCore operator (``if`` for select). Ops FPCore has no operator for
    give ``fpcore_expansion`` instead: the equivalent standard FPCore with ``?0``, ``?1``
    for the arguments, which the FPCore printer wraps in a ``(! :pixelflow-op NAME ...)``
    annotation so that the output is plain FPCore and still reads back as this op.
    """

    name: str
    arg_sorts: tuple[str, ...]
    sort: str
    fpcore: str | None
    sexpr: str
    infix: Infix
    ref: Callable[..., np.ndarray]
    fpcore_expansion: str | None = None

    @property
    def arity(self) -> int:
        return len(self.arg_sorts)


def _as_float(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.asarray(mask).astype(np.result_type(like))


def _truthy(x: np.ndarray) -> np.ndarray:
    return np.not_equal(x, 0)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    # C roundf / llvm.round: halfway cases go away from zero (np.round goes to even).
    # x - trunc(x) is exact in floating point, so the comparison is exact too.
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c rounded once. The float64 product of float32 inputs is exact; the float64
    sum is made round-to-odd (its exact error, from Knuth's TwoSum, nudges an inexact
    result with an even last bit one step toward the true sum), and a round-to-odd value
    with at least two more bits than float32 rounds to float32 exactly as the true sum
    would. A float64 evaluation (the test oracle) simply adds in float64."""
    dtype = np.result_type(a, b, c)
    product = np.multiply(a, b, dtype=np.float64)
    addend = np.asarray(c, dtype=np.float64)
    total = np.asarray(product + addend)
    if dtype != np.float32:
        return total.astype(dtype)
    rebound = total - product
    error = (product - (total - rebound)) + (addend - rebound)
    even = (total.view(np.int64) & 1) == 0
    nudge = (error != 0) & even & np.isfinite(total)
    toward = np.where(error > 0, np.inf, -np.inf)
    return np.where(nudge, np.nextafter(total, toward), total).astype(np.float32)


def _num(n: int) -> tuple[str, ...]:
    return (NUM,) * n


def _unary(
    name: str,
    ref: Callable[..., np.ndarray],
    fpcore: str | None = None,
    expansion: str | None = None,
) -> OpSpec:
    fp = None if expansion else (fpcore or name)
    return OpSpec(name, _num(1), NUM, fp, name, Infix(name), ref, expansion)


def _binary_call(name: str, ref: Callable[..., np.ndarray], fpcore: str | None = None) -> OpSpec:
    return OpSpec(name, _num(2), NUM, fpcore or name, name, Infix(name), ref)


def _arith(name: str, symbol: str, prec: int, ref: Callable[..., np.ndarray]) -> OpSpec:
    return OpSpec(name, _num(2), NUM, symbol, symbol, Infix(symbol, "binary", prec), ref)


def _compare(name: str, symbol: str, ref: Callable[..., np.ndarray]) -> OpSpec:
    return OpSpec(
        name,
        _num(2),
        BOOL,
        symbol,
        symbol,
        Infix(symbol, "binary", PREC_CMP, "none"),
        lambda a, b: _as_float(ref(a, b), a),
    )


def _logic(name: str, symbol: str, prec: int, ref: Callable[..., np.ndarray]) -> OpSpec:
    return OpSpec(
        name,
        (BOOL, BOOL),
        BOOL,
        name,
        name,
        Infix(symbol, "binary", prec),
        lambda a, b: _as_float(ref(_truthy(a), _truthy(b)), a),
    )


_ROWS: tuple[OpSpec, ...] = (
    _arith("add", "+", PREC_ADD, np.add),
    _arith("sub", "-", PREC_ADD, np.subtract),
    _arith("mul", "*", PREC_MUL, np.multiply),
    _arith("div", "/", PREC_MUL, np.divide),
    OpSpec("neg", _num(1), NUM, "-", "neg", Infix("-", "prefix", PREC_NEG), np.negative),
    _unary("recip", np.reciprocal, expansion="(/ 1 ?0)"),
    _unary("sqrt", np.sqrt),
    _unary("rsqrt", lambda x: np.reciprocal(np.sqrt(x)), expansion="(/ 1 (sqrt ?0))"),
    _unary("abs", np.abs, fpcore="fabs"),
    _binary_call("min", np.fmin, fpcore="fmin"),
    _binary_call("max", np.fmax, fpcore="fmax"),
    OpSpec("fma", _num(3), NUM, "fma", "fma", Infix("fma"), _fma),
    _unary("floor", np.floor),
    _unary("ceil", np.ceil),
    _unary("round", _round_half_away),
    _unary("fract", lambda x: x - np.floor(x), expansion="(- ?0 (floor ?0))"),
    _unary("sin", np.sin),
    _unary("cos", np.cos),
    _unary("tan", np.tan),
    _unary("asin", np.arcsin),
    _unary("acos", np.arccos),
    _unary("atan", np.arctan),
    _binary_call("atan2", np.arctan2),
    _unary("exp", np.exp),
    _unary("exp2", np.exp2),
    _unary("log", np.log),
    _unary("log2", np.log2),
    _unary("log10", np.log10),
    OpSpec("pow", _num(2), NUM, "pow", "pow", Infix("^", "binary", PREC_POW, "right"), np.power),
    _binary_call("hypot", np.hypot),
    _compare("lt", "<", np.less),
    _compare("le", "<=", np.less_equal),
    _compare("gt", ">", np.greater),
    _compare("ge", ">=", np.greater_equal),
    _compare("eq", "==", np.equal),
    _compare("ne", "!=", np.not_equal),
    _logic("and", "&&", PREC_AND, np.logical_and),
    _logic("or", "||", PREC_OR, np.logical_or),
    OpSpec(
        "not",
        (BOOL,),
        BOOL,
        "not",
        "not",
        Infix("!", "prefix", PREC_NOT),
        lambda a: _as_float(np.logical_not(_truthy(a)), a),
    ),
    OpSpec(
        "select",
        (BOOL, NUM, NUM),
        NUM,
        "if",
        "select",
        Infix("select"),
        lambda c, a, b: np.where(_truthy(c), a, b),
    ),
)

OPS: dict[str, OpSpec] = {row.name: row for row in _ROWS}
