"""EdgeAccumulator: the actor's fixed-size view of an expression (DESIGN.md, "Actor").

Every edge of the expression DAG (a distinct node and one of its argument slots; a
shared subexpression is one node, so its edges count once) contributes its parent's and
its child's op embedding twice: once as they are (which ops occur, how often) and once
rotated by a code of the edge's depth and argument position (where they occur). With K
the embedding width, the 4K sums and the edge and node counts make the 4K + 2 numbers
(130 for K = 32) that describe the expression. With ``search_context`` the network reads
two numbers more, about the search the expression is a state of (``FeatureEncoder.inputs``):
its e-node budget and how much of it the e-graph has grown by.

The accumulator keeps raw sums, so adding or removing an edge is exact and cheap;
``features()`` applies the one input scaling used everywhere: sums times
1/sqrt(max(nodes, 1)), counts as log2(1 + count).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from src.expr import CONST, OPS, VAR, Expr

# The kinds of node the embeddings cover: every op-table row, then variables (pattern
# variables ``?a`` included) and constants.
NODE_KINDS: tuple[str, ...] = (*OPS, VAR, CONST)
KIND_INDEX: dict[str, int] = {kind: i for i, kind in enumerate(NODE_KINDS)}

SUM_BLOCKS = 4  # flat parent, flat child, rotated parent, rotated child
CONTEXT_DIM = 2  # log2(budget / context_budget_unit), e-nodes grown / budget


@dataclass(frozen=True)
class FeatureSettings:
    """``actor.features`` in conf: the fixed (untrained) part of the input encoding."""

    op_dim: int
    seed: int
    depth_base: float
    child_index_angle: float
    latency_unit_ns: float
    # the search context (FeatureEncoder.inputs); off in actor files written before it
    search_context: bool = False
    context_budget_unit: float = 1000.0

    def __post_init__(self) -> None:
        if self.op_dim < 2 or self.op_dim % 2:
            raise ValueError("actor.features.op_dim must be an even number >= 2")
        if self.depth_base <= 1.0:
            raise ValueError("actor.features.depth_base must be > 1")
        if self.latency_unit_ns <= 0.0:
            raise ValueError("actor.features.latency_unit_ns must be > 0")
        if self.context_budget_unit <= 0.0:
            raise ValueError("actor.features.context_budget_unit must be > 0")

    @property
    def expression_dim(self) -> int:
        """The accumulator's features: 4K sums, the edge and node counts."""
        return SUM_BLOCKS * self.op_dim + 2

    @property
    def input_dim(self) -> int:
        return self.expression_dim + (CONTEXT_DIM if self.search_context else 0)


def op_embeddings(
    settings: FeatureSettings, latency_ns: Mapping[str, float] | None = None
) -> np.ndarray:
    """The fixed (len(NODE_KINDS), K) embedding table: seeded unit-norm random rows.

    With ``latency_ns`` (per-op cost, e.g. the static cost model's table), dimension 0
    of each kind's row is replaced by a latency prior: log(1 + cost / unit), scaled so the
    costliest kind reads 1; kinds the table has no cost for read 0.
    """
    rng = np.random.default_rng(settings.seed)
    table = rng.standard_normal((len(NODE_KINDS), settings.op_dim))
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    if latency_ns is not None:
        unknown = sorted(set(latency_ns) - set(NODE_KINDS))
        if unknown:
            raise ValueError(f"latency prior names kinds of node the op table lacks: {unknown}")
        prior = np.array(
            [np.log1p(latency_ns.get(kind, 0.0) / settings.latency_unit_ns) for kind in NODE_KINDS]
        )
        if prior.max() > 0.0:
            table[:, 0] = prior / prior.max()
    return table


@dataclass(frozen=True)
class Edges:
    """Edges as parallel arrays: parent kind, child kind, depth of the parent (the root is
    0; a shared node sits at its shallowest depth), and the child's argument slot."""

    parents: np.ndarray
    children: np.ndarray
    depths: np.ndarray
    slots: np.ndarray

    @classmethod
    def single(cls, parent: str, child: str, depth: int, slot: int) -> Edges:
        """One edge from ``parent`` (at ``depth``) to ``child`` in argument ``slot``; the
        kinds are op names, ``"var"`` or ``"const"``."""
        kinds = [KIND_INDEX[kind] for kind in (parent, child)]
        return cls(*(np.array([value], dtype=np.int64) for value in (*kinds, depth, slot)))

    def __len__(self) -> int:
        return len(self.parents)

    def select(self, mask: np.ndarray) -> Edges:
        return Edges(self.parents[mask], self.children[mask], self.depths[mask], self.slots[mask])


def expr_edges(root: Expr) -> tuple[Edges, int]:
    """The edges of ``root``'s DAG (each distinct node's argument slots once) and the
    number of distinct nodes. Breadth-first, so a node is first reached at its
    shallowest depth."""
    depth_of: dict[Expr, int] = {root: 0}
    queue = [root]
    parents, children, depths, slots = [], [], [], []
    for node in queue:  # the queue grows while it is walked
        depth = depth_of[node]
        kind = KIND_INDEX[node.op]
        for slot, child in enumerate(node.args):
            parents.append(kind)
            children.append(KIND_INDEX[child.op])
            depths.append(depth)
            slots.append(slot)
            if child not in depth_of:
                depth_of[child] = depth + 1
                queue.append(child)
    as_ints = (np.array(values, dtype=np.int64) for values in (parents, children, depths, slots))
    return Edges(*as_ints), len(queue)


class FeatureEncoder:
    """The fixed encoding: settings, the op embedding table, and the depth code.

    Rotating (even, odd) pairs is multiplying complex numbers, so the table is kept as
    K/2 complex numbers per kind and the code of an edge at parent depth d and argument
    slot i is exp(1j * (d * w_k + i * child_index_angle)) for pair k, with
    w_k = depth_base ** (-k / (K/2)). The frequencies are incommensurate, so two
    different (depth, slot) pairs never get the same code.
    """

    def __init__(self, settings: FeatureSettings, embeddings: np.ndarray) -> None:
        if embeddings.shape != (len(NODE_KINDS), settings.op_dim):
            raise ValueError(
                f"op embeddings have shape {embeddings.shape}, "
                f"expected {(len(NODE_KINDS), settings.op_dim)}"
            )
        self.settings = settings
        self.pairs = np.ascontiguousarray(embeddings, dtype=np.float64).view(np.complex128)
        count = settings.op_dim // 2
        self.frequencies = settings.depth_base ** (-np.arange(count) / count)

    def codes(self, depths: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """The depth codes (edges, K/2) as unit complex numbers."""
        angles = np.outer(depths, self.frequencies)
        angles += np.asarray(slots, dtype=np.float64)[:, None] * self.settings.child_index_angle
        return np.exp(1j * angles)

    def accumulator(self, root: Expr) -> EdgeAccumulator:
        """The accumulator of ``root``'s whole DAG."""
        accumulator = EdgeAccumulator(self)
        edges, nodes = expr_edges(root)
        accumulator.add_edges(edges)
        accumulator.add_nodes(nodes)
        return accumulator

    def inputs(self, features: np.ndarray, budget: int = 0, grown: int = 0) -> np.ndarray:
        """The network input of an expression's accumulator ``features``: those alone, or,
        with ``search_context``, followed by log2(budget / context_budget_unit) and
        grown / budget for a search state at e-node ``budget`` whose e-graph has grown by
        ``grown`` e-nodes. A budget of 0 (no search: a rule's template) reads 0 and 0."""
        if not self.settings.search_context:
            return features
        context = [0.0, 0.0]
        if budget > 0:
            context = [np.log2(budget / self.settings.context_budget_unit), grown / budget]
        return np.concatenate([features, np.asarray(context, np.float32)])

    def features(self, exprs: Sequence[Expr]) -> np.ndarray:
        """Network inputs of several expressions outside any search, one row each
        (float32)."""
        rows = [self.inputs(self.accumulator(e).features()) for e in exprs]
        return np.stack(rows) if rows else np.zeros((0, self.settings.input_dim), np.float32)


class EdgeAccumulator:
    """Raw edge sums of one expression, updated edge by edge; ``features()`` is the input
    vector. Sums are float64 so that removing what was added leaves no residue. Edges
    and nodes are added and removed separately: an edit that drops a node drops its
    edges and the node."""

    def __init__(self, encoder: FeatureEncoder) -> None:
        self.encoder = encoder
        self.sums = np.zeros((SUM_BLOCKS, encoder.settings.op_dim // 2), dtype=np.complex128)
        self.edge_count = 0
        self.node_count = 0

    def add_edges(self, edges: Edges) -> None:
        self._update(edges, 1.0)

    def remove_edges(self, edges: Edges) -> None:
        if len(edges) > self.edge_count:
            raise ValueError(f"cannot remove {len(edges)} edges from {self.edge_count}")
        self._update(edges, -1.0)

    def add_nodes(self, count: int) -> None:
        """Count ``count`` more (or, negative, fewer) distinct nodes."""
        if self.node_count + count < 0:
            raise ValueError(f"cannot remove {-count} nodes from {self.node_count}")
        self.node_count += count

    def _update(self, edges: Edges, sign: float) -> None:
        n = len(edges)
        if not n:
            return
        ends = self.encoder.pairs[np.concatenate([edges.parents, edges.children])]
        ends = ends.reshape(2, n, -1)  # parents, children
        self.sums[:2] += sign * ends.sum(axis=1)
        self.sums[2:] += sign * (ends * self.encoder.codes(edges.depths, edges.slots)).sum(axis=1)
        self.edge_count += int(sign) * n

    def features(self) -> np.ndarray:
        """The network input: 4K scaled sums, log2(1 + edges), log2(1 + nodes) (float32)."""
        scale = 1.0 / np.sqrt(max(self.node_count, 1))
        counts = np.log2(1.0 + np.array([self.edge_count, self.node_count], dtype=np.float64))
        return np.concatenate([self.sums.view(np.float64).ravel() * scale, counts]).astype(
            np.float32
        )
