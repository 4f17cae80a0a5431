"""Expr: hash-consing, immutability, sizes, sorts, and deep DAGs without recursion."""

import copy
import math
import pickle

import numpy as np
import pytest

from src.expr import (
    ExprError,
    apply,
    const,
    evaluate,
    match,
    parse_sexpr,
    postorder,
    substitute,
    var,
)
from tests.lost_nodes import lost_twin


def test_structurally_equal_expressions_are_the_same_object():
    x = var("x")
    a = apply("add", x, const(1))
    assert apply("add", var("x"), const(1.0)) is a
    assert parse_sexpr("(+ x 1)") is a
    assert hash(a) == hash(parse_sexpr("(+ x 1)"))
    assert apply("add", const(1), x) is not a


def test_a_node_the_intern_table_lost_equals_its_twin_and_is_counted_once():
    lost, twin = lost_twin("(* (exp lost_a) -0.0)")
    assert lost is not twin  # what the garbage collector can make
    assert lost == twin and hash(lost) == hash(twin)
    assert lost != parse_sexpr("(* (exp lost_a) 0.0)") and lost != parse_sexpr("(exp lost_a)")
    mixed = apply("add", lost, twin)
    assert mixed.dag_nodes == 5 and len(postorder(mixed)) == 5
    assert apply("neg", lost) is apply("neg", twin)  # interning finds the listed one
    assert match(parse_sexpr("(+ ?a ?a)"), mixed) == {"?a": lost}


def test_constants_are_float32_and_nan_is_one_constant():
    assert const(0.1).value == float(np.float32(0.1))
    assert const(0.1) is const(float(np.float32(0.1)))
    assert const(math.nan) is const(-math.nan)
    assert const(0.0) is not const(-0.0)


def test_expr_is_immutable_and_copies_are_itself():
    e = parse_sexpr("(* x y)")
    with pytest.raises(AttributeError):
        e.op = "add"
    assert copy.copy(e) is e and copy.deepcopy(e) is e
    assert pickle.loads(pickle.dumps(e)) is e


def test_sizes_depth_and_variables():
    e = parse_sexpr("(* (+ x 1) (+ x 1))")
    assert (e.tree_nodes, e.dag_nodes, e.depth) == (7, 4, 3)
    assert e.variables == {"x"}
    assert var("x").depth == 1 and var("x").tree_nodes == 1


def test_sorts_are_checked():
    x = var("x")
    with pytest.raises(ExprError, match="boolean"):
        apply("select", x, x, x)
    with pytest.raises(ExprError, match="number"):
        apply("add", apply("lt", x, x), x)
    with pytest.raises(ExprError, match="takes 2"):
        apply("add", x)
    with pytest.raises(ExprError, match="unknown op"):
        apply("frobnicate", x)


@pytest.mark.parametrize("name", ["", "a b", "f(x)", "1.5", "-2", "inf", "nan", "1/3", 'a"b'])
def test_names_that_would_not_read_back_are_rejected(name):
    with pytest.raises(ExprError):
        var(name)


def test_match_binds_consistently_and_substitute_inverts_it():
    pattern = parse_sexpr("(- ?a (floor ?a))")
    e = parse_sexpr("(- (sin x) (floor (sin x)))")
    binding = match(pattern, e)
    assert binding == {"?a": parse_sexpr("(sin x)")}
    assert substitute(pattern, binding) is e
    assert match(pattern, parse_sexpr("(- (sin x) (floor (cos x)))")) is None


def test_postorder_leaves_out_known_nodes_and_what_only_they_reach():
    shared, inner = var("y"), apply("sin", var("x"))
    root = apply("add", apply("mul", inner, shared), shared)
    assert postorder(root, known={inner}) == [shared, root.args[0], root]
    assert postorder(root, known={root}) == []


def test_deep_expressions_need_no_recursion():
    depth = 50_000
    e = var("x")
    for i in range(depth):
        e = apply("add", e, const(i % 7))
    assert e.depth == depth + 1
    assert e.dag_nodes == depth + 1 + 7
    assert len(postorder(e)) == e.dag_nodes
    assert parse_sexpr(e.text) is e
    assert evaluate(e, {"x": np.float32(0)}) == np.float32(sum(i % 7 for i in range(depth)))


def test_sharing_makes_exponential_trees_cheap():
    e = var("x")
    for _ in range(100):
        e = apply("mul", e, e)
    assert e.tree_nodes == 2**101 - 1
    assert e.dag_nodes == 101
