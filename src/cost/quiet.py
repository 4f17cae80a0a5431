"""Waiting out the machine's slow phases before timing a kernel.

On a shared machine (a VM whose physical cores other tenants also use) there are phases,
often a second long, in which every kernel runs 30-60% slower. No statistic over a few
milliseconds of timings can see past a phase that long, so before each group of timed
calls the meter times a fixed probe kernel; while the probe runs more than ``tolerance``
slower than the fastest it has ever run in this process, the meter sleeps and tries
again, for at most ``max_wait_ms``.
"""

from __future__ import annotations

import time

from .jit import BoundCall


class QuietGate:
    def __init__(
        self, probe: BoundCall, calls: int, tolerance: float, wait_ms: float, max_wait_ms: float
    ) -> None:
        self.probe = probe
        self.calls = calls
        self.tolerance = tolerance
        self.wait_ms = wait_ms
        self.max_wait_ms = max_wait_ms
        self.best_ns = float(probe.time_calls(calls).min())

    def _quiet_now(self) -> bool:
        now = float(self.probe.time_calls(self.calls).min())
        self.best_ns = min(self.best_ns, now)
        return now <= self.best_ns * (1 + self.tolerance)

    def wait(self) -> bool:
        """Return once the machine is quiet (True) or the wait limit is reached (False)."""
        deadline = time.perf_counter() + self.max_wait_ms / 1e3
        while not self._quiet_now():
            if time.perf_counter() >= deadline:
                return False
            time.sleep(self.wait_ms / 1e3)
        return True
