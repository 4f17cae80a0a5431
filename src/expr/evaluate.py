"""The reference evaluator: what an expression means, computed with numpy.

Vectorized over arrays of inputs; each distinct node of the DAG is computed once and
freed as soon as its last user is done (or kept in a caller's ``memo``).
``dtype=np.float32`` gives the float32 semantics every kernel must reproduce;
``dtype=np.float64`` evaluates the same expression (same float32 constants) in double
precision, as an oracle for tests.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .expr import CONST, VAR, Expr, postorder
from .ops import OPS


def evaluate(
    expr: Expr,
    inputs: Mapping[str, ArrayLike],
    dtype: DTypeLike = np.float32,
    memo: dict[Expr, np.ndarray] | None = None,
) -> np.ndarray:
    """Evaluate ``expr`` with each variable bound to an array (or scalar) of inputs.

    Inputs are cast to ``dtype`` and broadcast together; the result has their broadcast
    shape. Booleans come out as 0.0 / 1.0. Floating-point exceptions give inf/NaN, as in
    a kernel, without warnings. Raises KeyError naming a variable that has no input.

    ``memo`` keeps every node's value and is read first: a caller evaluating many
    expressions that share subexpressions, on the same inputs and dtype, computes each
    shared node once (expressions are interned, so a node is its own key).
    """
    dtype = np.dtype(dtype)
    missing = sorted(expr.variables - inputs.keys())
    if missing:
        raise KeyError(f"no input for variable(s): {', '.join(missing)}")
    arrays = {name: np.asarray(inputs[name], dtype=dtype) for name in expr.variables}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) if arrays else ()
    values: dict[Expr, np.ndarray] = {} if memo is None else memo
    order = postorder(expr, known=values)
    uses: dict[Expr, int] = {}  # without a memo, each value is freed after its last use
    if memo is None:
        for node in order:
            for child in node.args:
                uses[child] = uses.get(child, 0) + 1
    with np.errstate(all="ignore"):
        for node in order:
            if node.op == VAR:
                values[node] = arrays[node.name]
            elif node.op == CONST:
                values[node] = np.asarray(node.value, dtype=dtype)
            else:
                values[node] = np.asarray(
                    OPS[node.op].ref(*(values[c] for c in node.args)), dtype=dtype
                )
                if memo is not None:
                    continue
                for child in node.args:
                    uses[child] -= 1
                    if uses[child] == 0:
                        del values[child]
    return np.broadcast_to(values[expr], shape).copy()
