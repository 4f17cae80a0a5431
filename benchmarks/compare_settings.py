"""The guide's search under each value of one ``selfplay.runner`` setting, and saturation,
side by side on the validation cases at the evaluation's budgets.

Run: .venv/bin/python benchmarks/compare_settings.py FIELD VALUE [VALUE ...]
     [--budgets B ...] [--cases N] [--saturation-each]

FIELD is a ``selfplay.runner`` setting (``spread_max_nodes``, ``walk_restart``, ...);
each VALUE is read as that setting's type. The guide is the one ``evaluate.py`` takes
(``benchmarks/evaluation_setup.py``), the cases today's validation cases (generated pairs
and scenes from the validation seed, and the corpus's validation band: none of them in
an evaluation suite; ``--cases N``: N of them, evenly spaced), the time limit
``evaluate.py``'s, and so are the budgets unless ``--budgets`` gives others
(``conf/evaluate.yaml``). Every search runs on each case in
turn (``side_by_side.py``, one pass) and starts with the JIT's kernels forgotten, so it
pays for compiling what it measures, as one ``optimize.py`` run does; saturation runs with
today's settings, or under each VALUE too with ``--saturation-each`` (for a setting that
saturation reads: ``fold_constants``). Prints, per budget and size bucket: the
geometric-mean speedup, the median e-graph nodes and the seconds in all, per search.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np
from evaluation_setup import evaluation_setup
from side_by_side import side_by_side

from src.config import default_config
from src.cost.jit import Jit
from src.cost.measure import meter_from_config
from src.unified.report import LARGE_REGIME, SMALL_REGIME, geomean, size_order
from src.unified.search import Optimized, actor_policy, guided, resolve_checkpoint, saturated
from src.unified.validation import validation_cases

# each size bucket, then evaluate.py's two regimes
BUCKETS = {size: (size,) for size in size_order()} | {
    "small+medium": SMALL_REGIME,
    "large+huge": LARGE_REGIME,
}


def _typed(settings: object, field: str, text: str) -> object:
    kind = type(getattr(settings, field))
    if kind is bool:
        if text not in ("true", "false"):
            raise ValueError(f"{field} is true or false, not {text!r}")
        return text == "true"
    return kind(text)


def _cold(search: Callable[..., Optimized], jit: Jit) -> Callable[..., Optimized]:
    """``search``, starting with the JIT's kernels forgotten."""

    def run(*args) -> Optimized:
        jit.clear()
        return search(*args)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("field")
    parser.add_argument("values", nargs="+")
    parser.add_argument("--budgets", type=int, nargs="+", help="default: evaluate.py's")
    parser.add_argument("--cases", type=int, help="default: every validation case")
    parser.add_argument("--saturation-each", action="store_true", help="saturation per VALUE")
    args = parser.parse_args()
    config, settings, limits = evaluation_setup()
    if args.field not in {f.name for f in dataclasses.fields(settings)}:
        parser.error(f"selfplay.runner has no setting {args.field!r}")
    try:
        values = [_typed(settings, args.field, v) for v in args.values]
        variants = [dataclasses.replace(settings, **{args.field: v}) for v in values]
    except ValueError as error:
        parser.error(str(error))
    cases = validation_cases(default_config())
    if args.cases:
        cases = cases[:: max(1, len(cases) // args.cases)][: args.cases]
    meter = meter_from_config(config.cost)
    policy = actor_policy(config, resolve_checkpoint(config.ckpt))
    print(f"{len(cases)} validation cases; guide {config.ckpt}; each cell: geomean speedup "
          f"/ median e-graph nodes / seconds in all")  # fmt: skip
    for budget in args.budgets or [int(b) for b in config.budgets]:
        budgeted = [dataclasses.replace(s, node_budget=budget) for s in variants]
        searches = {
            f"{args.field}={v}": partial(guided, policy=policy, settings=s, meter=meter)
            for v, s in zip(args.values, budgeted, strict=True)
        }
        saturation = partial(saturated, limits=limits | {"max_nodes": budget}, meter=meter)
        if args.saturation_each:
            searches |= {
                f"saturation {args.field}={v}": partial(saturation, settings=s)
                for v, s in zip(args.values, variants, strict=True)
            }
        else:
            searches["saturation"] = partial(saturation, settings=settings)
        searches = {name: _cold(search, meter.jit) for name, search in searches.items()}
        results = side_by_side(cases, searches, passes=1)
        print(f"\nbudget {budget}\n| size | n | " + " | ".join(searches) + " |")
        print("|---|---|" + "---|" * len(searches))
        for bucket, sizes in BUCKETS.items():
            cells = []
            for name in searches:
                mine = [r for (_, size), r in results[name] if size in sizes]
                if not mine:
                    break
                cells.append(
                    f"{geomean([r.speedup for r in mine]):.3f} / "
                    f"{np.median([r.egraph_nodes for r in mine]):,.0f} / "
                    f"{sum(r.seconds for r in mine):.1f} s"
                )
            if cells:
                print(f"| {bucket} | {len(mine)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
