"""The op table is complete and consistent; the reference evaluator agrees with Python's
math module on every op, in float64 and (to float32 accuracy) in float32."""

import math
from fractions import Fraction

import numpy as np
import pytest

from src.expr import BOOL, OPS, apply, const, evaluate, var
from src.expr.calls import LOWERINGS
from src.expr.numbers import nearest_f32

REQUIRED = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "recip",
    "sqrt",
    "rsqrt",
    "abs",
    "min",
    "max",
    "fma",
    "floor",
    "ceil",
    "round",
    "fract",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "exp",
    "exp2",
    "log",
    "log2",
    "log10",
    "pow",
    "hypot",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "select",
]


def _fmin(a, b):
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _fmax(a, b):
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


def _round(a):
    return math.copysign(math.floor(abs(a) + 0.5), a)


# What each op means, written with Python's math module (scalars, float64).
MATH = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda a: -a,
    "recip": lambda a: 1 / a,
    "sqrt": math.sqrt,
    "rsqrt": lambda a: 1 / math.sqrt(a),
    "abs": abs,
    "min": _fmin,
    "max": _fmax,
    "fma": lambda a, b, c: float(Fraction(a) * Fraction(b) + Fraction(c)),
    "floor": lambda a: float(math.floor(a)),
    "ceil": lambda a: float(math.ceil(a)),
    "round": _round,
    "fract": lambda a: a - math.floor(a),
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "exp": math.exp,
    "exp2": lambda a: 2.0**a,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "pow": math.pow,
    "hypot": math.hypot,
    "lt": lambda a, b: float(a < b),
    "le": lambda a, b: float(a <= b),
    "gt": lambda a, b: float(a > b),
    "ge": lambda a, b: float(a >= b),
    "eq": lambda a, b: float(a == b),
    "ne": lambda a, b: float(a != b),
    "and": lambda a, b: float(bool(a) and bool(b)),
    "or": lambda a, b: float(bool(a) or bool(b)),
    "not": lambda a: float(not a),
    "select": lambda c, a, b: a if c else b,
}
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 2.5, 3.0, 1e-3, -1e-3, 7.25, -40.0, 100.0]


def _inputs(spec, dtype):
    """Every combination of edge values, plus random values, for each argument."""
    rng = np.random.default_rng(0)
    if spec.arity == 1:
        columns = [np.array(EDGES + list(rng.uniform(-10, 10, 200)))]
    else:
        n = 300
        columns = [
            np.concatenate([rng.choice(EDGES, n), rng.uniform(-10, 10, n)])
            for _ in range(spec.arity)
        ]
    if BOOL in spec.arg_sorts:
        columns = [
            np.where(np.abs(c) > 0.7, 1.0, 0.0) if s == BOOL else c
            for c, s in zip(columns, spec.arg_sorts, strict=True)
        ]
    return [c.astype(dtype) for c in columns]


def _expected(op, columns):
    out = []
    for args in zip(*(c.astype(np.float64) for c in columns), strict=True):
        try:
            out.append(MATH[op](*(float(a) for a in args)))
        except ValueError:
            out.append(math.nan)  # outside the domain: kernels give NaN
        except ZeroDivisionError:
            out.append(math.nan)  # compared only where math gives an answer
        except OverflowError:
            out.append(math.inf)
    return np.array(out)


def test_op_table_has_every_required_op_and_math_covers_it():
    assert set(REQUIRED) <= set(OPS)
    assert set(MATH) == set(OPS)


def test_spellings_are_unambiguous():
    for pick in (lambda s: s.fpcore, lambda s: s.sexpr):
        seen = {}
        for spec in OPS.values():
            key = (pick(spec), spec.arity)
            if key[0] is not None:
                assert key not in seen, f"{key} spells both {seen.get(key)} and {spec.name}"
                seen[key] = spec.name
    assert not set(LOWERINGS) & {s.fpcore for s in OPS.values()}
    for spec in OPS.values():
        assert (spec.fpcore is None) != (spec.fpcore_expansion is None), spec.name


def _evaluate_op(op, dtype):
    """The evaluator's and math's results for ``op`` over its test inputs."""
    spec = OPS[op]
    columns = _inputs(spec, dtype)
    args = [
        var(f"a{i}") if s != BOOL else apply("ne", var(f"a{i}"), const(0))
        for i, s in enumerate(spec.arg_sorts)
    ]
    got = evaluate(apply(op, *args), {f"a{i}": c for i, c in enumerate(columns)}, dtype)
    assert got.dtype == dtype
    return columns, got, _expected(op, columns)


@pytest.mark.parametrize("op", sorted(OPS))
def test_float64_evaluation_agrees_with_math(op):
    columns, got, want = _evaluate_op(op, np.float64)
    defined = ~np.isnan(want)
    np.testing.assert_allclose(got[defined], want[defined], rtol=1e-12, atol=1e-300)
    assert np.isnan(got[np.isnan(want) & ~_divides_by_zero(op, columns)]).all()


def _divides_by_zero(op, columns):
    if op in ("div", "recip", "rsqrt", "log", "log2", "log10", "pow", "atan2"):
        return np.any([c == 0 for c in columns], axis=0)
    return np.zeros(len(columns[0]), dtype=bool)


@pytest.mark.parametrize("op", sorted(OPS))
def test_float32_evaluation_agrees_with_math_to_float32_accuracy(op):
    _, got, want = _evaluate_op(op, np.float32)  # math on the same float32 inputs, in float64
    finite = np.isfinite(want) & (np.abs(want) < 3e38)
    np.testing.assert_allclose(
        got[finite], want[finite].astype(np.float32), rtol=3e-7 * 4, atol=1e-37
    )


def test_round_goes_half_away_from_zero_and_fract_is_x_minus_floor():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997], dtype=np.float32)
    np.testing.assert_array_equal(
        evaluate(apply("round", var("x")), {"x": x}), [-3, -2, -1, 1, 2, 3, 0]
    )
    np.testing.assert_array_equal(evaluate(apply("fract", var("x")), {"x": x}), x - np.floor(x))


def test_evaluator_broadcasts_and_reports_missing_inputs():
    e = apply("add", var("x"), var("y"))
    out = evaluate(e, {"x": np.zeros((3, 1)), "y": np.arange(4)})
    assert out.shape == (3, 4) and out.dtype == np.float32
    assert evaluate(const(2), {}).shape == ()
    with pytest.raises(KeyError, match="y"):
        evaluate(e, {"x": 1.0})


def test_a_memo_computes_shared_nodes_once_and_changes_no_value():
    x = np.linspace(-3, 3, 16)
    shared = apply("sin", var("x"))
    first, second = apply("mul", shared, var("x")), apply("add", shared, const(1))
    memo: dict = {}
    assert np.array_equal(evaluate(first, {"x": x}, memo=memo), evaluate(first, {"x": x}))
    memo[shared] = np.zeros(16, np.float32)  # a planted value shows the memo is read
    np.testing.assert_array_equal(evaluate(second, {"x": x}, memo=memo), np.ones(16))
    assert first in memo and second in memo


def test_float32_fma_is_rounded_once():
    """Products of two 13-bit odd mantissas often fall exactly halfway between two
    float32s; a tiny addend then decides the rounding, which a float64 sum (rounded, then
    rounded again to float32) would lose. Wide random triples cover the rest."""
    rng = np.random.default_rng(3)
    n = 4000
    mantissas = rng.integers(2**12, 2**13, (2, n)) | 1
    a, b = (m * 2.0 ** rng.integers(-20, 20, n) for m in mantissas)
    tiny = rng.choice([-1, 1], n) * 2.0 ** rng.integers(-100, -60, n)
    wide = [rng.uniform(1, 2, n) * 2.0 ** rng.integers(-30, 30, n) for _ in range(3)]
    a, b, c = (
        np.concatenate(v).astype(np.float32)
        for v in ((a, wide[0]), (b, wide[1]), (tiny * a * b, wide[2]))
    )
    got = OPS["fma"].ref(a, b, c)
    exact = [
        Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))
        for x, y, z in zip(a, b, c, strict=True)
    ]
    want = np.array([nearest_f32(float(e), lambda e=e: e) for e in exact], dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
