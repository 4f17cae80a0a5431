"""The JIT: every op lowers and agrees with the reference evaluator (edge values
included), composed expressions agree, the corpus compiles, DAG sharing, the compile
cache, and many engines in one process."""

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from src.cost.check import default_check_settings, jit_error
from src.cost.jit import ALIGN_BYTES, Jit, JitSettings, default_jit, default_jit_settings
from src.cost.kernel_ir import kernel_ir
from src.cost.lowering import LOWERINGS, MATH_LIBRARY
from src.data.corpus import load_corpus
from src.expr import BOOL, OPS, apply, const, evaluate, parse_fpcore, parse_sexpr, var
from src.expr.compare import relative_errors
from tests.lost_nodes import lost_twin
from tests.strategies import VAR_NAMES, leaves

# Float32 values every op is tried on, in every combination for one- and two-argument ops.
EDGES = [
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 3.0, np.pi / 2, 88.0, -88.0, 100.0, 1e4,
    1e-30, -1e-30, 1e-40, 1e30, -1e30, 3e38, -3e38, np.inf, -np.inf, np.nan,
]  # fmt: skip
# Transcendental results come from the C math library in the JIT and from numpy in the
# reference; both are within an ulp or two of the true value.
MAX_ULPS = 4
# n = 8k + 5: the vector loop and the scalar tail both run.
TAIL = 5


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float32 steps between a and b (0 when both are NaN)."""
    ordered = []
    for x in (a, b):
        bits = x.astype(np.float32).view(np.int32).astype(np.int64)
        ordered.append(np.where(bits < 0, -(2**31) - bits, bits))
    distance = np.abs(ordered[0] - ordered[1])
    return np.where(np.isnan(a) & np.isnan(b), 0, distance)


def _op_inputs(arity: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    randoms = np.concatenate(
        [
            rng.uniform(-10, 10, 200),
            rng.choice([-1, 1], 200) * np.exp(rng.uniform(-80, 80, 200)),
        ]
    )
    pool = np.array(EDGES + list(randoms[:16]))
    if arity < 3:
        grid = np.array(list(itertools.product(pool, repeat=arity)))
    else:
        grid = pool[rng.integers(0, len(pool), (3000, 3))]
    columns = [np.concatenate([grid[:, i], rng.permutation(randoms)]) for i in range(arity)]
    length = len(columns[0]) // 8 * 8 + TAIL
    return [np.resize(c, length).astype(np.float32) for c in columns]


def _op_expression(op: str):
    """``op`` applied to variables a0, a1, ...; a boolean argument is ``(< ai w)``."""
    args = [
        apply("lt", var(f"a{i}"), var("w")) if sort == BOOL else var(f"a{i}")
        for i, sort in enumerate(OPS[op].arg_sorts)
    ]
    return apply(op, *args)


def test_every_op_has_a_lowering():
    assert set(LOWERINGS) == set(OPS)
    assert set(MATH_LIBRARY) <= set(OPS)


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_agrees_with_the_reference_on_edge_values(op):
    expr = _op_expression(op)
    columns = _op_inputs(OPS[op].arity)
    inputs = {f"a{i}": c for i, c in enumerate(columns)}
    inputs["w"] = np.random.default_rng(1).permutation(columns[0])
    got = default_jit().compile(expr)(inputs)
    want = evaluate(expr, inputs)
    distance = ulp_distance(got, want)
    limit = MAX_ULPS if op in MATH_LIBRARY else 0
    worst = int(np.argmax(distance))
    assert distance[worst] <= limit, (
        f"{op}{tuple(float(c[worst]) for c in columns)}: jit {got[worst]}, ref {want[worst]}"
    )


@pytest.mark.parametrize("op", sorted(MATH_LIBRARY))
def test_vector_lanes_and_scalar_tail_call_the_same_function(op):
    expr = _op_expression(op)
    x = np.linspace(-3, 3, 8 * 4 + TAIL, dtype=np.float32)
    inputs = {name: x for name in expr.variables}
    full = default_jit().compile(expr)(inputs)
    tail_only = default_jit().compile(expr)({n: v[:TAIL] for n, v in inputs.items()})
    np.testing.assert_array_equal(full[:TAIL], tail_only)


# Ops the hardware computes exactly as IEEE 754 says: the JIT matches numpy bit for bit.
# (min and max may pick either zero for min(-0, +0), which a later 1/x would magnify.)
EXACT_OPS = [o for o, s in OPS.items() if o not in MATH_LIBRARY and s.sort != BOOL]
_exact_unary = [o for o in EXACT_OPS if OPS[o].arity == 1]
_exact_binary = [o for o in EXACT_OPS if OPS[o].arity == 2 and o not in ("min", "max")]
exact_exprs = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(apply, st.sampled_from(_exact_unary), children),
        st.builds(apply, st.sampled_from(_exact_binary), children, children),
        st.builds(apply, st.just("fma"), children, children, children),
    ),
    max_leaves=25,
)


def _random_inputs(names, n=8 * 6 + TAIL, seed=0):
    rng = np.random.default_rng(seed)
    return {
        name: np.concatenate([rng.choice(EDGES, n // 2), rng.uniform(-50, 50, n - n // 2)]).astype(
            np.float32
        )
        for name in names
    }


@settings(max_examples=60, deadline=None)
@given(exact_exprs)
def test_composed_exact_expressions_match_the_reference_bit_for_bit(expr):
    inputs = _random_inputs(VAR_NAMES)
    got = default_jit().compile(expr)(inputs, n=len(inputs["x"]))
    want = np.broadcast_to(evaluate(expr, inputs), got.shape)
    assert ulp_distance(got, want).max() == 0, expr.text


def _call_with(op, arg):
    return apply(op, arg, *[const(1.5)] * (OPS[op].arity - 1))


def test_composed_transcendentals_agree_within_float_tolerance():
    """``outer(fma(inner(x), 0.25, 0.5))`` for every pair of math-library ops. Near a
    zero of the result (log of about 1) an ulp of the argument is many ulps of the
    result, so this is a relative-error bound rather than an ulp count."""
    x = np.linspace(0.3, 0.9, 8 * 8 + TAIL, dtype=np.float32)
    worst = {}
    for outer, inner in itertools.product(sorted(MATH_LIBRARY), repeat=2):
        expr = _call_with(outer, apply("fma", _call_with(inner, var("x")), const(0.25), const(0.5)))
        got = default_jit().compile(expr)({"x": x})
        worst[expr.text] = relative_errors(got, evaluate(expr, {"x": x}), 1e-30).max()
    assert max(worst.values()) <= 1e-4, max(worst, key=worst.get)


def test_every_corpus_kernel_compiles_and_agrees_with_the_reference():
    kernels, errors = load_corpus()
    assert not errors
    check = default_check_settings()
    disagree = {}
    for kernel in kernels:
        error = jit_error(default_jit().compile(kernel.body), kernel.ranges, check)
        if not error <= check.rtol:
            disagree[kernel.name] = error
    assert disagree == {}


def _sinf_calls(expr) -> int:
    text = kernel_ir(expr, "k", 8, fast=False)
    return len(re.findall(r"call float @sinf|call <8 x float> @pixelflow_v8_sinf", text))


def test_a_shared_subtree_is_computed_once_per_loop():
    repeated = parse_sexpr("(+ (sin (* x y)) (* (sin (* x y)) (sin (* x y))))")
    let_bound = parse_fpcore("(FPCore (x y) (let ((s (sin (* x y)))) (+ s (* s s))))").body
    assert repeated is let_bound
    assert _sinf_calls(repeated) == 2  # once in the vector loop, once in the scalar tail
    assert default_jit().compile(repeated) is default_jit().compile(let_bound)


def test_two_objects_of_one_subtree_are_computed_once_too():
    lost, twin = lost_twin("(sin (* lost_x lost_y))")
    assert lost is not twin
    assert _sinf_calls(apply("add", lost, apply("mul", twin, lost))) == 2


def test_compiles_are_cached_by_canonical_text():
    jit = Jit(default_jit_settings())
    first = jit.compile(parse_sexpr("(* (+ x 1) y)"))
    again = jit.compile(parse_fpcore("(FPCore (x y) (* (+ x 1) y))").body)
    assert first is again and len(jit) == 1
    assert jit.compile(parse_sexpr("(* (+ x 1) z)")) is not first and len(jit) == 2
    fast = jit.compile(parse_sexpr("(* (+ x 1) y)"), fast_math=True)
    assert fast is not first and fast.fast_math and len(jit) == 3


def test_fast_math_kernels_run_and_stay_close():
    expr = parse_sexpr("(/ (+ (* x y) (sqrt (+ x 2))) (+ y 3))")
    inputs = _random_inputs(["x", "y"])
    inputs = {k: np.clip(v, 0, 40).astype(np.float32) for k, v in inputs.items()}
    got = default_jit().compile(expr, fast_math=True)(inputs)
    np.testing.assert_allclose(got, evaluate(expr, inputs), rtol=1e-5)


def test_many_engines_in_one_process():
    expr = parse_sexpr("(+ (sin x) 1)")
    x = np.linspace(-1, 1, 21, dtype=np.float32)
    want = default_jit().compile(expr)({"x": x})
    for _ in range(25):
        np.testing.assert_array_equal(Jit(default_jit_settings()).compile(expr)({"x": x}), want)


@pytest.mark.parametrize("lanes", [1, 4, 16])
def test_other_vector_widths(lanes):
    jit = Jit(JitSettings(lanes, 2, 0, False, True))
    expr = parse_sexpr("(select (< x 0.5) (pow x 3) (hypot x 2))")
    x = np.linspace(-2, 2, 3 * lanes + 1, dtype=np.float32)
    assert ulp_distance(jit.compile(expr)({"x": x}), evaluate(expr, {"x": x})).max() <= MAX_ULPS


def test_boolean_and_constant_kernels():
    boolean = parse_sexpr("(and (< x y) (not (== x 0)))")
    inputs = {"x": np.array([0, 1, 2, -1, 0], np.float32), "y": np.ones(5, np.float32)}
    np.testing.assert_array_equal(default_jit().compile(boolean)(inputs), [0, 0, 0, 1, 0])
    for value in (2.5, -np.inf, np.nan):
        out = default_jit().compile(const(value))({}, n=11)
        np.testing.assert_array_equal(out, np.full(11, value, np.float32))


def test_bad_arguments_are_clear_errors():
    kernel = default_jit().compile(parse_sexpr("(+ x y)"))
    with pytest.raises(KeyError, match="no input for variable"):
        kernel({"x": np.ones(3)})
    with pytest.raises(ValueError, match="one length"):
        kernel({"x": np.ones(3), "y": np.ones(4)})
    with pytest.raises(ValueError, match="one-dimensional"):
        kernel({"x": np.ones((2, 2)), "y": np.ones((2, 2))})
    with pytest.raises(ValueError, match="no inputs and no n"):
        default_jit().compile(const(1.0))({})
    with pytest.raises(ValueError, match="power of two"):
        JitSettings(6, 2, 0, False, True)
    with pytest.raises(ValueError, match="codegen_level"):
        JitSettings(8, 5, 0, False, True)


def test_bound_arrays_start_on_a_cache_line():
    kernel = default_jit().compile(parse_sexpr("(+ x (* y 2))"))
    for offset in range(4):  # inputs at every 4-byte misalignment
        data = np.arange(40, dtype=np.float32)[offset : offset + 33]
        call = kernel.bind({"x": data, "y": data})
        assert all(a.ctypes.data % ALIGN_BYTES == 0 for a in [*call.arrays, call.out])
        call.run()
        assert np.array_equal(call.out, data + data * 2)


@pytest.mark.parametrize("flush", [True, False])
def test_the_harness_times_with_subnormals_flushed_and_restores_the_caller(flush):
    """With ``flush_subnormals`` the timed calls see subnormals as zero (x + x of 1e-40
    is 0 in them), and a call after the timing computes in full again (the caller's
    MXCSR restored); without it the timed calls compute 2e-40 like any other call. Bits
    are compared: a float comparison would itself read subnormals as zero were the flush
    left on."""
    settings = default_jit_settings()
    jit = Jit(JitSettings(settings.lanes, settings.codegen_level, 0, False, flush))
    n = 8 + TAIL
    x = np.full(n, 1e-40, np.float32)
    call = jit.compile(parse_sexpr("(+ x x)")).bind({"x": x})
    tiny = x.view(np.uint32) * 2  # a subnormal's double: its bits doubled (no exponent)
    assert 0 < tiny[0] < 0x00800000  # x + x is still subnormal
    call.time_calls(3)
    assert call.out.view(np.uint32).tolist() == ([0] * n if flush else tiny.tolist())
    call.run()
    assert call.out.view(np.uint32).tolist() == tiny.tolist()
