"""A self-play worker's task (src/data/rollout.py): its meter follows the run's ``cost``
config (overrides included), and the same task gives the same trajectory."""

import json

import numpy as np
from omegaconf import OmegaConf

from src.config import conf_group
from src.data import rollout
from src.modules.policy import ActorPolicy, fresh_net, latency_prior
from src.selfplay.rules import RULES
from src.unified.search import runner_settings


def _cost(**measure: object) -> str:
    cost = OmegaConf.to_container(conf_group("cost"), resolve=True)
    cost["measure"]["paired"] |= measure
    return json.dumps(cost)


def test_the_workers_meter_takes_the_runs_cost_settings():
    meter = rollout._meter(_cost(rounds=3, max_wait_ms=5.0))
    assert meter.paired.rounds == 3 and meter.paired.max_wait_ms == 5.0
    assert rollout._meter(_cost(rounds=4)).paired.rounds == 4


def test_a_task_runs_a_trajectory_with_the_tasks_settings():
    config = OmegaConf.create(
        {
            "actor": conf_group("actor"),
            "cost": conf_group("cost"),
            "selfplay": conf_group("selfplay"),
        }
    )
    net = fresh_net(config.actor, latency_prior(config))
    net.encode_rules([(r.lhs, r.rhs) for r in RULES])
    runner = runner_settings(config)
    task = rollout.RolloutTask(0, 3, 7, 0.0, 60, runner, ActorPolicy(net), _cost(rounds=3))
    first, name = rollout.run_task(task)
    again, _ = rollout.run_task(task)
    assert name.startswith("bwd-") and first.trajectory is not None
    assert [s.rule_idx for s in first.trajectory.steps] == [
        s.rule_idx for s in again.trajectory.steps
    ]
    assert np.isfinite(first.trajectory.final_cost_ns)
