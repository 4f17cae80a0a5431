"""FPCore: the constructs of FPBench's standard, ranges from :pre, lowering, errors."""

import math

import mpmath
import numpy as np
import pytest

from src.expr import (
    Kernel,
    ParseError,
    VarRange,
    evaluate,
    parse_fpcore,
    parse_fpcore_file,
    parse_sexpr,
    print_fpcore,
)
from src.expr.calls import LOWERINGS
from src.expr.fpcore import CONSTANTS, KernelError

DEFAULT = VarRange(-1.0, 1.0)


def body(text: str):
    return parse_fpcore(text, default=DEFAULT).body


def test_let_binds_in_parallel_and_let_star_in_sequence():
    assert body("(FPCore (x) (let ([x 2] [y x]) y))") is parse_sexpr("x")
    assert body("(FPCore (x) (let* ([x 2] [y x]) y))") is parse_sexpr("2")
    assert body("(FPCore (x) (let ((a (+ x 1))) (* a a)))") is parse_sexpr("(* (+ x 1) (+ x 1))")


def test_if_comparisons_and_logic():
    assert body("(FPCore (x y) (if (and (< 0 x y) (not (== x 1))) x y))") is parse_sexpr(
        "(select (and (and (< 0 x) (< x y)) (not (== x 1))) x y)"
    )
    assert body("(FPCore (a b c) (if (!= a b c) 1 0))") is parse_sexpr(
        "(select (and (and (!= a b) (!= a c)) (!= b c)) 1 0)"
    )


def test_numbers_and_constants():
    assert body("(FPCore () (+ 1/3 0.6931f0))") is parse_sexpr("(+ 0.33333334 0.6931)")
    assert body("(FPCore () (digits 5 -1 10))") is parse_sexpr("0.5")
    assert body("(FPCore () (- INFINITY))") is parse_sexpr("-inf")
    assert body("(FPCore () (- (! INFINITY)))") is parse_sexpr("(neg inf)")
    assert body("(FPCore () (* PI E))").args[0].value == float(np.float32(math.pi))


def test_named_constants_are_the_nearest_float32():
    mpmath.mp.prec = 200
    exact = {
        "E": mpmath.e,
        "LOG2E": mpmath.log(mpmath.e, 2),
        "LOG10E": mpmath.log10(mpmath.e),
        "LN2": mpmath.ln2,
        "LN10": mpmath.ln(10),
        "PI": mpmath.pi,
        "PI_2": mpmath.pi / 2,
        "PI_4": mpmath.pi / 4,
        "M_1_PI": 1 / mpmath.pi,
        "M_2_PI": 2 / mpmath.pi,
        "M_2_SQRTPI": 2 / mpmath.sqrt(mpmath.pi),
        "SQRT2": mpmath.sqrt(2),
        "SQRT1_2": mpmath.sqrt(mpmath.mpf(1) / 2),
    }
    for name, value in exact.items():
        got = body(f"(FPCore () {name})").value
        below = float(np.nextafter(np.float32(got), np.float32(-np.inf)))
        above = float(np.nextafter(np.float32(got), np.float32(np.inf)))
        distance = abs(mpmath.mpf(got) - value)
        assert distance <= abs(mpmath.mpf(below) - value), name
        assert distance <= abs(mpmath.mpf(above) - value), name
    assert set(exact) | {"INFINITY", "NAN"} == set(CONSTANTS)


def test_annotations_and_properties_are_read_or_skipped():
    kernel = parse_fpcore(
        '(FPCore ident ((! :precision binary32 x)) :name "the \\"name\\"" :precision binary64 '
        ":alt (while (< x 1) ([x 0 x]) x) :herbie-platform c (! :precision binary32 (+ x 1)))",
        default=DEFAULT,
    )
    assert kernel.name == 'the "name"' and kernel.precision == "binary64"
    assert kernel.body is parse_sexpr("(+ x 1)")
    assert parse_fpcore("(FPCore ident (x) x)", default=DEFAULT).name == "ident"


def test_pre_bounds_become_ranges():
    kernel = parse_fpcore(
        "(FPCore (a b c d e f) :pre (and (< 0.1 a) (<= a 1.5707964) (<= -1 b 1) "
        "(<= 1e-20 (fabs c) 1e+20) (== d 16) (> (* e f) 710) (<= 0 f (/ PI 2))) 0)",
        default=DEFAULT,
    )
    r = kernel.ranges
    assert r["a"].lo == float(np.nextafter(np.float32(0.1), np.float32(1)))
    assert r["a"].hi == float(np.float32(1.5707964))
    assert r["b"] == VarRange(-1.0, 1.0)
    assert r["c"].hi == float(np.float32(1e20)) and r["c"].lo == -r["c"].hi
    assert r["c"].min_abs == float(np.float32(1e-20))
    assert r["d"] == VarRange(16.0, 16.0)
    assert r["e"] == DEFAULT
    assert r["f"] == VarRange(0.0, float(np.float32(math.pi / 2)))


def test_one_sided_bounds_extend_past_the_default():
    r = parse_fpcore(
        "(FPCore (x y z) :pre (and (>= x 5) (< y -3) (> (fabs z) 1)) 0)", default=DEFAULT
    ).ranges
    assert r["x"] == VarRange(5.0, 7.0)
    assert r["y"].lo == pytest.approx(-5.0) and r["y"].hi < -3
    assert r["z"].lo < -1 and r["z"].hi > 1 and r["z"].min_abs > 1


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("(FPCore (x)\n  (while (< x 1) ([x 0 (+ x 1)]) x))", "'while' is not supported", 2, 4),
        ("(FPCore ((x 3)) x)", "tensor arguments", 1, 10),
        ("(FPCore (x) (for ([i 3]) x))", "'for' is not supported", 1, 14),
        ("(FPCore (x) (cast x))", "'cast' is not supported", 1, 14),
        ("(FPCore (x) (if TRUE x 0))", "'TRUE' is not supported", 1, 17),
        ("(FPCore (x) (erf x))", "unknown function 'erf'", 1, 14),
        ("(FPCore (x) (+ x y))", "unbound variable 'y'", 1, 18),
        ("(FPCore (x x) x)", "declared twice", 1, 9),
        ('(FPCore (x) :name "n")', "exactly one body", 1, 1),
        ("(FPCore (x) :pre (+ x 1) x)", ":pre must be a condition", 1, 18),
        ("(FPCore (x) :pre (and (< 1 x) (< x 0)) x)", "no values for 'x'", 1, 18),
        ("(FPCore (x) (+ x (< x 1)))", "must be a number", 1, 14),
        ("(FPCore (x) (let ([1 x]) x))", "expected a variable name", 1, 20),
        ("(FPCore (x) (! :pixelflow-op recip (* 1 x)))", "must wrap (/ 1 ?0)", 1, 13),
        ("(FPCore (x) (digits 1 x 10))", "digits", 1, 13),
        ("(FPCore (x) (+ x 1)", "never closed", 1, 1),
        ("(+ x 1)", "expected (FPCore", 1, 1),
    ],
)
def test_errors_name_the_construct_and_place(text, message, line, col):
    with pytest.raises(ParseError) as caught:
        parse_fpcore(text, file="k.fpcore", default=DEFAULT)
    error = caught.value
    assert message in error.message
    assert (error.loc.file, error.loc.line, error.loc.col) == ("k.fpcore", line, col)
    assert str(error).startswith(f"k.fpcore:{line}:{col}: ")


def test_a_failing_fpcore_does_not_stop_the_others():
    text = (
        '(FPCore (x) :name "a" x)\n(FPCore (x) :name "b" (while 1 () x))\n(FPCore (y) :name "c" y)'
    )
    results = parse_fpcore_file(text, "f.fpcore", DEFAULT)
    assert [r.name for r in results] == ["a", "b", "c"]
    assert isinstance(results[1], KernelError) and "while" in str(results[1].error)


# Lowered functions equal Python's math on inputs where they are well conditioned.
LOWERING_CASES = {
    "sinh": (math.sinh, (0.1, 5)),
    "cosh": (math.cosh, (-5, 5)),
    "tanh": (math.tanh, (0.1, 5)),
    "asinh": (math.asinh, (0.1, 50)),
    "acosh": (math.acosh, (1.5, 50)),
    "atanh": (math.atanh, (0.1, 0.9)),
    "expm1": (math.expm1, (0.1, 5)),
    "log1p": (math.log1p, (0.1, 50)),
    "cbrt": (math.cbrt, (-50, 50)),
    "trunc": (math.trunc, (-50, 50)),
    "copysign": (math.copysign, (-5, 5)),
    "fdim": (lambda a, b: max(a - b, 0.0), (-5, 5)),
    "fmod": (math.fmod, (-50, 50)),
}


@pytest.mark.parametrize("name", sorted(LOWERINGS))
def test_lowerings_compute_the_function_they_replace(name):
    reference, (lo, hi) = LOWERING_CASES[name]
    arity = LOWERINGS[name].arity
    rng = np.random.default_rng(1)
    columns = [rng.uniform(lo, hi, 500) for _ in range(arity)]
    names = "ab"[:arity]
    e = body(f"(FPCore ({' '.join(names)}) ({name} {' '.join(names)}))")
    got = evaluate(e, dict(zip(names, columns, strict=True)), np.float64)
    want = [float(reference(*args)) for args in zip(*columns, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_printing_binds_shared_subexpressions_once():
    kernel = Kernel.from_expr(parse_sexpr("(+ (* (sin x) (sin x)) (fract (sin x)))"), "k", DEFAULT)
    text = print_fpcore(kernel)
    assert text.count("(sin x)") == 1 and "(! :pixelflow-op fract (- t0 (floor t0)))" in text
    assert parse_fpcore(text, default=DEFAULT).body is kernel.body
