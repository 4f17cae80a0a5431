"""Timing with subnormals flushed against timing them as they are, across processes.

Run: .venv/bin/python benchmarks/bench_subnormals.py [--processes P] [--kernel NAME]

An FPBench kernel whose inputs reach subnormals (``Kalman filter per P``: dt and r are
drawn log-uniformly down to 1e-45, so most dt^4 fall below float32's normal range) and
saturation's answer for it at 250 e-nodes are compared (``CostMeter.compare``) in P
fresh processes, each timing the pair three times with ``cost.jit.flush_subnormals`` on
and three times with it off, interleaved. An op on a subnormal takes a microcode assist
whose cost on this machine changes from one process and moment to the next; the line
per setting gives the lowest and highest speedup over all processes and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3  # comparisons per setting in each process
BUDGET = 250  # saturation's e-node budget for the candidate


def child(kernel_name: str) -> dict[str, list[float]]:
    """This process's speedups of saturation's answer over the kernel, per setting."""
    from hydra import compose, initialize_config_dir

    from src.cost.measure import meter_from_config
    from src.unified.search import runner_settings, saturated
    from src.unified.suites import cases

    with initialize_config_dir(str(ROOT / "conf"), version_base=None):
        config = compose("evaluate", overrides=["suites=[fpcore]"])
    found, _ = cases(config)
    case = next(c for c in found if c.name == kernel_name)
    limits = dict(config.selfplay.saturation) | {"max_nodes": BUDGET}
    meters = {
        flush: meter_from_config(OmegaConf.merge(config.cost, {"jit": {"flush_subnormals": flush}}))
        for flush in (True, False)
    }
    answer = saturated(
        case.name, case.expr, case.ranges, limits, runner_settings(config), meter=meters[True]
    ).raw_output
    speedups: dict[str, list[float]] = {"flushed": [], "as they are": []}
    for _ in range(REPEATS):
        for flush, label in ((True, "flushed"), (False, "as they are")):
            comparison = meters[flush].compare([case.expr, answer], case.ranges)
            speedups[label].append(comparison.costs[1].speedup)
    return speedups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--kernel", default="Kalman filter per P")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.kernel)))
        return
    rows = []
    for k in range(args.processes):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--kernel", args.kernel],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        cells = "  ".join(f"{label} " + " ".join(f"{s:.2f}" for s in v) for label, v in row.items())
        print(f"process {k}: {cells}", flush=True)
    for label in rows[0]:
        values = [s for row in rows for s in row[label]]
        low, high = min(values), max(values)
        print(f"{label}: speedup {low:.2f} to {high:.2f} over {args.processes} processes "
              f"(highest / lowest {high / low:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
