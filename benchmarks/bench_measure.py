"""Repeatability of measured speedups: paired (``CostMeter.compare``) against unpaired
(two separate ``measure`` calls), over the FPCore corpus.

Run: .venv/bin/python benchmarks/bench_measure.py [--kernels N] [--rounds R] [--group-ms G]

Each kernel's candidate is its expression after one application of every rule in the
e-graph, extracted by the static model: a cheap, semantics-preserving variant, often a
different kernel, and the kernel itself where no rewrite makes it cheaper (those pairs
have a true speedup of 1). The speedup of the candidate over the input is measured in
two passes over the kernels, minutes apart; per kernel and method the figure is
|ln(speedup in pass 1 / speedup in pass 2)|. Both paired estimators (the median of the
per-round ratios and the ratio of the fastest rounds) are scored on the same timings.
The margin line says how often the two passes differ by more than their combined noise
margins (sqrt(m1^2 + m2^2)): near 5% when margin_z = 2 describes the noise well.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from src.cost.measure import CostMeter
from src.cost.paired import ESTIMATORS, default_paired_settings, speedups
from src.cost.static import default_static_model
from src.data.corpus import load_corpus
from src.expr import Expr, Kernel
from src.selfplay.egraph import EGraphEnv
from src.selfplay.rules import RULES

NODE_BUDGET = 5000  # bounds the one application of every rule on the largest kernels


def candidate(expr: Expr) -> Expr:
    """``expr`` after one application of every rule, extracted by the static model."""
    env = EGraphEnv(expr, RULES, default_static_model(), node_budget=NODE_BUDGET)
    env.apply_rules(range(len(RULES)))
    return env.extract()[0]


def subset(kernels: list[Kernel], count: int | None) -> list[Kernel]:
    """``count`` kernels spread evenly over the corpus (all of them for None)."""
    if count is None or count >= len(kernels):
        return kernels
    return [kernels[int(i)] for i in np.linspace(0, len(kernels) - 1, count)]


def _summary(label: str, values: np.ndarray, seconds: float) -> str:
    pct = np.abs(values) * 100
    return (
        f"  {label:<16} median {np.median(pct):5.2f}%  p90 {np.percentile(pct, 90):5.2f}%  "
        f"max {pct.max():6.2f}%   {seconds:6.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=None, help="at most this many kernels")
    parser.add_argument("--rounds", type=int, default=None, help="paired rounds (conf default)")
    parser.add_argument("--group-ms", type=float, default=None, help="paired group ms")
    args = parser.parse_args()

    paired = default_paired_settings()
    overrides = {"rounds": args.rounds, "group_ms": args.group_ms}
    paired = dataclasses.replace(paired, **{k: v for k, v in overrides.items() if v})
    meter = CostMeter(paired=paired)
    kernels = subset(load_corpus()[0], args.kernels)

    start = time.perf_counter()
    pairs = [(k.body, candidate(k.body), k.ranges) for k in kernels]
    for expr, cand, _ in pairs:  # compiled before the passes, so neither way pays for it
        meter.jit.compile(expr)
        meter.jit.compile(cand)
    changed = sum(a.text != b.text for a, b, _ in pairs)
    print(
        f"{len(pairs)} kernels; {changed} candidates differ from their input "
        f"({time.perf_counter() - start:.1f} s in the e-graph and compiling)"
    )
    print(
        f"unpaired: 2 measure() calls, {meter.settings.groups} groups x "
        f"{meter.settings.group_ms:g} ms each; paired: compare(), {paired.rounds} rounds x "
        f"{paired.group_ms:g} ms per kernel, speedup estimator in conf: {paired.speedup}"
    )

    passes = 2
    unpaired = np.empty((passes, len(pairs)))
    by_estimator = {e: np.empty((passes, len(pairs))) for e in ESTIMATORS}
    margins = np.empty((passes, len(pairs)))
    waited_ms = np.empty((passes, len(pairs)))
    seconds = {"unpaired": 0.0, "paired": 0.0}
    for p in range(passes):
        for i, (expr, cand, ranges) in enumerate(pairs):
            t0 = time.perf_counter()
            before = meter.measure(expr, ranges, fresh=True).ns_per_element
            after = meter.measure(cand, ranges, fresh=True).ns_per_element
            t1 = time.perf_counter()
            result = meter.compare([expr, cand], ranges)
            t2 = time.perf_counter()
            seconds["unpaired"] += t1 - t0
            seconds["paired"] += t2 - t1
            unpaired[p, i] = before / after
            for estimator, values in by_estimator.items():
                values[p, i] = speedups(np.array(result.round_ns), estimator)[1]
            margins[p, i] = result.costs[1].log_margin
            waited_ms[p, i] = result.waited_ms

    def repeat(values: np.ndarray) -> np.ndarray:
        return np.log(values[0] / values[1])

    print(f"|ln(speedup pass 1 / speedup pass 2)| over {len(pairs)} kernels:")
    print(_summary("unpaired", repeat(unpaired), seconds["unpaired"]))
    for estimator, values in by_estimator.items():
        print(_summary(f"paired, {estimator}", repeat(values), seconds["paired"]))
    chosen = repeat(by_estimator[paired.speedup])
    worst = np.argsort(np.abs(chosen))[-3:][::-1]
    print(
        "  widest paired: "
        + ", ".join(f"{kernels[i].name[:30]!r} {abs(chosen[i]) * 100:.1f}%" for i in worst)
    )
    combined = np.sqrt(margins[0] ** 2 + margins[1] ** 2)
    beyond = np.abs(chosen) > combined
    # the margin_z at which the combined margins would cover 95% of the kernels
    scale = np.where(combined > 0, np.abs(chosen) / np.where(combined > 0, combined, 1), 0)
    scale[beyond & (combined == 0)] = np.inf
    print(
        f"margin (z = {paired.margin_z:g}): median {np.median(margins) * 100:.2f}%, "
        f"p90 {np.percentile(margins, 90) * 100:.2f}%; the passes differ by more than "
        f"their combined margins for {np.mean(beyond) * 100:.0f}% of kernels "
        f"(z = {paired.margin_z * np.percentile(scale, 95):.2g} would cover 95%)"
    )
    same = np.array([a.text == b.text for a, b, _ in pairs])
    if same.any():
        identical = np.log(by_estimator[paired.speedup][:, same]).ravel()
        print(
            f"candidate = input ({same.sum()} kernels): |ln speedup| median "
            f"{np.median(np.abs(identical)) * 100:.2f}%, mean ln speedup "
            f"{identical.mean() * 100:+.2f}%"
        )
    print(
        f"quiet-gate wait per comparison: median {np.median(waited_ms):.0f} ms, "
        f"max {waited_ms.max():.0f} ms (cap {paired.max_wait_ms:g} ms)"
    )


if __name__ == "__main__":
    main()
