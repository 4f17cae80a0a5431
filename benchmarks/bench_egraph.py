"""E-graph timings: one rule application and one extraction at e-graphs of about 100,
1k and 10k e-nodes, and the equality-saturation baseline over the FPCore corpus.

Run: .venv/bin/python benchmarks/bench_egraph.py [--max-dag-nodes N]

Each e-graph grows from a BwdGenerator pair's junk side by random rule applications
until it passes the target size (pairs whose e-graph saturates first are skipped); then
rules drawn at random are applied one at a time (the median of 50 is printed) and the
best expression is extracted (median of 5). The saturation baseline runs the limits in
``conf/selfplay/default.yaml`` on every corpus kernel up to ``--max-dag-nodes`` DAG
nodes.
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import call_times

from src.config import default_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.data.corpus import load_corpus
from src.selfplay.egraph import EGraphEnv
from src.selfplay.rules import RULES


def _grown(target: int, rng: np.random.Generator, applications: int = 3000) -> EGraphEnv:
    """An e-graph of at least ``target`` e-nodes, grown from BwdGenerator pairs (a pair
    whose e-graph saturates below the target is replaced by the next)."""
    generator = BwdGenerator(default_generator_settings(), RULES, default_static_model())
    while True:
        _, junk, _ = generator.pair(int(rng.integers(1_000_000)))
        env = EGraphEnv(junk, RULES, default_static_model(), node_budget=10 * target)
        for _ in range(applications):
            env.apply(int(rng.integers(len(RULES))))
            if env.node_count() >= target:
                return env


def _median_ms(fn, repeats: int) -> float:
    return float(np.median(call_times(fn, repeats)[0])) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-dag-nodes", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for target in (100, 1000, 10_000):
        env = _grown(target, rng)
        nodes, classes = env.size()
        rule_ms = _median_ms(lambda env=env: env.apply(int(rng.integers(len(RULES)))), 50)
        extract_ms = _median_ms(env.extract, 5)
        print(
            f"e-graph ~{target:>6}: {nodes} nodes, {classes} classes; one rule "
            f"{rule_ms:.2f} ms (median of 50), extraction {extract_ms:.1f} ms (median of 5)"
        )

    limits = default_config().selfplay.saturation
    model = default_static_model()
    kernels, _ = load_corpus()
    chosen = [k for k in kernels if k.body.dag_nodes <= args.max_dag_nodes and k.body.sort == "num"]
    seconds, ratios, stops = [], [], {}
    for kernel in chosen:
        env = EGraphEnv(kernel.body, RULES, model, limits.max_nodes)
        before = model.cost(kernel.body)
        report = env.saturate(
            limits.max_iterations, limits.max_nodes, limits.seconds, limits.match_limit,
            limits.ban_length, limits.iterations_per_check,
        )  # fmt: skip
        _, after = env.extract()
        seconds.append(report.seconds)
        ratios.append(after / before)
        stops[report.stop] = stops.get(report.stop, 0) + 1
    ratios_a = np.array(ratios)
    print(
        f"saturation baseline on {len(chosen)} corpus kernels (<= {args.max_dag_nodes} DAG "
        f"nodes; {len(kernels) - len(chosen)} larger ones skipped): median "
        f"{np.median(seconds):.2f} s, total {np.sum(seconds):.1f} s; stops {stops}"
    )
    print(
        f"  static cost after / before: geometric mean {np.exp(np.mean(np.log(ratios_a))):.3f}, "
        f"median {np.median(ratios_a):.3f}, improved {np.mean(ratios_a < 1 - 1e-9):.0%}"
    )


if __name__ == "__main__":
    main()
