"""The expression language's defaults, read from ``conf/expr/default.yaml``."""

from __future__ import annotations

from functools import cache

from src.config import conf_group

from .kernel import VarRange


@cache
def default_range() -> VarRange:
    """The range of a variable that its kernel gives no range for."""
    lo, hi = conf_group("expr").default_range
    return VarRange(float(lo), float(hi))


def log_uniform_ratio() -> float:
    """Above this hi/lo magnitude ratio a range is sampled log-uniformly."""
    return float(conf_group("expr").log_uniform_ratio)
