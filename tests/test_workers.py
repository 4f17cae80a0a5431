"""The task pools (src/workers.py) on both backends: results in order or as they finish, a
worker killed mid-map has its tasks rerun, a task's own error comes back as it is, and a
pool gives up once workers have died past its retries. Ray runs locally on 2 CPUs and is
stopped after the module."""

import os
import signal
from pathlib import Path

import pytest

from src.workers import TaskPool, WorkerError, WorkerSettings


def scaled(shared: int, task: int) -> int:
    return shared * task


def dying_once(marker_dir: str, task: int) -> int:
    """Kills its own worker the first time it runs task 3 (a marker file remembers)."""
    marker = Path(marker_dir) / f"died-{task}"
    if task == 3 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return task * task


def always_dying(shared: object, task: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return task


def failing(shared: object, task: int) -> int:
    if task == 2:
        raise ValueError(f"task {task} is bad")
    return task


@pytest.fixture(scope="module")
def ray_pool():
    """One local Ray for the module (2 CPUs), shut down by this pool's close."""
    pool = TaskPool(WorkerSettings("ray", 2, 2, None, None))
    yield pool
    pool.close()
    import ray

    assert not ray.is_initialized()


@pytest.fixture(params=["process", "ray"])
def pool(request):
    if request.param == "ray":
        yield request.getfixturevalue("ray_pool")
    else:
        pool = TaskPool(WorkerSettings("process", 2, 2, None, None))
        yield pool
        pool.close()


def test_results_in_task_order_or_as_they_finish(pool):
    assert list(pool.map(scaled, 3, range(8))) == [3 * k for k in range(8)]
    assert sorted(pool.map(scaled, 2, range(8), ordered=False)) == [2 * k for k in range(8)]
    assert list(pool.map(scaled, 1, [])) == []


def test_a_worker_killed_mid_map_has_its_tasks_rerun(pool, tmp_path):
    assert list(pool.map(dying_once, str(tmp_path), range(6))) == [k * k for k in range(6)]
    assert (tmp_path / "died-3").exists()  # it did die once


def test_a_tasks_own_error_comes_back_as_it_is(pool):
    with pytest.raises(ValueError, match="task 2 is bad"):
        list(pool.map(failing, None, range(4)))


def test_workers_dying_past_the_retries_end_the_map(pool):
    with pytest.raises(WorkerError):
        list(pool.map(always_dying, None, range(2)))


def test_bad_settings_are_refused_naming_where():
    ray = {"retries": 3, "address": None, "num_cpus": None}
    with pytest.raises(ValueError, match=r"config data.selfplay: backend is one of process, ray"):
        WorkerSettings.from_config("dask", 2, ray, "data.selfplay")
    with pytest.raises(ValueError, match=r"config evaluate: workers and retries are >= 0"):
        WorkerSettings.from_config("process", -1, ray, "evaluate")
    assert WorkerSettings.from_config("ray", 0, ray, "x").count() == (os.cpu_count() or 1)
