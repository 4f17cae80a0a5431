"""How far choosing among an evaluation's searches could go: per regime (small+medium,
large+huge) or suite and per budget, the geometric mean over cases of the best speedup
any budgeted method reached on the case (saturation, saturation-simple, random, the
untrained actor, the guide), over saturation's, random's and the untrained actor's,
beside the guide's own ratios.

Run: .venv/bin/python benchmarks/evaluation_ceiling.py EVALUATION_DIR [EVALUATION_DIR ...]

Each EVALUATION_DIR is an ``evaluate.py`` output folder (its ``results.json``). The best
of five measured answers is biased upwards by measurement noise, so the figure is an
optimistic bound on what a policy choosing among these rules at these budgets reaches,
not a proof: a rule table with other rewrites could go past it (README, "Why 1.2x over
saturation is out of reach").
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from src.unified.evaluation import UNBUDGETED
from src.unified.report import LARGE_REGIME, SMALL_REGIME, geomean

REGIMES = {"small+medium": SMALL_REGIME, "large+huge": LARGE_REGIME}
V = TypeVar("V")
BASES = ("saturation", "random", "untrained")
NEEDED = (*BASES, "guide")
HEADER = (
    "| cases | budget | n | "
    + " | ".join(f"{top} / {base}'s" for top in ("best", "guide") for base in BASES)
    + " |\n|---|---|---|"
    + "---|" * 2 * len(BASES)
)


def grouped(cases: Mapping[tuple, V]) -> Iterator[tuple[str, int, list[V]]]:
    """Per regime, then per suite, and per budget: (label, budget, the values of the
    cases there), for cases keyed (suite, name, size, budget); empty groups left out."""
    groups = {name: lambda key, sizes=sizes: key[2] in sizes for name, sizes in REGIMES.items()}
    for suite in sorted({key[0] for key in cases}):
        groups[f"suite {suite}"] = lambda key, suite=suite: key[0] == suite
    for label, member in groups.items():
        for budget in sorted({key[3] for key in cases}):
            found = [value for key, value in cases.items() if key[3] == budget and member(key)]
            if found:
                yield label, budget, found


def ceiling_rows(records: list[dict]) -> list[str]:
    """The table's rows (markdown) for one evaluation's records."""
    cases: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in records:
        if r["method"] not in UNBUDGETED:
            cases[(r["suite"], r["name"], r["size"], r["budget"])][r["method"]] = r["speedup"]
    rows = []
    for label, budget, found in grouped(cases):
        cells = [
            geomean([top(m) / m[base] for m in found])
            for top in (lambda m: max(m.values()), lambda m: m["guide"])
            for base in BASES
        ]
        rows.append(
            f"| {label} | {budget:,} | {len(found)} | "
            + " | ".join(f"{x:.3f}" for x in cells)
            + " |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluations", nargs="+", type=Path)
    args = parser.parse_args()
    for folder in args.evaluations:
        path = folder / "results.json"
        try:
            records = json.loads(path.read_text())["results"]
        except (OSError, ValueError, KeyError) as error:
            parser.error(f"{path}: not an evaluate.py results file ({error})")
        missing = set(NEEDED) - {r["method"] for r in records}
        if missing:
            parser.error(f"{path}: no {', '.join(sorted(missing))} records to compare with")
        print(f"\n{folder}\n{HEADER}")
        print("\n".join(ceiling_rows(records)))


if __name__ == "__main__":
    main()
