"""How far one set of kernel outputs is from another, element by element.

Two outputs agree exactly when they are equal or both NaN (infinities of the same sign
are equal). Otherwise the relative error is ``|actual - expected| / max(|expected|,
abs_floor)``, and infinite when only one of them is finite (or NaN): a kernel that turns
a number into inf or NaN, or the other way round, is never "close".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def relative_errors(actual: ArrayLike, expected: ArrayLike, abs_floor: float) -> np.ndarray:
    """Per-element relative error of ``actual`` against ``expected`` (float64)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    finite = np.isfinite(a) & np.isfinite(e)
    with np.errstate(all="ignore"):
        scaled = np.abs(a - e) / np.maximum(np.abs(e), abs_floor)
    return np.where(same, 0.0, np.where(finite, scaled, np.inf))


def max_relative_error(actual: ArrayLike, expected: ArrayLike, abs_floor: float) -> float:
    """The largest of ``relative_errors`` (0.0 for empty outputs)."""
    errors = relative_errors(actual, expected, abs_floor)
    return float(errors.max()) if errors.size else 0.0
