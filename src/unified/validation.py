"""The validation entry point a training loop calls every few rounds: a policy's search
with the search's approval rule (the one ``optimize.py`` runs) on held-out cases at one
e-node budget and time limit, summarized overall, per suite and per size bucket. It goes
through the same guard and semantic check as ``evaluate.py``, so its figures are
comparable with the table's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from src.cost.measure import CostMeter, default_meter
from src.data.corpus import trainable_kernels
from src.data.ladder import default_ladder
from src.selfplay.runner import Policy, RunnerSettings

from .report import geomean
from .search import Optimized, guided
from .suites import Case, kernel_cases, pair_cases, scene_cases


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
    ``SUITE/...`` and ``SIZE/...`` per suite and size bucket of the cases."""
    if not cases:
        raise ValueError("validate needs at least one case")
    budgeted = dataclasses.replace(settings, node_budget=budget, time_limit_s=time_limit_s)
    meter = meter or default_meter()
    return summarize(
        [
            (
                (case.suite, case.size),
                guided(case.name, case.expr, case.ranges, policy, budgeted, meter=meter),
            )
            for case in cases
        ]
    )


def summarize(results: Sequence[tuple[Sequence[str], Optimized]]) -> dict[str, float]:
    """``validate``'s metrics of (groups, result) pairs, overall and as ``GROUP/...`` per
    group a result is in (its suite and its size bucket)."""
    metrics: dict[str, float] = {}
    groups = dict.fromkeys(group for names, _ in results for group in names)
    for group in [None, *groups]:
        mine = [r for names, r in results if group is None or group in names]
        prefix = "" if group is None else f"{group}/"
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
    scenes, both from its own seed, then (``corpus``) the corpus kernels of the validation
    band (``corpus.validates``), which self-play never starts from."""
    v, ladder = config["validation"], default_ladder()
    found = pair_cases(int(v["pairs"]), int(v["seed"]), ladder)
    found += scene_cases(int(v["scenes"]), int(v["seed"]), ladder)
    if v["corpus"]:
        s = config["data"]["selfplay"]
        band = (s["corpus_holdout"], s["corpus_max_dag_nodes"], s["corpus_validation"], True)
        found += kernel_cases(
            "corpus", trainable_kernels(*band), int(s["corpus_max_dag_nodes"]), ladder
        )[0]
    if not found:
        raise ValueError("config validation: no pairs, scenes or corpus kernels")
    return found
