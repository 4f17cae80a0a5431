"""Critic timings: training on 50 trajectories of 200 steps for 50 epochs in padded
batches versus one trajectory at a time (the seed's loop), and the advantage export.

Run: .venv/bin/python benchmarks/bench_critic.py [--trajectories N] [--steps N]
     [--epochs N] [--precision auto|32-true|bf16-mixed] [--one-at-a-time-epochs N]

Both runs use the same code (``fit_critic``) and settings (``conf/critic``), the batch
size aside; one-at-a-time is timed over fewer epochs (``--one-at-a-time-epochs``) and
scaled to ``--epochs``, which is exact up to noise since every epoch does the same work.
The step features are random: the time does not depend on their values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from omegaconf import OmegaConf

from src.config import conf_group
from src.modules.critic.module import (
    CriticData,
    CriticModule,
    advantages,
    fit_critic,
    resolve_precision,
)


def _config(batch_size: int, precision: str):
    return OmegaConf.merge(
        conf_group("critic"), {"train": {"batch_size": batch_size, "precision": precision}}
    )


def _train_seconds(data: CriticData, batch_size: int, precision: str, epochs: int) -> float:
    module = CriticModule(_config(batch_size, precision), data.steps[0].shape[1])
    start = time.perf_counter()
    fit_critic(module, data, epochs=epochs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=50)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--one-at-a-time-epochs", type=int, default=10)
    parser.add_argument("--precision", default=conf_group("critic").train.precision)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = CriticData(
        [
            rng.standard_normal((args.steps, 154)).astype(np.float32)
            for _ in range(args.trajectories)
        ],
        rng.standard_normal(args.trajectories).astype(np.float32),
    )
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
    module = CriticModule(_config(batch_size, precision), 154)
    start = time.perf_counter()
    _, summary = advantages(module, data, normalize=False)
    print(
        f"advantage export ({int(summary['count'])} steps): "
        f"{(time.perf_counter() - start) * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
