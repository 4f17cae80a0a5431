"""The former pure-Python extraction, kept as the yardstick for ``extraction.py``.

Used only by ``tests/test_extraction.py`` and ``benchmarks/bench_extract.py``: the
expression the compiled extractor returns must never cost more than the one this returns,
and the benchmark reports how much faster it is. Nothing in the product calls it.
"""

from __future__ import annotations

from collections.abc import Mapping

from egglog import bindings as egg

from src.expr import Expr, apply, const, var

from .extraction import LEAVES, OP_OF


def extract_best(
    graph: egg.EGraph, root: egg.Value, costs: Mapping[str, float]
) -> tuple[Expr, float]:
    """The cheapest expression of ``root``'s e-class under ``costs`` (per constructor),
    counting each distinct node once, and its cost.

    Greedy DAG extraction over egglog's frozen e-graph: repeatedly, an e-class takes
    the e-node whose own cost plus the union of its children's chosen sub-DAGs is
    cheapest, never one whose sub-DAG runs through the class itself. The cost returned
    is the one recorded when the root's class last changed its choice: when a class
    below changed its choice later, the expression returned costs more (or less) than
    that."""
    frozen = graph.freeze()
    rows = [
        (name, row.inputs, row.output)
        for name, function in frozen.functions.items()
        if name in OP_OF or name in LEAVES
        for row in function.rows
        if not row.subsumed
    ]
    best: dict = {}  # class -> (total, {node key: cost}, classes below, row)
    changed = True
    while changed:
        changed = False
        for row in rows:
            name, inputs, output = row
            children = inputs if name in OP_OF else []
            if any(c not in best for c in children):
                continue
            nodes: dict = {}
            below: set = set()
            for child in children:
                nodes.update(best[child][1])
                below |= best[child][2]
                below.add(child)
            if output in below:
                continue
            nodes[(name, tuple(inputs))] = costs[name]
            total = sum(nodes.values())
            if output not in best or total < best[output][0] - 1e-12:
                best[output] = (total, nodes, frozenset(below), row)
                changed = True
    built: dict = {}
    for klass in _classes_bottom_up(root, best):
        name, inputs, _ = best[klass][3]
        if name == "Const":
            built[klass] = const(graph.value_to_f64(inputs[0]))
        elif name == "Var":
            built[klass] = var(graph.value_to_string(inputs[0]))
        else:
            built[klass] = apply(OP_OF[name], *(built[c] for c in inputs))
    return built[root], best[root][0]


def _classes_bottom_up(root: egg.Value, best: dict) -> list:
    """The classes of the chosen DAG under ``root``, children before parents."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        klass, expanded = stack.pop()
        if expanded:
            order.append(klass)
            continue
        if klass in seen:
            continue
        seen.add(klass)
        stack.append((klass, True))
        name, inputs, _ = best[klass][3]
        if name in OP_OF:
            stack.extend((c, False) for c in inputs)
    return order
