"""The runner's settings (``selfplay.runner`` in conf), shared by the runner, the
semantic check and the choice of the fastest candidate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from src.config import settings_from_config

APPROVALS = ("sample", "threshold", "top_k")
WALK_RESTARTS = ("cost", "expression")


@dataclass(frozen=True)
class RunnerSettings:
    """``selfplay.runner`` in conf."""

    max_steps: int
    stall_epochs: int
    patience: int  # stop after this many epochs that did not lower the extracted cost; 0: off
    threshold: float
    node_budget: int
    fold_constants: bool  # constant folding in the search's e-graph (EGraphEnv)
    check_elements: int
    check_seed: int
    check_rtol: float
    check_input_error_factor: float
    check_abs_floor: float
    min_checked: float
    max_candidates: int
    spread_max_nodes: int  # a seed of more DAG nodes measures its final extraction alone; 0: off
    time_limit_s: float  # a search stops after the epoch that passes this; 0: no limit
    approval: str  # evaluation's rule: sample (as training), threshold (p > threshold) or top_k
    top_k: int  # top_k approves this many rules of highest p; 0: round(sum of p)
    sample_seed: int  # sample: with the expression's text, seeds the search's draws
    walk_down: bool  # never re-approve a rule in a state it was approved in (any approval rule)
    walk_restart: str  # a new state: the extracted expression (expression) or its cost changes
    batch_walk_nodes: int  # a seed of more DAG nodes takes a state's whole walk per epoch; 0: off
    check_states: bool  # check each new extracted expression; go back from one that fails

    def __post_init__(self) -> None:
        if self.approval not in APPROVALS:
            raise ValueError(
                f"selfplay.runner.approval must be one of {', '.join(APPROVALS)}, "
                f"not {self.approval!r}"
            )
        if self.walk_restart not in WALK_RESTARTS:
            raise ValueError(
                f"selfplay.runner.walk_restart must be one of {', '.join(WALK_RESTARTS)}, "
                f"not {self.walk_restart!r}"
            )
        if self.top_k < 0 or self.patience < 0:
            raise ValueError("selfplay.runner.top_k and patience must be at least 0")
        if self.max_candidates < 1:
            raise ValueError("selfplay.runner.max_candidates must be at least 1 (the final answer)")
        if self.spread_max_nodes < 0:
            raise ValueError("selfplay.runner.spread_max_nodes must be at least 0 (0: no limit)")
        if self.batch_walk_nodes < 0:
            raise ValueError("selfplay.runner.batch_walk_nodes must be at least 0 (0: off)")

    def candidates_for(self, seed_nodes: int) -> int:
        """How many extractions the answer of a seed of ``seed_nodes`` DAG nodes is chosen
        from: ``max_candidates``, or the final one alone for a seed over
        ``spread_max_nodes``, whose every candidate costs a compile in proportion to its
        size and where an earlier extraction is rarely the faster."""
        if self.spread_max_nodes and seed_nodes > self.spread_max_nodes:
            return 1
        return self.max_candidates

    def batches_walk(self, seed_nodes: int, sample: bool) -> bool:
        """Whether a search from a seed of ``seed_nodes`` DAG nodes takes each state's
        whole walk in one epoch (``walk_chunks``): a walking search by a deterministic
        approval rule, from a seed over ``batch_walk_nodes``. On such a seed each epoch's
        extraction costs in proportion to the e-graph, and the walk took tens of epochs,
        restarting in each new state, where saturation takes two or three iterations
        (docs/training.md, 2026-12-05, night). Medium seeds lose by it: their answers come
        from the walk's restarts."""
        return (
            self.walk_down
            and not sample
            and self.approval != "sample"
            and bool(self.batch_walk_nodes)
            and seed_nodes > self.batch_walk_nodes
        )

    def walk_chunks(self, p: np.ndarray, tried: np.ndarray) -> list[np.ndarray]:
        """The approvals, epoch by epoch, of a walk down the ranking in one state whose
        probabilities ``p`` stay as they are: each the rule indices ``approve`` gives once
        the earlier ones are tried (none marked in ``tried``), until it approves none.
        While the policy's input is the state's expression alone, its probabilities do
        not change within a state, so these are the walk's own epochs there."""
        if self.approval == "sample":
            raise ValueError("walk_chunks replays a deterministic approval rule, not sample")
        tried, chunks = tried.copy(), []
        unused = np.random.default_rng(0)  # top_k and threshold draw nothing
        while (approved := self.approve(p, unused, False, tried)).any():
            chunks.append(np.flatnonzero(approved))
            tried |= approved
        return chunks

    def approve(
        self,
        p: np.ndarray,
        rng: np.random.Generator,
        sample: bool = False,
        tried: np.ndarray | None = None,
    ) -> np.ndarray:
        """Approvals of the probabilities ``p``: each rule with probability p, a
        Bernoulli draw from ``rng`` (``sample``, training's rule, or approval ``sample``);
        p > threshold; or the ``top_k`` rules of highest p (``round(sum(p))`` of them
        when 0: as many as sampling approves on average), ties to the lower index. None of
        them approves a rule marked in ``tried`` (the runner's walk down the ranking,
        ``walk_down``); sampling draws for every rule all the same."""
        fresh = np.ones(len(p), dtype=bool) if tried is None else ~tried
        if sample or self.approval == "sample":
            return (rng.random(len(p)) < p) & fresh
        if self.approval == "threshold":
            return (p > self.threshold) & fresh
        count = self.top_k or round(float(np.sum(p[fresh])))
        ranked = [k for k in np.argsort(-p, kind="stable") if fresh[k]]
        approved = np.zeros(len(p), dtype=bool)
        approved[ranked[:count]] = True
        return approved

    def approvals(self, p: np.ndarray) -> int:
        """How many rules ``approve`` approves of ``p`` (on average, for sample)."""
        if self.approval == "sample":
            return round(float(np.sum(p)))
        return int(self.approve(p, np.random.default_rng(0)).sum())


def runner_settings_from(node: Mapping, where: str) -> RunnerSettings:
    """The runner's settings of the config ``node`` (``where``: its name for errors).
    ValueError for a key no setting has: a misspelt or retired knob would otherwise be
    ignored without a word."""
    unknown = sorted(set(node) - {field.name for field in fields(RunnerSettings)})
    if unknown:
        raise ValueError(f"config {where}: {unknown}: not selfplay.runner settings")
    return settings_from_config(RunnerSettings, node, where)
