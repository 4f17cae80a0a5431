"""What the search benchmarks compare, as ``evaluate.py`` compares it: its composed
config (``conf/evaluate.yaml``: saturation's node budget is the runner's, and its random
policy and guide), the runner's settings and saturation's limits."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from src.config import CONF_DIR, settings_from_config
from src.selfplay.runner import RunnerSettings


def evaluation_setup() -> tuple[DictConfig, RunnerSettings, dict]:
    """(the evaluate config, the runner's settings, saturation's limits)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="evaluate")
    settings = settings_from_config(RunnerSettings, config.selfplay.runner, "selfplay.runner")
    return config, settings, dict(config.selfplay.saturation)
