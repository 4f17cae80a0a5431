"""Measurement: what it returns, non-finite outputs, the memory and disk caches, and
the settings it reads. Behaviour only: no test asserts how fast anything is."""

import dataclasses
import sqlite3
import time

import numpy as np
import pytest

from src.config import default_config, settings_from_config
from src.cost.measure import CostMeter, MeasureSettings, default_measure_settings
from src.cost.quiet import QuietGate
from src.expr import VarRange, parse_sexpr

# Few, short timed calls: these tests check behaviour, not figures.
QUICK = dataclasses.replace(
    default_measure_settings(),
    elements=512,
    groups=2,
    group_ms=0.1,
    min_calls=2,
    max_calls=4,
    quiet_max_wait_ms=50.0,
)


class CountingMeter(CostMeter):
    """A meter that counts the measurements it actually runs."""

    runs = 0

    def _run(self, call):
        CountingMeter.runs += 1
        return super()._run(call)


@pytest.fixture
def meter():
    return CountingMeter(settings=QUICK)


def test_a_measurement_is_positive_and_counts_its_calls(meter):
    result = meter.measure(parse_sexpr("(+ (sin x) (* x y))"))
    assert result.ns_per_element > 0 and result.spread_pct >= 0
    assert result.elements == 512 and result.nonfinite == 0
    assert QUICK.groups * QUICK.min_calls <= result.calls <= QUICK.groups * QUICK.max_calls


def test_non_finite_outputs_are_reported(meter):
    logs = meter.measure(parse_sexpr("(log x)"), {"x": VarRange(-1.0, 1.0)})
    assert 0.3 * 512 < logs.nonfinite < 0.7 * 512  # NaN for the negative half
    positive = meter.measure(parse_sexpr("(log x)"), {"x": VarRange(0.5, 1.0)})
    assert positive.nonfinite == 0


def test_measurements_are_cached_in_memory_by_text_and_ranges(meter):
    before = CountingMeter.runs
    first = meter.measure(parse_sexpr("(* x (+ x 1))"))
    assert meter.measure(parse_sexpr("(* x (+ x 1))")) is first
    assert CountingMeter.runs == before + 1
    meter.measure(parse_sexpr("(* x (+ x 1))"), {"x": VarRange(0.0, 2.0)})
    assert CountingMeter.runs == before + 2
    again = meter.measure(parse_sexpr("(* x (+ x 1))"), fresh=True)
    assert CountingMeter.runs == before + 3 and again is not first
    assert meter.measure(parse_sexpr("(* x (+ x 1))")) is again


def test_measurements_persist_on_disk(tmp_path):
    path = tmp_path / "costs" / "cache.sqlite"
    expr = parse_sexpr("(/ (exp x) (+ x 2))")
    first = CountingMeter(settings=QUICK, cache_path=path).measure(expr)
    before = CountingMeter.runs
    again = CountingMeter(settings=QUICK, cache_path=path).measure(expr)
    assert again == first and CountingMeter.runs == before
    other = dataclasses.replace(QUICK, seed=QUICK.seed + 1)  # other settings, other key
    CountingMeter(settings=other, cache_path=path).measure(expr)
    assert CountingMeter.runs == before + 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM costs").fetchone()[0] == 2


def test_an_unusable_cache_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="cost cache"):
        CostMeter(settings=QUICK, cache_path=blocker / "cache.sqlite")
    with pytest.raises(OSError, match=r"cost cache .*not a database"):
        CostMeter(settings=QUICK, cache_path=blocker)


def test_a_meter_measures_with_the_jit_it_is_given():
    """A fresh ``Jit`` has no kernels yet (``len`` 0): the meter must still use it, not
    the default one (the fast-math baseline once measured the plain build this way)."""
    from src.cost.jit import Jit, default_jit, default_jit_settings
    from src.unified.search import fast_math_meter

    jit = Jit(dataclasses.replace(default_jit_settings(), fast_math=True))
    assert CostMeter(jit, settings=QUICK).jit is jit and jit is not default_jit()
    fast = fast_math_meter()
    expr = parse_sexpr("(+ (* x y) 1)")
    fast.measure(expr, {})
    assert fast.jit.settings.fast_math and fast.jit.compile(expr).fast_math


def test_variables_without_a_range_use_the_default_range(meter):
    default = meter.measure(parse_sexpr("(sqrt x)"))
    assert default.nonfinite > 0  # the default range [-1, 1] has negative inputs


def test_settings_come_from_conf_and_are_validated():
    assert default_measure_settings() == settings_from_config(
        MeasureSettings, default_config().cost.measure, "cost.measure"
    )
    with pytest.raises(ValueError, match="max_calls"):
        dataclasses.replace(QUICK, max_calls=1, min_calls=3)
    with pytest.raises(ValueError, match="elements"):
        dataclasses.replace(QUICK, elements=0)


def test_settings_with_a_wrong_type_or_a_missing_key_are_clear_errors():
    from omegaconf import OmegaConf

    good = dataclasses.asdict(QUICK)
    with pytest.raises(ValueError, match=r"cost.measure.seed must be int"):
        settings_from_config(
            MeasureSettings, OmegaConf.create({**good, "seed": "x"}), "cost.measure"
        )
    del good["groups"]
    with pytest.raises(ValueError, match="has no 'groups'"):
        settings_from_config(MeasureSettings, OmegaConf.create(good), "cost.measure")


class ScriptedProbe:
    """Stands in for a bound probe kernel: each timing returns the next scripted time."""

    def __init__(self, times):
        self.times = list(times)

    def time_calls(self, calls):
        return np.full(calls, self.times.pop(0) if len(self.times) > 1 else self.times[0])


def test_the_quiet_gate_waits_out_a_slow_phase():
    gate = QuietGate(ScriptedProbe([100, 150, 140, 105]), 3, 0.1, 0.0, history=50)
    quiet, waited_ms = gate.wait(budget_ms=1000.0)
    assert quiet and waited_ms < 1000
    assert gate.probe.times == [105]  # it probed until the probe was within 10% again


def test_the_quiet_gate_gives_up_when_its_budget_is_spent():
    gate = QuietGate(ScriptedProbe([100, 200]), 3, 0.1, 1.0, history=1000)
    quiet, waited_ms = gate.wait(budget_ms=20.0)
    assert not quiet and waited_ms >= 20


def test_a_lasting_slowdown_becomes_the_new_normal():
    gate = QuietGate(ScriptedProbe([100, 200]), 3, 0.1, 0.0, history=4)
    assert gate.wait(budget_ms=10_000.0)[0]  # once 100 has left the history
    assert min(gate.recent) == 200


def test_a_measurement_waits_at_most_its_budget():
    settings = dataclasses.replace(QUICK, quiet_max_wait_ms=30.0, quiet_wait_ms=5.0, groups=4)
    meter = CostMeter(settings=settings)
    meter.gate = QuietGate(ScriptedProbe([1, 1000]), 3, 0.1, 5.0, history=10_000)
    start = time.perf_counter()
    result = meter.measure(parse_sexpr("(+ x 2)"), fresh=True)
    assert not result.quiet
    assert time.perf_counter() - start < 0.030 + 1.0  # the budget plus the measuring
