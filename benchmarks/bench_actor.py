"""Actor timings: the explicit kernels against torch autograd on the same net and batch,
and the latency of scoring every rule for one expression (the self-play hot path).

Run: .venv/bin/python benchmarks/bench_actor.py [--batch N] [--repeats N]

The batch is made of real states: the junk and optimized sides of BwdGenerator pairs,
each step paired with a random rule from the rule table, a random approval, advantage
and value target. Forward + backward of the joint loss (float32) is timed for both
implementations in this one process, medians and ratio printed two ways: in alternating
blocks of ``--repeats`` calls (``--rounds`` of each), and alternating call by call. On a
2-core machine the second is slower for both: numpy's OpenBLAS threads and torch's
OpenMP threads each keep spinning after a call and take the cores the other library
needs next. Training runs only the explicit kernels, so the blocked figure is the one
that describes it.
Scoring is timed from a prepared feature vector and from an expression (building its
EdgeAccumulator included), over many expressions.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch
from timing import call_times

from src.config import default_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.modules.actor import ActorModule
from src.modules.autograd_reference import batch_tensors, reference_losses
from src.modules.kernels import StepBatch, loss_and_gradients
from src.modules.policy import latency_prior
from src.selfplay.rules import RULES


def _median_us(fn: Callable[[], object], repeats: int) -> float:
    return float(np.median(call_times(fn, repeats)[0])) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--expressions", type=int, default=256)
    args = parser.parse_args()
    config = default_config()
    actor = ActorModule(
        config.actor,
        [(r.lhs, r.rhs) for r in RULES],
        [r.name for r in RULES],
        latency_prior(config),
    )
    net = actor.net
    generator = BwdGenerator(default_generator_settings(), RULES, default_static_model())
    exprs = [side for i in range(args.expressions // 2) for side in generator.pair(i)[:2]]
    features = net.features(exprs)

    rng = np.random.default_rng(0)
    rows = rng.integers(len(exprs), size=args.batch)
    rule_index = rng.integers(len(RULES), size=args.batch)
    batch = StepBatch(
        features=features[rows],
        rule_embedding=net.rule_embeddings[rule_index],
        rule_index=rule_index,
        approved=(rng.random(args.batch) < 0.5).astype(np.float32),
        advantage=rng.standard_normal(args.batch).astype(np.float32),
        value_target=rng.normal(2.0, 1.0, args.batch).astype(np.float32),
    )
    tensors = batch_tensors(batch)
    params = {name: p.detach().clone().requires_grad_(True) for name, p in actor.weights.items()}

    def explicit() -> None:
        loss_and_gradients(net.params, batch, actor.loss_settings)

    def autograd() -> None:
        for p in params.values():
            p.grad = None
        reference_losses(params, tensors, actor.loss_settings)["total"].backward()

    print(f"batch {args.batch} steps, float32, torch threads {torch.get_num_threads()}")
    for fn in (explicit, autograd):
        fn()  # warm-up
    blocked = {explicit: [], autograd: []}
    interleaved = {explicit: [], autograd: []}
    for _ in range(args.rounds):
        for fn in (explicit, autograd):
            blocked[fn] += [_median_us(fn, 1) for _ in range(args.repeats)]
    for _ in range(args.rounds * args.repeats):
        for fn in (explicit, autograd):
            interleaved[fn].append(_median_us(fn, 1))
    for label, times in (("in alternating blocks", blocked), ("call by call", interleaved)):
        for statistic in (np.median, np.min):
            explicit_ms = float(statistic(times[explicit])) / 1e3
            autograd_ms = float(statistic(times[autograd])) / 1e3
            print(
                f"forward+backward {label}, {statistic.__name__} of {len(times[explicit])}: "
                f"explicit kernels {explicit_ms:.2f} ms, torch autograd {autograd_ms:.2f} ms, "
                f"autograd / explicit {autograd_ms / explicit_ms:.2f}x"
            )

    accumulators = [net.accumulator(e) for e in exprs]
    nodes = np.median([e.dag_nodes for e in exprs])
    from_features = np.median(
        [_median_us(lambda r=r: net.score_all_rules(r), 20) for r in features]
    )
    from_expr = np.median(
        [_median_us(lambda e=e: net.score_all_rules(net.accumulator(e)), 5) for e in exprs]
    )
    from_accumulator = np.median(
        [_median_us(lambda a=a: net.score_all_rules(a), 20) for a in accumulators]
    )
    print(
        f"score all {len(RULES)} rules, one expression (median over {len(exprs)}, "
        f"median {nodes:.0f} DAG nodes):"
    )
    print(f"  from a feature vector: {from_features:.1f} us")
    print(f"  from an EdgeAccumulator: {from_accumulator:.1f} us")
    print(f"  from an Expr (accumulator built): {from_expr:.1f} us")


if __name__ == "__main__":
    main()
