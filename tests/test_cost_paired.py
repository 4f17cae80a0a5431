"""Paired measurement (``CostMeter.compare``): what it returns, the order it times the
kernels in, its wait cap, its statistics and its settings. Behaviour only: timings are
scripted where a figure is checked, and no test asserts how fast anything is."""

import dataclasses
import math
import time

import numpy as np
import pytest

from src.config import default_config, settings_from_config
from src.cost.jit import default_jit
from src.cost.measure import CostMeter, meter_from_config
from src.cost.paired import (
    PairedSettings,
    default_paired_settings,
    log_margins,
    rotation,
    speedups,
)
from src.cost.quiet import QuietGate
from src.expr import VarRange, parse_sexpr
from tests.test_cost_measure import QUICK, ScriptedProbe

PAIRED = dataclasses.replace(default_paired_settings(), rounds=4, group_ms=0.1, max_wait_ms=50.0)


class FakeCall:
    """Stands in for a bound kernel: each call takes its scripted nanoseconds (one value
    per round, the last repeated), and every timing is logged under its name."""

    def __init__(self, name, ns_per_round, log, elements, nonfinite=0):
        self.name, self.ns, self.log = name, list(ns_per_round), log
        self.out = np.zeros(elements, dtype=np.float32)
        self.out[:nonfinite] = np.nan
        self.timings = 0

    def time_calls(self, calls):
        self.log.append(self.name)
        # the first timing is the warm-up; round r is the timing after it
        ns = self.ns[min(max(self.timings - 1, 0), len(self.ns) - 1)]
        self.timings += 1
        return np.full(calls, ns * QUICK.elements, dtype=np.int64)


class RecordingGate:
    def __init__(self, log):
        self.log = log

    def wait(self, budget_ms):
        self.log.append("gate")
        return True, 0.0


class ScriptedMeter(CostMeter):
    """A meter whose kernels are ``FakeCall``s, looked up by the expression's text (the
    quiet gate's probe, which is not scripted, is bound for real and then replaced)."""

    def __init__(self, script, paired=PAIRED, nonfinite=None):
        self.script, self.nonfinite, self.log = script, nonfinite or {}, []
        super().__init__(settings=QUICK, paired=paired)
        self.gate = RecordingGate(self.log)
        self.timer_overhead_ns = 0.0

    def bind(self, expr, ranges):
        name = expr.text
        if name not in self.script:
            return super().bind(expr, ranges)
        return FakeCall(
            name, self.script[name], self.log, QUICK.elements, self.nonfinite.get(name, 0)
        )


A, B, C = "(+ x 1)", "(* x 2)", "(- x 3)"


def test_compare_returns_one_cost_per_expression_the_first_at_speedup_1():
    meter = CostMeter(settings=QUICK, paired=PAIRED)
    exprs = [parse_sexpr(t) for t in ("(+ (sin x) (* x y))", "(* x y)", "(exp (cos x))")]
    result = meter.compare(exprs, {"y": VarRange(0.0, 2.0)})
    assert len(result.costs) == 3 and result.elements == QUICK.elements
    assert result.costs[0].speedup == 1 and result.costs[0].log_margin == 0
    assert not result.faster(0) and not result.slower(0)
    assert len(result.round_ns) == PAIRED.rounds and all(len(r) == 3 for r in result.round_ns)
    for cost, column in zip(result.costs, zip(*result.round_ns, strict=True), strict=True):
        assert cost.ns_per_element == min(column) > 0
        assert cost.speedup > 0 and math.isfinite(cost.log_margin) and cost.log_margin >= 0
        assert PAIRED.rounds * PAIRED.min_calls <= cost.calls <= PAIRED.rounds * QUICK.max_calls
        assert cost.nonfinite == 0
    assert result.waited_ms >= 0


def test_the_same_expression_twice_is_neither_faster_nor_slower():
    meter = ScriptedMeter({A: [5.0, 7.0, 5.0, 6.0]})
    result = meter.compare([parse_sexpr(A), parse_sexpr(A)])
    assert result.costs[1].speedup == 1 and result.costs[1].log_margin == 0
    assert not result.faster(1) and not result.slower(1)


def test_speedups_come_from_the_paired_rounds():
    # round 2 is a slow phase for every kernel: the per-round ratios cancel it
    meter = ScriptedMeter({A: [4.0, 4.0, 6.0, 4.0], B: [2.0, 2.0, 3.0, 2.0], C: [8.0] * 4})
    result = meter.compare([parse_sexpr(t) for t in (A, B, C)])
    assert [c.ns_per_element for c in result.costs] == [4.0, 2.0, 8.0]
    assert result.costs[1].speedup == pytest.approx(2.0)
    assert result.costs[2].speedup == pytest.approx(0.5)
    assert result.faster(1) and not result.slower(1)
    assert result.slower(2) and not result.faster(2)
    assert result.quiet


def test_kernels_are_interleaved_in_rotated_order_after_the_gate():
    meter = ScriptedMeter({A: [1.0], B: [1.0], C: [1.0]})
    meter.compare([parse_sexpr(t) for t in (A, B, C)])
    warmups, rounds = meter.log[:3], meter.log[3:]
    assert warmups == [A, B, C]
    assert rounds == ["gate", A, B, C, "gate", B, C, A, "gate", C, A, B, "gate", A, B, C]
    assert [rotation(r, 3) for r in range(4)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]


def test_a_comparison_waits_at_most_its_total_budget():
    paired = dataclasses.replace(PAIRED, rounds=6, max_wait_ms=30.0)
    meter = CostMeter(settings=QUICK, paired=paired)
    meter.gate = QuietGate(ScriptedProbe([1, 1000]), 3, 0.1, 5.0, history=10_000)  # never quiet
    start = time.perf_counter()
    result = meter.compare([parse_sexpr("(+ x 2)"), parse_sexpr("(* x 3)")])
    assert not result.quiet
    assert 30.0 <= result.waited_ms < 30.0 + 1000.0
    assert time.perf_counter() - start < 0.030 + 1.0  # the budget plus the measuring


def test_non_finite_outputs_are_counted_per_expression():
    meter = CostMeter(settings=QUICK, paired=PAIRED)
    result = meter.compare(
        [parse_sexpr("(log x)"), parse_sexpr("(exp x)")], {"x": VarRange(-1.0, 1.0)}
    )
    assert 0.3 * QUICK.elements < result.costs[0].nonfinite < 0.7 * QUICK.elements
    assert result.costs[1].nonfinite == 0
    scripted = ScriptedMeter({A: [1.0], B: [1.0]}, nonfinite={B: 7})
    assert [c.nonfinite for c in scripted.compare([parse_sexpr(A), parse_sexpr(B)]).costs] == [0, 7]


def test_compare_needs_an_expression():
    with pytest.raises(ValueError, match="at least one"):
        ScriptedMeter({}).compare([])


def test_the_estimators_and_the_margin():
    rounds = np.array([[4.0, 2.0], [4.0, 2.0], [6.0, 3.0], [4.0, 8.0], [4.0, 2.0]])
    # one round in which only the candidate was slow: the median ignores it, min too
    assert speedups(rounds, "median") == pytest.approx([1.0, 2.0])
    assert speedups(rounds, "min") == pytest.approx([1.0, 2.0])
    assert log_margins(rounds, 2.0) == pytest.approx([0.0, 0.0])
    noisy = np.array([[4.0, 2.0], [4.0, 2.2], [4.0, 1.8], [4.0, 2.0]])
    margins = log_margins(noisy, 2.0)
    assert margins[0] == 0 and margins[1] > 0
    assert log_margins(noisy, 4.0)[1] == pytest.approx(2 * margins[1])
    with pytest.raises(ValueError, match="estimator"):
        speedups(rounds, "mean")


def test_paired_settings_come_from_conf_and_are_validated():
    assert default_paired_settings() == settings_from_config(
        PairedSettings, default_config().cost.measure.paired, "cost.measure.paired"
    )
    for key, bad in [
        ("rounds", 1),
        ("group_ms", 0.0),
        ("min_calls", 0),
        ("speedup", "mean"),
        ("margin_z", -1.0),
        ("max_wait_ms", -1.0),
    ]:
        with pytest.raises(ValueError, match=rf"cost\.measure\.paired\.{key}"):
            dataclasses.replace(PAIRED, **{key: bad})


def test_paired_settings_with_a_missing_key_are_a_clear_error():
    from omegaconf import OmegaConf

    good = dataclasses.asdict(PAIRED)
    del good["max_wait_ms"]
    with pytest.raises(ValueError, match="has no 'max_wait_ms'"):
        settings_from_config(PairedSettings, OmegaConf.create(good), "cost.measure.paired")


def test_a_meter_from_an_entry_points_config_takes_its_overrides():
    from omegaconf import OmegaConf

    cost = OmegaConf.merge(
        default_config().cost, {"measure": {"seed": 7, "paired": {"max_wait_ms": 5.0}}}
    )
    meter = meter_from_config(cost)
    assert meter.paired == dataclasses.replace(default_paired_settings(), max_wait_ms=5.0)
    assert meter.settings.seed == 7
    assert meter.jit is default_jit()  # the same JIT settings: the shared JIT
    plain = meter_from_config(OmegaConf.merge(cost, {"jit": {"flush_subnormals": False}}))
    assert plain.jit is not default_jit() and not plain.jit.settings.flush_subnormals
