"""What a measurement and a paired comparison return, shared by the meter and its disk
cache."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """``ns_per_element``: the cost; ``spread_pct``: how far the independent group
    estimates were apart (percent of the cost); ``nonfinite``: outputs that were inf or
    NaN, of ``elements``; ``calls``: timed kernel calls in total; ``quiet``: whether
    every group of calls was timed while the machine was quiet (see ``quiet.py``)."""

    ns_per_element: float
    spread_pct: float
    nonfinite: int
    elements: int
    calls: int
    quiet: bool


@dataclass(frozen=True)
class PairedCost:
    """One expression of a ``Comparison``. ``ns_per_element``: its fastest round's
    estimate; ``speedup``: the first expression's cost over this one's, from the paired
    rounds (1 for the first; above 1 is faster); ``log_margin``: the noise margin on
    ln(speedup) (see ``paired.log_margins``; 0 for the first); ``nonfinite``: outputs
    that were inf or NaN, of the comparison's ``elements``; ``calls``: its timed calls."""

    ns_per_element: float
    speedup: float
    log_margin: float
    nonfinite: int
    calls: int


@dataclass(frozen=True)
class Comparison:
    """What ``CostMeter.compare`` returns: ``costs``, one per expression in the order
    given (the input first); ``round_ns``: each round's estimate (ns/element) per
    expression, rounds by expressions; ``quiet``: whether every round began while the
    machine was quiet; ``waited_ms``: the time spent waiting for quiet, in all."""

    costs: tuple[PairedCost, ...]
    round_ns: tuple[tuple[float, ...], ...]
    elements: int
    quiet: bool
    waited_ms: float

    def faster(self, index: int) -> bool:
        """Whether expression ``index`` is faster than the first beyond the noise."""
        cost = self.costs[index]
        return math.log(cost.speedup) > cost.log_margin

    def slower(self, index: int) -> bool:
        """Whether expression ``index`` is slower than the first beyond the noise."""
        cost = self.costs[index]
        return math.log(cost.speedup) < -cost.log_margin
