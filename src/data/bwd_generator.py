"""BwdGenerator: training seeds made backwards, as Lample and Charton generate data.

First a random *optimized* expression: a seeded random tree of ops (``max_depth``,
``leaf_probability``, variables and constants, sometimes a fused op), with domain guards
so that it stays defined (``sqrt|a|``, ``log(|a| + 1)``, ``a / (|b| + 1)``). Then it is
*junkified*: passes over its nodes apply, at random, rewrites from the rule table that
make it more expensive, in either direction of a rule. Every rewrite is checked on
sampled inputs (float64, wherever the optimized side is finite) and dropped if it would
change the value, so every pair computes the same function; the junk side is what the
guide should learn to undo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from src.config import conf_group
from src.cost.static import StaticCostModel
from src.expr import (
    CONST,
    NUM,
    OPS,
    VAR,
    Expr,
    apply,
    const,
    evaluate,
    match,
    postorder,
    substitute,
    var,
)
from src.expr.numbers import to_f32
from src.expr.sampling import sample_inputs
from src.expr.settings import default_range, log_uniform_ratio
from src.selfplay.rules import Rule

_VARIABLE_NAMES = "xyzwuv"


@dataclass(frozen=True)
class GeneratorSettings:
    seed: int
    max_depth: int
    leaf_probability: float
    variables: int
    constant_probability: float
    constant_range: tuple[float, float]
    constant_decimals: int
    fused_probability: float
    plain_ops: tuple[str, ...]
    fused_ops: tuple[str, ...]
    exponents: tuple[float, ...]
    junk_passes: int
    junk_probability: float
    node_cap: int
    check_elements: int
    check_seed: int
    attempts: int
    check_rtol: float
    check_atol: float
    min_defined: float

    @classmethod
    def from_config(cls, config: Mapping) -> GeneratorSettings:
        """From the ``data.bwd`` config."""
        values = dict(config)
        values["constant_range"] = tuple(float(v) for v in values["constant_range"])
        values["exponents"] = tuple(float(v) for v in values["exponents"])
        for key in ("plain_ops", "fused_ops"):
            values[key] = tuple(str(op) for op in values[key])
            unknown = [op for op in values[key] if op not in OPS or OPS[op].sort != NUM]
            if unknown or not values[key]:
                raise ValueError(f"data.bwd.{key} must name numeric ops; not {unknown}")
        if not 1 <= values["variables"] <= len(_VARIABLE_NAMES):
            raise ValueError(f"data.bwd.variables must be 1 to {len(_VARIABLE_NAMES)}")
        return cls(**values)


def default_generator_settings() -> GeneratorSettings:
    return GeneratorSettings.from_config(conf_group("data").bwd)


@dataclass(frozen=True)
class Rewrite:
    """One direction of a rule, used to grow an expression."""

    name: str
    source: Expr
    target: Expr


def _replace(root: Expr, old: Expr, new: Expr) -> Expr:
    rebuilt: dict[Expr, Expr] = {}
    for node in postorder(root):
        if node == old:
            rebuilt[node] = new
        elif node.args:
            rebuilt[node] = apply(node.op, *(rebuilt[a] for a in node.args))
        else:
            rebuilt[node] = node
    return rebuilt[root]


class BwdGenerator:
    def __init__(
        self, settings: GeneratorSettings, rules: Sequence[Rule], model: StaticCostModel
    ) -> None:
        self.settings = settings
        self.model = model
        self.rewrites = [Rewrite(r.name, r.lhs, r.rhs) for r in rules if r.guard is None] + [
            Rewrite(f"{r.name} (reversed)", r.rhs, r.lhs)
            for r in rules
            if r.guard is None and r.lhs.variables <= r.rhs.variables and r.rhs.op != VAR
        ]
        self.variables = [var(n) for n in _VARIABLE_NAMES[: settings.variables]]
        ranges = {v.name: default_range() for v in self.variables}
        self.inputs = sample_inputs(
            ranges,
            [v.name for v in self.variables],
            settings.check_elements,
            settings.check_seed,
            log_uniform_ratio(),
        )

    # -- the optimized side -------------------------------------------------------------

    def _leaf(self, rng: np.random.Generator) -> Expr:
        s = self.settings
        if rng.random() < s.constant_probability:
            value = round(float(rng.uniform(*s.constant_range)), s.constant_decimals)
            return const(to_f32(value))
        return self.variables[int(rng.integers(len(self.variables)))]

    def _guarded(self, op: str, args: list[Expr], rng: np.random.Generator) -> Expr:
        one = const(1.0)
        if op in ("sqrt", "rsqrt"):
            return apply(op, apply("abs", args[0]))
        if op == "log":
            return apply("log", apply("add", apply("abs", args[0]), one))
        if op == "div":
            return apply("div", args[0], apply("add", apply("abs", args[1]), one))
        if op == "pow":
            exponents = self.settings.exponents
            exponent = const(exponents[int(rng.integers(len(exponents)))])
            return apply("pow", apply("abs", args[0]), exponent)
        if op == "exp":
            return apply("exp", apply("sin", args[0]))
        return apply(op, *args)

    def optimized(self, rng: np.random.Generator, depth: int = 0) -> Expr:
        """A random expression that is its own best form, as far as the generator knows."""
        s = self.settings
        if depth >= s.max_depth or (depth > 0 and rng.random() < s.leaf_probability):
            return self._leaf(rng)
        ops = s.fused_ops if rng.random() < s.fused_probability else s.plain_ops
        op = ops[int(rng.integers(len(ops)))]
        args = [self.optimized(rng, depth + 1) for _ in range(OPS[op].arity)]
        return self._guarded(op, args, rng)

    # -- the junk side ------------------------------------------------------------------

    def _value(self, expr: Expr) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(
                evaluate(expr, self.inputs, np.float64), self.settings.check_elements
            )

    def _same(self, reference: np.ndarray, candidate: Expr) -> bool:
        s = self.settings
        value = self._value(candidate)
        defined = np.isfinite(reference)
        with np.errstate(invalid="ignore"):
            close = (
                np.abs(reference - value)
                <= s.check_rtol * np.maximum(np.abs(reference), np.abs(value)) + s.check_atol
            )
        return bool(np.all(close | (reference == value) | ~defined))

    def junkify(self, expr: Expr, rng: np.random.Generator) -> tuple[Expr, list[str]]:
        """``expr`` grown by checked rewrites; also the names of the rewrites applied."""
        s = self.settings
        reference = self._value(expr)
        current, applied = expr, []
        for _ in range(s.junk_passes):
            nodes = postorder(current)
            present = set(nodes)
            for node in nodes:
                if current.dag_nodes >= s.node_cap:
                    return current, applied
                if node not in present or rng.random() >= s.junk_probability:
                    continue
                order = rng.permutation(len(self.rewrites))
                for k in order:
                    rewrite = self.rewrites[int(k)]
                    binding = match(rewrite.source, node)
                    if binding is None:
                        continue
                    grown = substitute(rewrite.target, binding)
                    if self.model.cost(grown) <= self.model.cost(node) * (1 + 1e-9):
                        continue  # not growing (the margin absorbs summation order)
                    candidate = _replace(current, node, grown)
                    if self._same(reference, candidate):
                        current = candidate
                        present = set(postorder(current))
                        applied.append(rewrite.name)
                        break
        return current, applied

    def pair(self, index: int) -> tuple[Expr, Expr, list[str]]:
        """The ``index``-th pair: (optimized, junkified, rewrites applied)."""
        s = self.settings
        rng = np.random.default_rng([s.seed, index])
        for _ in range(s.attempts):
            optimized = self.optimized(rng)
            if optimized.op in (VAR, CONST):
                continue
            if np.mean(np.isfinite(self._value(optimized))) < s.min_defined:
                continue
            junk, applied = self.junkify(optimized, rng)
            if applied:
                return optimized, junk, applied
        raise RuntimeError(f"BwdGenerator: no usable expression for index {index}")

    def composed(
        self, index: int, min_dag_nodes: int, ops: Sequence[str], max_pieces: int
    ) -> tuple[Expr, Expr, int]:
        """The ``index``-th composition of at least ``min_dag_nodes`` DAG nodes on its
        junk side: pairs (each junkified on its own) joined by binary ``ops`` into one
        optimized and one junk expression, which compute the same wherever every piece's
        two sides agree. (optimized, junk, pieces); fewer nodes only when ``max_pieces``
        pieces do not reach the target."""
        unknown = [op for op in ops if op not in OPS or OPS[op].arity != 2]
        if unknown or not ops:
            raise ValueError(f"data.compose.ops must name binary ops; not {unknown}")
        rng = np.random.default_rng([self.settings.seed, index, min_dag_nodes, 1])
        optimized, junk, _ = self.pair(int(rng.integers(2**31)))
        pieces = 1
        while junk.dag_nodes < min_dag_nodes and pieces < max_pieces:
            more_optimized, more_junk, _ = self.pair(int(rng.integers(2**31)))
            op = ops[int(rng.integers(len(ops)))]
            if rng.random() < 0.5:  # either side of the join
                optimized, more_optimized = more_optimized, optimized
                junk, more_junk = more_junk, junk
            optimized = apply(op, optimized, more_optimized)
            junk = apply(op, junk, more_junk)
            pieces += 1
        return optimized, junk, pieces
