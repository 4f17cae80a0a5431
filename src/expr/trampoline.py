"""Recursion without the Python call stack.

The parsers are written as recursive generators: where a recursive function would call
itself, a task yields the sub-task (another generator) and receives its result. ``run``
drives the tasks with an explicit stack, so input nested ten thousand levels deep parses
like any other instead of raising RecursionError.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

T = TypeVar("T")
Task = Generator[Any, Any, T]


def run(task: Task[T]) -> T:
    """Run ``task`` to completion and return its result; exceptions propagate."""
    stack: list[Task[Any]] = [task]
    result: Any = None
    while True:
        try:
            sub = stack[-1].send(result)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value
            result = done.value
        else:
            stack.append(sub)
            result = None
