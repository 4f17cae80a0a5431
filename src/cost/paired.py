"""Paired measurement: the speedups of candidates over an input, timed in one window.

Two separate measurements of one kernel differ by a few percent (the machine's slow
phases and drifts outlast any one measurement), as much as the speedups training
rewards. ``CostMeter.compare`` therefore times the input and its candidates in
interleaved rounds: before each round the quiet gate is consulted, then every kernel
times one group of calls, in an order rotated by one each round (each kernel leads
equally often, so no kernel always runs on caches the others left). A slow phase then
slows every kernel of a round alike, and the per-round ratios cancel it. What pairing
cannot cancel is fixed for one comparison: each binds its kernels afresh, and where the
allocator puts their arrays (16-byte aligned, so a vector load may straddle two cache
lines) moves a kernel's speed by up to a few percent from one binding to the next,
which no margin from one comparison's rounds can see.

This module holds the settings and the statistics over the rounds' estimates (a
``(rounds, kernels)`` array of ns/element, kernel 0 the input): pure functions, so that
the benchmark can score both estimators on the same timings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from src.config import conf_group, settings_from_config

# How the speedup of kernel k over kernel 0 is formed from the rounds' estimates:
# "median": the median over rounds of the per-round ratio (a slow phase cancels in the
# round it hits); "min": the ratio of each kernel's fastest round (what ``measure`` does
# for one kernel, so it agrees with ``measure``'s costs).
ESTIMATORS = ("median", "min")

# sigma = _MAD_TO_SIGMA * MAD for normal noise; the median of n samples has a standard
# error of _MEDIAN_SE * sigma / sqrt(n).
_MAD_TO_SIGMA = 1.4826
_MEDIAN_SE = math.sqrt(math.pi / 2)

# ns/element below which an estimate counts as this (a kernel the timer cannot resolve),
# so that a ratio is always finite.
_FLOOR_NS = 1e-6


@dataclass(frozen=True)
class PairedSettings:
    rounds: int
    group_ms: float
    min_calls: int
    speedup: str
    margin_z: float
    max_wait_ms: float

    def __post_init__(self) -> None:
        where = "cost.measure.paired"
        if self.rounds < 2:
            raise ValueError(f"{where}.rounds must be at least 2 (one round has no spread)")
        if not self.group_ms > 0:
            raise ValueError(f"{where}.group_ms must be positive")
        if self.min_calls < 1:
            raise ValueError(f"{where}.min_calls must be at least 1")
        if self.speedup not in ESTIMATORS:
            raise ValueError(f"{where}.speedup must be one of {', '.join(ESTIMATORS)}")
        if not self.margin_z >= 0:
            raise ValueError(f"{where}.margin_z must be at least 0")
        if not self.max_wait_ms >= 0:
            raise ValueError(f"{where}.max_wait_ms must be at least 0")


def default_paired_settings() -> PairedSettings:
    return settings_from_config(
        PairedSettings, conf_group("cost").measure.paired, "cost.measure.paired"
    )


def rotation(round_index: int, kernels: int) -> list[int]:
    """The order in which the kernels run in round ``round_index``."""
    return [(round_index + k) % kernels for k in range(kernels)]


def log_ratios(round_ns: np.ndarray) -> np.ndarray:
    """Per round, ln(input's estimate / each kernel's estimate): the log-speedups."""
    floored = np.maximum(round_ns, _FLOOR_NS)
    return np.log(floored[:, :1]) - np.log(floored)


def speedups(round_ns: np.ndarray, estimator: str) -> np.ndarray:
    """Each kernel's speedup over kernel 0 (1 for kernel 0 itself), by ``estimator``."""
    if estimator == "median":
        return np.exp(np.median(log_ratios(round_ns), axis=0))
    if estimator == "min":
        fastest = np.maximum(round_ns.min(axis=0), _FLOOR_NS)
        return fastest[0] / fastest
    raise ValueError(f"unknown speedup estimator {estimator!r}; one of {', '.join(ESTIMATORS)}")


def log_margins(round_ns: np.ndarray, z: float) -> np.ndarray:
    """Each kernel's noise margin on ln(speedup): ``z`` robust standard errors of the
    median per-round log-speedup (sigma from the median absolute deviation, so one round
    hit by a slow phase does not widen it). 0 for kernel 0, which is paired with itself."""
    ratios = log_ratios(round_ns)
    mad = np.median(np.abs(ratios - np.median(ratios, axis=0)), axis=0)
    return z * _MAD_TO_SIGMA * _MEDIAN_SE * mad / math.sqrt(len(round_ns))
