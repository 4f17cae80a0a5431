"""The semantic check every optimized expression passes before anyone is given it: on
sampled inputs from the variables' ranges it must compute what the seed computes, within
float32 tolerance of the seed's exact (float64) value."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from src.expr import Expr, VarRange, evaluate
from src.expr.compare import relative_errors
from src.expr.sampling import sample_inputs
from src.expr.settings import default_range, log_uniform_ratio

from .settings import RunnerSettings


class SeedCheck:
    """The semantic check of one seed's rewrites: the sampled inputs and the seed's exact
    (float64) and own (float32) values, computed once. A rewrite never gains a variable,
    so the seed's variables are every rewrite's.

    ``check`` keeps the float32 value of every subexpression it evaluated: a search's
    successive extractions share most of their nodes, so checking each new one costs
    about its new nodes."""

    def __init__(self, seed: Expr, ranges: Mapping[str, VarRange], s: RunnerSettings) -> None:
        self.settings = s
        names = sorted(seed.variables)
        full = {name: ranges.get(name, default_range()) for name in names}
        self.inputs = sample_inputs(
            full, names, s.check_elements, s.check_seed, log_uniform_ratio()
        )
        n = s.check_elements
        self._values: dict[Expr, np.ndarray] = {}
        with np.errstate(all="ignore"):
            self._exact = np.broadcast_to(evaluate(seed, self.inputs, np.float64), (n,))
            own = np.broadcast_to(evaluate(seed, self.inputs, memo=self._values), (n,))
        self._defined = np.isfinite(self._exact)
        self._own_errors = relative_errors(
            own[self._defined], self._exact[self._defined], s.check_abs_floor
        )

    def check(self, expr: Expr) -> tuple[str, float]:
        """``judge`` of ``expr`` evaluated in float32."""
        return self.judge(evaluate(expr, self.inputs, memo=self._values))

    def judge(self, actual: np.ndarray) -> tuple[str, float]:
        """Whether ``actual`` (float32 outputs on ``inputs``) computes what the seed does:
        ("" or why not, the largest relative error from the seed's exact value).

        An output may be off from the exact value by ``check_rtol``, or by
        ``check_input_error_factor`` times the seed's own float32 error at that input: a
        rewrite that removes a cancellation moves the result toward the true value, away
        from the seed's float32 result, and that is not a mismatch. Only inputs where the
        exact value is finite count, and there must be at least ``min_checked`` of them."""
        s = self.settings
        if self._defined.mean() < s.min_checked:
            return "", 0.0
        actual = np.broadcast_to(actual, (s.check_elements,))[self._defined]
        errors = relative_errors(actual, self._exact[self._defined], s.check_abs_floor)
        allowed = np.maximum(s.check_rtol, s.check_input_error_factor * self._own_errors)
        worst = float(errors.max()) if errors.size else 0.0
        beyond = errors > allowed
        if beyond.any():
            k = int(np.argmax(np.where(beyond, errors, -1.0)))
            return (
                f"the result disagrees with the seed's exact value (relative error "
                f"{errors[k]:.3g} where the seed's own float32 error is "
                f"{self._own_errors[k]:.3g})",
                worst,
            )
        return "", worst


def check_equal(
    seed: Expr, final: Expr, ranges: Mapping[str, VarRange], s: RunnerSettings
) -> tuple[str, float]:
    """Whether ``final`` computes what ``seed`` does (``SeedCheck.check``)."""
    return SeedCheck(seed, ranges, s).check(final)
