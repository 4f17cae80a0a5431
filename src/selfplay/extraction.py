"""Extraction: the cheapest expression of an e-class under per-constructor costs,
counting each distinct node once (the compiled kernel computes a shared subexpression
once).

Extraction runs after every epoch of every search, and the former pure-Python version
(kept as the yardstick in ``extraction_reference.py``) was the top cost of a search.
Here the frozen e-graph becomes flat arrays (each e-node's cost, its class, its
children's classes in CSR form) and a compiled greedy pass chooses one e-node per class
in two steps:

1. cheapest first (Knuth's generalization of Dijkstra's algorithm): once all children
   of an e-node have a choice, it is priced by its DAG cost, and a class without a
   choice takes its cheapest priced e-node;
2. a local search on the root's DAG: a class in it takes another of its e-nodes when
   that lowers the root's total (or keeps it: the next move may need that), until a
   sweep over the DAG lowers nothing. Step 1 prices each class on its own; this finds
   e-nodes that share with the rest of the root's DAG. Each class of the DAG counts its
   references, so a move is priced by the classes it adds and removes alone.

An e-node's DAG cost is its own cost plus that of each distinct class its children
reach through the current choices, once. An e-node whose DAG reaches its own class is
never chosen, so the choices never form a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain, count
from operator import attrgetter

import numba
import numpy as np
from egglog import bindings as egg

from src.expr import OPS, Expr, apply, const, var

# The egglog constructor of each op of the language, and the two kinds of leaves.
CONSTRUCTOR = {op: "Op" + op.capitalize() for op in OPS}
OP_OF = {name: op for op, name in CONSTRUCTOR.items()}
LEAVES = ("Const", "Var")

# A move must lower the total by more than this fraction to count as lowering it (the
# same DAG summed in another order differs in the last bits).
_IMPROVEMENT = 1e-12

_OUTPUT = attrgetter("output")
_INPUTS = attrgetter("inputs")
_SUBSUMED = attrgetter("subsumed")


@dataclass(frozen=True)
class FlatEGraph:
    """The live e-nodes of the language, numbered in the frozen e-graph's order: what the
    compiled passes read (arrays) and what rebuilding an expression needs (rows).

    An e-class is numbered by its first e-node; a class without a live e-node (all of
    its rows subsumed) gets a number from ``len(rows)`` on. Every class number is below
    ``n_classes``."""

    names: list[str]  # constructor of each e-node
    rows: list[egg.FrozenRow]  # each e-node's row (a leaf's value is its input)
    root: int  # the class to extract
    n_classes: int
    node_class: np.ndarray  # int64, class of each e-node
    node_cost: np.ndarray  # float64, the e-node's own cost
    child_start: np.ndarray  # int64: e-node i's children are children[child_start[i]:...[i+1]]
    children: np.ndarray  # int64, classes


def flatten(
    graph: egg.EGraph,
    root: egg.Value,
    costs: Mapping[str, float],
    frozen: egg.FrozenEGraph | None = None,
) -> FlatEGraph:
    """``graph`` (as ``frozen``, its frozen copy, when the caller has one) as arrays.

    Reading the rows is most of an extraction's time, as egglog makes a Python object of
    every value read; the loops over them are C-level (``map``), and each value is
    hashed once."""
    names: list[str] = []
    rows: list[egg.FrozenRow] = []
    child_values: list[egg.Value] = []
    counts, arities, own_costs = [], [], []
    if frozen is None:
        frozen = graph.freeze()
    for name, function in frozen.functions.items():
        if name not in OP_OF and name not in LEAVES:
            continue
        live = function.rows
        if any(map(_SUBSUMED, live)):
            live = [row for row in live if not row.subsumed]
        rows += live
        names += [name] * len(live)
        counts.append(len(live))
        own_costs.append(costs[name])
        if name in OP_OF:
            arities.append(len(function.input_sorts))
            child_values += chain.from_iterable(map(_INPUTS, live))
        else:
            arities.append(0)
    n = len(rows)
    class_of: defaultdict[egg.Value, int] = defaultdict(count(n).__next__)
    node_class = np.fromiter(map(class_of.setdefault, map(_OUTPUT, rows), count()), np.int64, n)
    children = np.fromiter(map(class_of.__getitem__, child_values), np.int64, len(child_values))
    child_start = np.zeros(n + 1, np.int64)
    np.cumsum(np.repeat(arities, counts), out=child_start[1:])
    return FlatEGraph(
        names=names,
        rows=rows,
        root=class_of[root],
        n_classes=n + len(class_of),
        node_class=node_class,
        node_cost=np.repeat(np.array(own_costs, np.float64), counts),
        child_start=child_start,
        children=children,
    )


def choose(flat: FlatEGraph) -> tuple[np.ndarray, float]:
    """The chosen e-nodes of the root's DAG, children before parents, and its total
    cost (the compiled passes of the module docstring); no e-nodes and inf when the
    root has no expression."""
    return _choose(
        flat.node_class, flat.node_cost, flat.child_start, flat.children, flat.n_classes, flat.root
    )


def rebuild(
    graph: egg.EGraph, flat: FlatEGraph, order: np.ndarray, memo: dict | None = None
) -> Expr:
    """The expression of the chosen e-nodes ``order`` (children first; the root last).

    ``memo``: the nodes built by earlier calls on the same ``graph`` (keyed by
    constructor and egglog value or arguments); successive extractions of a growing
    e-graph share most of their nodes, and a lookup is several times cheaper than
    building a node."""
    memo = {} if memo is None else memo
    built: dict[int, Expr] = {}
    start, names, rows, children = flat.child_start, flat.names, flat.rows, flat.children
    for node, klass in zip(order.tolist(), flat.node_class[order].tolist(), strict=True):
        name = names[node]
        if name in LEAVES:
            key = (name, rows[node].inputs[0])
            expr = memo.get(key)
            if expr is None:
                if name == "Const":
                    expr = const(graph.value_to_f64(key[1]))
                else:
                    expr = var(graph.value_to_string(key[1]))
                memo[key] = expr
        else:
            key = (name, *[built[k] for k in children[start[node] : start[node + 1]].tolist()])
            expr = memo.get(key)
            if expr is None:
                expr = memo[key] = apply(OP_OF[name], *key[1:])
        built[klass] = expr
    return built[flat.root]


def extract_best(
    graph: egg.EGraph,
    root: egg.Value,
    costs: Mapping[str, float],
    frozen: egg.FrozenEGraph | None = None,
    memo: dict | None = None,
) -> tuple[Expr, float]:
    """The cheapest expression found for e-class ``root`` under ``costs`` (per egglog
    constructor, ``Const`` and ``Var`` included), counting each distinct node once, and
    its cost. ``frozen``: ``graph.freeze()`` as it is now, when the caller has it;
    ``memo``: see ``rebuild``."""
    flat = flatten(graph, root, costs, frozen)
    order, total = choose(flat)
    if not order.size:
        raise ValueError("the e-class has no expression (all its e-nodes are subsumed)")
    return rebuild(graph, flat, order, memo), total


@numba.njit(cache=True)
def _dag_cost(node, forbidden, graph, seen, tick):
    """``node``'s own cost plus that of each distinct class its children reach through
    the choices, once; inf when they reach class ``forbidden`` (choosing ``node`` for it
    would close a cycle). ``graph``: (choice, node_cost, child_start, children, a stack
    array). Marks the classes it reaches with ``tick`` in ``seen``."""
    choice, node_cost, child_start, children, stack = graph
    total, top, e = 0.0, 0, node
    while True:  # e: the e-node whose children are counted next
        total += node_cost[e]
        for j in range(child_start[e], child_start[e + 1]):
            k = children[j]
            if k == forbidden:
                return np.inf
            if seen[k] != tick:
                seen[k] = tick
                stack[top] = k
                top += 1
        if top == 0:
            break
        top -= 1
        e = choice[stack[top]]
    return total


@numba.njit(cache=True)
def _refer(node, step, refs, graph):
    """Add ``step`` (1 or -1) to the count of references of each child of ``node``
    (``refs``: per class, the child slots of chosen e-nodes in the root's DAG that name
    it); a class whose count leaves or reaches 0 enters or leaves the DAG, and its
    choice's children are referred the same way. The summed own cost of the classes
    that entered or left."""
    choice, node_cost, child_start, children, stack = graph
    total, top, e = 0.0, 0, node
    while True:
        for j in range(child_start[e], child_start[e + 1]):
            k = children[j]
            refs[k] += step
            if refs[k] == (1 if step > 0 else 0):
                stack[top] = k
                top += 1
        if top == 0:
            break
        top -= 1
        e = choice[stack[top]]
        total += node_cost[e]
    return total


@numba.njit(cache=True)
def _csr(keys, values, n_keys):
    """``values`` grouped by ``keys`` (ints below ``n_keys``), as (starts, grouped)."""
    start = np.zeros(n_keys + 1, np.int64)
    for k in keys:
        start[k + 1] += 1
    start = np.cumsum(start)
    grouped = np.empty(start[-1], np.int64)
    filled = start[:-1].copy()
    for i in range(keys.size):
        grouped[filled[keys[i]]] = values[i]
        filled[keys[i]] += 1
    return start, grouped


@numba.njit(cache=True)
def _dag_postorder(root, choice, child_start, children, n_classes):
    """The chosen e-nodes of ``root``'s DAG, each after the e-nodes of its children."""
    state = np.zeros(n_classes, np.int8)  # 0 unseen, 1 children pending, 2 emitted
    order = []
    stack = [root]
    while stack:
        k = stack[-1]
        e = choice[k]
        if state[k] == 0:
            state[k] = 1
            for j in range(child_start[e], child_start[e + 1]):
                if state[children[j]] == 0:
                    stack.append(children[j])
            continue
        stack.pop()
        if state[k] == 1:
            state[k] = 2
            order.append(e)
    return np.array(order, np.int64)


@numba.njit(cache=True)
def _heap_push(keys, values, size, key, value):
    """Push onto the binary min-heap ``keys[:size]`` / ``values[:size]``; the new size."""
    i = size
    while i > 0 and keys[(i - 1) >> 1] > key:
        keys[i], values[i] = keys[(i - 1) >> 1], values[(i - 1) >> 1]
        i = (i - 1) >> 1
    keys[i], values[i] = key, value
    return size + 1


@numba.njit(cache=True)
def _heap_pop(keys, values, size):
    """The least key of the heap, its value, and the new size."""
    key, value = keys[0], values[0]
    size -= 1
    last_key, last_value = keys[size], values[size]
    i = 0
    while 2 * i + 1 < size:
        child = 2 * i + 1
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_key:
            break
        keys[i], values[i] = keys[child], values[child]
        i = child
    keys[i], values[i] = last_key, last_value
    return key, value, size


@numba.njit(cache=True)
def _choose(node_class, node_cost, child_start, children, n_classes, root):
    n = node_class.size
    class_start, class_nodes = _csr(node_class, np.arange(n), n_classes)
    user_start, users = _csr(children, np.repeat(np.arange(n), np.diff(child_start)), n_classes)
    pending = np.diff(child_start)  # children without a choice (some never get one)
    choice = np.full(n_classes, -1, np.int64)
    seen = np.zeros(n_classes, np.int64)
    stack = np.empty(n_classes, np.int64)
    tick = 0

    # 1. cheapest first, priced lazily: an e-node whose last child gets a choice is
    # pushed at a lower bound of its DAG cost (its own cost plus its costliest child's
    # DAG; exact when it has one distinct child), and walked for its exact price only if
    # popped while its class still has no choice. Choices here are final, so a price
    # stays right until it is popped.
    graph = (choice, node_cost, child_start, children, stack)
    dag = np.zeros(n_classes)  # the DAG cost of each class's choice
    keys = np.empty(n)
    entries = np.empty(n, np.int64)  # 2 * e-node + (1 when its key is its exact price)
    size = 0
    for e in range(n):
        if pending[e] == 0:
            size = _heap_push(keys, entries, size, node_cost[e], 2 * e + 1)
    while size > 0:
        key, entry, size = _heap_pop(keys, entries, size)
        e = entry >> 1
        c = node_class[e]
        if choice[c] >= 0:
            continue
        if entry & 1 == 0:
            tick += 1
            key = _dag_cost(e, -1, graph, seen, tick)
            if size > 0 and key > keys[0]:
                size = _heap_push(keys, entries, size, key, 2 * e + 1)
                continue
        choice[c] = e
        dag[c] = key
        for j in range(user_start[c], user_start[c + 1]):
            p = users[j]
            pending[p] -= 1
            if pending[p] != 0 or choice[node_class[p]] >= 0:
                continue
            bound, exact = 0.0, 1
            for i in range(child_start[p], child_start[p + 1]):
                bound = max(bound, dag[children[i]])
                if children[i] != children[child_start[p]]:
                    exact = 0
            size = _heap_push(keys, entries, size, node_cost[p] + bound, 2 * p + exact)
    if choice[root] < 0:
        return np.empty(0, np.int64), np.inf

    # 2. local search on the root's DAG: a class takes another of its e-nodes when that
    # lowers the root's total (or keeps it: the next move may need that); only a move
    # that lowers it earns another sweep, so this ends. A move is priced by what it adds
    # to and removes from the DAG (reference counts per class), not by a new walk.
    refs = np.zeros(n_classes, np.int64)
    order = _dag_postorder(root, choice, child_start, children, n_classes)
    for e in order:
        for j in range(child_start[e], child_start[e + 1]):
            refs[children[j]] += 1
    total = node_cost[order].sum()
    improved = True
    while improved:
        improved = False
        for k in node_class[_dag_postorder(root, choice, child_start, children, n_classes)]:
            if k != root and refs[k] == 0:
                continue  # left the DAG in this sweep
            for j in range(class_start[k], class_start[k + 1]):
                e, kept = class_nodes[j], choice[k]
                if e == kept or pending[e] != 0:
                    continue
                tick += 1
                if np.isinf(_dag_cost(e, k, graph, seen, tick)):
                    continue
                choice[k] = e
                # add first, so that what both DAGs share is never removed and re-added
                added = _refer(e, 1, refs, graph)
                removed = _refer(kept, -1, refs, graph)
                change = node_cost[e] - node_cost[kept] + added - removed
                if change > total * _IMPROVEMENT:
                    _refer(kept, 1, refs, graph)
                    _refer(e, -1, refs, graph)
                    choice[k] = kept
                    continue
                if change < -total * _IMPROVEMENT:
                    improved = True
                total += change
    order = _dag_postorder(root, choice, child_start, children, n_classes)
    return order, node_cost[order].sum()
