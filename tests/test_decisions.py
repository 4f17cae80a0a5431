"""Every decision counts: the runner records each epoch's probabilities and approvals for
every rule, the trajectory files keep them, and ``actor.decisions: all`` turns them into
one update row per rule and epoch, each with its epoch's advantage."""

import dataclasses
import json

import numpy as np
import pytest

from src.config import conf_group, settings_from_config
from src.cost.measure import default_meter
from src.cost.static import default_static_model
from src.data.schema import (
    EpochDecisions,
    SchemaError,
    Trajectory,
    TrajectoryStep,
    read_trajectories,
    trajectory_record,
    write_trajectories,
)
from src.data.selfplay import _decision_arrays, _epoch_advantages
from src.expr import parse_sexpr
from src.selfplay.rules import RULES
from src.selfplay.runner import RunnerSettings, run_trajectory

SETTINGS = dataclasses.replace(
    settings_from_config(RunnerSettings, conf_group("selfplay").runner, "selfplay.runner"),
    max_steps=4,
    node_budget=2000,
)


class HalfPolicy:
    def features(self, expr):
        return np.full(130, float(expr.dag_nodes), dtype=np.float32)

    def state(self, features, budget, grown):
        return features

    def probabilities(self, features):
        return np.linspace(0.05, 0.95, len(RULES))

    def rule_embedding(self, index):
        return np.full(24, float(index), dtype=np.float32)


def _trajectory(approvals):
    """A trajectory of len(approvals) epochs over 3 rules; approvals[e]: the approved rules."""
    decisions, steps = [], []
    for e, approved in enumerate(approvals):
        mask = np.array([k in approved for k in range(3)])
        state = np.full(4, float(e), np.float32)
        p = np.array([0.2, 0.5, 0.8], np.float32)
        decisions.append(EpochDecisions(state, p, mask, 10.0 - e))
        for k in approved:
            steps.append(
                TrajectoryStep(state, np.full(2, float(k), np.float32), k, 0.5, True, True)
            )
    return Trajectory("t", "x", steps, 1.0, 2.0, 1.0, 2.0, decisions, 120, 1000)


def test_the_runner_records_every_rules_decision_each_epoch():
    outcome = run_trajectory(
        parse_sexpr("(+ (* x 1) (* x 0))"), {}, HalfPolicy(), RULES, SETTINGS,
        default_static_model(), default_meter(), np.random.default_rng(0), "t0",
    )  # fmt: skip
    trajectory = outcome.trajectory
    assert len(trajectory.decisions) == outcome.epochs
    assert (trajectory.egraph_nodes, trajectory.node_budget) == (outcome.egraph_nodes, 2000)
    for d in trajectory.decisions:
        assert d.probabilities.shape == (len(RULES),) and d.approved.dtype == bool
        assert np.allclose(d.probabilities, HalfPolicy().probabilities(None))
    assert sum(int(d.approved.sum()) for d in trajectory.decisions) == len(trajectory.steps)
    costs = [d.static_cost for d in trajectory.decisions]
    assert costs[0] == pytest.approx(trajectory.initial_cost)  # before any rule
    assert costs == sorted(costs, reverse=True)  # a rule never makes extraction worse
    approved = [k for d in trajectory.decisions for k in np.flatnonzero(d.approved)]
    assert approved == [s.rule_idx for s in trajectory.steps]


def test_decisions_survive_the_file(tmp_path):
    trajectory = _trajectory([[0], [], [1, 2]])
    write_trajectories(tmp_path / "t.jsonl", [trajectory])
    (back,) = read_trajectories(tmp_path / "t.jsonl")
    assert len(back.decisions) == 3 and (back.egraph_nodes, back.node_budget) == (120, 1000)
    for a, b in zip(trajectory.decisions, back.decisions, strict=True):
        assert np.array_equal(a.approved, b.approved)
        assert np.array_equal(a.probabilities, b.probabilities)
        assert np.array_equal(a.accumulator_state, b.accumulator_state)
        assert a.static_cost == b.static_cost


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(approved="01"), "'approved' must be 3 characters"),
        (lambda d: d.update(approved="012"), "each 0, 1 or -"),
        (lambda d: d.update(probabilities=[0.1, 1.5, 0.2]), "'probabilities' must be in"),
    ],
)
def test_bad_decisions_are_refused_with_their_place(tmp_path, edit, message):
    record = trajectory_record(_trajectory([[0], [1]]))
    edit(record["decisions"][1])
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(SchemaError, match=f"{path}:1: decisions 1: .*{message}"):
        list(read_trajectories(path))


def test_an_epoch_that_approved_nothing_takes_its_neighbours_advantage():
    trajectory = _trajectory([[], [0, 1], [], [2], []])
    advantages = np.array([1.0, 3.0, -2.0], np.float32)  # steps: epoch 1 twice, epoch 3
    assert _epoch_advantages(trajectory, advantages).tolist() == [2.0, 2.0, 2.0, -2.0, -2.0]
    nothing = _trajectory([[], []])
    assert _epoch_advantages(nothing, np.zeros(0, np.float32)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="3 approvals in its decisions but 2 steps"):
        _epoch_advantages(trajectory, advantages[:2])


def test_all_decisions_give_one_row_per_rule_and_epoch():
    trajectory = _trajectory([[0], [], [1, 2]])
    embeddings = np.arange(6, dtype=np.float32).reshape(3, 2)
    rows = _decision_arrays([trajectory], [np.array([1.0, 4.0, 6.0], np.float32)], embeddings)
    assert len(rows["rule_index"]) == 9 and rows["rule_index"].tolist() == [0, 1, 2] * 3
    assert rows["approved"].tolist() == [1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert rows["advantage"].tolist() == [1.0] * 6 + [5.0] * 3
    assert np.array_equal(rows["rule_embedding"], embeddings[[0, 1, 2] * 3])
    assert rows["features"][:, 0].tolist() == [0.0] * 3 + [1.0] * 3 + [2.0] * 3
    assert np.allclose(rows["value_target"], np.log(1.0))


def test_rules_that_were_not_eligible_are_kept_by_the_file_and_left_out_of_the_rows(tmp_path):
    """A walk's tried rules (and banned ones) were not the policy's choice in that epoch:
    the file marks them '-', and the update has no row for them."""
    trajectory = _trajectory([[0], [], [1, 2]])
    trajectory.decisions[1].eligible = np.array([False, True, True])  # rule 0 tried
    trajectory.decisions[2].eligible = np.array([False, True, True])
    assert trajectory_record(trajectory)["decisions"][2]["approved"] == "-11"
    write_trajectories(tmp_path / "t.jsonl", [trajectory])
    (back,) = read_trajectories(tmp_path / "t.jsonl")
    assert back.decisions[0].eligible is None
    assert back.decisions[1].eligible.tolist() == [False, True, True]
    assert back.decisions[2].approved.tolist() == [False, True, True]
    embeddings = np.arange(6, dtype=np.float32).reshape(3, 2)
    rows = _decision_arrays([back], [np.array([1.0, 4.0, 6.0], np.float32)], embeddings)
    assert rows["rule_index"].tolist() == [0, 1, 2, 1, 2, 1, 2]
    assert rows["approved"].tolist() == [1, 0, 0, 0, 0, 1, 1]
    assert rows["advantage"].tolist() == [1.0] * 5 + [5.0] * 2
    assert np.array_equal(rows["rule_embedding"], embeddings[[0, 1, 2, 1, 2, 1, 2]])
