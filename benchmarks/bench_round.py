"""Seconds per phase of rounds of the unified experiment's defaults
(``conf/experiment/unified.yaml``): generate (and, inside it, the runner's e-graph,
policy and measuring time summed over trajectories and workers), export, critique, and
the actor's update.

Run: .venv/bin/python benchmarks/bench_round.py [overrides ...]
     e.g. data.selfplay.trajectories_per_round=20

It runs the same code as ``train.py`` (rounds 0 and 1 from a fresh actor: the critic's
first round trains longer than the later ones, ``critic.train.first_round_epochs``) in a
temporary run directory and prints each phase's seconds and share of each round. As in
train.py, torch and Lightning are imported inside ``main``: the self-play workers are
spawned and re-import this file.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src.config import CONF_DIR
from src.modules.policy import latency_prior
from src.selfplay.rules import RULES
from src.selfplay.runner import RUNNER_PHASES


def main() -> None:
    from src.data.selfplay import SelfPlayDataModule
    from src.modules.actor import ActorModule
    from src.modules.critic.round import RoundCritic

    overrides = ["+experiment=unified", *sys.argv[1:]]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="config", overrides=overrides)
    run_dir = Path(tempfile.mkdtemp(prefix="bench_round_"))
    OmegaConf.update(config, "paths.run_dir", str(run_dir))
    print(f"run directory (trajectories and advantages of both rounds): {run_dir}")
    actor = ActorModule(
        config.actor,
        [(r.lhs, r.rhs) for r in RULES],
        [r.name for r in RULES],
        latency_prior(config),
    )
    critic = RoundCritic(config.critic, actor.shape.input_dim + actor.shape.embed)
    recorded: dict = {}
    data = SelfPlayDataModule(
        config, run_dir, actor.policy, critic, lambda m, h, r: recorded.update(m)
    )
    optimizer = actor.configure_optimizers()
    actor.optimizers = lambda: optimizer
    actor.log_dict = lambda *args, **kwargs: None
    for round_index in (0, 1):
        start = time.perf_counter()
        loader = data.run_round(round_index)
        update_start = time.perf_counter()
        for batch in loader:
            actor.training_step(batch, 0)
        update = time.perf_counter() - update_start
        total = time.perf_counter() - start
        phases = {
            "generate": recorded["time/generate"],
            "export": recorded["time/export"],
            "critique": recorded["time/critique"],
            "update": update,
        }
        print(
            f"round {round_index}: {int(recorded['selfplay/trajectories'])} trajectories kept, "
            f"{int(recorded['selfplay/dropped'])} dropped, {int(recorded['selfplay/steps'])} "
            f"steps, workers {data.workers.count()}"
        )
        for phase, seconds in phases.items():
            print(f"  {phase:9} {seconds:7.1f} s  {100 * seconds / total:5.1f}%")
        for part in RUNNER_PHASES:
            seconds = recorded[f"time/runner_{part}"]
            print(f"    runner {part:8} {seconds:7.1f} s (summed over trajectories)")
        print(f"  total     {total:7.1f} s")
    data.teardown("fit")


if __name__ == "__main__":
    main()
