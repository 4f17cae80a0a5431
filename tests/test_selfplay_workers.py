"""A self-play round on either backend (``data.selfplay.backend``): Ray gives the process
pool's trajectories, and a worker killed mid-round has its trajectory rerun, so the round
comes out as an undisturbed one. Trajectories are compared by what is deterministic in
them: each step's state, rule, probability, approval and match (measured runtimes
differ between any two runs)."""

import os
import signal
from pathlib import Path

import pytest

from src.config import default_config
from src.data import rollout
from src.data import selfplay as selfplay_module
from src.modules.policy import ActorPolicy, fresh_net, latency_prior
from src.selfplay.rules import RULES
from tests.test_rollout import _data_module

MARKERS = "PIXELFLOW_TEST_MARKERS"
ROUND = [
    "data.selfplay.trajectories_per_round=4", "data.selfplay.workers=2",
    "data.selfplay.episode.max_steps=4", "ray.num_cpus=2",
]  # fmt: skip


def run_task_dying_once(policy, task):
    """``run_task``, but the worker running trajectory 1 kills itself the first time."""
    marker = Path(os.environ[MARKERS]) / f"died-{task.index}"
    if task.index == 1 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return rollout.run_task(policy, task)


def _round(tmp_path, backend: str) -> list:
    data = _data_module(tmp_path, f"data.selfplay.backend={backend}", *ROUND)
    net = fresh_net(default_config().actor, latency_prior(default_config()))
    net.encode_rules([(r.lhs, r.rhs) for r in RULES])
    data.policy = lambda: ActorPolicy(net)
    try:
        results = data.generate(0)
    finally:
        data.teardown("fit")
    return [
        (name, [(s.rule_idx, s.action_probability, s.matched) for s in o.trajectory.steps])
        for o, name in results
    ]


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    return _round(tmp_path_factory.mktemp("undisturbed"), "process")


@pytest.mark.parametrize("backend", ["process", "ray"])
def test_a_round_with_a_worker_killed_is_the_undisturbed_round(
    backend, undisturbed, tmp_path, monkeypatch
):
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv(MARKERS, str(markers))  # before the workers start: they inherit it
    monkeypatch.setattr(selfplay_module, "run_task", run_task_dying_once)
    disturbed = _round(tmp_path, backend)
    assert (markers / "died-1").exists()  # a worker did die
    assert [n for n, _ in disturbed] == [n for n, _ in undisturbed]
    assert disturbed == undisturbed
    assert all(steps for _, steps in undisturbed)
