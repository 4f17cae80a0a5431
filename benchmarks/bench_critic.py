"""Critic timings: training on 50 trajectories of 200 steps for 50 epochs in padded
batches versus one trajectory at a time (the seed's loop), the advantage export, and one
round of the critic (``RoundCritic``: its first round, then a warm-started one) at the
defaults versus the seed's schedule (50 epochs every round, no early stopping).

Run: .venv/bin/python benchmarks/bench_critic.py [--trajectories N] [--steps N]
     [--epochs N] [--precision auto|32-true|bf16-mixed] [--one-at-a-time-epochs N]

The batched and one-at-a-time runs use the same code (``fit_critic``) and settings
(``conf/critic``, early stopping off), the batch size aside; one-at-a-time is timed over
fewer epochs (``--one-at-a-time-epochs``) and scaled to ``--epochs``, which is exact up
to noise since every epoch does the same work. The step features and rewards are random:
the time does not depend on their values, but random rewards are only learnt by heart,
so the explained variances printed say little about real rounds (docs/training.md has
those).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from omegaconf import OmegaConf

from src.config import conf_group
from src.data.schema import Trajectory, TrajectoryStep
from src.modules.critic.module import (
    CriticData,
    CriticModule,
    advantages,
    fit_critic,
    resolve_precision,
)
from src.modules.critic.round import RoundCritic

WIDTH = 154
# the seed's schedule (docs/training.md): 50 epochs every round, no early stopping
SEED_SCHEDULE = {
    "first_round_epochs": 50,
    "epochs": 50,
    "target_explained_variance": 0,
    "patience": 0,
    "max_steps": 0,
}


def _config(precision: str, **train):
    return OmegaConf.merge(conf_group("critic"), {"train": {"precision": precision, **train}})


def _train_seconds(data: CriticData, batch_size: int, precision: str, epochs: int) -> float:
    config = _config(precision, batch_size=batch_size, **SEED_SCHEDULE)
    module = CriticModule(config, WIDTH)
    start = time.perf_counter()
    fit_critic(module, data, epochs=epochs)
    return time.perf_counter() - start


def _synthetic(rng: np.random.Generator, count: int, steps: int) -> CriticData:
    return CriticData(
        [rng.standard_normal((steps, WIDTH)).astype(np.float32) for _ in range(count)],
        rng.standard_normal(count).astype(np.float32),
    )


def _trajectories(data: CriticData) -> list[Trajectory]:
    """``data`` as trajectories whose reward (log speedup) is ``data.rewards``."""
    result = []
    for i, (steps, reward) in enumerate(zip(data.steps, data.rewards, strict=True)):
        recorded = [TrajectoryStep(row[:130], row[130:], 0, 0.5, True) for row in steps]
        final_ns = float(np.exp(-reward))
        result.append(Trajectory(f"t{i}", "x", recorded, final_ns, 1.0, 1.0, initial_cost_ns=1.0))
    return result


def _rounds(rounds: list[list[Trajectory]], precision: str, **train) -> list[tuple[float, dict]]:
    """(seconds, metrics) of each round of one RoundCritic."""
    critic = RoundCritic(_config(precision, **train), WIDTH)
    result = []
    for index, trajectories in enumerate(rounds):
        start = time.perf_counter()
        _, metrics, _ = critic(index, trajectories)
        result.append((time.perf_counter() - start, metrics))
    return result


def _what(seconds: float, metrics: dict) -> str:
    stops = [k.removeprefix("critic/stopped_") for k, v in metrics.items() if "stopped_" in k and v]
    return (
        f"{seconds:.1f} s ({int(metrics['critic/epochs'])} epochs"
        + (f", stopped: {stops[0]}" if stops else "")
        + f", explained variance {metrics['critic/explained_variance']:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=50)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--one-at-a-time-epochs", type=int, default=10)
    parser.add_argument("--precision", default=conf_group("critic").train.precision)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = _synthetic(rng, args.trajectories, args.steps)
    precision = resolve_precision(args.precision)
    batch_size = conf_group("critic").train.batch_size
    print(
        f"{args.trajectories} trajectories x {args.steps} steps, precision {precision}, "
        f"torch threads {torch.get_num_threads()}"
    )
    batched = _train_seconds(data, batch_size, precision, args.epochs)
    print(f"batched (batch size {batch_size}), {args.epochs} epochs: {batched:.1f} s")
    single = _train_seconds(data, 1, precision, args.one_at_a_time_epochs)
    single *= args.epochs / args.one_at_a_time_epochs
    print(
        f"one at a time, {args.one_at_a_time_epochs} epochs scaled to {args.epochs}: {single:.1f} s"
    )
    print(f"one at a time / batched: {single / batched:.2f}x")
    module = CriticModule(_config(precision), WIDTH)
    start = time.perf_counter()
    _, summary = advantages(module.values(data), data, normalize=False)
    print(
        f"advantage export ({int(summary['count'])} steps): "
        f"{(time.perf_counter() - start) * 1e3:.0f} ms"
    )
    rounds = [_trajectories(data), _trajectories(_synthetic(rng, args.trajectories, args.steps))]
    defaults = _rounds(rounds, precision)
    seed = _rounds(rounds, precision, **SEED_SCHEDULE)
    t = conf_group("critic").train
    print(
        f"one round of the critic, defaults (first_round_epochs {t.first_round_epochs}, "
        f"epochs {t.epochs}, target_explained_variance {t.target_explained_variance}, "
        f"patience {t.patience}, max_steps {t.max_steps}) vs the seed's schedule:"
    )
    for name, ours, theirs in zip(("first round", "later round"), defaults, seed, strict=True):
        print(
            f"  {name}: defaults {_what(*ours)}, seed {_what(*theirs)}; "
            f"seed / defaults: {theirs[0] / ours[0]:.1f}x"
        )


if __name__ == "__main__":
    main()
