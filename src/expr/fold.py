"""Constant folding: every numeric subexpression of constants alone becomes the float32
constant it evaluates to.

The JIT would otherwise compute each op for every element, constants or not: it skips
LLVM's IR passes (``cost.jit.ir_pass_level``), and its vector math functions are this
project's own IR around the C library, so nothing evaluates a scene's ``cos 0.8195`` at
compile time. Values come from the
reference evaluator in float32, as the kernel would compute them; a subexpression whose
value is not finite is kept as written.
"""

from __future__ import annotations

import math

from .evaluate import evaluate
from .expr import CONST, Expr, apply, const, postorder
from .ops import NUM


def fold_constants(expr: Expr) -> Expr:
    """``expr`` with each numeric subexpression of constants alone (conditions are left
    as they are) replaced by its float32 value; ``expr`` itself when there is none."""
    folded: dict[Expr, Expr] = {}
    for node in postorder(expr):
        args = [folded[a] for a in node.args]
        if args and node.sort == NUM and all(a.op == CONST and a.sort == NUM for a in args):
            value = float(evaluate(apply(node.op, *args), {}))
            if math.isfinite(value):
                folded[node] = const(value)
                continue
        changed = any(new is not old for new, old in zip(args, node.args, strict=True))
        folded[node] = apply(node.op, *args) if changed else node
    return folded[expr]
