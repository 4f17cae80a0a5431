"""One self-play trajectory, as a worker process runs it: the round's seed expression
(a corpus kernel or a BwdGenerator pair's junk side) and the runner with the actor's
numpy snapshot. Kept apart from the data module so that a worker imports neither torch
nor Lightning (seconds of start-up per worker, every run)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import numpy as np
from omegaconf import OmegaConf

from src.cost.measure import CostMeter, meter_from_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.data.corpus import load_corpus
from src.expr.settings import default_range
from src.selfplay.rules import RULES
from src.selfplay.runner import Policy, RunnerSettings, RunOutcome, run_trajectory


@dataclass(frozen=True)
class RolloutTask:
    round_index: int
    index: int
    seed: int
    corpus_fraction: float
    corpus_max_dag_nodes: int
    runner: RunnerSettings
    policy: Policy
    cost: str  # the run's ``cost`` config group as JSON (the worker's meter follows it)


@cache
def _corpus(max_dag_nodes: int) -> tuple:
    kernels, _ = load_corpus()
    return tuple(k for k in kernels if k.body.dag_nodes <= max_dag_nodes and k.body.sort == "num")


@cache
def _meter(cost: str) -> CostMeter:
    """One meter per worker process and cost config (its timings and kernels persist)."""
    return meter_from_config(OmegaConf.create(json.loads(cost)))


@cache
def _generator() -> BwdGenerator:
    return BwdGenerator(default_generator_settings(), RULES, default_static_model())


def _seed_of(task: RolloutTask, rng: np.random.Generator) -> tuple:
    """(expression, ranges, name) for the task: a corpus kernel with probability
    ``corpus_fraction``, else the junk side of a BwdGenerator pair."""
    corpus = _corpus(task.corpus_max_dag_nodes) if task.corpus_fraction > 0 else ()
    if corpus and rng.random() < task.corpus_fraction:
        kernel = corpus[int(rng.integers(len(corpus)))]
        return kernel.body, kernel.ranges, kernel.name
    pair = int(rng.integers(2**31))
    _, junk, _ = _generator().pair(pair)
    ranges = {name: default_range() for name in junk.variables}
    return junk, ranges, f"bwd-{pair}"


def run_task(task: RolloutTask) -> tuple[RunOutcome, str]:
    """One trajectory of a round (in a worker process, or in this one)."""
    rng = np.random.default_rng([task.seed, task.round_index, task.index])
    expr, ranges, name = _seed_of(task, rng)
    outcome = run_trajectory(
        expr,
        ranges,
        task.policy,
        RULES,
        task.runner,
        default_static_model(),
        _meter(task.cost),
        rng,
        trajectory_id=f"r{task.round_index:03d}-{task.index:03d}",
    )
    return outcome, name
