"""JIT compile times, measured costs, their repeatability, and the static model's ranking,
over the whole FPCore corpus.

Run: .venv/bin/python benchmarks/bench_cost.py [--repeats N]

Compile times are cache-cold: a fresh ``Jit`` compiles each distinct kernel once (the
first compile in the process also pays for LLVM's own warm-up, and is counted). Each
kernel is then measured ``--repeats`` times, in separate passes over the whole corpus so
that the repeats are minutes apart rather than back to back; a kernel's spread is
(max - min) / median of its repeats. The static model is compared with the smallest
measured cost by Spearman rank correlation.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from src.cost.check import default_check_settings, jit_error
from src.cost.jit import Jit
from src.cost.measure import CostMeter
from src.cost.static import default_static_model
from src.data.corpus import load_corpus


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranked = np.empty(len(values))
    ranked[order] = np.arange(len(values))
    for value in np.unique(values):
        tied = values == value
        ranked[tied] = ranked[tied].mean()
    return ranked


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    kernels, errors = load_corpus()
    print(f"corpus: {len(kernels)} kernels parse, {len(errors)} do not")
    jit = Jit()
    meter = CostMeter(jit=jit)
    compile_ms = {}
    for kernel in kernels:
        if kernel.body.text not in compile_ms:
            start = time.perf_counter()
            jit.compile(kernel.body)
            compile_ms[kernel.body.text] = (time.perf_counter() - start) * 1e3
    times = np.array(list(compile_ms.values()))
    largest = max(kernels, key=lambda k: k.body.dag_nodes)
    print(
        f"compile (cold, {len(times)} distinct kernels): median {np.median(times):.2f} ms, "
        f"p90 {_pct(times, 90):.2f} ms, max {times.max():.0f} ms"
    )
    print(
        f"largest: {largest.name[:40]!r} ({largest.body.dag_nodes} DAG nodes) "
        f"compiles in {compile_ms[largest.body.text]:.0f} ms"
    )

    check = default_check_settings()
    disagree = []
    for k in kernels:
        error = jit_error(jit.compile(k.body), k.ranges, check)
        if not error <= check.rtol:
            disagree.append(f"{k.name} ({error:.3g})")
    print(
        f"differential check: {len(kernels) - len(disagree)} of {len(kernels)} agree with "
        f"the reference (max relative error <= {check.rtol:g})"
        + (f"; disagree: {', '.join(disagree)}" if disagree else "")
    )

    start = time.perf_counter()
    ns = np.empty((args.repeats, len(kernels)))
    inner = np.empty_like(ns)
    for r in range(args.repeats):
        for i, k in enumerate(kernels):
            result = meter.measure(k.body, k.ranges, fresh=True)
            ns[r, i], inner[r, i] = result.ns_per_element, result.spread_pct
    seconds = time.perf_counter() - start
    spread = np.ptp(ns, axis=0) / np.median(ns, axis=0) * 100
    cost = ns.min(axis=0)
    print(
        f"measure ({args.repeats} passes, {seconds / ns.size * 1e3:.1f} ms per measurement): "
        f"median {np.median(cost):.3g} ns/element (min {cost.min():.3g}, "
        f"max {cost.max():.4g})"
    )
    print(
        f"spread of {args.repeats} repeated measurements: median {np.median(spread):.2f}%, "
        f"p90 {_pct(spread, 90):.2f}%, max {spread.max():.1f}%; spread within one "
        f"measurement: median {np.median(inner):.2f}%"
    )
    worst = np.argsort(spread)[-3:][::-1]
    print("  widest: " + ", ".join(f"{kernels[i].name[:30]!r} {spread[i]:.1f}%" for i in worst))

    model = default_static_model()
    static = np.array([model.cost(k.body) for k in kernels])
    print(f"static model vs measured: Spearman {spearman(static, cost):.3f} over {len(kernels)}")


if __name__ == "__main__":
    main()
