"""The one timing loop the benchmark scripts share (run them as
``.venv/bin/python benchmarks/<script>.py``, which puts this folder on the path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def call_times(fn: Callable[[], Result], repeats: int) -> tuple[list[float], Result]:
    """Wall-clock seconds of each of ``repeats`` calls of ``fn``, and the last result."""
    times: list[float] = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result
