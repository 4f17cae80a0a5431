"""Wall time per expression of the guided search (random policy and the shipped guide)
against egglog saturation at the same e-node budget, with the guided search's split:
extraction, rule application, the policy, the final paired measurement.

Run: .venv/bin/python benchmarks/bench_search.py [--fpcore N] [--scenes N]

Two suites: FPBench corpus kernels (``--fpcore`` of them, every k-th by size, up to
``--fpcore-max-dag-nodes``), and large SDF-scene kernels of 500+ DAG nodes: the corpus's
own Fidget scenes in that range plus ``--scenes`` generated ones (src/data/scenes.py,
``data.scenes``). Budgets are the runner's (``selfplay.runner``: epochs, node budget)
and the saturation baseline's limits with the same node budget and time limit
(``benchmarks/evaluation_setup.py``: as ``evaluate.py`` compares them at one budget; its
guide is the one timed, and the random policy approves ``--random-rules-per-epoch``).
Each method runs on each expression in turn, so a slow phase of the machine hits them
alike; the median and the mean are printed per suite with the ratios guided / saturation
(at most 1 means the guided search is no slower; ``evaluate.py`` reports the mean). Each
method runs once, untimed, on a small scene first (compiles and caches load there). Each
speedup is the guarded answer's; "raw" is the final extraction's own.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from evaluation_setup import evaluation_setup

from src.cost.measure import default_meter
from src.cost.static import default_static_model
from src.data.corpus import load_corpus
from src.data.scenes import SceneGenerator, default_scene_settings
from src.expr import Expr
from src.selfplay.rules import RULES
from src.selfplay.runner import RUNNER_PHASES, run_trajectory
from src.unified.search import RandomPolicy, actor_policy, resolve_checkpoint, saturated

SCENES = SceneGenerator(default_scene_settings())


def cases(args: argparse.Namespace) -> dict[str, list[tuple[str, Expr, dict]]]:
    kernels, _ = load_corpus()
    numeric = sorted(
        (k for k in kernels if k.body.sort == "num"), key=lambda k: (k.body.dag_nodes, k.name)
    )
    small = [k for k in numeric if k.body.dag_nodes <= args.fpcore_max_dag_nodes]
    step = max(1, len(small) // max(1, args.fpcore))
    fpcore = [(k.name[:40], k.body, dict(k.ranges)) for k in small[::step][: args.fpcore]]
    large = [
        (k.name[:40], k.body, dict(k.ranges))
        for k in numeric
        if 500 <= k.body.dag_nodes <= args.scene_max_dag_nodes
    ]
    for index in range(args.scenes):
        large.append((f"scene-{index}", SCENES.scene(index, 500), SCENES.ranges()))
    return {"fpcore": fpcore, "scenes 500+": large}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fpcore", type=int, default=20)
    parser.add_argument("--fpcore-max-dag-nodes", type=int, default=300)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--scene-max-dag-nodes", type=int, default=1500)
    parser.add_argument("--random-rules-per-epoch", type=int, default=4)
    parser.add_argument("--budget", type=int, help="e-nodes (default: the runner's node budget)")
    parser.add_argument(
        "--policies", nargs="+", choices=["random", "guide"], default=["random", "guide"]
    )
    args = parser.parse_args()
    config, settings, limits = evaluation_setup(args.budget)
    makers = {
        "random": lambda: RandomPolicy(args.random_rules_per_epoch, int(config.random_seed)),
        "guide": lambda: actor_policy(config, resolve_checkpoint(config.ckpt)),
    }
    policies = {name: makers[name]() for name in args.policies}
    model, meter = default_static_model(), default_meter()
    print(f"node budget {settings.node_budget}, {settings.max_steps} epochs, threshold "
          f"{settings.threshold}; saturation limits {limits}")  # fmt: skip
    # one untimed run of each method first: numba's compile (or cache load), LLVM's set-up
    # and the quiet gate's first probes would otherwise land on whichever method runs first
    warm, warm_ranges = SCENES.scene(10_000, 60), SCENES.ranges()
    saturated("warm-up", warm, warm_ranges, limits, settings, model, meter)
    for policy in policies.values():
        run_trajectory(
            warm, warm_ranges, policy, RULES, settings, model, meter,
            np.random.default_rng(0), "warm-up", sample=False,
        )  # fmt: skip
    for suite, found in cases(args).items():
        if not found:
            continue
        walls: dict[str, list[float]] = {m: [] for m in ("saturation", *policies)}
        split = {m: dict.fromkeys(RUNNER_PHASES, 0.0) for m in policies}
        print(f"\n{suite}: {len(found)} expressions")
        for name, expr, ranges in found:
            start = time.perf_counter()
            result = saturated(name, expr, ranges, limits, settings, model, meter)
            walls["saturation"].append(time.perf_counter() - start)
            line = [f"  {name:40} {expr.dag_nodes:5} nodes  saturation "
                    f"{walls['saturation'][-1]:6.2f} s {result.speedup:5.2f}x"]  # fmt: skip
            for method, policy in policies.items():
                start = time.perf_counter()
                outcome = run_trajectory(
                    expr, ranges, policy, RULES, settings, model, meter,
                    np.random.default_rng(0), name, sample=False,
                )  # fmt: skip
                walls[method].append(time.perf_counter() - start)
                for phase in RUNNER_PHASES:
                    split[method][phase] += outcome.seconds[phase]
                choice = outcome.choice
                final = choice.final_ns
                raw = "failed" if final is None else f"{choice.seed_ns / final:.2f}x"
                line.append(f"{method} {walls[method][-1]:6.2f} s "
                            f"{choice.seed_ns / choice.output_ns:5.2f}x (raw {raw})")  # fmt: skip
            print("  ".join(line), flush=True)
        base, mean = float(np.median(walls["saturation"])), float(np.mean(walls["saturation"]))
        print(f"  seconds per expression, median and mean: saturation {base:.2f}, {mean:.2f}")
        for method in policies:
            median, average = float(np.median(walls[method])), float(np.mean(walls[method]))
            parts = ", ".join(f"{p} {s:.1f} s" for p, s in split[method].items())
            print(f"    {method:8} {median:.2f}, {average:.2f}  ({method} / saturation "
                  f"{median / base:.2f}x, {average / mean:.2f}x); in all: {parts}")  # fmt: skip


if __name__ == "__main__":
    main()
