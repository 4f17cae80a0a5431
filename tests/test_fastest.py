"""Never slower: the answer is the fastest passing candidate by the paired comparison,
never one that fails the semantic check, and the input when nothing measures faster."""

import dataclasses

import pytest

from src.config import default_config, settings_from_config
from src.cost.measure import default_meter
from src.cost.records import Comparison, PairedCost
from src.expr import parse_sexpr
from src.selfplay.fastest import fastest, spread_candidates
from src.selfplay.settings import RunnerSettings

SETTINGS = settings_from_config(RunnerSettings, default_config().selfplay.runner, "selfplay.runner")
SEED = parse_sexpr("(+ (* a b) (* a c))")
SAME = [parse_sexpr("(* a (+ b c))"), parse_sexpr("(* a (+ c b))"), parse_sexpr("(* (+ b c) a)")]


class ScriptedMeter:
    """A meter whose paired comparison reports the given speedups, by expression text."""

    def __init__(self, speedups):
        self.speedups = speedups
        self.compared = []

    def compare(self, exprs, ranges=None):
        self.compared.append(list(exprs))
        costs = tuple(
            PairedCost(2.0 / self.speedups.get(e.text, 1.0), self.speedups.get(e.text, 1.0),
                       0.01, 0, 10)
            for e in exprs
        )  # fmt: skip
        return Comparison(costs, (), 64, True, 0.0)


def test_the_fastest_passing_candidate_wins():
    meter = ScriptedMeter({SAME[0].text: 1.2, SAME[1].text: 1.5, SAME[2].text: 0.7})
    choice = fastest(SEED, SAME, {}, SETTINGS, meter)
    assert choice.output is SAME[1] and choice.candidates_measured == 3
    assert choice.seed_ns / choice.output_ns == pytest.approx(1.5)
    assert choice.final_ns == pytest.approx(choice.seed_ns / 0.7)  # the last, raw
    assert meter.compared[0][0] is SEED


def test_the_input_is_kept_when_every_candidate_measures_slower():
    meter = ScriptedMeter({e.text: 0.9 for e in SAME})
    choice = fastest(SEED, SAME, {}, SETTINGS, meter)
    assert choice.output is SEED and choice.output_ns == choice.seed_ns
    assert not choice.final_disagreement


def test_a_candidate_faster_only_within_the_noise_margin_is_not_chosen():
    meter = ScriptedMeter({SAME[0].text: 1.005})  # margin 0.01 on ln(speedup)
    assert fastest(SEED, SAME[:1], {}, SETTINGS, meter).output is SEED


def test_a_candidate_that_fails_the_check_is_never_measured_or_chosen():
    wrong = parse_sexpr("(* a (+ b b))")
    meter = ScriptedMeter({wrong.text: 9.0, SAME[0].text: 1.1})
    choice = fastest(SEED, [SAME[0], wrong], {}, SETTINGS, meter)
    assert choice.output is SAME[0]
    assert "disagrees" in choice.final_disagreement and choice.final_ns is None
    assert all(e is not wrong for e in meter.compared[0])


def test_at_most_max_candidates_are_measured_and_the_last_is_always_one():
    chain = [parse_sexpr(f"(+ x {k})") for k in range(1, 11)]
    picked = spread_candidates([SEED, *chain, chain[-1]], SEED, 3)
    assert len(picked) == 3 and picked[-1] is chain[-1] and picked[0] is chain[0]
    assert spread_candidates(chain[:2], SEED, 3) == chain[:2]
    assert spread_candidates([SEED], SEED, 3) == []
    # a final answer the search had found before is the last, and the count holds
    back = [chain[0], chain[1], chain[0]]
    assert spread_candidates(back, SEED, 1) == [chain[0]]
    assert spread_candidates(back, SEED, 2) == [chain[1], chain[0]]
    with pytest.raises(ValueError, match="max_candidates"):
        dataclasses.replace(SETTINGS, max_candidates=0)


def test_a_seed_over_spread_max_nodes_is_compared_with_its_final_extraction_alone():
    more = ["(+ (* b a) (* a c))", "(+ (* a c) (* a b))", "(+ (* c a) (* b a))", "(* (+ c b) a)"]
    chain = [*SAME, *map(parse_sexpr, more)]  # all equal to the seed; a spread of 3: 0, 3, 6
    meter = ScriptedMeter({chain[0].text: 2.0, chain[-1].text: 1.5})
    small = dataclasses.replace(SETTINGS, spread_max_nodes=SEED.dag_nodes)
    assert fastest(SEED, chain, {}, small, meter).output is chain[0]  # the spread: 3
    large = dataclasses.replace(SETTINGS, spread_max_nodes=SEED.dag_nodes - 1)
    choice = fastest(SEED, chain, {}, large, meter)
    assert choice.output is chain[-1] and choice.candidates_measured == 1
    assert meter.compared[-1] == [SEED, chain[-1]]
    unlimited = dataclasses.replace(large, spread_max_nodes=0)
    assert fastest(SEED, chain, {}, unlimited, meter).candidates_measured == 3
    with pytest.raises(ValueError, match="spread_max_nodes"):
        dataclasses.replace(SETTINGS, spread_max_nodes=-1)


def test_a_real_paired_measurement_keeps_the_input_over_a_slower_equal_kernel():
    # equal over the reals (the sines are multiplied by 0) and three sines slower
    slow = parse_sexpr("(+ (* a b) (+ (* a c) (* 0 (sin (sin (sin a))))))")
    choice = fastest(SEED, [slow], {}, SETTINGS, default_meter())
    assert choice.output is SEED and choice.final_ns > choice.seed_ns
