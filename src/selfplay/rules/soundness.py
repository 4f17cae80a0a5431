"""The soundness check of a rule: both sides agree wherever the left side is defined.

Bindings of the pattern variables mix edge values on purpose (0, -0, +-1, negatives,
tiny, huge) with random ones, so that a rule whose right side is undefined where its
left side is defined (``x -> x / x``, ``x -> exp(log x)``) meets a counterexample. Both
sides are evaluated in float64; a binding where the left side is finite and the guard
holds counts, and there the sides must agree within ``rtol`` (relative) or ``atol``
(absolute, near zero). Where float64 says they do not, the binding is evaluated again
over the reals at ``digits`` digits (``exact.py``), so that float64 overflow or rounding
(``exp(a - b)`` against ``exp(a) / exp(b)`` at a = b = 1000) is not mistaken for an
unsound rule; only a disagreement there fails the rule.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import mpmath
import numpy as np

from src.config import conf_group, settings_from_config
from src.expr import evaluate

from .exact import evaluate_exact
from .table import Rule

EDGE_VALUES = (
    0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, math.pi / 2, 100.0, -100.0,
    1e-8, -1e-8, 1e8, -1e8, 1e-30, -1e-30, 1e30, -1e30,
)  # fmt: skip


@dataclass(frozen=True)
class SoundnessSettings:
    bindings: int
    batch: int
    max_batches: int
    seed: int
    rtol: float
    atol: float
    digits: int
    uniform_bound: float
    wide_low: float
    wide_high: float


def default_soundness_settings() -> SoundnessSettings:
    return settings_from_config(
        SoundnessSettings, conf_group("selfplay").soundness, "selfplay.soundness"
    )


@dataclass(frozen=True)
class Soundness:
    """``checked``: bindings where the left side was defined; ``counterexample``: a
    binding where the sides disagree, with both sides' values (None when sound)."""

    rule: str
    sound: bool
    checked: int
    counterexample: dict[str, float] | None = None
    detail: str = ""


def _bindings(
    variables: list[str], n: int, rng: np.random.Generator, s: SoundnessSettings
) -> dict[str, np.ndarray]:
    """Half edge values, a quarter uniform in [-uniform_bound, uniform_bound], a quarter
    of either sign with magnitudes log-uniform in [wide_low, wide_high]."""
    values = {}
    for name in variables:
        edges = rng.choice(EDGE_VALUES, n // 2)
        uniform = rng.uniform(-s.uniform_bound, s.uniform_bound, n // 4)
        wide = rng.choice([-1.0, 1.0], n - n // 2 - n // 4) * np.exp(
            rng.uniform(math.log(s.wide_low), math.log(s.wide_high), n - n // 2 - n // 4)
        )
        values[name] = rng.permutation(np.concatenate([edges, uniform, wide]))
    return values


def _close(left, right, s: SoundnessSettings):
    return abs(left - right) <= s.rtol * max(abs(left), abs(right)) + s.atol


def check_rule(rule: Rule, settings: SoundnessSettings) -> Soundness:
    """Check ``rule`` on ``settings.bindings`` bindings where its left side is defined."""
    rng = np.random.default_rng([settings.seed, zlib.crc32(rule.name.encode())])
    variables = sorted(rule.variables)
    checked = 0
    for _ in range(settings.max_batches):
        inputs = _bindings(variables, settings.batch, rng, settings)
        with np.errstate(all="ignore"):
            left = np.broadcast_to(evaluate(rule.lhs, inputs, np.float64), settings.batch)
            right = np.broadcast_to(evaluate(rule.rhs, inputs, np.float64), settings.batch)
            holds = (
                np.broadcast_to(evaluate(rule.guard, inputs, np.float64), settings.batch) != 0
                if rule.guard is not None
                else np.ones(settings.batch, dtype=bool)
            )
            defined = np.isfinite(left) & holds
            agree = (left == right) | (
                np.isfinite(right)
                & (
                    np.abs(left - right)
                    <= settings.rtol * np.maximum(np.abs(left), np.abs(right)) + settings.atol
                )
            )
        for i in np.flatnonzero(defined & ~agree):
            binding = {name: float(inputs[name][i]) for name in variables}
            exact_left = evaluate_exact(rule.lhs, binding, settings.digits)
            if not mpmath.isfinite(exact_left):
                defined[i] = False
                continue
            exact_right = evaluate_exact(rule.rhs, binding, settings.digits)
            if not (mpmath.isfinite(exact_right) and _close(exact_left, exact_right, settings)):
                example = binding | {"lhs": float(exact_left), "rhs": float(exact_right)}
                return Soundness(rule.name, False, checked, example, "the sides disagree")
        checked += int(np.count_nonzero(defined))
        if checked >= settings.bindings:
            return Soundness(rule.name, True, checked)
    detail = f"the left side was defined on only {checked} bindings"
    return Soundness(rule.name, False, checked, None, detail)
