"""The trajectory runner: it records a step per approved rule, stops as configured,
approves by sampling (training) or by the evaluation's rule, and drops trajectories
whose final expression is wrong or whose cost is not finite."""

import dataclasses

import numpy as np
import pytest

from src.config import conf_group, settings_from_config
from src.cost.measure import default_meter
from src.cost.records import Comparison, PairedCost
from src.cost.static import default_static_model
from src.expr import parse_sexpr
from src.selfplay import runner
from src.selfplay.check import SeedCheck
from src.selfplay.checked import CheckedEGraph
from src.selfplay.rules import RULES
from src.selfplay.rules.table import _row
from src.selfplay.runner import RunnerSettings, run_trajectory

SETTINGS = dataclasses.replace(
    settings_from_config(RunnerSettings, conf_group("selfplay").runner, "selfplay.runner"),
    max_steps=4,
    node_budget=2000,
)


class FixedPolicy:
    """A stand-in actor: the same probability for every rule."""

    def __init__(self, rules, p):
        self.p = np.full(len(rules), p)

    def features(self, expr):
        return np.full(130, float(expr.dag_nodes), dtype=np.float32)

    def state(self, features, budget, grown):
        return features

    def probabilities(self, features):
        return self.p

    def rule_embedding(self, index):
        return np.full(24, float(index), dtype=np.float32)


def _run(seed_text, rules=RULES, p=1.0, sample=True, meter=None, settings=SETTINGS):
    seed = parse_sexpr(seed_text)
    return run_trajectory(
        seed, {}, FixedPolicy(rules, p), rules, settings, default_static_model(),
        meter or default_meter(), np.random.default_rng(0), "t0", sample=sample,
    )  # fmt: skip


def test_a_trajectory_records_its_steps():
    """The seed plan's self_play_trajectory_records_steps."""
    outcome = _run("(+ (* x 1) (* x 0))")
    trajectory = outcome.trajectory
    assert outcome.dropped is None and trajectory is not None
    assert trajectory.steps and len(trajectory.steps) <= SETTINGS.max_steps * len(RULES)
    for step in trajectory.steps:
        assert step.accumulator_state.shape == (130,) and step.rule_embedding.shape == (24,)
        assert 0.0 <= step.action_probability <= 1.0 and step.approved is True
        assert step.rule_embedding[0] == step.rule_idx
    assert trajectory.final_cost_ns > 0 and trajectory.initial_cost_ns > 0
    assert any(step.matched for step in trajectory.steps)
    assert trajectory.final_cost <= trajectory.initial_cost  # extraction never gets worse
    assert set(outcome.rules_applied) <= {rule.name for rule in RULES}


def test_evaluation_approves_by_threshold():
    threshold = dataclasses.replace(SETTINGS, approval="threshold")
    below = _run("(+ x y)", p=threshold.threshold - 0.01, sample=False, settings=threshold)
    assert below.trajectory.steps == []
    above = _run("(+ x y)", p=threshold.threshold + 0.01, sample=False, settings=threshold)
    assert len(above.trajectory.steps) >= len(RULES)


def test_evaluation_can_sample_as_training_does():
    sampled = dataclasses.replace(SETTINGS, approval="sample")
    p = np.linspace(0.0, 1.0, 50)
    drawn = sampled.approve(p, np.random.default_rng(3))
    np.testing.assert_array_equal(drawn, np.random.default_rng(3).random(50) < p)
    assert sampled.approvals(p) == 25  # round(sum p): as many on average
    tried = np.arange(50) % 2 == 0  # the same draws, the tried rules left out
    walked = sampled.approve(p, np.random.default_rng(3), tried=tried)
    np.testing.assert_array_equal(walked, drawn & ~tried)
    evaluated = _run("(+ (* x 1) (* x 0))", p=0.5, sample=False, settings=sampled)
    trained = _run("(+ (* x 1) (* x 0))", p=0.5, sample=True, settings=sampled)
    assert [s.rule_idx for s in evaluated.trajectory.steps] == [
        s.rule_idx for s in trained.trajectory.steps
    ]


def test_a_search_stops_once_the_extracted_cost_stops_falling():
    # every rule each epoch: x * 1 + x * 0 is x after an epoch or two, then only grows
    settings = dataclasses.replace(
        SETTINGS, max_steps=8, stall_epochs=30, patience=1, node_budget=100_000, walk_down=False
    )
    patient = _run("(+ (* x 1) (* x 0))", p=1.0, settings=settings)
    assert patient.final.text == "x" and patient.epochs <= 3
    endless = _run("(+ (* x 1) (* x 0))", p=1.0, settings=dataclasses.replace(settings, patience=0))
    assert endless.epochs > patient.epochs


def test_stalled_trajectories_stop():
    settings = dataclasses.replace(SETTINGS, max_steps=50, stall_epochs=2, walk_down=False)
    outcome = _run("x", p=1.0, settings=settings)
    assert outcome.epochs == 2  # nothing matches a lone variable


def test_a_search_stops_after_the_epoch_that_passes_its_time_limit():
    settings = dataclasses.replace(SETTINGS, max_steps=50, stall_epochs=50, time_limit_s=1e-9)
    outcome = _run("(+ (* x 1) (* x 0))", p=1.0, settings=settings)
    assert outcome.epochs == 1 and outcome.approved == len(outcome.trajectory.steps) > 0


WRONG = _row("sin-to-cos", "trig", "(sin ?a)", "(cos ?a)", None)  # unsound on purpose
MUL_ONE = next(rule for rule in RULES if rule.name == "mul-one")


def test_a_wrong_final_expression_is_dropped():
    final_only = dataclasses.replace(SETTINGS, check_states=False)
    outcome = _run("(sin x)", rules=(WRONG,), settings=final_only)
    assert outcome.trajectory is None and outcome.rollbacks == 0
    assert "disagrees with the seed's exact value" in outcome.dropped
    assert outcome.rules_applied == ["sin-to-cos"] * outcome.rules_applied.count("sin-to-cos")


def test_a_search_goes_back_from_a_state_that_fails_the_check():
    """check_states: the extraction that took the unsound rewrite fails the check; the
    search goes back to the last state that passed, never applies that rule again, and
    nothing is dropped. The given-up e-graph's e-nodes still count."""
    walk = dataclasses.replace(SETTINGS, max_steps=10, approval="top_k", top_k=1)
    outcome = _run("(* (sin x) 1)", rules=(WRONG, MUL_ONE), p=[0.4, 0.6], sample=False,
                   settings=walk)  # fmt: skip
    assert outcome.rollbacks == 1 and outcome.dropped is None
    assert outcome.final.text == "(sin x)" and outcome.rules_applied.count("sin-to-cos") == 1
    assert outcome.egraph_nodes > 4  # (sin x), x, 1 and the product; then (cos x) and more


def test_training_bans_every_rule_of_the_epoch_that_led_to_a_failing_state():
    """From then on neither rule is eligible: the update has no row for a rule the
    policy had no say over (``EpochDecisions.eligible``)."""
    episode = dataclasses.replace(SETTINGS, walk_down=False)  # the recipe's episodes
    outcome = _run("(* (sin x) 1)", rules=(WRONG, MUL_ONE), p=1.0, sample=True, settings=episode)
    assert outcome.rollbacks == 1 and outcome.dropped is None
    assert outcome.final.text == "(* (sin x) 1)"  # both rules were in that epoch
    assert sorted(s.rule_idx for s in outcome.trajectory.steps) == [0, 1]
    later = outcome.trajectory.decisions[1:]
    assert later and all(not d.approved.any() and not d.eligible.any() for d in later)
    assert outcome.trajectory.decisions[0].eligible is None


class NanMeter:
    def compare(self, exprs, ranges=None):
        nan = float("nan")
        return Comparison(tuple(PairedCost(nan, nan, nan, 16, 1) for _ in exprs), (), 16, True, 0)


def test_a_non_finite_cost_is_dropped():
    outcome = _run("(+ x y)", p=0.0, meter=NanMeter())
    assert outcome.trajectory is None and "non-finite" in outcome.dropped


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_runs_are_reproducible(p):
    first, second = _run("(* (+ x 1) (+ x 1))", p=p), _run("(* (+ x 1) (+ x 1))", p=p)
    assert [s.rule_idx for s in first.trajectory.steps] == [
        s.rule_idx for s in second.trajectory.steps
    ]


def test_a_more_accurate_result_is_not_a_mismatch():
    """sqrt(x + 1) - sqrt(x) cancels badly in float32 for large x; the rewrite
    1 / (sqrt(x + 1) + sqrt(x)) is closer to the true value, not a mismatch. A rewrite
    to something else is still one."""
    from src.expr import VarRange
    from src.selfplay.check import check_equal

    ranges = {"x": VarRange(1e3, 1e7)}
    seed = parse_sexpr("(- (sqrt (+ x 1)) (sqrt x))")
    better = parse_sexpr("(/ 1 (+ (sqrt (+ x 1)) (sqrt x)))")
    reason, error = check_equal(seed, better, ranges, SETTINGS)
    assert reason == "" and error < 1e-5
    wrong = parse_sexpr("(/ 1 (sqrt x))")
    reason, _ = check_equal(seed, wrong, ranges, SETTINGS)
    assert "disagrees with the seed's exact value" in reason


def test_top_k_approves_the_rules_of_highest_probability():
    top = dataclasses.replace(SETTINGS, approval="top_k", top_k=2)
    p = np.array([0.1, 0.9, 0.4, 0.9, 0.2])
    rng = np.random.default_rng(0)
    assert np.flatnonzero(top.approve(p, rng)).tolist() == [1, 3]
    expected = dataclasses.replace(top, top_k=0)  # round(sum p) = round(2.5) = 2
    assert expected.approve(p, rng).sum() == 2 == expected.approvals(p)
    threshold = dataclasses.replace(SETTINGS, approval="threshold")
    assert np.flatnonzero(threshold.approve(p, rng)).tolist() == [1, 2, 3]  # p > 0.3
    with pytest.raises(ValueError, match="approval must be one of"):
        dataclasses.replace(SETTINGS, approval="vote")


def test_top_k_and_threshold_skip_the_rules_already_tried():
    top = dataclasses.replace(SETTINGS, approval="top_k", top_k=0)
    p = np.array([0.1, 0.9, 0.4, 0.9, 0.2])
    rng = np.random.default_rng(0)
    tried = np.array([False, True, False, True, False])
    # round(sum of the untried p) = round(0.7) = 1: the best untried rule
    assert np.flatnonzero(top.approve(p, rng, tried=tried)).tolist() == [2]
    tried[2] = True  # 0.3 left: rounds to none
    assert not top.approve(p, rng, tried=tried).any()
    threshold = dataclasses.replace(SETTINGS, approval="threshold")
    assert np.flatnonzero(threshold.approve(p, rng, tried=tried)).tolist() == []
    tried[:] = False
    assert np.flatnonzero(threshold.approve(p, rng, tried=tried)).tolist() == [1, 2, 3]


def test_a_search_walks_down_the_ranking_while_the_state_does_not_change():
    """Nothing matches a lone variable, so the state never changes: each epoch takes
    round(sum p) of the rules not yet tried, never one twice, and the search stops
    once that rounds to 0 (12 rules at p = 0.04 sum to 0.48)."""
    walk = dataclasses.replace(
        SETTINGS, approval="top_k", top_k=0, walk_down=True, max_steps=200, stall_epochs=3
    )
    outcome = _run("x", p=0.04, sample=False, settings=walk)
    tried = [s.rule_idx for s in outcome.trajectory.steps]
    assert len(tried) == len(set(tried)) == len(RULES) - 12
    assert outcome.epochs < walk.max_steps  # the walk's end stopped it, not max_steps
    # without the walk, the same rules again each epoch, until the stall stop
    repeat = _run("x", p=0.04, sample=False, settings=dataclasses.replace(walk, walk_down=False))
    assert repeat.epochs == walk.stall_epochs
    assert len({s.rule_idx for s in repeat.trajectory.steps}) == 5  # round(122 * 0.04)


def test_a_walk_starts_again_when_the_extracted_expression_changes():
    walk = dataclasses.replace(
        SETTINGS, approval="top_k", top_k=0, walk_down=True, max_steps=20, node_budget=100_000
    )
    outcome = _run("(+ (* x 1) (* x 0))", p=1.0, sample=False, settings=walk)
    assert outcome.final.text == "x"
    tried = [s.rule_idx for s in outcome.trajectory.steps]
    # every rule in each state until the last, whose walk ends it after one epoch
    assert len(tried) == len(RULES) * outcome.epochs and 2 <= outcome.epochs < walk.max_steps
    # sampling walks too: at p = 1 it draws every untried rule, as the search takes them
    sampled = _run("(+ (* x 1) (* x 0))", p=1.0, sample=True, settings=walk)
    assert [s.rule_idx for s in sampled.trajectory.steps] == tried
    # without the walk, p = 1 approves every rule every epoch, to max_steps
    again = dataclasses.replace(walk, walk_down=False)
    assert _run("(+ (* x 1) (* x 0))", p=1.0, sample=True, settings=again).epochs == 20


class ScriptedEGraph:
    """An e-graph whose extractions are scripted, (expression, static cost) per call, the
    last repeated; every applied rule matches."""

    script = ()

    def __init__(self, seed, ranges, rules, model, settings):
        self.check = SeedCheck(seed, ranges, settings)
        self.banned = np.zeros(len(rules), dtype=bool)
        self.rollbacks = self.calls = 0

    def node_count(self):
        return 10

    def extract(self):
        text, cost = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return parse_sexpr(text), cost

    def apply_rules(self, indices):
        return [1] * len(indices)


@pytest.mark.parametrize("restart, epochs", [("cost", 3), ("expression", 4)])
def test_an_extraction_of_equal_cost_is_a_new_state_by_expression_only(
    monkeypatch, restart, epochs
):
    """At p = 1 a walk tries every rule in its first epoch in a state, so it lasts one
    epoch per state. Four expressions, all equal, at costs 2, 1, 1.5 and 1.5: four states
    by expression, three by cost (a cost that rises starts the walk again too)."""
    same = ["(+ (* a b) (* a c))", "(* a (+ b c))", "(* a (+ c b))", "(* (+ b c) a)"]
    costs = [2.0, 1.0, 1.5, 1.5]
    monkeypatch.setattr(ScriptedEGraph, "script", list(zip(same, costs, strict=True)))
    monkeypatch.setattr(runner, "CheckedEGraph", ScriptedEGraph)
    walk = dataclasses.replace(
        SETTINGS, approval="top_k", top_k=0, walk_down=True, max_steps=20, walk_restart=restart
    )
    outcome = _run(same[0], p=1.0, sample=False, settings=walk)
    assert outcome.epochs == epochs
    assert len(outcome.trajectory.steps) == len(RULES) * epochs
    with pytest.raises(ValueError, match="walk_restart"):
        dataclasses.replace(walk, walk_restart="never")


def test_the_policy_reads_each_state_once_and_scores_every_epoch():
    """Features are the state's alone: asked once while the extracted expression stays
    (a walk's many epochs in one state), probabilities every epoch (a random policy's
    change each time it is asked)."""

    class CountingPolicy(FixedPolicy):
        def __init__(self, rules, p):
            super().__init__(rules, p)
            self.states, self.scored = [], 0

        def features(self, expr):
            self.states.append(expr)
            return super().features(expr)

        def probabilities(self, features):
            self.scored += 1
            return super().probabilities(features)

    walk = dataclasses.replace(
        SETTINGS, approval="top_k", top_k=0, walk_down=True, max_steps=200, node_budget=100_000
    )
    policy = CountingPolicy(RULES, 0.04)
    outcome = run_trajectory(
        parse_sexpr("(+ (* x 1) (* y 0))"), {}, policy, RULES, walk, default_static_model(),
        default_meter(), np.random.default_rng(0), "t0", sample=False,
    )  # fmt: skip
    decisions = outcome.trajectory.decisions
    assert policy.scored == len(decisions) > len(policy.states) >= 2
    assert len(set(policy.states)) == len(policy.states)  # each state read once
    assert policy.states[-1] is outcome.final


def test_a_sampled_walk_draws_from_the_untried_rules_and_records_its_last_decision():
    """Training's walk (``walk_down`` with sampling): nothing matches a lone variable,
    so the state never changes; each epoch draws from the rules not drawn yet, the
    tried ones are not eligible, and the epoch that draws none ends the run and is
    recorded as a decision (the policy's choice to stop)."""
    walk = dataclasses.replace(SETTINGS, walk_down=True, max_steps=500, stall_epochs=3)
    outcome = _run("x", p=0.3, sample=True, settings=walk)
    drawn = [s.rule_idx for s in outcome.trajectory.steps]
    assert len(drawn) == len(set(drawn)) and outcome.epochs < walk.max_steps
    decisions = outcome.trajectory.decisions
    assert len(decisions) == outcome.epochs + 1 and not decisions[-1].approved.any()
    tried = np.zeros(len(RULES), bool)
    for d in decisions:
        assert np.array_equal(d.eligible_rules(), ~tried) and not (d.approved & tried).any()
        tried |= d.approved
    assert decisions[0].eligible is None  # nothing tried yet: every rule eligible


def test_evaluation_with_top_k_approves_k_rules_each_epoch():
    settings = dataclasses.replace(SETTINGS, approval="top_k", top_k=3)
    outcome = _run("(+ (* x 1) (* x 0))", p=0.01, sample=False, settings=settings)
    assert outcome.approved == 3 * outcome.epochs


def test_each_epochs_state_carries_the_budget_and_the_e_graph_growth():
    """The policy's input in an epoch (``Policy.state``) is given the search's budget and
    how many e-nodes the e-graph has grown by since the seed; decisions and steps record
    that input, not the expression's features alone."""

    class ContextPolicy(FixedPolicy):
        def state(self, features, budget, grown):
            return np.concatenate([features, [budget, grown]]).astype(np.float32)

    settings = dataclasses.replace(SETTINGS, max_steps=6, node_budget=5000)
    outcome = run_trajectory(
        parse_sexpr("(* (+ x y) (+ y x))"), {}, ContextPolicy(RULES, 0.5), RULES, settings,
        default_static_model(), default_meter(), np.random.default_rng(0), "t0",
    )  # fmt: skip
    decisions = outcome.trajectory.decisions
    start = decisions[0].egraph_nodes
    for d in decisions:
        assert d.accumulator_state.shape == (132,) and d.accumulator_state[130] == 5000
        assert d.accumulator_state[131] == d.egraph_nodes - start
    assert decisions[0].accumulator_state[131] == 0 < decisions[-1].accumulator_state[131]
    assert all(s.accumulator_state.shape == (132,) for s in outcome.trajectory.steps)


def test_walk_chunks_are_the_epochs_of_a_walk_in_one_state():
    """``walk_chunks`` gives, in order, what ``approve`` would approve epoch after epoch
    in a state whose probabilities stay: top_k = 0 takes round(sum of the untried p)."""
    p = np.array([0.1, 0.9, 0.4, 0.9, 0.2])
    none = np.zeros(len(p), bool)
    walk = dataclasses.replace(SETTINGS, approval="top_k", top_k=0)
    # sum 2.5 -> 2 rules; 0.7 left -> 1; 0.3 left rounds to none
    assert [c.tolist() for c in walk.walk_chunks(p, none)] == [[1, 3], [2]]
    two = dataclasses.replace(walk, top_k=2)
    assert [c.tolist() for c in two.walk_chunks(p, none)] == [[1, 3], [2, 4], [0]]
    tried = np.array([False, True, False, False, False])
    assert [c.tolist() for c in two.walk_chunks(p, tried)] == [[2, 3], [0, 4]]
    assert not tried[2]  # the caller's mask is left as it was
    threshold = dataclasses.replace(SETTINGS, approval="threshold")
    assert [c.tolist() for c in threshold.walk_chunks(p, none)] == [[1, 2, 3]]
    with pytest.raises(ValueError, match="deterministic"):
        dataclasses.replace(SETTINGS, approval="sample").walk_chunks(p, none)


def test_only_a_deterministic_walk_from_a_seed_over_batch_walk_nodes_is_batched():
    batched = dataclasses.replace(SETTINGS, approval="top_k", walk_down=True, batch_walk_nodes=10)
    assert batched.batches_walk(11, sample=False)
    assert not batched.batches_walk(10, sample=False)  # not over the limit
    assert not batched.batches_walk(11, sample=True)  # training's Bernoulli samples
    assert not dataclasses.replace(batched, approval="sample").batches_walk(11, False)
    assert not dataclasses.replace(batched, walk_down=False).batches_walk(11, False)
    assert not dataclasses.replace(batched, batch_walk_nodes=0).batches_walk(11, False)
    with pytest.raises(ValueError, match="batch_walk_nodes"):
        dataclasses.replace(SETTINGS, batch_walk_nodes=-1)


class GrowingEGraph(ScriptedEGraph):
    """A scripted e-graph that grows by 100 e-nodes with each ``apply_rules`` call."""

    def __init__(self, *args):
        super().__init__(*args)
        self.sent = 0

    def node_count(self):
        return 10 + 100 * self.sent

    def apply_rules(self, indices):
        self.sent += 1
        return super().apply_rules(indices)


def test_a_batched_walk_takes_a_states_walk_in_one_epoch_and_stops_at_the_budget(
    monkeypatch,
):
    """The extraction never changes, so there is one state: the batched search approves
    in its first epoch what the walk approves over all of its epochs, and its next epoch
    approves nothing and ends it. With a budget, the epoch's groups of rules (the walk's
    epochs) stop once the e-graph reaches it: two of 100 e-nodes pass 150."""
    monkeypatch.setattr(ScriptedEGraph, "script", [("(+ x y)", 1.0)])
    monkeypatch.setattr(runner, "CheckedEGraph", GrowingEGraph)
    walk = dataclasses.replace(
        SETTINGS, approval="top_k", top_k=0, walk_down=True, max_steps=200,
        node_budget=100_000,
    )  # fmt: skip
    batched = dataclasses.replace(walk, batch_walk_nodes=2)  # (+ x y): 3 DAG nodes
    walked = _run("(+ x y)", p=0.04, sample=False, settings=walk)
    assert walked.epochs > 2
    one = _run("(+ x y)", p=0.04, sample=False, settings=batched)
    assert one.epochs == 1 and len(one.trajectory.decisions) == 2
    first, last = one.trajectory.decisions
    assert sorted(s.rule_idx for s in one.trajectory.steps) == sorted(
        s.rule_idx for s in walked.trajectory.steps
    ) == np.flatnonzero(first.approved).tolist()  # fmt: skip
    assert not last.approved.any() and np.array_equal(last.eligible, ~first.approved)
    budgeted = dataclasses.replace(batched, node_budget=150, top_k=2)
    stopped = _run("(+ x y)", p=0.04, sample=False, settings=budgeted)
    assert stopped.epochs == 1 and [s.rule_idx for s in stopped.trajectory.steps] == [0, 1, 2, 3]
    assert stopped.trajectory.decisions[0].approved.sum() == 4


def test_a_failing_state_bans_every_rule_applied_since_the_last_extraction():
    """A batched epoch sends its rules in several calls; going back from the state they
    led to bans all of them, not only the last call's."""
    env = CheckedEGraph(parse_sexpr("(* (sin x) 1)"), {}, (WRONG, MUL_ONE),
                        default_static_model(), SETTINGS)  # fmt: skip
    env.apply_rules([0])
    env.apply_rules([1])
    best, _ = env.extract()
    assert env.rollbacks == 1 and best.text == "(* (sin x) 1)"
    assert env.banned.tolist() == [True, True]
