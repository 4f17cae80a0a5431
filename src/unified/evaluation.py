"""``python evaluate.py``: does the guide beat what a user would do instead?

On held-out BwdGenerator pairs (a generator seed training never uses) and the FPCore
corpus, each method optimizes each expression under the same budget (the runner's
epochs and node budget for the policies; ``selfplay.saturation`` for saturation):
``input`` (nothing), ``fast-math`` (the input compiled with LLVM's fast-math flags),
``untrained`` (a fresh actor), ``random`` (uniformly random rules), ``saturation``
(egglog, all rules), ``guide`` (the trained actor). Every output is checked against its
input on sampled inputs; a mismatch counts as that method's failure and its input is
kept. Writes ``results.md`` (table), ``results.json`` (every result and the summary)
and ``speedups.png`` (speedup distributions, and the learning curve of a training run).
"""

from __future__ import annotations

import gzip
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from src.atomic import write_text_atomic
from src.cost.measure import meter_from_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.data.corpus import load_corpus
from src.expr import Expr, VarRange
from src.expr.settings import default_range
from src.selfplay.check import check_equal
from src.selfplay.rules import RULES

from .search import (
    Optimized,
    RandomPolicy,
    actor_policy,
    fast_math,
    fast_math_meter,
    guided,
    resolve_checkpoint,
    runner_settings,
    saturated,
)

METHODS = ("input", "fast-math", "untrained", "random", "saturation", "guide")


@dataclass(frozen=True)
class Case:
    """One expression to optimize; ``best`` is a pair's optimized side (None for corpus
    kernels)."""

    suite: str
    name: str
    expr: Expr
    ranges: Mapping[str, VarRange]
    best: Expr | None


def cases(config: Mapping) -> tuple[list[Case], list[str]]:
    """The held-out pairs and the corpus kernels, and the names of skipped kernels."""
    settings = default_generator_settings()
    generator = BwdGenerator(
        type(settings)(**{**settings.__dict__, "seed": int(config["pairs_bwd_seed"])}),
        RULES,
        default_static_model(),
    )
    found, skipped = [], []
    for index in range(int(config["pairs"])):
        optimized, junk, _ = generator.pair(index)
        ranges = {v: default_range() for v in junk.variables}
        found.append(Case("pairs", f"pair-{index}", junk, ranges, optimized))
    if config["fpcore"]:
        kernels, _ = load_corpus()
        for kernel in kernels:
            if kernel.body.sort != "num" or kernel.body.dag_nodes > config["fpcore_max_dag_nodes"]:
                skipped.append(kernel.name)
            else:
                found.append(Case("fpcore", kernel.name, kernel.body, kernel.ranges, None))
    return found, skipped


@cache
def _context(config_yaml: str) -> dict:
    """Per process: the policies and meters (built once, from the config's YAML)."""
    config = OmegaConf.create(config_yaml)
    untrained = OmegaConf.merge(config, {"actor": {"init": {"seed": config.untrained_seed}}})
    return {
        "settings": runner_settings(config),
        "guide": actor_policy(config, resolve_checkpoint(config.ckpt)),
        "untrained": actor_policy(untrained, None),
        "random": RandomPolicy(int(config.random_rules_per_epoch), int(config.random_seed)),
        "limits": dict(config.selfplay.saturation),
        "fast": fast_math_meter(),
        "meter": meter_from_config(config.cost),
    }


def run_case(task: tuple[str, Case, str]) -> dict:
    """One method on one case, as a JSON-ready record."""
    config_yaml, case, method = task
    c = _context(config_yaml)
    meter = c["meter"]
    if method == "input":
        ns = meter.measure(case.expr, case.ranges).ns_per_element
        _, error = check_equal(case.expr, case.expr, case.ranges, c["settings"])
        result = Optimized(
            method, case.name, case.expr, case.expr, ns, ns, error, True, [], 0, 0.0, "", ns
        )
    elif method == "fast-math":
        result = fast_math(case.name, case.expr, case.ranges, c["fast"], c["settings"], meter)
    elif method == "saturation":
        result = saturated(
            case.name, case.expr, case.ranges, c["limits"], c["settings"], meter=meter
        )
    else:
        result = guided(
            case.name, case.expr, case.ranges, c[method], c["settings"], method, meter=meter
        )
    record = {
        "suite": case.suite,
        "method": method,
        "name": case.name,
        "input": case.expr.text,
        "output": result.output.text,
        "ns_before": result.ns_before,
        "ns_after": result.ns_after,
        "speedup": result.speedup,
        "raw_speedup": result.raw_speedup,
        "candidates_measured": result.candidates_measured,
        "max_rel_error": result.max_rel_error,
        "ok": result.ok,
        "note": result.note,
        "rules_applied": result.rules_applied,
        "egraph_nodes": result.egraph_nodes,
        "seconds": result.seconds,
        "recovery": None,
    }
    if case.best is not None:
        best = meter.measure(case.best, case.ranges).ns_per_element
        possible = math.log(result.ns_before / best)
        if possible > 0:
            record["recovery"] = math.log(result.ns_before / result.ns_after) / possible
    return record


def summarize(records: Sequence[dict]) -> list[dict]:
    rows = []
    for suite in sorted({r["suite"] for r in records}):
        for method in METHODS:
            mine = [r for r in records if r["suite"] == suite and r["method"] == method]
            if not mine:
                continue
            speedups = np.array([r["speedup"] for r in mine])
            raw = np.array([r["raw_speedup"] for r in mine if r["raw_speedup"] is not None])
            recoveries = [r["recovery"] for r in mine if r["recovery"] is not None]
            errors = [r["max_rel_error"] for r in mine if math.isfinite(r["max_rel_error"])]
            rows.append(
                {
                    "suite": suite,
                    "method": method,
                    "expressions": len(mine),
                    "failures": sum(not r["ok"] for r in mine),
                    "geomean_speedup": float(np.exp(np.mean(np.log(speedups)))),
                    "median_speedup": float(np.median(speedups)),
                    "raw_geomean_speedup": float(np.exp(np.mean(np.log(raw))))
                    if raw.size
                    else None,
                    "slower_raw": int(np.sum(raw < 1.0)),
                    "faster_by_5pct": int(np.sum(speedups > 1.05)),
                    "median_recovery": float(np.median(recoveries)) if recoveries else None,
                    "max_rel_error": max(errors) if errors else None,
                    "median_egraph_nodes": float(np.median([r["egraph_nodes"] for r in mine])),
                    "seconds": float(sum(r["seconds"] for r in mine)),
                }
            )
    return rows


def mismatch_list(records: Sequence[dict]) -> str:
    """Each semantic mismatch: method, expression and why (the input was kept)."""
    lines = [
        f"- {r['suite']} / {r['method']} / {r['name']}: {r['note']}" for r in records if not r["ok"]
    ]
    return (
        "\nSemantic mismatches (the input is kept in their place):\n" + "\n".join(lines) + "\n"
        if lines
        else ""
    )


def table(rows: Sequence[dict], skipped: Sequence[str]) -> str:
    lines = [
        "| suite | method | n | failures | geomean speedup | median speedup | >5% faster "
        "| raw geomean | raw slower | median recovery | max rel error | median e-graph nodes "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        recovery = "" if r["median_recovery"] is None else f"{r['median_recovery']:.2f}"
        error = "" if r["max_rel_error"] is None else f"{r['max_rel_error']:.2g}"
        raw = "" if r["raw_geomean_speedup"] is None else f"{r['raw_geomean_speedup']:.3f}"
        lines.append(
            f"| {r['suite']} | {r['method']} | {r['expressions']} | {r['failures']} "
            f"| {r['geomean_speedup']:.3f} | {r['median_speedup']:.3f} | {r['faster_by_5pct']} "
            f"| {raw} | {r['slower_raw']} | {recovery} | {error} "
            f"| {r['median_egraph_nodes']:.0f} | {r['seconds']:.1f} |"
        )
    if skipped:
        lines.append(f"\nSkipped (larger than fpcore_max_dag_nodes): {', '.join(skipped)}")
    return "\n".join(lines) + "\n"


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


def plot(records: Sequence[dict], curve: Sequence[tuple[int, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = sorted({r["suite"] for r in records})
    figure, axes = plt.subplots(1, len(suites) + 1, figsize=(6 * (len(suites) + 1), 4.5))
    for axis, suite in zip(axes, suites, strict=False):
        methods = [
            m for m in METHODS if any(r["method"] == m and r["suite"] == suite for r in records)
        ]
        data = [
            [r["speedup"] for r in records if r["suite"] == suite and r["method"] == m]
            for m in methods
        ]
        axis.boxplot(data, tick_labels=methods, showfliers=True)
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set_yscale("log")
        axis.set_title(f"speedup over the input: {suite}")
        axis.tick_params(axis="x", rotation=30)
    if curve:
        axes[-1].plot([c[0] for c in curve], [c[1] for c in curve], marker="o")
        axes[-1].set_title("training: median speedup per round")
        axes[-1].set_xlabel("round")
    else:
        axes[-1].set_title("no training run given (run_dir=...)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def evaluate(config: Mapping) -> int:
    out_dir = Path(config["paths"]["run_dir"]) if "paths" in config else Path.cwd()
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = [m for m in config["methods"] if m not in METHODS]
    if unknown:
        print(
            f"error: unknown methods {unknown}; choose from {', '.join(METHODS)}", file=sys.stderr
        )
        return 1
    try:
        if not resolve_checkpoint(config["ckpt"]).exists():
            raise ValueError(f"{config['ckpt']}: no such checkpoint")
        found, skipped = cases(config)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    config_yaml = OmegaConf.to_yaml(config, resolve=True)
    tasks = [(config_yaml, case, method) for case in found for method in config["methods"]]
    workers = int(config["workers"]) or os.cpu_count() or 1
    print(
        f"evaluate: {len(found)} expressions x {len(config['methods'])} methods, {workers} workers",
        file=sys.stderr,
    )
    start, records = time.perf_counter(), []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for record in pool.imap_unordered(run_case, tasks, chunksize=1):
            records.append(record)
            if len(records) % 50 == 0:
                print(
                    f"evaluate: {len(records)}/{len(tasks)} ({time.perf_counter() - start:.0f} s)",
                    file=sys.stderr,
                )
    records.sort(key=lambda r: (r["suite"], r["name"], METHODS.index(r["method"])))
    rows = summarize(records)
    text = table(rows, skipped) + mismatch_list(records)
    write_text_atomic(out_dir / "results.md", text)
    write_text_atomic(
        out_dir / "results.json",
        json.dumps({"summary": rows, "skipped": skipped, "results": records}, indent=1),
    )
    run_dir = config["run_dir"]
    plot(records, learning_curve(Path(run_dir)) if run_dir else [], out_dir / "speedups.png")
    print(text)
    print(f"evaluate: wrote results.md, results.json, speedups.png to {out_dir}", file=sys.stderr)
    failures = sum(not r["ok"] for r in records)
    if failures:
        print(
            f"evaluate: {failures} semantic mismatches (reported per method above)", file=sys.stderr
        )
    return 0
