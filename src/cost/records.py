"""What a measurement returns, shared by the meter and its disk cache."""

from __future__ import annotations

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
