"""Sampled inputs: inside each range, deterministic, per-variable streams, log-uniform
sampling of wide ranges; and the relative-error comparison of outputs."""

import math

import numpy as np
import pytest

from src.expr import VarRange
from src.expr.compare import max_relative_error, relative_errors
from src.expr.sampling import sample_inputs, sample_range

RATIO = 1000.0


@pytest.mark.parametrize(
    "r",
    [
        VarRange(-1.0, 1.0),
        VarRange(0.0, 1.0),
        VarRange(-3.0, -1.0),
        VarRange(16.0, 16.0),
        VarRange(-1.0, 710.0),
        VarRange(1.4e-45, 1.0),
        VarRange(-1e20, 1e20, 1e-20),
        VarRange(-3.0, 3.0, 1.0),
        VarRange(-3.4e38, 3.4e38),
    ],
)
def test_samples_stay_in_their_range(r):
    x = sample_range(r, 5000, np.random.default_rng(0), RATIO)
    assert x.dtype == np.float32 and np.isfinite(x).all()
    assert (x >= np.float32(r.lo)).all() and (x <= np.float32(r.hi)).all()
    assert (np.abs(x) >= np.float32(r.min_abs)).all()
    if r.lo < 0 < r.hi:
        assert (x < 0).any() and (x > 0).any()


def test_wide_ranges_are_sampled_log_uniformly():
    x = sample_range(VarRange(1e-20, 1e20), 20000, np.random.default_rng(0), RATIO)
    decades = np.log10(x)
    assert abs(np.mean(decades < 0) - 0.5) < 0.02
    assert abs(np.mean(decades < -10) - 0.25) < 0.02
    narrow = sample_range(VarRange(1.0, 100.0), 20000, np.random.default_rng(0), RATIO)
    assert abs(np.mean(narrow < 50.5) - 0.5) < 0.02  # uniform below the ratio


def test_each_variable_has_its_own_reproducible_stream():
    ranges = {"x": VarRange(-1, 1), "y": VarRange(-1, 1), "z": VarRange(-1, 1)}
    both = sample_inputs(ranges, ["x", "y"], 100, seed=5, log_ratio=RATIO)
    alone = sample_inputs(ranges, ["y"], 100, seed=5, log_ratio=RATIO)
    np.testing.assert_array_equal(both["y"], alone["y"])
    assert not np.array_equal(both["x"], both["y"])
    other_seed = sample_inputs(ranges, ["y"], 100, seed=6, log_ratio=RATIO)
    assert not np.array_equal(other_seed["y"], alone["y"])
    with pytest.raises(KeyError, match="no range for variable 'w'"):
        sample_inputs(ranges, ["w"], 10, seed=0, log_ratio=RATIO)


def test_an_empty_range_is_an_error():
    with pytest.raises(ValueError, match="has no values"):
        sample_range(VarRange(-1.0, 1.0, 2.0), 10, np.random.default_rng(0), RATIO)


def test_relative_errors():
    inf, nan = math.inf, math.nan
    actual = np.array([1.0, 1.1, nan, inf, inf, 1.0, 0.0, 1e-31], np.float32)
    expected = np.array([1.0, 1.0, nan, inf, -inf, nan, 0.0, 0.0], np.float32)
    errors = relative_errors(actual, expected, abs_floor=1e-30)
    assert errors[0] == 0 and errors[1] == pytest.approx(0.1, rel=1e-6)
    assert errors[2] == 0 and errors[3] == 0 and errors[6] == 0
    assert errors[4] == inf and errors[5] == inf
    assert errors[7] == pytest.approx(0.1, rel=1e-5)
    assert max_relative_error(actual, expected, 1e-30) == inf
    assert max_relative_error([], [], 1e-30) == 0.0
