"""One self-play trajectory, as a worker process runs it: the round's seed expression
(a corpus kernel, a generated SDF scene, or the junk side of a BwdGenerator pair, composed
to a size of the ladder's buckets ``sizes`` when they are given) and the runner with the
actor's numpy snapshot. Kept apart from the data module so that a worker imports neither torch
nor Lightning (seconds of start-up per worker, every run)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cache

import numpy as np
from omegaconf import OmegaConf

from src.cost.measure import CostMeter, meter_from_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, GeneratorSettings
from src.data.corpus import trainable_kernels
from src.data.ladder import SizeLadder
from src.data.scenes import MIN_DAG_NODES, SceneGenerator, SceneSettings
from src.expr.settings import default_range
from src.selfplay.rules import RULES
from src.selfplay.runner import Policy, RunnerSettings, RunOutcome, run_trajectory


@dataclass(frozen=True)
class RolloutTask:
    round_index: int
    index: int
    seed: int
    corpus_fraction: float
    corpus_holdout: float  # the corpus's held-out share (``corpus.trainable``)
    corpus_validation: float  # its validation band's share (``corpus.validates``)
    corpus_max_dag_nodes: int
    scene_fraction: float
    sizes: tuple[str, ...]  # size buckets of composed pairs and scenes; () plain pairs
    runner: RunnerSettings
    budgets: tuple[int, ...]  # the episode's e-node budget is drawn from these; () the runner's
    cost: str  # the run's ``cost`` config group as JSON (the worker's meter follows it)
    data: str  # the run's ``data`` config group as JSON (its generators follow it)


@cache
def _meter(cost: str) -> CostMeter:
    """One meter per worker process and cost config (its timings and kernels persist)."""
    return meter_from_config(OmegaConf.create(json.loads(cost)))


@dataclass(frozen=True)
class _Sources:
    """Where a worker's seeds come from, built from the run's ``data`` config."""

    pairs: BwdGenerator
    scenes: SceneGenerator
    ladder: SizeLadder
    compose_ops: tuple[str, ...]
    max_pieces: int


@cache
def _sources(data: str) -> _Sources:
    """One set per worker process and data config."""
    config = OmegaConf.create(json.loads(data))
    return _Sources(
        BwdGenerator(GeneratorSettings.from_config(config.bwd), RULES, default_static_model()),
        SceneGenerator(SceneSettings.from_config(config.scenes)),
        SizeLadder.from_config(config.ladder),
        tuple(str(op) for op in config.compose.ops),
        int(config.compose.max_pieces),
    )


def _target(
    ladder: SizeLadder, sizes: tuple[str, ...], rng: np.random.Generator, fewest: int = 1
) -> int:
    """A size drawn uniformly from one of the buckets ``sizes`` (all of the ladder's when
    empty) that reach ``fewest`` DAG nodes."""
    buckets = [b for b in sizes or ladder.names if ladder.span(b)[1] >= fewest]
    if not buckets:
        raise ValueError(f"data.selfplay.sizes {list(sizes)}: no bucket reaches {fewest} nodes")
    return ladder.draw(buckets[int(rng.integers(len(buckets)))], rng, fewest)


def _seed_of(task: RolloutTask, rng: np.random.Generator) -> tuple:
    """(expression, ranges, name) for the task: a corpus kernel with probability
    ``corpus_fraction``, else a scene with probability ``scene_fraction``, else the junk
    side of a BwdGenerator pair (composed to a size of ``sizes`` when given)."""
    fraction = task.corpus_fraction
    corpus = (
        trainable_kernels(task.corpus_holdout, task.corpus_max_dag_nodes, task.corpus_validation)
        if fraction > 0
        else ()
    )
    if corpus and rng.random() < task.corpus_fraction:
        kernel = corpus[int(rng.integers(len(corpus)))]
        return kernel.body, kernel.ranges, kernel.name
    sources = _sources(task.data)
    index = int(rng.integers(2**31))
    if task.scene_fraction > 0 and rng.random() < task.scene_fraction:
        size = _target(sources.ladder, task.sizes, rng, fewest=MIN_DAG_NODES)
        return sources.scenes.scene(index, size), sources.scenes.ranges(), f"scene-{index}"
    if task.sizes:
        size = _target(sources.ladder, task.sizes, rng)
        _, junk, _ = sources.pairs.composed(index, size, sources.compose_ops, sources.max_pieces)
        name = f"composed-{index}"
    else:
        _, junk, _ = sources.pairs.pair(index)
        name = f"bwd-{index}"
    return junk, {v: default_range() for v in junk.variables}, name


def run_task(policy: Policy, task: RolloutTask) -> tuple[RunOutcome, str]:
    """One trajectory of a round with the round's actor snapshot ``policy`` (in a worker,
    which gets the snapshot once per round from the Ray backend, or in this process)."""
    rng = np.random.default_rng([task.seed, task.round_index, task.index])
    expr, ranges, name = _seed_of(task, rng)
    runner = task.runner
    if task.budgets:
        budget = task.budgets[int(rng.integers(len(task.budgets)))]
        runner = dataclasses.replace(runner, node_budget=budget)
    outcome = run_trajectory(
        expr,
        ranges,
        policy,
        RULES,
        runner,
        default_static_model(),
        _meter(task.cost),
        rng,
        trajectory_id=f"r{task.round_index:03d}-{task.index:03d}",
    )
    return outcome, name
