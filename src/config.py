"""Reads the project's configuration files in ``conf/`` (the Hydra config tree).

Entry points composed by Hydra pass their config down explicitly. Library code called
without one (the CLIs, tests) composes the same tree here, with no overrides, so every
default lives in ``conf/`` and nowhere else.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import TypeVar, get_type_hints

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"


_adopted: list[DictConfig] = []


def adopt_config(config: DictConfig) -> None:
    """Make ``config`` (an entry point's composed tree, which includes every group of
    ``conf/config.yaml``) what ``conf_group`` reads in this process: the entry point's
    overrides then reach library defaults too, and the tree is not composed a second
    time. For single-process entry points (spawned workers compose their own)."""
    adopted = OmegaConf.create(OmegaConf.to_container(config, resolve=False))
    OmegaConf.set_readonly(adopted, True)
    _adopted[:] = [adopted]


def default_config() -> DictConfig:
    """The read-only config that ``conf/config.yaml`` composes with no overrides, or the
    one an entry point adopted (``adopt_config``)."""
    return _adopted[0] if _adopted else _composed_default()


@cache
def _composed_default() -> DictConfig:
    if GlobalHydra.instance().is_initialized():
        config = compose(config_name="config")
    else:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            config = compose(config_name="config")
    OmegaConf.set_readonly(config, True)
    return config


def conf_group(group: str) -> DictConfig:
    """The read-only config of ``group`` as ``conf/config.yaml`` selects it."""
    config = default_config()
    if group not in config:
        raise KeyError(f"conf/config.yaml selects no option for config group '{group}'")
    return config[group]


T = TypeVar("T")


def settings_from_config(cls: type[T], config: DictConfig, where: str) -> T:
    """A dataclass of plain fields (int, float, bool, str) filled from ``config``, the
    config node at ``where`` (for error messages). Raises ValueError naming a missing key
    or a value of the wrong type."""
    hints = get_type_hints(cls)
    values = {}
    for field in fields(cls):  # type: ignore[arg-type]
        if field.name not in config:
            raise ValueError(f"config {where} has no '{field.name}'")
        value, kind = config[field.name], hints[field.name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"config {where}.{field.name} must be {kind.__name__}, not {value!r}")
        values[field.name] = value
    return cls(**values)
