"""Several training runs' guides on today's validation cases, measured side by side in
one process, beside the figures each run's own validation gave them.

A run's validation measures in the training process, and two processes can time the same
kernels differently for a whole run (docs/training.md, "Comparing runs in one
process"), so validation figures of different runs differ by more than their guides do.
This measures each run's guide (the actor it ships: its best by validation) with the
run's own search settings (``selfplay.runner`` of its config, read by ``run_config``),
every guide on every case in turn, twice, timing the second (``side_by_side.py``).

Run: .venv/bin/python benchmarks/compare_runs.py RUN_DIR [RUN_DIR ...] [--budget N]

Prints, per run: the round it ships and that round's validation (all cases / pairs /
scenes / corpus band, as logged), then the same figures measured here, the small and
medium and the large and huge cases' geomeans, the median e-graph nodes and the mean
seconds per expression.
"""

from __future__ import annotations

import argparse
import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
from side_by_side import run_config, side_by_side

from src.config import default_config
from src.cost.measure import meter_from_config
from src.unified.report import LARGE_REGIME, SMALL_REGIME, geomean, validation_records
from src.unified.search import actor_policy, guided, runner_settings
from src.unified.ship import run_actor
from src.unified.validation import validation_cases

SUITES = ("pairs", "scenes", "corpus")
BUCKETS = {"small+medium": SMALL_REGIME, "large+huge": LARGE_REGIME}  # as evaluate.py's targets


def _suites(figures: dict) -> str:
    """all / pairs / scenes / corpus of a ``validation.jsonl`` record."""
    cells = [figures["geomean_speedup"], *(figures.get(f"{s}/geomean_speedup") for s in SUITES)]
    return " / ".join("-" if c is None else f"{c:.3f}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", type=Path, nargs="+")
    parser.add_argument("--budget", type=int, help="default: today's validation budget")
    args = parser.parse_args()
    today = default_config()
    cases = validation_cases(today)
    budget = args.budget or int(today.validation.budget)
    limits = {"node_budget": budget, "time_limit_s": float(today.validation.time_limit_s)}
    meter = meter_from_config(today.cost)
    searches, shipped = {}, {}
    for run_dir in args.run_dirs:
        try:
            config = run_config(run_dir)  # a scratch knob of its own: ValueError below
            settings = dataclasses.replace(runner_settings(config), **limits)
            policy = actor_policy(config, run_actor(run_dir))
        except (OSError, ValueError) as error:
            parser.error(f"{run_dir}: {error}")
        name = str(run_dir)
        searches[name] = partial(guided, policy=policy, settings=settings, meter=meter)
        records = validation_records(run_dir)
        shipped[name] = max(records, key=lambda r: r["geomean_speedup"]) if records else None
    print(f"{len(cases)} validation cases, {budget} e-nodes; all / pairs / scenes / corpus")
    buckets = " / ".join(BUCKETS)
    print(f"| run | its validation (round) | measured here | {buckets} | e-nodes | seconds |")
    print("|---|---|---|---|---|---|")
    results = side_by_side(cases, searches)
    for name, rows in results.items():
        here = {"geomean_speedup": geomean([r.speedup for _, r in rows])}
        for suite in SUITES:
            mine = [r.speedup for (s, _), r in rows if s == suite]
            here[f"{suite}/geomean_speedup"] = geomean(mine) if mine else None
        by_size = " / ".join(
            f"{geomean([r.speedup for (_, size), r in rows if size in sizes]):.3f}"
            for sizes in BUCKETS.values()
        )
        logged = shipped[name]
        own = "-" if logged is None else f"{_suites(logged)} ({int(logged['round'])})"
        nodes = float(np.median([r.egraph_nodes for _, r in rows]))
        seconds = sum(r.seconds for _, r in rows) / len(rows)
        print(f"| {name} | {own} | {_suites(here)} | {by_size} | {nodes:,.0f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
