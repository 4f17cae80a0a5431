"""The runner's settings (``selfplay.runner`` in conf), shared by the runner, the
semantic check and the choice of the fastest candidate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunnerSettings:
    """``selfplay.runner`` in conf."""

    max_steps: int
    stall_epochs: int
    threshold: float
    node_budget: int
    check_elements: int
    check_seed: int
    check_rtol: float
    check_input_error_factor: float
    check_abs_floor: float
    min_checked: float
    max_candidates: int
    time_limit_s: float = 0.0  # a search stops after the epoch that passes this; 0: no limit

    def __post_init__(self) -> None:
        if self.max_candidates < 1:
            raise ValueError("selfplay.runner.max_candidates must be at least 1 (the final answer)")
