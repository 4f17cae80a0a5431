"""Never slower, checked afresh: saturation and the shipped guide on every FPBench corpus
kernel up to ``--max-dag-nodes`` DAG nodes, then a new paired comparison of each answer
against its input, independent of the one that chose it.

Run: .venv/bin/python benchmarks/bench_guard.py [--max-dag-nodes N]

Prints, per method, how many answers the fresh comparison finds slower than the input
beyond its noise margin (the goal: none), the worst fresh speedup, and, beside them, how
many raw final extractions measured slower than the input in the search's own comparison
(what a user would have got without the guard).
"""

from __future__ import annotations

import argparse
import math

from evaluation_setup import evaluation_setup

from src.cost.measure import default_meter
from src.data.corpus import load_corpus
from src.unified.search import actor_policy, guided, resolve_checkpoint, saturated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-dag-nodes", type=int, default=300)
    args = parser.parse_args()
    config, settings, limits = evaluation_setup()
    guide = actor_policy(config, resolve_checkpoint(config.ckpt))
    meter = default_meter()
    kernels, _ = load_corpus()
    kernels = [
        k for k in kernels if k.body.sort == "num" and k.body.dag_nodes <= args.max_dag_nodes
    ]
    methods = {
        "saturation": lambda k: saturated(k.name, k.body, k.ranges, limits, settings),
        "guide": lambda k: guided(k.name, k.body, k.ranges, guide, settings),
    }
    print(f"{len(kernels)} corpus kernels up to {args.max_dag_nodes} DAG nodes")
    for method, run in methods.items():
        slower, raw_slower, changed, worst = [], 0, 0, (math.inf, "")
        for kernel in kernels:
            result = run(kernel)
            if result.raw_speedup is not None and result.raw_speedup < 1.0:
                raw_slower += 1
            if result.output is result.input:
                continue
            changed += 1
            fresh = meter.compare([result.input, result.output], kernel.ranges)
            speedup = fresh.costs[1].speedup
            worst = min(worst, (speedup, kernel.name))
            if fresh.slower(1):
                slower.append(f"{kernel.name[:40]} {speedup:.3f}x")
        shown = f"{worst[0]:.3f}x ({worst[1][:40]})" if changed else "none"
        print(
            f"{method}: {changed} answers differ from their input; fresh comparison finds "
            f"{len(slower)} slower beyond the margin; worst fresh speedup {shown}; raw final "
            f"extraction slower than the input for {raw_slower}"
        )
        for line in slower:
            print(f"  slower: {line}")


if __name__ == "__main__":
    main()
