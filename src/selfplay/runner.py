"""The trajectory runner (the seed's Task 4): hill climbing on one seed's e-graph, guided
by a policy, recording the steps the critic and the actor update read.

Each epoch extracts the current best expression (static cost model), asks the policy for
its features and every rule's probability, approves rules (training: each with
probability p, a Bernoulli sample; evaluation: p > threshold), applies each approved
rule once and records a step for it. A trajectory stops after ``max_steps`` epochs, when
the e-graph reaches its node budget, or after ``stall_epochs`` epochs in which nothing
new matched. The final expression is measured (JIT) and checked against the seed on
sampled inputs; a trajectory whose final expression disagrees, or whose cost is not
finite, is dropped with its reason and the rules it applied.

``src/selfplay`` never imports the actor: it receives any object with the ``Policy``
methods.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from src.cost.measure import CostMeter
from src.cost.static import StaticCostModel
from src.data.schema import Trajectory, TrajectoryStep
from src.expr import Expr, VarRange, evaluate
from src.expr.compare import relative_errors
from src.expr.sampling import sample_inputs
from src.expr.settings import default_range, log_uniform_ratio

from .egraph import EGraphEnv
from .rules import Rule


class Policy(Protocol):
    """What the runner needs from the actor."""

    def features(self, expr: Expr) -> np.ndarray:
        """The state: the expression's accumulator features."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Each rule's probability of being applied in that state."""

    def rule_embedding(self, index: int) -> np.ndarray:
        """The embedding of rule ``index`` the probabilities were computed with."""


@dataclass(frozen=True)
class RunnerSettings:
    """``selfplay.runner`` in conf."""

    max_steps: int
    stall_epochs: int
    threshold: float
    node_budget: int
    check_elements: int
    check_seed: int
    check_rtol: float
    check_input_error_factor: float
    check_abs_floor: float
    min_checked: float


@dataclass
class RunOutcome:
    """A trajectory, or why there is none; and what the run did either way (``final``:
    the extracted expression, also when the trajectory was dropped)."""

    trajectory: Trajectory | None
    dropped: str | None
    rules_applied: list[str]
    egraph_nodes: int
    epochs: int
    seconds: dict[str, float] = field(default_factory=dict)
    final: Expr | None = None
    max_rel_error: float = 0.0


def check_inputs(
    exprs: Sequence[Expr], ranges: Mapping[str, VarRange], s: RunnerSettings
) -> dict[str, np.ndarray]:
    """The sampled inputs the semantic check uses, for every variable of ``exprs``."""
    names = sorted(set().union(*(e.variables for e in exprs)))
    full = {n: ranges.get(n, default_range()) for n in names}
    return sample_inputs(full, names, s.check_elements, s.check_seed, log_uniform_ratio())


def judge(
    seed: Expr, inputs: Mapping[str, np.ndarray], actual: np.ndarray, s: RunnerSettings
) -> tuple[str, float]:
    """Whether ``actual`` (float32 outputs on ``inputs``) computes what ``seed`` does:
    ("" or why not, the largest relative error from the seed's exact value).

    The exact value is the seed evaluated in float64. An output may be off from it by
    ``check_rtol``, or by ``check_input_error_factor`` times the seed's own float32
    error at that input: a rewrite that removes a cancellation moves the result toward
    the true value, away from the seed's float32 result, and that is not a mismatch.
    Only inputs where the exact value is finite count, and there must be at least
    ``min_checked`` of them."""
    n = s.check_elements
    with np.errstate(all="ignore"):
        exact = np.broadcast_to(evaluate(seed, inputs, np.float64), (n,))
        own = np.broadcast_to(evaluate(seed, inputs), (n,))
    actual = np.broadcast_to(actual, (n,))
    defined = np.isfinite(exact)
    if defined.mean() < s.min_checked:
        return "", 0.0
    errors = relative_errors(actual[defined], exact[defined], s.check_abs_floor)
    own_errors = relative_errors(own[defined], exact[defined], s.check_abs_floor)
    allowed = np.maximum(s.check_rtol, s.check_input_error_factor * own_errors)
    worst = float(errors.max()) if errors.size else 0.0
    beyond = errors > allowed
    if beyond.any():
        k = int(np.argmax(np.where(beyond, errors, -1.0)))
        return (
            f"the result disagrees with the seed's exact value (relative error "
            f"{errors[k]:.3g} where the seed's own float32 error is {own_errors[k]:.3g})",
            worst,
        )
    return "", worst


def check_equal(
    seed: Expr, final: Expr, ranges: Mapping[str, VarRange], s: RunnerSettings
) -> tuple[str, float]:
    """``judge`` for the expression ``final`` (evaluated in float32)."""
    inputs = check_inputs([seed, final], ranges, s)
    with np.errstate(all="ignore"):
        actual = evaluate(final, inputs)
    return judge(seed, inputs, actual, s)


def run_trajectory(
    seed: Expr,
    ranges: Mapping[str, VarRange],
    policy: Policy,
    rules: Sequence[Rule],
    settings: RunnerSettings,
    model: StaticCostModel,
    meter: CostMeter,
    rng: np.random.Generator,
    trajectory_id: str,
    sample: bool = True,
) -> RunOutcome:
    """Run one trajectory from ``seed``; ``sample`` chooses Bernoulli approval (training)
    over the threshold (evaluation)."""
    clock = {"egraph": 0.0, "policy": 0.0, "measure": 0.0}
    start = time.perf_counter()
    env = EGraphEnv(seed, rules, model, settings.node_budget)
    initial = meter.measure(seed, ranges)
    clock["measure"] += time.perf_counter() - start
    steps: list[TrajectoryStep] = []
    applied: list[str] = []
    stalled = epochs = 0
    while epochs < settings.max_steps and stalled < settings.stall_epochs:
        epochs += 1
        t0 = time.perf_counter()
        best, _ = env.extract()
        t1 = time.perf_counter()
        features = policy.features(best)
        p = policy.probabilities(features)
        approved = rng.random(len(p)) < p if sample else p > settings.threshold
        t2 = time.perf_counter()
        clock["egraph"] += t1 - t0
        clock["policy"] += t2 - t1
        matched_any = False
        for index in np.flatnonzero(approved):
            matched = env.apply(int(index)) > 0
            matched_any |= matched
            if matched:
                applied.append(rules[index].name)
            steps.append(
                TrajectoryStep(
                    accumulator_state=features,
                    rule_embedding=policy.rule_embedding(int(index)),
                    rule_idx=int(index),
                    action_probability=float(p[index]),
                    matched=matched,
                    approved=True,
                )
            )
        clock["egraph"] += time.perf_counter() - t2
        stalled = 0 if matched_any else stalled + 1
        if env.node_count() >= settings.node_budget:
            break
    t0 = time.perf_counter()
    final, static_final = env.extract()
    nodes = env.node_count()
    clock["egraph"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    measured = meter.measure(final, ranges)
    clock["measure"] += time.perf_counter() - t0
    outcome = RunOutcome(None, None, applied, nodes, epochs, clock, final)
    costs = (initial.ns_per_element, measured.ns_per_element)
    if not all(math.isfinite(c) and c > 0 for c in costs):
        outcome.dropped = f"non-finite or zero measured cost {costs}"
        return outcome
    disagreement, outcome.max_rel_error = check_equal(seed, final, ranges, settings)
    if disagreement:
        outcome.dropped = disagreement
        return outcome
    outcome.trajectory = Trajectory(
        trajectory_id=trajectory_id,
        seed_expr=seed.text,
        steps=steps,
        final_cost_ns=costs[1],
        initial_cost=model.cost(seed),
        final_cost=static_final,
        initial_cost_ns=costs[0],
    )
    return outcome
