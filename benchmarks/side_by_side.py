"""What the comparison benchmarks share: a training run's config as today's code reads it,
and searches run side by side on the same cases in one process."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from src.config import default_config
from src.expr import Expr, VarRange
from src.unified.search import Optimized
from src.unified.suites import Case

Search = Callable[[str, Expr, Mapping[str, VarRange]], Optimized]  # (name, expression, ranges)


def run_config(run_dir: Path) -> DictConfig:
    """The run's ``.hydra/config.yaml`` as today's code reads it: a setting the run
    predates takes today's default (a run made before the corpus's validation band, say,
    validates on today's cases). A knob this code no longer has stays, and the reader
    of its group refuses it (``runner_settings``)."""
    today = OmegaConf.create(OmegaConf.to_container(default_config()))  # not struct
    return OmegaConf.merge(today, OmegaConf.load(run_dir / ".hydra" / "config.yaml"))


def side_by_side(
    cases: Sequence[Case], searches: Mapping[str, Search], passes: int = 2
) -> dict[str, list[tuple[tuple[str, str], Optimized]]]:
    """Each search's ((suite, size), result) per case, of the last of ``passes`` passes.

    The earlier passes compile the kernels the searches find (the JIT caches them by
    text), which would otherwise be paid by whichever search found a kernel first.
    Within a pass the searches run in turn on each case, starting one further each
    time, so that a slow phase of the machine, or a fault of this process's timing,
    falls on all of them."""
    names = list(searches)
    results: dict[str, list] = {}
    for _ in range(passes):
        results = {name: [] for name in names}
        for k, case in enumerate(cases):
            for name in names[k % len(names) :] + names[: k % len(names)]:
                result = searches[name](case.name, case.expr, case.ranges)
                results[name].append(((case.suite, case.size), result))
    return results
