"""The trajectory runner (the seed's Task 4): hill climbing on one seed's e-graph, guided
by a policy, recording the steps the critic and the actor update read.

Each epoch extracts the current best expression (static cost model), asks the policy for
every rule's probability in that state (the expression's features, read once while it
stays, and, for a policy that reads them, the e-node budget and how far the e-graph has
grown towards it), approves rules (training: each with probability p, a Bernoulli sample;
a search: the settings' approval rule, by default the top-k rules of highest p), applies
the approved rules once each, in one egglog call (``EGraphEnv.apply_rules``), and
records a step for each. A run with ``walk_down`` does not approve a rule again in a
state (the extracted expression) where it was approved: while the state stays, a search
goes down the ranking and a sampled run draws from the rules not yet tried, and either
ends in the first epoch that approves nothing (that epoch's decisions are recorded too).
A search from a seed over ``batch_walk_nodes`` DAG nodes takes a state's whole walk in
one epoch: the groups of rules the walk would approve there epoch by epoch
(``RunnerSettings.walk_chunks``), one egglog call each, with no extraction between them,
and the node budget checked between groups.
A trajectory stops after ``max_steps`` epochs, when the e-graph reaches its node budget,
after ``stall_epochs`` epochs in which nothing new matched (not while walking), or after
``patience`` epochs that did not lower the extracted expression's static cost. With
``check_states`` each new extracted expression is checked against the seed on sampled
inputs as it appears, and one that fails is gone back from (``checked.py``: its epoch's
rules are banned for the rest of the run). The final expression is checked and measured
(JIT) in one paired comparison with the seed and a few of the epochs' extractions; the
run's answer is the fastest of them (``fastest.py``), while the trajectory's cost and
reward are the final expression's. A trajectory whose final expression disagrees, or
whose cost is not finite, is dropped with its reason and the rules it applied.

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
from src.data.schema import EpochDecisions, Trajectory, TrajectoryStep
from src.expr import Expr, VarRange

from .checked import CheckedEGraph
from .fastest import Choice, fastest
from .rules import Rule
from .settings import RunnerSettings

# where a run's seconds go (``RunOutcome.seconds``): extraction, rule application (and
# building the e-graph), the policy's scoring, and the final paired measurement
RUNNER_PHASES = ("extract", "apply", "policy", "measure")
SAME_COST = 1e-9  # relative: static costs this close are one cost (a sum in another order)


class Policy(Protocol):
    """What the runner needs from the actor."""

    def features(self, expr: Expr) -> np.ndarray:
        """The expression's accumulator features (read once while it is the state)."""

    def state(self, features: np.ndarray, budget: int, grown: int) -> np.ndarray:
        """The policy's input in an epoch: the expression's ``features`` and, if the
        policy reads them, the search's e-node ``budget`` and how many e-nodes the
        e-graph has grown by (``grown``)."""

    def probabilities(self, state: np.ndarray) -> np.ndarray:
        """Each rule's probability of being applied in that state."""

    def rule_embedding(self, index: int) -> np.ndarray:
        """The embedding of rule ``index`` the probabilities were computed with."""


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
    choice: Choice | None = None  # the answer: the fastest measured (``fastest.py``)
    approved: int = 0  # rule approvals over all epochs (a step each)
    rollbacks: int = 0  # states that failed the check and were gone back from (``checked.py``)


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
    over the settings' approval rule (evaluation, which may sample too)."""
    clock = dict.fromkeys(RUNNER_PHASES, 0.0)
    start = time.perf_counter()
    env = CheckedEGraph(seed, ranges, rules, model, settings)
    clock["apply"] += time.perf_counter() - start
    start_nodes = env.node_count()
    extractions: list[Expr] = []
    steps: list[TrajectoryStep] = []
    decisions: list[EpochDecisions] = []
    applied: list[str] = []
    stalled = epochs = flat = 0
    lowest = math.inf
    walking = settings.walk_down
    tried = np.zeros(len(rules), dtype=bool)  # walking: the rules approved in this state
    state: Expr | None = None
    state_cost = math.inf  # the extracted cost when the walk last restarted
    batched = settings.batches_walk(seed.dag_nodes, sample)  # a state's whole walk per epoch
    while epochs < settings.max_steps and stalled < settings.stall_epochs:
        t0 = time.perf_counter()
        best, best_cost = env.extract()
        flat = 0 if best_cost < lowest else flat + 1
        lowest = min(lowest, best_cost)
        if settings.patience and flat >= settings.patience:
            break  # the last epochs' rewrites did not lower the extracted cost
        t1 = time.perf_counter()
        if best != state:
            if settings.walk_restart == "expression" or not math.isclose(
                best_cost, state_cost, rel_tol=SAME_COST
            ):
                tried[:], state_cost = env.banned, best_cost  # a new state: the walk restarts
            state = best
            features = policy.features(best)  # the expression's alone: once while it stays
        nodes = env.node_count()
        x = policy.state(features, settings.node_budget, nodes - start_nodes)
        p = policy.probabilities(x)
        skip = (tried | env.banned) if walking else env.banned  # no rule approves these
        if batched:
            chunks = settings.walk_chunks(np.asarray(p), skip)
        else:
            approved = settings.approve(np.asarray(p), rng, sample, skip)
            chunks = [np.flatnonzero(approved)] if approved.any() else []
        t2 = time.perf_counter()
        clock["extract"] += t1 - t0
        clock["policy"] += t2 - t1
        eligible = ~skip if skip.any() else None
        p32 = np.asarray(p, np.float32)
        decision = EpochDecisions(x, p32, np.zeros(len(p), bool), best_cost, nodes, eligible)
        decisions.append(decision)  # its approvals are marked as its rules are sent below
        if walking and not chunks:
            break  # the walk ends in this state: a decision too (nothing more to try)
        epochs += 1
        extractions.append(best)
        chosen: list[int] = []
        matches: list[int] = []
        for chunk in chunks:
            if chosen and env.node_count() >= settings.node_budget:
                break  # a state's whole walk stops between its chunks at the node budget
            decision.approved[chunk] = True
            chosen += chunk.tolist()
            matches += env.apply_rules(chunk.tolist())
        tried |= decision.approved
        for index, count in zip(chosen, matches, strict=True):
            if count > 0:
                applied.append(rules[index].name)
            steps.append(
                TrajectoryStep(
                    accumulator_state=x,
                    rule_embedding=policy.rule_embedding(index),
                    rule_idx=index,
                    action_probability=float(p[index]),
                    matched=count > 0,
                    approved=True,
                )
            )
        clock["apply"] += time.perf_counter() - t2
        stalled = 0 if any(matches) or walking else stalled + 1
        if env.node_count() >= settings.node_budget:
            break
        if settings.time_limit_s and time.perf_counter() - start >= settings.time_limit_s:
            break
    t0 = time.perf_counter()
    final, static_final = env.extract()
    nodes = env.node_count()
    clock["extract"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    searched = t0 - start
    choice = fastest(seed, [*extractions, final], ranges, settings, meter, env.check)
    clock["measure"] += time.perf_counter() - t0
    outcome = RunOutcome(
        None, None, applied, nodes, epochs, clock, final, choice.final_error, choice, len(steps),
        env.rollbacks,
    )  # fmt: skip
    if choice.final_disagreement:
        outcome.dropped = choice.final_disagreement
        return outcome
    costs = (choice.seed_ns, choice.final_ns)
    if not all(math.isfinite(c) and c > 0 for c in costs):
        outcome.dropped = f"non-finite or zero measured cost {costs}"
        return outcome
    outcome.trajectory = Trajectory(
        trajectory_id=trajectory_id,
        seed_expr=seed.text,
        steps=steps,
        final_cost_ns=costs[1],
        initial_cost=model.cost(seed),
        final_cost=static_final,
        initial_cost_ns=costs[0],
        decisions=decisions,
        egraph_nodes=nodes,
        node_budget=settings.node_budget,
        search_seconds=searched,
    )
    return outcome
