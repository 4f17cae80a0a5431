"""``python evaluate.py``: how far each method gets on each suite, size bucket and budget.

Every method optimizes every case (``suites.py``) at every budget of ``budgets``
(e-nodes) under the same wall-time limit per expression, ``time_limit_s``, enforced the
same way: the guided searches check both after every epoch, saturation after every
iteration (``selfplay.saturation.iterations_per_check: 1``), and every record says how
far past the node budget its e-graph ended (``overshoot``) and how long it took. Methods:
``input`` (nothing), ``fast-math`` (the input compiled with LLVM's fast-math flags),
``saturation`` (egglog, all rules, back-off scheduler), ``saturation-simple`` (its
simple scheduler), ``random`` (uniformly random rules: per expression as many per epoch
as the guide approves in its first epoch there, unless ``random_rules_per_epoch`` sets a
number), ``untrained`` (a fresh actor) and ``guide`` (the trained actor: ``ckpt``; else
the actor that ``run_dir``'s run ships; else ``models/guide/``). ``input`` and
``fast-math`` use no budget: they run once per case and are listed at every budget.

Every answer goes through the same semantic check and "never slower" guard
(``search.py``). Writes ``results.md`` (per suite and size bucket, each method's
geometric-mean speedup at each budget; then every summary row), ``results.json`` (every
record and the summary) and ``pareto.png`` (``report.py``); with ``run_dir``, also the
training run's learning curve.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from src.atomic import write_text_atomic
from src.cost.measure import meter_from_config
from src.selfplay.check import check_equal
from src.workers import TaskPool, WorkerSettings

from . import report
from .search import (
    SATURATION_SCHEDULERS,
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
from .ship import SHIPPED_GUIDE, run_actor
from .suites import Case, cases

METHODS = (
    "input", "fast-math", "saturation", "saturation-simple", "random", "untrained", "guide",
)  # fmt: skip
UNBUDGETED = ("input", "fast-math")


def _needs_guide(config: Mapping) -> bool:
    """The guide runs, or sets the random policy's rules per epoch."""
    methods = set(config["methods"])
    return "guide" in methods or ("random" in methods and config["random_rules_per_epoch"] is None)


@cache
def _context(config_yaml: str) -> dict:
    """Per process: the policies and meters (built once, from the config's YAML)."""
    config = OmegaConf.create(config_yaml)
    untrained = OmegaConf.merge(config, {"actor": {"init": {"seed": config.untrained_seed}}})
    return {
        "config": config,
        "settings": runner_settings(config),
        "guide": actor_policy(config, resolve_checkpoint(config.ckpt))
        if _needs_guide(config)
        else None,
        "untrained": actor_policy(untrained, None),
        "limits": dict(config.selfplay.saturation),
        "fast": fast_math_meter(),
        "meter": meter_from_config(config.cost),
    }


def _random_policy(c: dict, case: Case, budget: int) -> RandomPolicy:
    """Its own random stream per case and budget (so results do not depend on which
    worker ran what), approving ``random_rules_per_epoch`` rules an epoch, or as many
    as the guide approves on the input when that is null (at least one)."""
    count = c["config"].random_rules_per_epoch
    if count is None:
        guide = c["guide"]
        p = guide.probabilities(guide.state(guide.features(case.expr), budget, 0))
        count = c["settings"].approvals(np.asarray(p))  # the guide's own rule
    seed = zlib.crc32(f"{c['config'].random_seed}/{case.suite}/{case.name}/{budget}".encode())
    return RandomPolicy(max(1, int(count)), seed)


def _optimize(c: dict, case: Case, method: str, budget: int) -> Optimized:
    meter, time_limit = c["meter"], float(c["config"].time_limit_s)
    settings = c["settings"]
    if method == "input":
        ns = meter.measure(case.expr, case.ranges).ns_per_element
        _, error = check_equal(case.expr, case.expr, case.ranges, settings)
        return Optimized(
            method, case.name, case.expr, case.expr, ns, ns, error, True, [], 0, 0.0, "", ns
        )
    if method == "fast-math":
        return fast_math(case.name, case.expr, case.ranges, c["fast"], settings, meter)
    if method in SATURATION_SCHEDULERS:
        limits = c["limits"] | {"max_nodes": budget, "seconds": time_limit}
        scheduler = SATURATION_SCHEDULERS[method]
        return saturated(
            case.name, case.expr, case.ranges, limits, settings, meter=meter, scheduler=scheduler
        )
    policy = _random_policy(c, case, budget) if method == "random" else c[method]
    budgeted = dataclasses.replace(settings, node_budget=budget, time_limit_s=time_limit)
    return guided(case.name, case.expr, case.ranges, policy, budgeted, method, meter=meter)


def run_case(config_yaml: str, task: tuple[Case, str, int]) -> dict:
    """One method on one case at one budget, as a JSON-ready record (``config_yaml``: the
    evaluation's config, which a worker reads once)."""
    case, method, budget = task
    c = _context(config_yaml)
    result = _optimize(c, case, method, budget)
    record = {
        "suite": case.suite,
        "size": case.size,
        "dag_nodes": case.expr.dag_nodes,
        "method": method,
        "budget": budget,
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
        "overshoot": max(0, result.egraph_nodes - budget) if method not in UNBUDGETED else 0,
        "epochs": result.epochs,
        "seconds": result.seconds,
        "recovery": None,
    }
    if case.best is not None:
        best = c["meter"].measure(case.best, case.ranges).ns_per_element
        possible = math.log(result.ns_before / best)
        if possible > 0:
            record["recovery"] = math.log(result.ns_before / result.ns_after) / possible
    return record


def summarize(records: Sequence[dict], sizes: Sequence[str]) -> list[dict]:
    """One row per suite, size bucket, method and budget (``sizes`` gives the buckets'
    order)."""
    rows = []
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["suite"], r["size"], r["method"], r["budget"]), []).append(r)
    order = {name: k for k, name in enumerate(sizes)}

    def key(group: tuple) -> tuple:
        suite, size, method, budget = group
        return suite, order.get(size, len(order)), METHODS.index(method), budget

    for group in sorted(groups, key=key):
        mine = groups[group]
        speedups = [r["speedup"] for r in mine]
        raw = [r["raw_speedup"] for r in mine if r["raw_speedup"] is not None]
        recoveries = [r["recovery"] for r in mine if r["recovery"] is not None]
        errors = [r["max_rel_error"] for r in mine if math.isfinite(r["max_rel_error"])]
        rows.append(
            dict(zip(("suite", "size", "method", "budget"), group, strict=True))
            | {
                "expressions": len(mine),
                "failures": sum(not r["ok"] for r in mine),
                "geomean_speedup": report.geomean(speedups),
                "median_speedup": float(np.median(speedups)),
                "raw_geomean_speedup": report.geomean(raw) if raw else None,
                "slower_raw": int(sum(s < 1.0 for s in raw)),
                "median_recovery": float(np.median(recoveries)) if recoveries else None,
                "max_rel_error": max(errors) if errors else None,
                "median_egraph_nodes": float(np.median([r["egraph_nodes"] for r in mine])),
                "max_overshoot": int(max(r["overshoot"] for r in mine)),
                "seconds": float(sum(r["seconds"] for r in mine)),
            }
        )
    return rows


def _tasks(config: Mapping, found: Sequence[Case]) -> list[tuple]:
    budgets = [int(b) for b in config["budgets"]]
    tasks = []
    for case in found:
        for method in config["methods"]:
            for budget in budgets[:1] if method in UNBUDGETED else budgets:
                tasks.append((case, method, budget))
    return tasks


def _check(config: Mapping) -> str | None:
    """Why the settings cannot run, or None."""
    unknown = [m for m in config["methods"] if m not in METHODS]
    if unknown:
        return f"unknown methods {unknown}; choose from {', '.join(METHODS)}"
    budgets = list(config["budgets"])
    if not budgets or any(not isinstance(b, int) or b < 1 for b in budgets):
        return f"budgets must be e-node counts of at least 1, not {budgets}"
    if not float(config["time_limit_s"]) > 0:
        return f"time_limit_s must be positive, not {config['time_limit_s']}"
    try:
        _worker_settings(config)
    except ValueError as error:
        return str(error)
    return None


def _worker_settings(config: Mapping) -> WorkerSettings:
    return WorkerSettings.from_config(
        config["backend"], config["workers"], config["ray"], "evaluate"
    )


def guide_checkpoint(config: Mapping) -> Path:
    """The guide evaluated: ``ckpt`` when set, else the actor ``run_dir``'s run ships
    (its best by validation), else the shipped guide."""
    if config["ckpt"]:
        return resolve_checkpoint(config["ckpt"])
    if config["run_dir"]:
        return run_actor(Path(config["run_dir"]))
    return SHIPPED_GUIDE


def evaluate(config: Mapping) -> int:
    problem = _check(config)
    try:
        if problem is None and _needs_guide(config):
            checkpoint = guide_checkpoint(config)
            config = OmegaConf.merge(config, {"ckpt": str(checkpoint)})
            if not checkpoint.exists():
                problem = f"{checkpoint}: no such checkpoint"
            else:
                actor_policy(config, checkpoint)  # a file the workers could not load: one error
        found, skipped = cases(config) if problem is None else ([], [])
    except (ValueError, OSError) as error:
        problem = str(error)
    if problem is None and not found:
        problem = "nothing to evaluate (no suite or file holds a case)"
    out_dir = Path(config["paths"]["run_dir"]) if "paths" in config else Path.cwd()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        _discard_unused(out_dir)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    config_yaml = OmegaConf.to_yaml(config, resolve=True)
    tasks = _tasks(config, found)
    workers = _worker_settings(config)
    print(
        f"evaluate: {len(found)} expressions, {len(config['methods'])} methods, budgets "
        f"{list(config['budgets'])}: {len(tasks)} searches on {workers.count()} "
        f"{workers.backend} workers"
        + (f"; guide {config['ckpt']}" if _needs_guide(config) else ""),
        file=sys.stderr,
    )
    start, records = time.perf_counter(), []
    pool = TaskPool(workers)
    try:
        for record in pool.map(run_case, config_yaml, tasks, ordered=False):
            records.append(record)
            if len(records) % 50 == 0 or len(records) == len(tasks):
                print(
                    f"evaluate: {len(records)}/{len(tasks)} ({time.perf_counter() - start:.0f} s)",
                    file=sys.stderr,
                )
    finally:
        pool.close()
    records = _every_budget(records, [int(b) for b in config["budgets"]])
    records.sort(key=lambda r: (r["suite"], r["name"], METHODS.index(r["method"]), r["budget"]))
    sizes = report.size_order()
    rows = summarize(records, sizes)
    text = report.targets(records) + report.markdown(rows, sizes, skipped)
    text += report.mismatches(records)
    write_text_atomic(out_dir / "results.md", text)
    write_text_atomic(
        out_dir / "results.json",
        json.dumps({"summary": rows, "skipped": skipped, "results": records}, indent=1),
    )
    report.pareto(records, out_dir / "pareto.png")
    written = "results.md, results.json, pareto.png"
    if config["run_dir"]:
        report.learning_curve_plot(Path(config["run_dir"]), out_dir / "learning_curve.png")
        written += ", learning_curve.png"
    print(text)
    print(f"evaluate: wrote {written} to {out_dir}", file=sys.stderr)
    failures = sum(not r["ok"] for r in records)
    if failures:
        print(
            f"evaluate: {failures} semantic mismatches (reported per method above)", file=sys.stderr
        )
    return 0


def _discard_unused(out_dir: Path) -> None:
    """Remove the run directory Hydra made for a run that stopped before writing: when it
    holds nothing but Hydra's own ``.hydra`` copy of the config (and then its parent,
    ``evaluation/``, when that is left empty)."""
    if not out_dir.is_dir() or any(p.name != ".hydra" for p in out_dir.iterdir()):
        return
    hydra_dir = out_dir / ".hydra"
    if hydra_dir.is_dir():
        for path in hydra_dir.iterdir():
            path.unlink()
        hydra_dir.rmdir()
    out_dir.rmdir()
    if out_dir.parent.name == "evaluation" and not any(out_dir.parent.iterdir()):
        out_dir.parent.rmdir()


def _every_budget(records: Sequence[dict], budgets: Sequence[int]) -> list[dict]:
    """The records, with those of the methods that use no budget listed at every one."""
    listed = []
    for r in records:
        if r["method"] in UNBUDGETED:
            listed += [r | {"budget": b} for b in budgets]
        else:
            listed.append(r)
    return listed
