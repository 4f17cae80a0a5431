"""Reads the project's configuration files in ``conf/`` (the Hydra config tree).

Entry points composed by Hydra pass their config down explicitly. Library code called
without one (the CLIs, tests) reads here the option that ``conf/config.yaml`` selects for
a group, so every default lives in ``conf/`` and nowhere else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"


def _selected_option(group: str) -> str:
    for entry in OmegaConf.load(CONF_DIR / "config.yaml").defaults:
        if isinstance(entry, DictConfig) and group in entry:
            return str(entry[group])
    raise KeyError(f"conf/config.yaml selects no option for config group '{group}'")


@cache
def conf_group(group: str) -> DictConfig:
    """The read-only config of ``group`` as ``conf/config.yaml`` selects it."""
    config = OmegaConf.load(CONF_DIR / group / f"{_selected_option(group)}.yaml")
    OmegaConf.set_readonly(config, True)
    return config
