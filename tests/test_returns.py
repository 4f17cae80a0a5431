"""The return: the budget and time it prices, and each step's credit by its epoch's
progress (``src/data/returns.py``)."""

import dataclasses
import math

import numpy as np
import pytest

from src.data.returns import ReturnSettings, episode_return, epoch_returns, step_returns
from src.data.schema import SchemaError
from tests.test_schema import _trajectory

PROGRESS = ReturnSettings("log_speedup", "progress", 0.5, 0.0, 1.0)


def test_the_return_prices_growth_against_the_budget_and_time():
    t = _trajectory(steps=3)  # 20 -> 29 e-nodes of 100, 10 -> 3.42 ns, 0.25 s
    plain = ReturnSettings("log_speedup", "terminal", 0.0, 0.0, 1.0)
    assert episode_return(t, plain) == pytest.approx(math.log(10 / 3.42))
    priced = ReturnSettings("log_speedup", "terminal", 0.5, 2.0, 1.0)
    expected = math.log(10 / 3.42) - 0.5 * 9 / 100 - 2.0 * 0.25
    assert episode_return(t, priced) == pytest.approx(expected)


def test_progress_credits_each_epoch_with_what_it_and_later_epochs_earned():
    t = _trajectory(steps=4)  # static cost 10.5, 9.5, 8.5, 7.5; e-nodes 20, 23, 26, 29
    g = epoch_returns(t, PROGRESS)
    total = episode_return(t, PROGRESS)
    assert g[0] == pytest.approx(total)
    for e in range(3):  # G_e - G_{e+1} is epoch e's own reward
        a, b = t.decisions[e], t.decisions[e + 1]
        earned = (
            math.log(a.static_cost / b.static_cost) - 0.5 * (b.egraph_nodes - a.egraph_nodes) / 100
        )
        assert g[e] - g[e + 1] == pytest.approx(earned, abs=1e-6)
    terminal = epoch_returns(t, dataclasses.replace(PROGRESS, target="terminal"))
    np.testing.assert_allclose(terminal, total, rtol=1e-6)


def test_a_discount_credits_an_epoch_mostly_with_its_own_progress():
    t = _trajectory(steps=3)  # static cost 10.5, 9.5, 8.5, then 3.2; e-nodes 20, 23, 26, 29
    costs, nodes = [10.5, 9.5, 8.5, 3.2], [20, 23, 26, 29]
    own = [
        math.log(costs[k] / costs[k + 1]) - 0.5 * (nodes[k + 1] - nodes[k]) / 100 for k in range(3)
    ]
    unaccounted = episode_return(t, PROGRESS) - sum(own)
    myopic = epoch_returns(t, dataclasses.replace(PROGRESS, discount=0.0))
    np.testing.assert_allclose(myopic, np.array(own) + unaccounted, rtol=1e-5)
    half = epoch_returns(t, dataclasses.replace(PROGRESS, discount=0.5))
    expected = [own[0] + 0.5 * own[1] + 0.25 * own[2], own[1] + 0.5 * own[2], own[2]]
    np.testing.assert_allclose(half, np.array(expected) + unaccounted, rtol=1e-5)
    with pytest.raises(ValueError, match="discount in"):
        dataclasses.replace(PROGRESS, discount=1.5)


def test_each_step_takes_its_epochs_return():
    t = _trajectory(steps=3)
    t.decisions[1].approved[:] = False  # epoch 1 approved nothing: its step moves to epoch 2
    t.decisions[2].approved[[3, 5]] = True
    g = epoch_returns(t, PROGRESS)
    np.testing.assert_allclose(step_returns(t, PROGRESS), [g[0], g[2], g[2]], rtol=1e-6)
    t.decisions[2].approved[7] = True
    with pytest.raises(SchemaError, match="4 approvals in its decisions but 3 steps"):
        step_returns(t, PROGRESS)


def test_what_a_return_needs_is_said():
    t = dataclasses.replace(_trajectory(steps=2), decisions=[], egraph_nodes=None)
    with pytest.raises(SchemaError, match="needs its epochs' decisions for target progress"):
        step_returns(t, dataclasses.replace(PROGRESS, budget_weight=0.0))
    with pytest.raises(SchemaError, match="'egraph_nodes' and 'node_budget'"):
        step_returns(t, dataclasses.replace(PROGRESS, target="terminal"))
    seed = ReturnSettings("log_speedup", "terminal", 0.0, 0.0, 1.0)
    np.testing.assert_allclose(step_returns(t, seed), math.log(10 / 3.42), rtol=1e-6)
    with pytest.raises(ValueError, match="target progress is in log-speedup units"):
        ReturnSettings("neg_cost_ns", "progress", 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="target one of terminal, progress"):
        ReturnSettings("log_speedup", "epochs", 0.0, 0.0, 1.0)
