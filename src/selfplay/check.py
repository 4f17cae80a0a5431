"""The semantic check every optimized expression passes before anyone is given it: on
sampled inputs from the variables' ranges it must compute what the seed computes, within
float32 tolerance of the seed's exact (float64) value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from src.expr import Expr, VarRange, evaluate
from src.expr.compare import relative_errors
from src.expr.sampling import sample_inputs
from src.expr.settings import default_range, log_uniform_ratio

from .settings import RunnerSettings


def check_inputs(
    exprs: Sequence[Expr], ranges: Mapping[str, VarRange], s: RunnerSettings
) -> dict[str, np.ndarray]:
    """The sampled inputs the semantic check uses, for every variable of ``exprs``."""
    names = sorted(set().union(*(e.variables for e in exprs)))
    full = {n: ranges.get(n, default_range()) for n in names}
    return sample_inputs(full, names, s.check_elements, s.check_seed, log_uniform_ratio())


def judge(
    seed: Expr, inputs: Mapping[str, np.ndarray], actual: np.ndarray, s: RunnerSettings
) -> tuple[str, float]:
    """Whether ``actual`` (float32 outputs on ``inputs``) computes what ``seed`` does:
    ("" or why not, the largest relative error from the seed's exact value).

    The exact value is the seed evaluated in float64. An output may be off from it by
    ``check_rtol``, or by ``check_input_error_factor`` times the seed's own float32
    error at that input: a rewrite that removes a cancellation moves the result toward
    the true value, away from the seed's float32 result, and that is not a mismatch.
    Only inputs where the exact value is finite count, and there must be at least
    ``min_checked`` of them."""
    n = s.check_elements
    with np.errstate(all="ignore"):
        exact = np.broadcast_to(evaluate(seed, inputs, np.float64), (n,))
        own = np.broadcast_to(evaluate(seed, inputs), (n,))
    actual = np.broadcast_to(actual, (n,))
    defined = np.isfinite(exact)
    if defined.mean() < s.min_checked:
        return "", 0.0
    errors = relative_errors(actual[defined], exact[defined], s.check_abs_floor)
    own_errors = relative_errors(own[defined], exact[defined], s.check_abs_floor)
    allowed = np.maximum(s.check_rtol, s.check_input_error_factor * own_errors)
    worst = float(errors.max()) if errors.size else 0.0
    beyond = errors > allowed
    if beyond.any():
        k = int(np.argmax(np.where(beyond, errors, -1.0)))
        return (
            f"the result disagrees with the seed's exact value (relative error "
            f"{errors[k]:.3g} where the seed's own float32 error is {own_errors[k]:.3g})",
            worst,
        )
    return "", worst


def check_equal(
    seed: Expr, final: Expr, ranges: Mapping[str, VarRange], s: RunnerSettings
) -> tuple[str, float]:
    """``judge`` for the expression ``final`` (evaluated in float32)."""
    inputs = check_inputs([seed, final], ranges, s)
    with np.errstate(all="ignore"):
        actual = evaluate(final, inputs)
    return judge(seed, inputs, actual, s)
