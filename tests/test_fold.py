"""Constant folding: of an expression (the seed of a search, the JIT, the static model)
and in the e-graph after rules run."""

import numpy as np
import pytest

from src.cost.kernel_ir import kernel_ir
from src.cost.static import default_static_model
from src.expr import CONST, const, evaluate, parse_sexpr
from src.expr.fold import fold_constants
from src.selfplay.egraph import EGraphEnv
from src.selfplay.rules import RULES
from tests.test_egraph import INDEX


def test_subexpressions_of_constants_become_their_float32_value():
    expr = parse_sexpr("(+ x (* (cos 0.8195) (- 0.283 (/ 1 3))))")
    inner = parse_sexpr("(* (cos 0.8195) (- 0.283 (/ 1 3)))")
    want = const(float(evaluate(inner, {})))
    assert fold_constants(expr) is parse_sexpr(f"(+ x {want.text})")
    third = np.float32(0.283) - np.float32(1) / np.float32(3)
    assert want.value == np.cos(np.float32(0.8195)) * third


def test_folding_keeps_what_the_expression_computes():
    expr = parse_sexpr("(/ (- (* x (sin 2.1)) (pow 1.5 2)) (sqrt (+ 2 (exp 0.5))))")
    folded = fold_constants(expr)
    assert folded.args[1].op == CONST  # the divisor is one constant
    x = np.random.default_rng(0).uniform(-10, 10, 1000).astype(np.float32)
    np.testing.assert_allclose(evaluate(folded, {"x": x}), evaluate(expr, {"x": x}), rtol=1e-6)


@pytest.mark.parametrize(
    "text",
    [
        "(+ x (log -1))",  # NaN: kept as written
        "(* x (recip 0))",  # inf
        "(select (< 1 2) x y)",  # a condition is not folded
        "(+ x y)",
    ],
)
def test_what_is_not_folded_stays_the_same_object(text):
    expr = parse_sexpr(text)
    assert fold_constants(expr) is expr


def test_the_jit_and_the_static_model_fold_too():
    written, folded = parse_sexpr("(* x (cos 0.8))"), fold_constants(parse_sexpr("(* x (cos 0.8))"))
    assert folded.args[1].op == CONST
    assert "cosf" not in kernel_ir(written, "k", 8, fast=False)
    model = default_static_model()
    assert model.cost(written) == model.cost(folded) < model.costs["cos"]


def _extracted(text, rules, fold):
    env = EGraphEnv(parse_sexpr(text), RULES, default_static_model(), 1000, fold=fold)
    env.apply_rules([INDEX[r] for r in rules])
    return env.extract()[0]


def test_the_seed_is_folded_when_it_enters_the_e_graph():
    seed = parse_sexpr("(* x (cos 0.8))")
    assert _extracted(seed.text, [], fold=True) is fold_constants(seed)
    assert _extracted(seed.text, [], fold=False) is seed


def test_a_constant_a_rule_makes_is_folded_so_extraction_prices_it_as_one():
    # x / 2.5 -> x * recip 2.5: a multiplication by 0.4 once recip 2.5 is folded
    assert _extracted("(/ x 2.5)", ["div-as-mul"], fold=True) is parse_sexpr("(* x 0.4)")
    assert _extracted("(/ x 2.5)", ["div-as-mul"], fold=False) is parse_sexpr("(/ x 2.5)")


def _constants(env):
    """The values of the e-graph's constants."""
    rows = env.frozen().functions["Const"].rows
    return {env._graph.value_to_f64(row.inputs[0]) for row in rows}


@pytest.mark.parametrize(
    ("rule", "text", "value"),
    [
        ("distribute", "(* 2 (+ x 0.25))", 0.5),  # mul
        ("sub-as-add", "(- x 3)", -3.0),  # neg
        ("div-distribute", "(/ (+ x 3) 4)", 0.75),  # div
        ("abs-mul", "(abs (* x -3))", 3.0),  # abs
    ],
)
def test_each_arithmetic_op_folds_in_the_e_graph(rule, text, value):
    env = EGraphEnv(parse_sexpr(text), RULES, default_static_model(), 1000, fold=True)
    assert value not in _constants(env)
    env.apply_rules([INDEX[rule]])
    assert value in _constants(env)


@pytest.mark.parametrize(
    ("rule", "text", "extracted"),
    [
        ("min-assoc", "(min (min x 2) 1.5)", "(min x 1.5)"),
        ("max-assoc", "(max (max x 2) 1.5)", "(max x 2)"),
    ],
)
def test_min_and_max_of_constants_fold_to_one_of_them(rule, text, extracted):
    assert _extracted(text, [rule], fold=True) is parse_sexpr(extracted)
    assert _extracted(text, [rule], fold=False).dag_nodes > parse_sexpr(extracted).dag_nodes


def test_division_by_a_constant_zero_is_not_folded():
    env = EGraphEnv(parse_sexpr("(/ x 0)"), RULES, default_static_model(), 1000, fold=True)
    env.apply_rules([INDEX["div-as-mul"]])
    assert _constants(env) == {0.0}  # recip 0 gained no constant
