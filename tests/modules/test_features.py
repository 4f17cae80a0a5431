"""EdgeAccumulator: layout, shared subtrees counted once, incremental edits equal a
rebuild, depth codes, the latency prior, and deep expressions without recursion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from src.config import conf_group, settings_from_config
from src.cost.static import default_static_model
from src.expr import apply, parse_fpcore, parse_sexpr, var
from src.modules.features import (
    NODE_KINDS,
    EdgeAccumulator,
    Edges,
    FeatureEncoder,
    FeatureSettings,
    expr_edges,
    op_embeddings,
)
from tests.strategies import num_exprs

SETTINGS = settings_from_config(FeatureSettings, conf_group("actor").features, "actor.features")
ENCODER = FeatureEncoder(SETTINGS, op_embeddings(SETTINGS))
K = SETTINGS.op_dim


def _features(text):
    return ENCODER.accumulator(parse_sexpr(text)).features()


def test_layout_is_four_sums_and_two_counts():
    x = _features("(+ (sin x) (* y 2))")
    assert x.shape == (130,) == (4 * K + 2,) and x.dtype == np.float32
    # edges: + -> sin, + -> *, sin -> x, * -> y, * -> 2; nodes: those and the root
    assert x[128] == pytest.approx(np.log2(1 + 5)) and x[129] == pytest.approx(np.log2(1 + 6))
    emb, scale = ENCODER.pairs.view(np.float64), 1 / np.sqrt(6)
    kind = {k: i for i, k in enumerate(NODE_KINDS)}
    parents = emb[kind["add"]] * 2 + emb[kind["sin"]] + emb[kind["mul"]] * 2
    children = emb[kind["sin"]] + emb[kind["mul"]] + 2 * emb[kind["var"]] + emb[kind["const"]]
    np.testing.assert_allclose(x[0:K], parents * scale, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x[K : 2 * K], children * scale, rtol=1e-6, atol=1e-7)


def test_shared_subtrees_count_once():
    shared = parse_sexpr("(+ (sin x) (sin x))")
    let_bound = parse_fpcore("(FPCore (x) (let ((s (sin x))) (+ s s)))").body
    edges, nodes = expr_edges(shared)
    assert (len(edges), nodes) == (3, 3)  # + -> sin twice (two slots), sin -> x once
    np.testing.assert_array_equal(
        ENCODER.accumulator(shared).features(), ENCODER.accumulator(let_bound).features()
    )
    _, distinct_nodes = expr_edges(parse_sexpr("(+ (sin x) (sin y))"))
    assert distinct_nodes == 5


def test_position_changes_only_the_rotated_sums():
    a, b = _features("(- x 2)"), _features("(- 2 x)")
    np.testing.assert_array_equal(a[: 2 * K], b[: 2 * K])
    assert not np.allclose(a[2 * K : 4 * K], b[2 * K : 4 * K])
    deep, shallow = _features("(sin (cos (exp x)))"), _features("(exp (cos (sin x)))")
    assert not np.allclose(deep[2 * K :], shallow[2 * K :])


def test_depth_codes_differ_for_every_depth_and_slot():
    depths, slots = np.meshgrid(np.arange(200), np.arange(3))
    codes = ENCODER.codes(depths.ravel(), slots.ravel())
    assert np.allclose(np.abs(codes), 1.0)
    distances = np.abs(codes[:, None, :] - codes[None, :, :]).max(axis=2)
    np.fill_diagonal(distances, np.inf)
    assert distances.min() > 1e-3


def test_editing_edges_equals_a_rebuild():
    """(+ x y) -> (+ (* x 2) y): remove + -> x, add + -> *, * -> x, * -> 2, two nodes."""
    accumulator = ENCODER.accumulator(parse_sexpr("(+ x y)"))
    accumulator.remove_edges(Edges.single("add", "var", depth=0, slot=0))
    for parent, child, depth, slot in (
        ("add", "mul", 0, 0),
        ("mul", "var", 1, 0),
        ("mul", "const", 1, 1),
    ):
        accumulator.add_edges(Edges.single(parent, child, depth, slot))
    accumulator.add_nodes(2)
    rebuilt = ENCODER.accumulator(parse_sexpr("(+ (* x 2) y)"))
    np.testing.assert_allclose(accumulator.features(), rebuilt.features(), rtol=0, atol=1e-7)
    np.testing.assert_allclose(accumulator.sums, rebuilt.sums, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(num_exprs, st.randoms(use_true_random=False))
def test_removing_and_adding_any_edges_equals_a_rebuild(expr, rnd):
    edges, nodes = expr_edges(expr)
    keep = np.array([rnd.random() < 0.5 for _ in range(len(edges))], dtype=bool)
    full = ENCODER.accumulator(expr)
    full.remove_edges(edges.select(~keep))
    partial = EdgeAccumulator(ENCODER)
    partial.add_edges(edges.select(keep))
    partial.add_nodes(nodes)
    np.testing.assert_allclose(full.sums, partial.sums, rtol=0, atol=1e-12)
    assert full.edge_count == partial.edge_count == int(keep.sum())
    partial.add_edges(edges.select(~keep))
    np.testing.assert_allclose(partial.features(), ENCODER.accumulator(expr).features(), atol=1e-6)


def test_removing_more_than_there_is_is_an_error():
    accumulator = ENCODER.accumulator(parse_sexpr("(sin x)"))
    edges, _ = expr_edges(parse_sexpr("(+ x y)"))
    with pytest.raises(ValueError, match="cannot remove 2 edges from 1"):
        accumulator.remove_edges(edges)
    with pytest.raises(ValueError, match="cannot remove 3 nodes from 2"):
        accumulator.add_nodes(-3)


def test_latency_prior_fills_dimension_zero():
    costs = dict(default_static_model().costs)
    table = op_embeddings(SETTINGS, costs)
    prior = np.array([np.log1p(costs.get(k, 0.0) / SETTINGS.latency_unit_ns) for k in NODE_KINDS])
    np.testing.assert_allclose(table[:, 0], prior / prior.max())
    assert table[:, 0].max() == 1.0
    plain = op_embeddings(SETTINGS)
    np.testing.assert_allclose(np.linalg.norm(plain, axis=1), 1.0)
    np.testing.assert_array_equal(table[:, 1:], plain[:, 1:])
    with pytest.raises(ValueError, match="lacks"):
        op_embeddings(SETTINGS, {"frobnicate": 1.0})


def test_a_50k_deep_expression_needs_no_recursion():
    expr = var("x")
    for _ in range(50_000):
        expr = apply("sin", expr)
    accumulator = ENCODER.accumulator(expr)
    assert (accumulator.edge_count, accumulator.node_count) == (50_000, 50_001)
    assert np.isfinite(accumulator.features()).all()


def test_bad_settings_and_tables_are_refused():
    with pytest.raises(ValueError, match="op_dim"):
        FeatureSettings(
            op_dim=31, seed=0, depth_base=100.0, child_index_angle=1.0, latency_unit_ns=0.01
        )
    with pytest.raises(ValueError, match="op embeddings have shape"):
        FeatureEncoder(SETTINGS, np.zeros((3, K)))


def test_the_search_context_follows_the_expression_when_it_is_on():
    """Off (actor files before it): the input is the expression's features alone. On:
    two more, log2(budget / unit) and grown / budget; a template, outside any search,
    reads 0 and 0."""
    x = _features("(+ (sin x) (* y 2))")
    assert ENCODER.inputs(x, 4000, 100) is x and SETTINGS.input_dim == 130
    on = FeatureSettings(**(SETTINGS.__dict__ | {"search_context": True}))
    encoder = FeatureEncoder(on, op_embeddings(on))
    assert on.input_dim == 132 == on.expression_dim + 2
    state = encoder.inputs(x, 4000, 100)
    np.testing.assert_array_equal(state[:130], x)
    assert state[130] == pytest.approx(2.0) and state[131] == pytest.approx(0.025)
    assert state.dtype == np.float32
    (template,) = encoder.features([parse_sexpr("(+ ?a 0)")])
    assert template.shape == (132,) and not template[130:].any()
    with pytest.raises(ValueError, match="context_budget_unit"):
        FeatureSettings(**(on.__dict__ | {"context_budget_unit": 0.0}))
