"""Seeded random inputs drawn from each variable's range.

Every consumer that runs a kernel on sample inputs (measurement, the JIT's differential
check, semantic checks of rewrites) draws them here, so the same variable under the same
seed gets the same values wherever it occurs: the stream of a variable depends only on
the seed and the variable's name, not on which other variables the expression has.

A range whose magnitudes span more than ``log_uniform_ratio`` (and exclude zero) is
sampled log-uniformly in magnitude, as Herbie does: uniform sampling of [1e-20, 1e20]
would give values near 1e20 only and never exercise the small ones.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

from .kernel import VarRange


def _pieces(r: VarRange) -> list[tuple[float, float, float]]:
    """The range as (sign, low magnitude, high magnitude) pieces with |x| >= min_abs."""
    found = []
    low = max(r.lo, 0.0, r.min_abs)
    if r.hi >= low:
        found.append((1.0, low, r.hi))
    low = max(-r.hi, 0.0, r.min_abs)
    if r.lo < 0 and -r.lo >= low:
        found.append((-1.0, low, -r.lo))
    return found


def sample_range(r: VarRange, n: int, rng: np.random.Generator, log_ratio: float) -> np.ndarray:
    """``n`` float32 values from ``r`` (see the module docstring for the distribution)."""
    pieces = _pieces(r)
    if not pieces:
        raise ValueError(f"range [{r.lo}, {r.hi}] with |x| >= {r.min_abs} has no values")
    logscale = all(lo > 0 and hi / lo > log_ratio for _, lo, hi in pieces)
    bounds = [(math.log(lo), math.log(hi)) if logscale else (lo, hi) for _, lo, hi in pieces]
    weights = np.array([hi - lo for lo, hi in bounds], dtype=np.float64)
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full(len(pieces), 1 / len(pieces))
    )
    which = rng.choice(len(pieces), size=n, p=weights)
    lows = np.array([b[0] for b in bounds])[which]
    highs = np.array([b[1] for b in bounds])[which]
    magnitude = rng.uniform(lows, highs)
    if logscale:
        magnitude = np.exp(magnitude)
    signs = np.array([p[0] for p in pieces])[which]
    with np.errstate(over="ignore"):
        values = (signs * magnitude).astype(np.float32)
    # Rounding to float32 can step just outside the range; pull those back in.
    values = np.clip(values, np.float32(r.lo), np.float32(r.hi))
    small = np.abs(values) < np.float32(r.min_abs)
    values[small] = np.copysign(np.float32(r.min_abs), values[small])
    return values


def sample_inputs(
    ranges: Mapping[str, VarRange],
    names: Iterable[str],
    n: int,
    seed: int,
    log_ratio: float,
) -> dict[str, np.ndarray]:
    """For each of ``names``, ``n`` float32 inputs drawn from its range in ``ranges``."""
    inputs = {}
    for name in names:
        if name not in ranges:
            raise KeyError(f"no range for variable '{name}'")
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        inputs[name] = sample_range(ranges[name], n, rng, log_ratio)
    return inputs
