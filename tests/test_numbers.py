"""Literals read as the nearest float32, and printed constants read back unchanged."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from src.expr.numbers import FLT_MAX, format_f32, nearest_f32, parse_number


def _brute_nearest(q: Fraction) -> float:
    """Nearest float32 by comparing exact distances of the candidates around q."""
    with np.errstate(over="ignore"):
        center = np.float32(float(q))
    candidates = {
        float(center),
        float(np.nextafter(center, np.float32(np.inf))),
        float(np.nextafter(center, np.float32(-np.inf))),
    }
    finite = [c for c in candidates if math.isfinite(c)]
    return min(finite, key=lambda c: (abs(Fraction(c) - q), int(np.float32(c).view(np.uint32)) % 2))


@given(
    st.floats(
        width=32, allow_nan=False, allow_infinity=False, min_value=-(2.0**120), max_value=2.0**120
    ),
    st.sampled_from([-1, 0, 1]),
    st.integers(8, 60),
)
def test_nearest_f32_near_midpoints_matches_exact_rounding(f, direction, digits):
    lo = np.float32(f)
    hi = np.nextafter(lo, np.float32(np.inf))
    midpoint = (Fraction(float(lo)) + Fraction(float(hi))) / 2
    q = midpoint + direction * abs(midpoint) / Fraction(10) ** digits
    assert nearest_f32(float(q), lambda: q) == _brute_nearest(q)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", float(np.float32(0.1))),
        ("1/3", float(np.float32(1 / 3))),
        ("0.6931f0", float(np.float32(0.6931))),
        ("2.5e3", 2500.0),
        ("-.5", -0.5),
        ("0x1.8p3", 12.0),
        ("-0x10", -16.0),
        ("1e400", math.inf),
        ("-1e400", -math.inf),
        ("1.7e308", math.inf),
        ("3.4028235e38", FLT_MAX),
        ("1e-50", 0.0),
        ("1e999999999", math.inf),
        ("16384", 16384.0),
    ],
)
def test_parse_number_forms(text, expected):
    assert parse_number(text) == expected


def test_parse_number_keeps_negative_zero_and_rejects_non_numbers():
    assert math.copysign(1, parse_number("-0")) == -1
    assert math.copysign(1, parse_number("-1e-60")) == -1
    for text in ("x", "1/0", "1.2.3", "e5", "--1", "", "0x", "1e"):
        assert parse_number(text) is None


def test_overflow_boundary_rounds_like_ieee():
    halfway = Fraction(2**128 - 2**103)  # FLT_MAX + half an ulp: ties to even -> inf
    assert nearest_f32(float(halfway), lambda: halfway) == math.inf
    below = halfway - 1
    assert nearest_f32(float(below), lambda: below) == FLT_MAX


@given(st.integers(0, 2**32 - 1))
def test_every_float32_prints_and_reads_back_bit_exact(bits):
    value = float(np.uint32(bits).view(np.float32))
    if math.isnan(value):
        assert format_f32(value) == "nan"
        return
    text = format_f32(value)
    back = {"inf": math.inf, "-inf": -math.inf}.get(text)
    back = parse_number(text) if back is None else back
    assert np.float32(back).view(np.uint32) == bits
