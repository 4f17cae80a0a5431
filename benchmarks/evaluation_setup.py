"""What the search benchmarks compare, as ``evaluate.py`` compares it at one budget: its
composed config (``conf/evaluate.yaml``: saturation's limits checked after every
iteration, and ``ckpt`` set to the guide ``evaluate.py`` would take), the runner's
settings (its node budget, ``selfplay.runner.node_budget``, with evaluate's time limit)
and saturation's limits with the same node budget and time limit."""

from __future__ import annotations

import dataclasses

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from src.config import CONF_DIR
from src.selfplay.settings import RunnerSettings, runner_settings_from
from src.unified.evaluation import guide_checkpoint


def evaluation_setup(budget: int | None = None) -> tuple[DictConfig, RunnerSettings, dict]:
    """(the evaluate config, the runner's settings, saturation's limits), at ``budget``
    e-nodes when it is given."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="evaluate")
    config = OmegaConf.merge(config, {"ckpt": str(guide_checkpoint(config))})
    settings = runner_settings_from(config.selfplay.runner, "selfplay.runner")
    settings = dataclasses.replace(
        settings,
        time_limit_s=float(config.time_limit_s),
        node_budget=budget or settings.node_budget,
    )
    limits = dict(config.selfplay.saturation) | {
        "max_nodes": settings.node_budget,
        "seconds": settings.time_limit_s,
    }
    return config, settings, limits
