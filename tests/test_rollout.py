"""A self-play worker's task (src/data/rollout.py): its meter and seed generators follow
the run's ``cost`` and ``data`` configs (overrides included), and the same task gives the
same trajectory."""

import dataclasses
import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from src.config import conf_group
from src.data import rollout
from src.data.ladder import default_ladder
from src.modules.policy import ActorPolicy, fresh_net, latency_prior
from src.selfplay.rules import RULES
from src.unified.search import runner_settings


def _cost(**measure: object) -> str:
    cost = OmegaConf.to_container(conf_group("cost"), resolve=True)
    cost["measure"]["paired"] |= measure
    return json.dumps(cost)


def _data(**changes: dict) -> str:
    data = OmegaConf.to_container(conf_group("data"), resolve=True)
    for group, values in changes.items():
        data[group] |= values
    return json.dumps(data)


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
    task = rollout.RolloutTask(
        0, 3, 7, 0.0, 0.5, 0.1, 60, 0.0, (), runner, (), _cost(rounds=3), _data()
    )
    policy = ActorPolicy(net)
    first, name = rollout.run_task(policy, task)
    again, _ = rollout.run_task(policy, task)
    assert name.startswith("bwd-") and first.trajectory is not None
    assert [s.rule_idx for s in first.trajectory.steps] == [
        s.rule_idx for s in again.trajectory.steps
    ]
    assert np.isfinite(first.trajectory.final_cost_ns)
    assert first.trajectory.node_budget == runner.node_budget
    # with episode budgets, each trajectory's is drawn from them
    tasks = [dataclasses.replace(task, index=i, budgets=(60, 90)) for i in range(8)]
    drawn = {rollout.run_task(policy, t)[0].trajectory.node_budget for t in tasks}
    assert drawn == {60, 90}


def test_seeds_come_from_scenes_and_composed_pairs_of_the_asked_sizes():
    ladder = default_ladder()
    for scene_fraction, sizes, prefix in [
        (1.0, ("large",), "scene-"),
        (0.0, ("medium",), "composed-"),
    ]:
        task = rollout.RolloutTask(
            0, 0, 7, 0.0, 0.5, 0.1, 60, scene_fraction, sizes, None, (), "{}", _data()
        )
        for index in range(3):
            expr, ranges, name = rollout._seed_of(task, np.random.default_rng([7, 0, index]))
            assert name.startswith(prefix) and set(ranges) >= expr.variables
            low, high = ladder.span(sizes[0])
            assert low <= expr.dag_nodes <= high + 250, (name, expr.dag_nodes)


def test_corpus_seeds_come_from_the_training_half_less_the_validation_band():
    from src.data.corpus import trainable_kernels

    task = rollout.RolloutTask(0, 0, 7, 1.0, 0.5, 0.1, 60, 0.0, (), None, (), "{}", _data())
    seeds = {k.name for k in trainable_kernels(0.5, 60, 0.1)}
    band = {k.name for k in trainable_kernels(0.5, 60, 0.1, in_band=True)}
    drawn = {rollout._seed_of(task, np.random.default_rng([7, 0, i]))[2] for i in range(200)}
    assert band and drawn <= seeds and not drawn & band
    assert len(drawn) > len(seeds) // 2  # draws spread over the seeds


def test_the_workers_generators_take_the_runs_data_settings():
    sources = rollout._sources(_data(bwd={"max_depth": 2}, scenes={"range": 3.0}))
    assert sources.pairs.settings.max_depth == 2
    assert sources.scenes.ranges()["x"].hi == 3.0
    assert rollout._sources(_data()).pairs.settings.max_depth == conf_group("data").bwd.max_depth


def _data_module(tmp_path, *overrides):
    from hydra import compose, initialize_config_dir

    from src.config import CONF_DIR
    from src.data.selfplay import SelfPlayDataModule

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="config", overrides=list(overrides))
    return SelfPlayDataModule(config, tmp_path, lambda: None, lambda *a: None)


def test_the_curriculum_moves_through_its_stages(tmp_path):
    data = _data_module(
        tmp_path, "data.selfplay.curriculum=[[small],[small,medium],[large]]",
        "data.selfplay.curriculum_rounds=2",
    )  # fmt: skip
    assert [data.sizes(r) for r in range(7)] == [
        ("small",), ("small",), ("small", "medium"), ("small", "medium"),
        ("large",), ("large",), ("large",),
    ]  # fmt: skip
    assert _data_module(tmp_path, "data.selfplay.sizes=[huge]").sizes(5) == ("huge",)
    assert _data_module(tmp_path).sizes(0) == ()  # plain pairs


def test_unknown_buckets_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"not \['gigantic'\]"):
        _data_module(tmp_path, "data.selfplay.curriculum=[[small],[gigantic]]")


def test_episode_budgets_must_be_e_node_counts(tmp_path):
    assert _data_module(tmp_path, "data.selfplay.episode_budgets=[250,4000]").budgets == (250, 4000)
    with pytest.raises(ValueError, match=r"episode_budgets takes e-node counts of at least 1"):
        _data_module(tmp_path, "data.selfplay.episode_budgets=[250,0]")
