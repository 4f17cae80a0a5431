"""BwdGenerator: pairs compute the same function (checked on inputs the generator never
saw), the junk side costs more, and generation is reproducible."""

import dataclasses

import numpy as np
import pytest

from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, GeneratorSettings, default_generator_settings
from src.expr import VarRange, evaluate
from src.expr.sampling import sample_inputs
from src.selfplay.rules import RULES

SETTINGS = default_generator_settings()
MODEL = default_static_model()


@pytest.fixture(scope="module")
def generator():
    return BwdGenerator(SETTINGS, RULES, MODEL)


def _check_pairs(generator, seeds):
    fresh = sample_inputs(
        {n: VarRange(-1.0, 1.0) for n in "xyzwuv"}, list("xyzwuv"), 512, seed=12345,
        log_ratio=1000.0,
    )  # fmt: skip
    slower = 0
    for seed in seeds:
        optimized, junk, applied = generator.pair(seed)
        assert applied and junk is not optimized
        with np.errstate(all="ignore"):
            a = np.broadcast_to(evaluate(optimized, fresh, np.float64), 512)
            b = np.broadcast_to(evaluate(junk, fresh, np.float64), 512)
            close = np.abs(a - b) <= 1e-6 * np.maximum(np.abs(a), np.abs(b)) + 1e-9
        assert np.all(close | (a == b) | ~np.isfinite(a)), (seed, optimized.text, junk.text)
        slower += MODEL.cost(junk) > MODEL.cost(optimized)
    return slower / len(seeds)


def test_pairs_evaluate_equal_and_the_junk_side_is_slower(generator):
    assert _check_pairs(generator, range(500)) >= 0.9


@pytest.mark.slow
def test_five_thousand_pairs_evaluate_equal(generator):
    assert _check_pairs(generator, range(5000)) >= 0.9


def test_pairs_are_reproducible(generator):
    again = BwdGenerator(SETTINGS, RULES, MODEL)
    for seed in (0, 17, 123):
        assert generator.pair(seed) == again.pair(seed)
    other = BwdGenerator(dataclasses.replace(SETTINGS, seed=SETTINGS.seed + 1), RULES, MODEL)
    assert [generator.pair(k)[0] for k in range(5)] != [other.pair(k)[0] for k in range(5)]


def test_generated_expressions_respect_the_settings(generator):
    for seed in range(50):
        optimized, junk, _ = generator.pair(seed)
        assert optimized.variables <= {"x", "y", "z"}
        assert junk.dag_nodes <= SETTINGS.node_cap + 20  # the last rewrite may overshoot


def test_bad_settings_are_clear_errors():
    from src.config import default_config

    config = dict(default_config().data.bwd) | {"variables": 9}
    with pytest.raises(ValueError, match=r"data\.bwd\.variables"):
        GeneratorSettings.from_config(config)
