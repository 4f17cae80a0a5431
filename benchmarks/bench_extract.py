"""Extraction, old against new: the pure-Python reference (src/selfplay/
extraction_reference.py) and the compiled one (src/selfplay/extraction.py) on e-graphs
of about 1k, 10k and 50k e-nodes.

Run: .venv/bin/python benchmarks/bench_extract.py [--sizes 1000 10000 50000] [--repeats N]

Each e-graph grows as in bench_egraph.py: from a BwdGenerator pair's junk side by random
rule applications (node budget 10x the target), a pair that stops growing being replaced
by the next, and one whose junk side has fewer than ``--min-dag-nodes`` DAG nodes skipped
(the root's DAG should not be trivial). The back-off match limit is raised to half the
target (at the default, 2000, no pair reaches 50k). Both extractions then run on the
same e-graph, interleaved (old, new, old, new, ...), each the median of ``--repeats``
calls, after a first call of the new one that pays for numba's compile (or its cache
load), printed once. The new one's time is split into freeze / flatten (reading the
rows, building the arrays) / compiled passes / rebuilding the Expr. Costs: the old one's
as the static cost of its expression (what it reports can differ: see
extraction_reference), and the new one's.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
from egglog import bindings as egg
from timing import call_times

from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.expr import parse_infix
from src.selfplay import extraction, extraction_reference
from src.selfplay.egraph import EGraphEnv
from src.selfplay.rules import RULES

_SPAN = egg.PanicSpan()
_STALL = 300  # applications without growth after which a pair is given up


def _grown(target: int, min_dag: int, rng: np.random.Generator) -> tuple[EGraphEnv, str]:
    """An e-graph of at least ``target`` e-nodes, grown from a junk side of at least
    ``min_dag`` DAG nodes, and how it was grown."""
    model = default_static_model()
    generator = BwdGenerator(default_generator_settings(), RULES, model)
    match_limit = max(2000, target // 2)
    start, tried = time.perf_counter(), 0
    while True:
        index = int(rng.integers(1_000_000))
        tried += 1
        _, junk, _ = generator.pair(index)
        if junk.dag_nodes < min_dag:
            continue
        env = EGraphEnv(junk, RULES, model, 10 * target, match_limit)
        nodes, applied, grew = env.node_count(), 0, 0
        while nodes < target and applied - grew <= _STALL:
            env.apply(int(rng.integers(len(RULES))))
            applied += 1
            if env.node_count() > nodes:
                nodes, grew = env.node_count(), applied
        if nodes >= target:
            return env, (
                f"pair {index} (junk side {junk.dag_nodes} DAG nodes; {tried} pair(s) tried), "
                f"{applied} random rule applications, match limit {match_limit}, "
                f"{time.perf_counter() - start:.0f} s"
            )


def _root(env: EGraphEnv) -> egg.Value:
    return env._graph.eval_expr(egg.Var(_SPAN, env._root))[1]


def _median_ms(times: list[float]) -> float:
    return float(np.median(times)) * 1e3


def _first_call_seconds() -> float:
    env = EGraphEnv(parse_infix("x * y + 1"), RULES, default_static_model(), 100)
    start = time.perf_counter()
    extraction.extract_best(env._graph, _root(env), env._costs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-dag-nodes", type=int, default=10, help="of the junk side")
    args = parser.parse_args()
    print(f"first call of the new extraction (numba compile or cache load): "
          f"{_first_call_seconds():.2f} s, not in the timings")  # fmt: skip
    model = default_static_model()
    rng = np.random.default_rng(0)
    header = (
        f"{'target':>7} {'e-nodes':>8} {'classes':>8} {'old ms':>9} {'new ms':>8} "
        f"{'old/new':>8} {'old cost':>10} {'new cost':>10}   new split: freeze / flatten / "
        "compiled / rebuild ms"
    )
    rows, never_costlier = [], True
    for target in args.sizes:
        env, how = _grown(target, args.min_dag_nodes, rng)
        print(f"~{target}: {how}")
        graph, root, costs = env._graph, _root(env), env._costs
        old_call = partial(extraction_reference.extract_best, graph, root, costs)
        new_call = partial(extraction.extract_best, graph, root, costs)
        old_times, new_times = [], []
        split: dict[str, list[float]] = {"freeze": [], "flatten": [], "compiled": [], "rebuild": []}
        for _ in range(args.repeats):
            times, (old, _) = call_times(old_call, 1)
            old_times += times
            times, (new, new_cost) = call_times(new_call, 1)
            new_times += times
            times, frozen = call_times(graph.freeze, 1)
            split["freeze"] += times
            times, flat = call_times(partial(extraction.flatten, graph, root, costs, frozen), 1)
            split["flatten"] += times
            times, (order, _) = call_times(partial(extraction.choose, flat), 1)
            split["compiled"] += times
            split["rebuild"] += call_times(partial(extraction.rebuild, graph, flat, order), 1)[0]
        old_cost = model.cost(old)
        never_costlier &= new_cost <= old_cost * (1 + 1e-9)
        nodes, classes = env.size()
        old_ms, new_ms = _median_ms(old_times), _median_ms(new_times)
        rows.append(
            f"{target:>7} {nodes:>8} {classes:>8} {old_ms:>9.1f} {new_ms:>8.2f} "
            f"{old_ms / new_ms:>7.1f}x {old_cost:>10.4f} {new_cost:>10.4f}   "
            + " / ".join(f"{_median_ms(t):.2f}" for t in split.values())
            + f"  (root DAG {new.dag_nodes} nodes)"
        )
    print(header, *rows, sep="\n")
    print(f"new cost <= old cost on every e-graph: {'yes' if never_costlier else 'NO'}")


if __name__ == "__main__":
    main()
