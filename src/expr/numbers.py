"""Float32 constants: reading literals exactly and printing them so they read back.

A literal such as ``0.1``, ``1/3`` or ``0.6931f0`` denotes an exact rational number; the
constant it becomes is the float32 nearest to that number (round to nearest, ties to
even, overflow to infinity), never a float64 rounded a second time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

import numpy as np

# A float32 rounds to infinity at or above FLT_MAX plus half an ulp (exact in float64).
_OVERFLOW = float(2**128 - 2**103)
FLT_MAX = float(np.finfo(np.float32).max)

# How the project's own syntaxes spell the non-finite constants (FPCore: INFINITY, NAN).
SPECIAL_VALUES = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEfF][+-]?\d+)?")
_RATIONAL = re.compile(r"[+-]?\d+/\d+")
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")


def to_f32(value: float) -> float:
    """The float32 nearest to a Python float, returned as a Python float."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def f32_step(value: float, upward: bool) -> float:
    """The float32 adjacent to ``value`` (a float32), above or below it."""
    with np.errstate(over="ignore"):
        return float(np.nextafter(np.float32(value), np.float32(math.inf if upward else -math.inf)))


def nearest_f32(approx: float, exact: Callable[[], Fraction]) -> float:
    """The float32 nearest to an exact rational q.

    ``approx`` is q correctly rounded to float64; ``exact`` builds q itself and is only
    called in the rare case that ``approx`` sits exactly on a float32 rounding boundary.
    Float32 midpoints are float64 numbers, so rounding q to float64 never crosses one.
    """
    sign = math.copysign(1.0, approx)
    if abs(approx) > _OVERFLOW:
        return sign * math.inf
    if abs(approx) == _OVERFLOW:
        return sign * (math.inf if abs(exact()) >= Fraction(_OVERFLOW) else FLT_MAX)
    rounded = to_f32(approx)
    if rounded == approx:
        return rounded
    other = f32_step(rounded, upward=approx > rounded)
    if approx * 2 != rounded + other:
        return rounded
    q = exact()
    midpoint = (Fraction(rounded) + Fraction(other)) / 2
    if q != midpoint:
        return rounded if abs(q - Fraction(rounded)) < abs(q - Fraction(other)) else other
    even = int(np.float32(rounded).view(np.uint32)) % 2 == 0
    return rounded if even else other


def _hex_fraction(text: str) -> Fraction:
    sign = -1 if text.startswith("-") else 1
    mantissa, _, exponent = text.lstrip("+-")[2:].lower().partition("p")
    whole, _, frac = mantissa.partition(".")
    digits = int((whole + frac) or "0", 16)
    return sign * Fraction(digits) * Fraction(2) ** (int(exponent or "0") - 4 * len(frac))


def _float_or_inf(make: Callable[[], float], negative: bool) -> float:
    try:
        return make()
    except OverflowError:
        return -math.inf if negative else math.inf


def parse_number(text: str) -> float | None:
    """Read a decimal (``1.5e3``, ``0.6931f0``), rational (``1/3``) or hex (``0x1.8p3``)
    literal as the nearest float32, returned as a Python float.

    Returns None when ``text`` is not a number literal. ``-0`` keeps its sign.
    """
    negative = text.startswith("-")
    if _DECIMAL.fullmatch(text):
        decimal = text.replace("f", "e").replace("F", "e")
        approx = float(decimal)
        value = nearest_f32(approx, lambda: Fraction(decimal))
    elif _RATIONAL.fullmatch(text):
        numerator, denominator = (int(part) for part in text.split("/"))
        if denominator == 0:
            return None
        exact = Fraction(numerator, denominator)
        value = nearest_f32(_float_or_inf(lambda: float(exact), negative), lambda: exact)
    elif _HEX.fullmatch(text):
        mantissa = text if "p" in text.lower() else text + "p0"
        approx = _float_or_inf(lambda: float.fromhex(mantissa), negative)
        value = nearest_f32(approx, lambda: _hex_fraction(mantissa))
    else:
        return None
    return -0.0 if value == 0 and negative else value


def format_f32(value: float) -> str:
    """The shortest decimal text that reads back as the same float32.

    Integral values print without a fraction (``3``, ``-16384``); negative zero prints
    as ``-0.0``; infinities and NaN print as ``inf``, ``-inf`` and ``nan``.
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0"
    text = str(np.float32(value))
    return text[:-2] if text.endswith(".0") else text
