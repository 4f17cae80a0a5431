"""The validation entry point a training loop calls every few rounds: a policy's search
with the search's approval rule (the one ``optimize.py`` runs) on held-out cases at one
e-node budget and time limit, summarized overall and per size bucket. It goes through
the same guard and semantic check as ``evaluate.py``, so its figures are comparable with
the table's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from src.cost.measure import CostMeter, default_meter
from src.data.ladder import default_ladder
from src.selfplay.runner import Policy, RunnerSettings

from .report import geomean
from .search import Optimized, guided
from .suites import Case, pair_cases, scene_cases


def validate(
    policy: Policy,
    cases: Sequence[Case],
    budget: int,
    settings: RunnerSettings,
    time_limit_s: float = 0.0,
    meter: CostMeter | None = None,
) -> dict[str, float]:
    """Metrics of ``policy`` on ``cases`` at ``budget`` e-nodes: ``geomean_speedup``,
    ``egraph_nodes`` (median), ``seconds`` (mean per expression), ``failures`` (semantic
    mismatches; the input is kept in their place) and ``expressions``, overall and as
    ``SIZE/...`` per size bucket of the cases."""
    if not cases:
        raise ValueError("validate needs at least one case")
    budgeted = dataclasses.replace(settings, node_budget=budget, time_limit_s=time_limit_s)
    meter = meter or default_meter()
    return summarize(
        [
            (case.size, guided(case.name, case.expr, case.ranges, policy, budgeted, meter=meter))
            for case in cases
        ]
    )


def summarize(results: Sequence[tuple[str, Optimized]]) -> dict[str, float]:
    """``validate``'s metrics of (size bucket, result) pairs, overall and per bucket."""
    metrics: dict[str, float] = {}
    for size in [None, *dict.fromkeys(size for size, _ in results)]:
        mine = [r for s, r in results if size is None or s == size]
        prefix = "" if size is None else f"{size}/"
        metrics |= {
            f"{prefix}geomean_speedup": geomean([r.speedup for r in mine]),
            f"{prefix}egraph_nodes": float(np.median([r.egraph_nodes for r in mine])),
            f"{prefix}seconds": float(np.mean([r.seconds for r in mine])),
            f"{prefix}failures": float(sum(not r.ok for r in mine)),
            f"{prefix}expressions": float(len(mine)),
        }
    return metrics


def validation_cases(config: Mapping) -> list[Case]:
    """The held-out cases ``config.validation`` names: its composed pairs, then its SDF
    scenes, both from its own seed."""
    v, ladder = config["validation"], default_ladder()
    found = pair_cases(int(v["pairs"]), int(v["seed"]), ladder)
    found += scene_cases(int(v["scenes"]), int(v["seed"]), ladder)
    if not found:
        raise ValueError("config validation: pairs and scenes are both 0")
    return found
