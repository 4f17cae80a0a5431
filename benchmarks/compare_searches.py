"""Validation figures of one training run's actors under three search rules, on the
same checkpoints and cases: the search ``optimize.py`` runs now (top-k walking down the
ranking, ``selfplay.runner.walk_down``, each new state checked against the input,
``check_states``), the same walk checking only its final expression, and the search
before the walk (top-k with the same rules each epoch, stopping after 5 epochs without
progress). The untrained actor (the run's initialization) and saturation at the same
budget are the yardsticks.

Run: .venv/bin/python benchmarks/compare_searches.py RUN_DIR [--rounds 4 9 29] [--fpcore]

The cases, budget and time limit are the run's validation (``validation`` in its
``.hydra/config.yaml``); ``--fpcore`` takes the evaluation's fpcore suite instead (the
corpus's held-out half, where the rules' float32 failures show). Each row runs every
search on the same checkpoint in turn. Prints, per actor and search: the
geometric-mean speedup (guarded, as ``val/``), the median e-graph nodes, the mean
seconds per expression and the searches whose final expression failed the check.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from src.cost.measure import meter_from_config
from src.unified.report import geomean, validation_curve
from src.unified.search import actor_policy, runner_settings, saturated
from src.unified.suites import cases as suite_cases
from src.unified.validation import validate, validation_cases

SEARCHES = {
    "walk (now)": {"walk_down": True, "patience": 0, "check_states": True},
    "walk, final check only": {"walk_down": True, "patience": 0, "check_states": False},
    "top-k, patience 5 (before)": {"walk_down": False, "patience": 5, "check_states": False},
}
FPCORE_MAX_DAG_NODES = 2500  # as evaluate.py's max_dag_nodes


def _row(name: str, figures: list[dict]) -> str:
    cells = [
        f"{m['geomean_speedup']:.3f} / {m['egraph_nodes']:,.0f} / {m['seconds']:.2f} s"
        f" / {m['failures']:.0f}"
        for m in figures
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rounds", type=int, nargs="*", help="default: the validated rounds")
    parser.add_argument("--fpcore", action="store_true", help="the evaluation's fpcore suite")
    args = parser.parse_args()
    config = OmegaConf.load(args.run_dir / ".hydra" / "config.yaml")
    v = config.validation
    budget, time_limit = int(v.budget), float(v.time_limit_s)
    if args.fpcore:
        chosen = {"file": None, "suites": ["fpcore"], "max_dag_nodes": FPCORE_MAX_DAG_NODES}
        cases = suite_cases(chosen | {"data": config.data})[0]
    else:
        cases = validation_cases(config)
    meter = meter_from_config(config.cost)
    # every search sets the fields it compares, so a run made before one of them existed
    # still reads (its config lacks the field)
    compared = {key: value for change in SEARCHES.values() for key, value in change.items()}
    base = runner_settings(OmegaConf.merge({"selfplay": {"runner": compared}}, config))
    searches = {name: dataclasses.replace(base, **change) for name, change in SEARCHES.items()}
    rounds = args.rounds or [r for r, _ in validation_curve(args.run_dir)]
    actors = {"untrained": None} | {
        f"round {r}": args.run_dir / config.paths.checkpoints / f"round{r:03d}.ckpt" for r in rounds
    }
    which = "fpcore" if args.fpcore else "validation"
    print(f"{len(cases)} {which} cases, {budget} e-nodes, {time_limit:.0f} s limit")
    print("| actor | " + " | ".join(searches) + " |")
    print("|---|" + "---|" * len(searches))
    for name, checkpoint in actors.items():
        policy = actor_policy(config, checkpoint)
        figures = [
            validate(policy, cases, budget, settings, time_limit, meter)
            for settings in searches.values()
        ]
        print(_row(name, figures), flush=True)
    limits = dict(config.selfplay.saturation) | {"max_nodes": budget, "seconds": time_limit}
    start = time.perf_counter()
    results = [saturated(c.name, c.expr, c.ranges, limits, base, meter=meter) for c in cases]
    seconds = (time.perf_counter() - start) / len(cases)
    speedup = geomean([r.speedup for r in results])
    nodes = float(np.median([r.egraph_nodes for r in results]))
    failures = sum(not r.ok for r in results)
    print(f"saturation: {speedup:.3f} / {nodes:,.0f} / {seconds:.2f} s / {failures}")


if __name__ == "__main__":
    main()
