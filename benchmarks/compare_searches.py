"""Validation figures of one training run's actors under three search rules, on the
same checkpoints and cases: the search ``optimize.py`` runs now (top-k walking down the
ranking, ``selfplay.runner.walk_down``, each new state checked against the input,
``check_states``), the same walk checking only its final expression, and the search
before the walk (top-k with the same rules each epoch, stopping after 5 epochs without
progress). The untrained actor (the run's initialization) and saturation at the same
budget are the yardsticks.

Run: .venv/bin/python benchmarks/compare_searches.py RUN_DIR [--rounds 4 9 29]
     [--cases validation|fpcore|corpus-train]

The cases, budget and time limit are the run's validation (``validation`` in its
``.hydra/config.yaml``); ``--cases fpcore`` takes the evaluation's fpcore suite instead
(the corpus's held-out half, where the rules' float32 failures show), and ``--cases
corpus-train`` the corpus kernels self-play may start from (its training half, up to
``data.selfplay.corpus_max_dag_nodes``, less the validation band): the two side by side
show how far what the actor learned on corpus kernels carries to ones it never saw. The
validation cases include that band (``validation.corpus``), also for a run made before
it existed. Each row runs every search, and saturation, on the same checkpoint, case
by case in turn, twice, timing the second (``side_by_side.py``). Prints, per actor
and search: the geometric-mean speedup (guarded, as ``val/``), the median e-graph nodes,
the mean seconds per expression and the searches whose final expression failed the
check; then the same per suite.
"""

from __future__ import annotations

import argparse
import dataclasses
from functools import partial
from pathlib import Path

from evaluation_setup import evaluation_setup
from omegaconf import OmegaConf
from side_by_side import run_config, side_by_side

from src.cost.measure import meter_from_config
from src.data.corpus import trainable_kernels
from src.data.ladder import default_ladder
from src.unified.report import validation_curve
from src.unified.search import actor_policy, guided, runner_settings, saturated
from src.unified.suites import cases as suite_cases
from src.unified.suites import kernel_cases
from src.unified.validation import summarize, validation_cases

SEARCHES = {
    "walk (now)": {"walk_down": True, "patience": 0, "check_states": True},
    "walk, final check only": {"walk_down": True, "patience": 0, "check_states": False},
    "top-k, patience 5 (before)": {"walk_down": False, "patience": 5, "check_states": False},
}


def _row(name: str, figures: list[dict], group: str = "") -> str:
    """A table row of ``figures`` (``summarize``'s), overall or of one ``group``."""
    p = f"{group}/" if group else ""
    cells = [
        f"{m[p + 'geomean_speedup']:.3f} / {m[p + 'egraph_nodes']:,.0f} / "
        f"{m[p + 'seconds']:.2f} s / {m[p + 'failures']:.0f}"
        for m in figures
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rounds", type=int, nargs="*", help="default: the validated rounds")
    parser.add_argument(
        "--cases", choices=["validation", "fpcore", "corpus-train"], default="validation"
    )
    args = parser.parse_args()
    try:
        config = run_config(args.run_dir)
        base = runner_settings(config)
    except (OSError, ValueError) as error:
        parser.error(f"{args.run_dir}: {error}")
    v = config.validation
    budget, time_limit = int(v.budget), float(v.time_limit_s)
    evaluate = evaluation_setup()[0]  # conf/evaluate.yaml: its suites and max_dag_nodes
    if args.cases == "fpcore":
        cases = suite_cases(OmegaConf.merge(evaluate, {"suites": ["fpcore"], "file": None}))[0]
    elif args.cases == "corpus-train":
        selfplay = config.data.selfplay
        kernels = trainable_kernels(
            selfplay.corpus_holdout, selfplay.corpus_max_dag_nodes, selfplay.corpus_validation
        )
        limit = int(evaluate.max_dag_nodes)
        cases = kernel_cases("corpus-train", kernels, limit, default_ladder())[0]
    else:
        cases = validation_cases(config)
    meter = meter_from_config(config.cost)
    budgeted = {"node_budget": budget, "time_limit_s": time_limit}
    searches = {
        name: dataclasses.replace(base, **budgeted, **change) for name, change in SEARCHES.items()
    }
    rounds = args.rounds or [r for r, _ in validation_curve(args.run_dir)]
    actors = {"untrained": None} | {
        f"round {r}": args.run_dir / config.paths.checkpoints / f"round{r:03d}.ckpt" for r in rounds
    }
    limits = dict(config.selfplay.saturation) | {"max_nodes": budget, "seconds": time_limit}
    print(f"{len(cases)} {args.cases} cases, {budget} e-nodes, {time_limit:.0f} s limit")
    print("| actor | " + " | ".join([*searches, "saturation"]) + " |")
    print("|---|" + "---|" * (len(searches) + 1))
    for name, checkpoint in actors.items():
        policy = actor_policy(config, checkpoint)
        runs = {
            search: partial(guided, policy=policy, settings=settings, meter=meter)
            for search, settings in searches.items()
        } | {"saturation": partial(saturated, limits=limits, settings=base, meter=meter)}
        results = side_by_side(cases, runs)  # two passes, the second timed
        figures = [summarize(results[search]) for search in runs]
        print(_row(name, figures), flush=True)
        suites = dict.fromkeys(case.suite for case in cases)
        for suite in suites if len(suites) > 1 else ():
            print(_row(f"{name}, {suite}", figures, suite), flush=True)


if __name__ == "__main__":
    main()
