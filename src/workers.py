"""Where independent tasks run: self-play's trajectories of a round and an evaluation's
searches. ``TaskPool.map(fn, shared, tasks)`` calls ``fn(shared, task)`` for every task
on one of two backends:

- ``process``: spawned processes on this machine (``concurrent.futures``). A worker that
  dies (``kill -9``, the out-of-memory killer) breaks the whole pool; the tasks without a
  result then run again on a fresh pool, up to ``retries`` times.
- ``ray``: Ray tasks, on a local Ray started for the run or on an existing cluster
  (``address``). ``shared`` goes to the object store once per ``map``; Ray reruns a task
  whose worker died, up to ``retries`` times.

Tasks must be deterministic given their arguments (self-play's are seeded by run, round
and index), so a rerun gives what the lost run would have given. Ray is imported only
when its backend is chosen.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

BACKENDS = ("process", "ray")


class WorkerError(RuntimeError):
    """The pool could not finish a map: workers kept dying past ``retries``."""


@dataclass(frozen=True)
class WorkerSettings:
    """A backend and its workers, as ``conf/ray`` and the backend's caller set them."""

    backend: str
    workers: int  # 0: one per CPU core (of this machine; a Ray cluster has its own)
    retries: int  # reruns of the tasks whose worker died, per map
    address: str | None  # ray: a cluster to join; None starts a local Ray
    ray_cpus: int | None  # ray: the local Ray's CPUs; None: ``workers``

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend is one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.workers < 0 or self.retries < 0:
            raise ValueError(f"workers and retries are >= 0, not {self.workers}, {self.retries}")

    @classmethod
    def from_config(cls, backend: str, workers: int, ray: Any, where: str) -> WorkerSettings:
        """From a backend name and a worker count (config ``where``) and the ``ray``
        config group; ValueError naming ``where`` for a bad value."""
        try:
            return cls(
                str(backend),
                int(workers),
                int(ray["retries"]),
                None if ray["address"] is None else str(ray["address"]),
                None if ray["num_cpus"] is None else int(ray["num_cpus"]),
            )
        except ValueError as error:
            raise ValueError(f"config {where}: {error}") from None

    def count(self) -> int:
        return self.workers or os.cpu_count() or 1


class TaskPool:
    """One backend's workers, kept across maps (a spawned process or a Ray worker pays its
    imports once) until ``close``."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._executor: ProcessPoolExecutor | None = None
        self._ray_started = False

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        shared: Any,
        tasks: Iterable[Any],
        ordered: bool = True,
    ) -> Iterator[Any]:
        """``fn(shared, task)`` for each task: in the tasks' order, or as they finish."""
        tasks = list(tasks)
        run = self._map_ray if self.settings.backend == "ray" else self._map_process
        return run(fn, shared, tasks, ordered)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False

    # ---- process

    def _fresh_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.settings.count(), mp_context=context)
        return self._executor

    def _map_process(self, fn, shared, tasks: list, ordered: bool) -> Iterator[Any]:
        results: dict[int, Any] = {}
        submit = lambda k: self._fresh_executor().submit(fn, shared, tasks[k])  # noqa: E731
        pending: dict[Future, int] = {submit(k): k for k in range(len(tasks))}
        given = 0  # with ``ordered``: the results handed out so far
        restarts = 0
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                index = pending.pop(future)
                try:
                    value = future.result()
                except BrokenProcessPool:  # a worker died: every unfinished task fails so
                    broken = True
                    pending[future] = index  # run again below
                    continue
                if ordered:
                    results[index] = value
                else:
                    yield value
            if broken:
                restarts += 1
                if restarts > self.settings.retries:
                    raise WorkerError(
                        f"a worker process died {restarts} times in one map of "
                        f"{len(tasks)} tasks (retries: {self.settings.retries})"
                    )
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
                again = sorted(set(pending.values()))
                pending = {submit(k): k for k in again}
            while ordered and given in results:
                yield results.pop(given)
                given += 1

    # ---- ray

    def _map_ray(self, fn, shared, tasks: list, ordered: bool) -> Iterator[Any]:
        import ray

        if not ray.is_initialized():
            s = self.settings
            if s.address is None:
                # a local Ray reports usage to its makers unless told not to; nothing of
                # a run reaches the network (set the variable to 1 to allow it)
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                ray.init(
                    num_cpus=s.ray_cpus or s.count(),
                    include_dashboard=False,
                    configure_logging=False,
                )
            else:
                ray.init(address=s.address, configure_logging=False)
            self._ray_started = True
        remote = ray.remote(num_cpus=1, max_retries=self.settings.retries)(_call)
        shared_ref = ray.put(shared)  # once per map: every task reads the same object
        index_of = {remote.remote(fn, shared_ref, task): k for k, task in enumerate(tasks)}
        results: dict[int, Any] = {}
        given = 0
        waiting = list(index_of)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            for ref in done:
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayTaskError as error:  # the task's own: as it is
                    raise error.cause from None
                except ray.exceptions.RayError as error:  # its worker or node died
                    raise WorkerError(f"a Ray task failed past its retries: {error}") from None
                if ordered:
                    results[index_of[ref]] = value
                else:
                    yield value
            while ordered and given in results:
                yield results.pop(given)
                given += 1


def _call(fn: Callable[[Any, Any], Any], shared: Any, task: Any) -> Any:
    return fn(shared, task)
