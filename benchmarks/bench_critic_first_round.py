"""The critic's first round at several epoch counts: seconds, and the explained variance
(eval mode, what the advantages use) on the round it trained on and on the next round,
which it never saw.

Run: .venv/bin/python benchmarks/bench_critic_first_round.py RUN_DIR [--epochs 5 10]
     [--seeds 0 1 2]

RUN_DIR holds trajectories_r000 and trajectories_r001 (.jsonl or .jsonl.gz) of a run of
``+experiment=unified``, for example the temporary directory bench_round.py prints. The
critic is the experiment's (``conf/critic``), trained as a fresh critic's first round
with ``critic.train.first_round_epochs`` set to each count and ``critic.train.seed`` to
each seed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

from src.config import CONF_DIR
from src.data.schema import Trajectory, read_trajectories
from src.modules.critic.module import CriticData
from src.modules.critic.round import RoundCritic


def _round(run_dir: Path, index: int) -> list[Trajectory]:
    for suffix in (".jsonl.gz", ".jsonl"):
        path = run_dir / f"trajectories_r{index:03d}{suffix}"
        if path.exists():
            return list(read_trajectories(path))
    raise SystemExit(f"error: {run_dir} has no trajectories_r{index:03d}.jsonl[.gz]")


def explained_variance(critic: RoundCritic, trajectories: list[Trajectory]) -> float:
    data = CriticData.from_trajectories(trajectories, critic.config["reward"])
    values = np.concatenate(critic.module.values(data))
    rewards = np.concatenate(
        [np.full(len(s), r) for s, r in zip(data.steps, data.rewards, strict=True)]
    )
    return float(1 - np.var(rewards - values) / np.var(rewards))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    trained_on, held_out = _round(args.run_dir, 0), _round(args.run_dir, 1)
    first = trained_on[0].steps[0]
    width = first.accumulator_state.size + first.rule_embedding.size
    steps = sum(len(t.steps) for t in trained_on)
    print(f"round 0: {len(trained_on)} trajectories, {steps} steps; round 1 held out")
    print(f"{'epochs':>6} {'seed':>4} {'seconds':>8} {'EV round 0':>11} {'EV round 1':>11}")
    for epochs in args.epochs:
        for seed in args.seeds:
            overrides = [
                "+experiment=unified",
                f"critic.train.first_round_epochs={epochs}",
                f"critic.train.seed={seed}",
            ]
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
                config = compose(config_name="config", overrides=overrides)
            critic = RoundCritic(config.critic, width)
            start = time.perf_counter()
            critic(0, trained_on)
            seconds = time.perf_counter() - start
            print(
                f"{epochs:>6} {seed:>4} {seconds:>8.1f} "
                f"{explained_variance(critic, trained_on):>11.3f} "
                f"{explained_variance(critic, held_out):>11.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
