"""How far any choice among the rules could go: on the evaluation's cases, saturation
run far past the evaluation's budgets, over saturation and the untrained actor at each
budget. All three run in this process, case by case.

Run: .venv/bin/python benchmarks/saturation_ceiling.py [--suites S ...] [--sizes Z ...]
     [--budgets B ...] [--cases N] [--nodes N] [--iterations K] [--seconds S]

The cases are ``evaluate.py``'s (its default suites, or ``--suites``; ``--sizes`` keeps
those size buckets; ``--cases N``: N of them, evenly spaced), and so are the budgets
unless ``--budgets`` gives others. The long saturation has ``--nodes`` e-nodes,
``--iterations`` iterations and ``--seconds`` seconds (the back-off scheduler, as the
evaluation's saturation). A policy's search applies some of the same rules to the same
seed, so its e-graph is, up to the order of merges, part of the one saturation reaches
when run to the end; the long saturation's speedup is what a policy could reach with
these rules and this extractor, if it chose perfectly. Where the input's e-graph is
already at a budget, no search applies a rule (``EGraphEnv.apply_rules``), so there the
bound is the input itself; saturation at that budget taking no iteration is the sign.
The bound is an estimate, not a proof: extraction is greedy (a smaller e-graph can
extract a faster answer by chance), a run that stops at its limits has not reached the
end, and each figure is one measurement. Prints each case as it is done, then per regime
and suite and per budget: the cases whose input fits the budget, the geometric-mean
speedup of saturation, the untrained actor and the bound, and the bound's over each.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from evaluation_ceiling import grouped
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src.config import CONF_DIR
from src.unified.evaluation import run_case
from src.unified.report import geomean
from src.unified.suites import SUITES, cases

METHODS = ("saturation", "untrained")
HEADER = (
    "| cases | budget | n | input fits | saturation | untrained | bound | "
    "bound / saturation's | bound / untrained's |\n|---|---|---|---|---|---|---|---|---|"
)


def _config_yaml(overrides: list[str]) -> str:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="evaluate", overrides=overrides)
    return OmegaConf.to_yaml(config)


def ceiling_rows(speedups: dict[tuple, dict[str, float]]) -> list[str]:
    """The table's rows, from {(suite, name, size, budget): {method or "bound": speedup,
    "fits": 1.0 or 0.0}}."""
    rows = []
    for label, budget, found in grouped(speedups):
        means = [geomean([s[m] for s in found]) for m in (*METHODS, "bound")]
        over = [geomean([s["bound"] / s[m] for s in found]) for m in METHODS]
        fits = sum(int(s["fits"]) for s in found)
        rows.append(
            f"| {label} | {budget:,} | {len(found)} | {fits} | "
            + " | ".join(f"{x:.3f}" for x in (*means, *over))
            + " |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", choices=SUITES, help="default: evaluate.py's")
    parser.add_argument("--sizes", nargs="+", help="default: every size bucket")
    parser.add_argument("--budgets", type=int, nargs="+", help="default: evaluate.py's")
    parser.add_argument("--cases", type=int, help="default: every case")
    parser.add_argument("--nodes", type=int, default=64_000, help="the long saturation's")
    parser.add_argument("--iterations", type=int, default=60, help="the long saturation's")
    parser.add_argument("--seconds", type=float, default=60.0, help="the long saturation's")
    args = parser.parse_args()
    overrides = [f"methods=[{','.join(METHODS)}]"]
    if args.suites:
        overrides.append(f"suites=[{','.join(args.suites)}]")
    budgeted = _config_yaml(overrides)
    long = _config_yaml(
        [
            *overrides,
            f"time_limit_s={args.seconds}",
            f"selfplay.saturation.max_iterations={args.iterations}",
        ]
    )
    config = OmegaConf.create(budgeted)
    found = [c for c in cases(config)[0] if not args.sizes or c.size in args.sizes]
    if args.cases:
        found = found[:: max(1, len(found) // args.cases)][: args.cases]
    budgets = args.budgets or [int(b) for b in config.budgets]
    print(f"{len(found)} cases; budgets {budgets}; the long saturation: {args.nodes:,} "
          f"e-nodes, {args.iterations} iterations, {args.seconds} s", flush=True)  # fmt: skip
    speedups: dict[tuple, dict[str, float]] = defaultdict(dict)
    for case in found:
        ceiling = run_case(long, (case, "saturation", args.nodes))
        line = [f"long {ceiling['speedup']:.3f} ({ceiling['egraph_nodes']:,} e-nodes)"]
        for budget in budgets:
            key = (case.suite, case.name, case.size, budget)
            for method in METHODS:
                record = run_case(budgeted, (case, method, budget))
                speedups[key][method] = record["speedup"]
                if method == "saturation":
                    speedups[key]["fits"] = float(record["epochs"] > 0)
            speedups[key]["bound"] = (
                ceiling["speedup"] if speedups[key]["fits"] else speedups[key]["saturation"]
            )
            line.append(f"{budget}: " + " ".join(f"{m} {speedups[key][m]:.3f}" for m in METHODS))
        print(f"{case.suite} {case.size} {case.name}: " + "; ".join(line), flush=True)
    print(f"\n{HEADER}\n" + "\n".join(ceiling_rows(speedups)))


if __name__ == "__main__":
    main()
