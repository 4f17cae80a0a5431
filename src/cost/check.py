"""The differential check: does a compiled kernel compute what the reference evaluator
says the expression means?

Both run on the same seeded inputs from the variables' ranges. Float32 arithmetic the
hardware does exactly (+, -, *, /, sqrt, fma, min, max, floor, ...) agrees bit for bit;
the math library and numpy may round transcendental results differently by an ulp or
two, and cancellation later in an expression can magnify that, so agreement is a
relative error at most ``rtol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from src.config import conf_group, settings_from_config
from src.expr import VarRange, evaluate
from src.expr.compare import max_relative_error
from src.expr.sampling import sample_inputs
from src.expr.settings import log_uniform_ratio

from .jit import CompiledKernel


@dataclass(frozen=True)
class CheckSettings:
    elements: int
    seed: int
    abs_floor: float
    rtol: float


def default_check_settings() -> CheckSettings:
    return settings_from_config(CheckSettings, conf_group("cost").check, "cost.check")


def jit_error(
    kernel: CompiledKernel, ranges: Mapping[str, VarRange], settings: CheckSettings
) -> float:
    """The largest relative error of ``kernel``'s outputs against the reference
    evaluator's, on ``settings.elements`` inputs sampled from ``ranges``."""
    inputs = sample_inputs(
        ranges, kernel.variables, settings.elements, settings.seed, log_uniform_ratio()
    )
    jitted = kernel(inputs, n=settings.elements)
    reference = np.broadcast_to(evaluate(kernel.expr, inputs), jitted.shape)
    return max_relative_error(jitted, reference, settings.abs_floor)
