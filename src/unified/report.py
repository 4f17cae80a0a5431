"""What ``evaluate.py`` writes from its records and summary rows: the Markdown tables, the
list of semantic mismatches, the Pareto plot (per suite, geometric-mean speedup against e-graph
nodes and against seconds, one line per method through its budgets), and a training
run's learning curve."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from src.data.ladder import default_ladder

_PARETO_SKIP = ("input",)  # speedup 1 by definition: the plot's reference line


def size_order() -> list[str]:
    """The ladder's buckets, smallest first, then the bucket past the last bound."""
    names = default_ladder().names
    return [*names, names[-1] + "+"]


def _pivot(rows: Sequence[dict], sizes: Sequence[str]) -> list[str]:
    """Per suite: one line per size bucket and method, one column per budget, each cell
    the geometric-mean speedup (median e-graph nodes; seconds per expression)."""
    budgets = sorted({r["budget"] for r in rows})
    lines = []
    for suite in sorted({r["suite"] for r in rows}):
        lines += [
            f"\n### {suite}\n",
            "| size | method | n | " + " | ".join(f"budget {b}" for b in budgets) + " |",
            "|---|---|---|" + "---|" * len(budgets),
        ]
        mine = [r for r in rows if r["suite"] == suite]
        for size in [s for s in sizes if any(r["size"] == s for r in mine)]:
            methods = list(dict.fromkeys(r["method"] for r in mine if r["size"] == size))
            for method in methods:
                cells = {
                    r["budget"]: r for r in mine if r["size"] == size and r["method"] == method
                }
                n = next(iter(cells.values()))["expressions"]
                text = [
                    f"{c['geomean_speedup']:.3f} ({c['median_egraph_nodes']:.0f}; "
                    f"{c['seconds'] / c['expressions']:.2f} s)"
                    if (c := cells.get(b))
                    else ""
                    for b in budgets
                ]
                lines.append(f"| {size} | {method} | {n} | " + " | ".join(text) + " |")
    return lines


def markdown(rows: Sequence[dict], sizes: Sequence[str], skipped: Sequence[str]) -> str:
    lines = [
        "Geometric-mean speedup over the input (median e-graph nodes; mean seconds per",
        "expression), per suite, size bucket, method and e-node budget.",
        *_pivot(rows, sizes),
        "\n### Every row\n",
        "| suite | size | method | budget | n | failures | geomean speedup | median speedup "
        "| raw geomean | raw slower | median recovery | max rel error | median e-graph nodes "
        "| max overshoot | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        recovery = "" if r["median_recovery"] is None else f"{r['median_recovery']:.2f}"
        error = "" if r["max_rel_error"] is None else f"{r['max_rel_error']:.2g}"
        raw = "" if r["raw_geomean_speedup"] is None else f"{r['raw_geomean_speedup']:.3f}"
        lines.append(
            f"| {r['suite']} | {r['size']} | {r['method']} | {r['budget']} | {r['expressions']} "
            f"| {r['failures']} | {r['geomean_speedup']:.3f} | {r['median_speedup']:.3f} "
            f"| {raw} | {r['slower_raw']} | {recovery} | {error} "
            f"| {r['median_egraph_nodes']:.0f} | {r['max_overshoot']} | {r['seconds']:.1f} |"
        )
    if skipped:
        lines.append(f"\nSkipped (not numeric, or larger than max_dag_nodes): {', '.join(skipped)}")
    return "\n".join(lines) + "\n"


# the size buckets of the guide's two regimes (its targets: README, issue 15)
SMALL_REGIME = ("small", "medium")
LARGE_REGIME = ("large", "huge", "huge+")


def _paired(
    records: Sequence[dict], baseline: str, budget: int, keep: Callable[[dict], bool]
) -> tuple[list[dict], list[dict]]:
    """The guide's records at ``budget`` that ``keep`` takes, and ``baseline``'s on the
    same cases in the same order (cases the baseline did not run are left out)."""
    theirs = {
        (r["suite"], r["name"], r["input"]): r
        for r in records
        if r["method"] == baseline and r["budget"] == budget
    }
    ours = [
        r
        for r in records
        if r["method"] == "guide"
        and r["budget"] == budget
        and keep(r)
        and (r["suite"], r["name"], r["input"]) in theirs
    ]
    return ours, [theirs[(r["suite"], r["name"], r["input"])] for r in ours]


def _ratio(ours: Sequence[dict], theirs: Sequence[dict], figure: str) -> float:
    """Ours over theirs: geometric-mean ``speedup``, median ``egraph_nodes`` or total
    ``seconds``."""
    pick = {"speedup": geomean, "egraph_nodes": np.median, "seconds": np.sum}[figure]
    below = float(pick([r[figure] for r in theirs]))
    return float(pick([r[figure] for r in ours])) / below if below > 0 else float("nan")


def targets(records: Sequence[dict]) -> str:
    """The guide against the targets it is held to, per budget; each figure over the
    cases the guide and that figure's baseline both ran. Empty when the guide did not
    run."""
    budgets = sorted({r["budget"] for r in records if r["method"] == "guide"})
    if not budgets:
        return ""

    def small(r: dict) -> bool:
        return r["size"] in SMALL_REGIME

    def large(r: dict) -> bool:
        return r["size"] in LARGE_REGIME

    rows = [  # what, its baseline, which cases, the figure, its format
        ("small and medium: speedup / saturation's (target: at least 0.98)",
         "saturation", small, "speedup", "{:.3f}"),
        ("small and medium: median e-graph nodes / saturation's (at most 25%)",
         "saturation", small, "egraph_nodes", "{:.0%}"),
        ("small and medium: seconds / saturation's (at most 1)",
         "saturation", small, "seconds", "{:.2f}"),
        ("large and huge: speedup / saturation's (at least 1.2)",
         "saturation", large, "speedup", "{:.3f}"),
        ("large and huge: speedup / random's (at least 1.2)", "random", large, "speedup", "{:.3f}"),
        ("large and huge: seconds / saturation's (at most 1)",
         "saturation", large, "seconds", "{:.2f}"),
    ]  # fmt: skip
    for suite in sorted({r["suite"] for r in records if r["method"] == "guide"}):
        rows.append((f"{suite}: speedup / the untrained actor's (at least 1.25)", "untrained",
                     lambda r, suite=suite: r["suite"] == suite, "speedup", "{:.3f}"))  # fmt: skip
    lines = [
        "### The guide against its targets\n",
        "The guide's figure over its baseline's on the same cases (n of them): geometric-mean",
        "speedups, median e-graph nodes, total seconds.\n",
        "| figure | n | " + " | ".join(f"budget {b}" for b in budgets) + " |",
        "|---|---|" + "---|" * len(budgets),
    ]
    for label, baseline, keep, figure, form in rows:
        paired = [_paired(records, baseline, budget, keep) for budget in budgets]
        if any(ours for ours, _ in paired):
            cells = [form.format(_ratio(*pair, figure)) if pair[0] else "" for pair in paired]
            count = max(len(ours) for ours, _ in paired)
            lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
    wrong = sum(not r["ok"] for r in records if r["method"] == "guide")
    lines.append(f"\nSemantic mismatches by the guide (target: none): {wrong}.\n")
    return "\n".join(lines) + "\n"


def mismatches(records: Sequence[dict]) -> str:
    """Each semantic mismatch: method, budget, expression and why (the input was kept)."""
    lines = [
        f"- {r['suite']} / {r['method']} / budget {r['budget']} / {r['name']}: {r['note']}"
        for r in records
        if not r["ok"]
    ]
    if not lines:
        return ""
    return "\nSemantic mismatches (the input is kept in their place):\n" + "\n".join(lines) + "\n"


def geomean(values: Sequence[float]) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _suite_points(records: Sequence[dict], suite: str) -> dict[str, list[tuple]]:
    """Per method: (budget, geomean speedup, median e-graph nodes, mean seconds) over all
    of the suite's expressions at each budget."""
    points: dict[str, list[tuple]] = {}
    mine = [r for r in records if r["suite"] == suite]
    for method in dict.fromkeys(r["method"] for r in mine):
        for budget in sorted({r["budget"] for r in mine if r["method"] == method}):
            cell = [r for r in mine if r["method"] == method and r["budget"] == budget]
            points.setdefault(method, []).append(
                (
                    budget,
                    geomean([r["speedup"] for r in cell]),
                    float(np.median([r["egraph_nodes"] for r in cell])),
                    float(np.mean([r["seconds"] for r in cell])),
                )
            )
    return points


def pareto(records: Sequence[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = sorted({r["suite"] for r in records})
    figure, axes = plt.subplots(len(suites), 2, figsize=(12, 4.2 * len(suites)), squeeze=False)
    for (by_nodes, by_seconds), suite in zip(axes, suites, strict=True):
        for method, points in _suite_points(records, suite).items():
            if method in _PARETO_SKIP:
                continue
            speedup = [p[1] for p in points]
            nodes = [max(p[2], 1.0) for p in points]  # fast-math grows no e-graph
            by_nodes.plot(nodes, speedup, marker="o", label=method)
            by_seconds.plot([p[3] for p in points], speedup, marker="o", label=method)
        for axis, label in (
            (by_nodes, "median e-graph nodes"),
            (by_seconds, "seconds per expression"),
        ):
            axis.axhline(1.0, color="grey", linewidth=0.8)
            axis.set_xscale("log")
            axis.set_xlabel(label)
            axis.set_ylabel("geomean speedup")
            axis.set_title(f"{suite}: speedup against {label}")
        by_nodes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def learning_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(round, median speedup of its kept trajectories) from a training run's files."""
    curve = []
    for path in sorted(run_dir.glob("trajectories_r*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as file:
            speedups = [
                t["initial_cost_ns"] / t["final_cost_ns"]
                for t in map(json.loads, file)
                if t.get("initial_cost_ns")
            ]
        if speedups:
            curve.append((int(path.name.split("_r")[1][:3]), float(np.median(speedups))))
    return curve


VALIDATION_FILE = "validation.jsonl"  # a training run's validation rounds (``loop.py``)


def validation_records(run_dir: Path) -> list[dict]:
    """The lines of a training run's ``validation.jsonl`` ([] when it did not validate)."""
    path = run_dir / VALIDATION_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def validation_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(round, validation geomean speedup) from a training run's ``validation.jsonl``."""
    return [(int(r["round"]), float(r["geomean_speedup"])) for r in validation_records(run_dir)]


def learning_curve_plot(run_dir: Path, path: Path) -> None:
    """The run's median trajectory speedup per round and, when it validated, its
    validation geomean speedup (the search on held-out cases)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for curve, label in (
        (learning_curve(run_dir), "self-play: median speedup of the round's trajectories"),
        (validation_curve(run_dir), "validation: geomean speedup (held-out cases)"),
    ):
        if curve:
            axis.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", label=label)
    axis.set_title("training")
    axis.set_xlabel("round")
    axis.set_ylabel("speedup over the input")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
