"""Never slower: a search's answer is the fastest, by paired measurement, of the seed and
the search's distinct extracted candidates that pass the semantic check.

Extraction trusts the static cost model, and the measured cost sometimes disagrees (a
pow the model prices high runs fast, a fused op runs slow), so the last extraction can
measure slower than the seed. Measuring the seed and a few candidates in one paired
comparison (``CostMeter.compare``: interleaved groups, so a slow phase of the machine hits
all of them) and keeping the fastest means the output never measures slower than the
input, up to that comparison's noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from src.cost.measure import CostMeter
from src.expr import Expr, VarRange

from .check import SeedCheck
from .settings import RunnerSettings


@dataclass(frozen=True)
class Choice:
    """The answer and how it was chosen. ``ns_*`` are per element, from one paired
    comparison of the seed and every measured candidate: the seed's fastest round, and
    each candidate's cost as the seed's over its paired speedup. ``final`` is the
    search's last extraction (measured whenever it passed the check; ``final_ns`` is
    None otherwise)."""

    output: Expr
    final: Expr  # the search's final extraction (the seed when it made none)
    seed_ns: float
    output_ns: float
    final_ns: float | None
    final_disagreement: str
    final_error: float
    output_error: float
    candidates_measured: int


def spread_candidates(candidates: Sequence[Expr], seed: Expr, count: int) -> list[Expr]:
    """At most ``count`` of the distinct ``candidates`` other than the seed, in order of
    their last appearance, evenly spaced over them and always including the last (the
    search's final answer, which may have appeared before)."""
    distinct = [e for e in reversed(dict.fromkeys(reversed(candidates))) if e != seed]
    if count < 1 or not distinct:
        return []
    if len(distinct) <= count:
        return distinct
    picks = np.unique(np.round(np.linspace(len(distinct) - 1, 0, count)).astype(int))
    return [distinct[k] for k in sorted(picks)]


def fastest(
    seed: Expr,
    candidates: Sequence[Expr],
    ranges: Mapping[str, VarRange],
    settings: RunnerSettings,
    meter: CostMeter,
    check: SeedCheck | None = None,
) -> Choice:
    """The fastest of ``seed`` and (up to ``settings.candidates_for`` the seed's size of)
    ``candidates``, the search's extractions in the order it made them (the last is its
    final answer). A candidate that fails the semantic check is never chosen; a candidate
    is chosen over the seed only when the paired comparison measures it faster beyond its
    noise margin (``Comparison.faster``). ``check``: the search's own ``SeedCheck`` of ``seed``
    (its values of shared subexpressions are reused), or a new one."""
    final = candidates[-1] if candidates else seed
    check = check or SeedCheck(seed, ranges, settings)
    checked = {seed: check.check(seed)}
    # the spread ends with ``final`` (or ``final`` is the seed)
    for expr in spread_candidates(candidates, seed, settings.candidates_for(seed.dag_nodes)):
        checked[expr] = check.check(expr)
    passing = [e for e, (why, _) in checked.items() if not why or e == seed]
    comparison = meter.compare(passing, ranges)
    speedups = np.array([cost.speedup for cost in comparison.costs])
    faster = [k for k in range(1, len(passing)) if comparison.faster(k)]
    best = max(faster, key=lambda k: speedups[k]) if faster else 0
    # every cost on the seed's scale, by the paired speedups: ns_before / ns_after is the
    # paired speedup exactly
    seed_ns = comparison.costs[0].ns_per_element
    ns = {expr: seed_ns / speedup for expr, speedup in zip(passing, speedups, strict=True)}
    final_why, final_error = checked[final]
    return Choice(
        output=passing[best],
        final=final,
        seed_ns=ns[seed],
        output_ns=ns[passing[best]],
        final_ns=ns.get(final),
        final_disagreement=final_why,
        final_error=final_error,
        output_error=checked[passing[best]][1],
        candidates_measured=len(passing) - 1,
    )
