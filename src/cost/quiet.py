"""Waiting out the machine's slow phases before timing a kernel.

On a shared machine (a VM whose physical cores other tenants also use) there are phases,
often a second long, in which every kernel runs 30-60% slower. No statistic over a few
milliseconds of timings can see past a phase that long, so before each group of timed
calls the meter times a fixed probe kernel; while the probe runs more than ``tolerance``
slower than the fastest of its last ``history`` timings, the meter sleeps and tries
again. Because the baseline is recent, a slowdown that lasts (a busier machine) becomes
the new normal instead of stalling every measurement; and the meter bounds the total
wait of one measurement (``cost.measure.quiet_max_wait_ms``) and of one paired
comparison (``cost.measure.paired.max_wait_ms``).
"""

from __future__ import annotations

import time
from collections import deque

from .jit import BoundCall


class QuietGate:
    def __init__(
        self, probe: BoundCall, calls: int, tolerance: float, wait_ms: float, history: int
    ) -> None:
        self.probe = probe
        self.calls = calls
        self.tolerance = tolerance
        self.wait_ms = wait_ms
        self.recent: deque[float] = deque(maxlen=history)
        self._quiet_now()

    def _quiet_now(self) -> bool:
        now = float(self.probe.time_calls(self.calls).min())
        self.recent.append(now)
        return now <= min(self.recent) * (1 + self.tolerance)

    def wait(self, budget_ms: float) -> tuple[bool, float]:
        """Wait until the machine is quiet, for at most ``budget_ms``. Returns whether
        it is quiet, and the milliseconds spent waiting."""
        start = time.perf_counter()
        while not self._quiet_now():
            waited = (time.perf_counter() - start) * 1e3
            if waited >= budget_ms:
                return False, waited
            time.sleep(self.wait_ms / 1e3)
        return True, (time.perf_counter() - start) * 1e3
