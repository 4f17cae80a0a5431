"""Trajectories per second of one self-play round on each backend (``process``, ``ray``)
with 1 and 2 workers, the recipe's settings (``+experiment=unified``).

Run: .venv/bin/python benchmarks/bench_workers.py [overrides ...] [--trajectories N]
     [--workers W ...] [--backends B ...]

Every configuration generates the same round (round 0 from the same fresh actor: the
same seeds and trajectories), twice: the first time pays for starting the workers (a
spawned process or a Ray worker imports the project and compiles its kernels; Ray also
starts itself), the second reuses them, as every later round of a run does. The process
backend with one worker runs the round in this process, as training does. Configurations
run one after another in one process; the machine's slow phases blur single figures, so
compare the warm rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from src.config import CONF_DIR
from src.modules.policy import ActorPolicy, fresh_net, latency_prior
from src.selfplay.rules import RULES
from src.workers import BACKENDS


def main() -> None:
    from src.data.selfplay import SelfPlayDataModule

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", default=["process", "ray"], choices=BACKENDS)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="bench_workers_"))  # generate() writes nothing
    print("| backend | workers | cold: s | cold: trajectories/s | warm: s | warm: trajectories/s |")
    print("|---|---|---|---|---|---|")
    for backend in args.backends:
        for workers in args.workers:
            overrides = [
                "+experiment=unified",
                f"data.selfplay.backend={backend}",
                f"data.selfplay.workers={workers}",
                f"data.selfplay.trajectories_per_round={args.trajectories}",
                *args.overrides,
            ]
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
                config = compose(config_name="config", overrides=overrides)
            net = fresh_net(config.actor, latency_prior(config))
            net.encode_rules([(r.lhs, r.rhs) for r in RULES])
            policy = ActorPolicy(net)
            data = SelfPlayDataModule(config, run_dir, lambda p=policy: p, None)
            seconds = []
            try:
                for _ in range(2):
                    start = time.perf_counter()
                    done = data.generate(0)
                    seconds.append(time.perf_counter() - start)
            finally:
                data.teardown("fit")
            n = len(done)
            print(
                f"| {backend} | {workers} | {seconds[0]:.1f} | {n / seconds[0]:.2f} | "
                f"{seconds[1]:.1f} | {n / seconds[1]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
