"""Hypothesis strategies for random, well-typed expressions over the whole op table."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from src.expr import BOOL, NUM, OPS, apply, const, var

VAR_NAMES = ("x", "y", "z", "dX.u", "a_1")

_NUM_OPS = [s for s in OPS.values() if s.sort == NUM and s.name != "select"]
_UNARY = [s.name for s in _NUM_OPS if s.arity == 1]
_BINARY = [s.name for s in _NUM_OPS if s.arity == 2]
_TERNARY = [s.name for s in _NUM_OPS if s.arity == 3]
_COMPARISONS = [s.name for s in OPS.values() if s.sort == BOOL and s.arg_sorts == (NUM, NUM)]

finite_f32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
constants = st.one_of(finite_f32, st.sampled_from([math.inf, -math.inf, math.nan, -0.0]))
leaves = st.one_of(st.sampled_from(VAR_NAMES).map(var), constants.map(const))


def _conditions(nums: st.SearchStrategy) -> st.SearchStrategy:
    """Comparisons under up to three levels of and / or / not: enough to exercise
    every binding combination of the logic ops in the printers."""
    level = st.builds(apply, st.sampled_from(_COMPARISONS), nums, nums)
    for _ in range(3):
        level = st.one_of(
            level,
            st.builds(apply, st.just("not"), level),
            st.builds(apply, st.sampled_from(["and", "or"]), level, level),
        )
    return level


def _num_nodes(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(apply, st.sampled_from(_UNARY), children),
        st.builds(apply, st.sampled_from(_BINARY), children, children),
        st.builds(apply, st.sampled_from(_TERNARY), children, children, children),
        st.builds(apply, st.just("select"), _conditions(children), children, children),
    )


num_exprs = st.recursive(leaves, _num_nodes, max_leaves=30)
bool_exprs = _conditions(num_exprs)
exprs = st.one_of(num_exprs, bool_exprs)
