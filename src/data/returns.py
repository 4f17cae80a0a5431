"""What a trajectory earned, and which of its steps earned it: the return the critic
learns and the advantages are taken against (``critic`` in conf: ``reward``, ``target``,
``budget_weight``, ``time_weight``, ``discount``).

The episode's return prices the budget it spent:

    R = r_T - budget_weight * (n_T - n_0) / B - time_weight * seconds

with r_T the terminal reward (``log_speedup``: ln of the paired-measured speedup), n_0
and n_T the e-graph's e-nodes before the first epoch and at the end, B the search's
node budget, and ``seconds`` the search's wall time. A rule application never makes the
extracted cost worse, so without the growth term the best policy is saturation.

Each step's target is its epoch's return:

- ``terminal`` (the seed's): every step's target is R.
- ``progress``: G_e = sum over k >= e of discount^(k - e) r_k, plus m. Epoch k's own
  reward r_k = ln(c_k / c_{k+1}) - budget_weight * (n_{k+1} - n_k) / B is what it did to
  the static cost c of the extraction and to the e-nodes n (c_E, n_E: the final ones);
  m = R - sum of all r_k is the part of R no epoch accounts for (the measured speedup
  against the static estimate, and the time), credited to every epoch alike. With
  discount 1, G_0 = R and G_e = R less what the epochs before e earned; a lower
  discount credits an epoch mostly with its own progress, which a rule approved in it
  made (lower variance, less credit for enabling a later rewrite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from src.data.schema import REWARDS, SchemaError, Trajectory, terminal_reward

TARGETS = ("terminal", "progress")


@dataclass(frozen=True)
class ReturnSettings:
    """The return's keys of ``critic`` in conf."""

    reward: str  # the terminal reward: log_speedup or neg_cost_ns (the seed's)
    target: str  # each step's target: terminal (the seed's) or progress
    budget_weight: float  # the price of growing the e-graph by its whole node budget
    time_weight: float  # the price of one second of search
    discount: float  # progress: the weight of each later epoch's reward, per epoch

    def __post_init__(self) -> None:
        if self.reward not in REWARDS or self.target not in TARGETS:
            raise ValueError(
                f"config critic: reward must be one of {', '.join(REWARDS)} and "
                f"target one of {', '.join(TARGETS)}, not {self.reward!r} and {self.target!r}"
            )
        if self.budget_weight < 0 or self.time_weight < 0 or not 0 <= self.discount <= 1:
            raise ValueError(
                "config critic: budget_weight and time_weight must be >= 0, discount in [0, 1]"
            )
        if self.target == "progress" and self.reward != "log_speedup":
            raise ValueError(
                "config critic: target progress is in log-speedup units; it needs reward "
                "log_speedup (the seed's return: target terminal, budget_weight 0)"
            )


def _need(trajectory: Trajectory, what: str, ok: bool) -> None:
    if not ok:
        raise SchemaError(f"trajectory {trajectory.trajectory_id!r}: the return needs {what}")


def growth(trajectory: Trajectory) -> float:
    """(n_T - n_0) / B: the share of its node budget the search grew the e-graph by."""
    _need(
        trajectory,
        "'egraph_nodes' and 'node_budget' (a budget_weight is set)",
        trajectory.egraph_nodes is not None and bool(trajectory.node_budget),
    )
    first = trajectory.decisions[0].egraph_nodes if trajectory.decisions else None
    start = trajectory.egraph_nodes if first is None else first  # no epoch: no growth
    return (trajectory.egraph_nodes - start) / trajectory.node_budget


def episode_return(trajectory: Trajectory, settings: ReturnSettings) -> float:
    """R of the module docstring."""
    value = terminal_reward(trajectory, settings.reward)
    if settings.budget_weight:
        value -= settings.budget_weight * growth(trajectory)
    if settings.time_weight:
        _need(
            trajectory,
            "'search_seconds' (a time_weight is set)",
            trajectory.search_seconds is not None,
        )
        value -= settings.time_weight * trajectory.search_seconds
    return value


def epoch_returns(trajectory: Trajectory, settings: ReturnSettings) -> np.ndarray:
    """G_e for each epoch of ``trajectory`` (one per ``decisions`` entry)."""
    total = episode_return(trajectory, settings)
    epochs = trajectory.decisions
    if settings.target == "terminal":
        return np.full(len(epochs), total, np.float32)
    _need(
        trajectory,
        "each epoch's 'static_cost' and 'egraph_nodes' (target progress)",
        all(d.static_cost is not None and d.egraph_nodes is not None for d in epochs),
    )
    if not epochs:
        return np.zeros(0, np.float32)
    costs = [float(d.static_cost) for d in epochs] + [float(trajectory.final_cost)]
    nodes = [float(d.egraph_nodes) for d in epochs] + [float(trajectory.egraph_nodes or 0)]
    budget = float(trajectory.node_budget or 1)
    own = [
        math.log(costs[k] / costs[k + 1])
        - settings.budget_weight * (nodes[k + 1] - nodes[k]) / budget
        for k in range(len(epochs))
    ]
    unaccounted = total - sum(own)
    returns, later = np.zeros(len(epochs)), 0.0
    for k in reversed(range(len(epochs))):
        later = own[k] + settings.discount * later
        returns[k] = later + unaccounted
    return returns.astype(np.float32)


def step_returns(trajectory: Trajectory, settings: ReturnSettings) -> np.ndarray:
    """Each step's target: its epoch's G_e (steps are the approved rules, epoch by
    epoch); with target terminal and no epochs recorded (the seed's files), R."""
    if not trajectory.decisions:
        _need(
            trajectory,
            "its epochs' decisions for target progress (files in the seed's format: "
            "target terminal)",
            settings.target == "terminal" or not trajectory.steps,
        )
        return np.full(len(trajectory.steps), episode_return(trajectory, settings), np.float32)
    counts = [int(d.approved.sum()) for d in trajectory.decisions]
    if sum(counts) != len(trajectory.steps):
        raise SchemaError(
            f"trajectory {trajectory.trajectory_id!r}: {sum(counts)} approvals in its "
            f"decisions but {len(trajectory.steps)} steps"
        )
    return np.repeat(epoch_returns(trajectory, settings), counts).astype(np.float32)
