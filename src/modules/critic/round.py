"""The critic's part of a round: train on the round's trajectories (warm-started from
the last round: ``critic.train.first_round_epochs`` until it has trained once, then
``critic.train.epochs``, either cut short by early stopping or the step cap), fall back
to the last good state if training diverges, and give the advantages with their
summary. With ``critic.baseline: mean`` (an ablation) the critic does not train and the
baseline is the round's mean target."""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from src.config import settings_from_config
from src.data.returns import ReturnSettings
from src.data.schema import Trajectory

from .module import CriticData, CriticModule, advantages, fit_critic

BASELINES = ("critic", "mean")


class RoundCritic:
    """Called once per round with that round's trajectories; keeps its state across
    rounds (``state_dict`` / ``load_state_dict`` for checkpoints). ``warm``: it has
    trained once, so rounds train ``epochs``, not ``first_round_epochs``."""

    def __init__(self, config: Mapping, input_dim: int, root_dir: Path | None = None) -> None:
        self.config = config
        self.module = CriticModule(config, input_dim)
        self.returns = settings_from_config(ReturnSettings, config, "critic")
        self.baseline = str(config["baseline"])
        if self.baseline not in BASELINES:
            raise ValueError(
                f"config critic.baseline must be one of {', '.join(BASELINES)}, "
                f"not {self.baseline!r}"
            )
        self.root_dir = root_dir
        self.last_good = copy.deepcopy(self.module.state_dict())
        self.warm = False

    def __call__(
        self, round_index: int, trajectories: Sequence[Trajectory]
    ) -> tuple[list[np.ndarray], dict[str, float], np.ndarray]:
        """(advantages per trajectory, metrics, all advantages flat)."""
        data = CriticData.from_trajectories(trajectories, self.returns)
        metrics: dict[str, float] = {"critic/diverged": 0.0}
        if self.baseline == "critic" and any(len(steps) for steps in data.steps):
            # the round's own random streams, so a resumed run trains it the same way
            seed = int(
                np.random.SeedSequence(
                    [self.module.train_settings.seed, round_index]
                ).generate_state(1)[0]
            )
            self.module.model.reseed(seed)
            t = self.module.train_settings
            epochs = t.epochs if self.warm else t.first_round_epochs

            def report(epoch: int, found: dict[str, float]) -> None:
                loss = found.get("critic/loss", math.nan)
                print(
                    f"round {round_index}: critic epoch {epoch}/{epochs}, loss {loss:.4g}",
                    file=sys.stderr,
                )

            fit = fit_critic(
                self.module, data, epochs, report=report, root_dir=self.root_dir, seed=seed
            )
            metrics |= fit.summary()
            if fit.stopped:
                print(
                    f"round {round_index}: the critic stopped after {fit.epochs}/{epochs} "
                    f"epochs ({fit.stopped}; {fit.steps} optimizer steps, {fit.seconds:.1f} s)",
                    file=sys.stderr,
                )
            finite = all(torch.isfinite(p).all() for p in self.module.parameters())
            if not finite or not math.isfinite(metrics.get("critic/loss", 0.0)):
                self.module.load_state_dict(self.last_good)
                metrics["critic/diverged"] = 1.0
                print(
                    f"round {round_index}: the critic diverged (loss "
                    f"{metrics.get('critic/loss')}); restored its last good state",
                    file=sys.stderr,
                )
            else:
                self.last_good = copy.deepcopy(self.module.state_dict())
                self.warm = True
        if self.baseline == "mean":  # the ablation's plain baseline: the round's mean target
            flat_targets = np.concatenate([*data.targets, np.zeros(0, np.float32)])
            mean = float(flat_targets.mean()) if len(flat_targets) else 0.0
            values = [np.full(len(g), mean, np.float32) for g in data.targets]
        else:
            values = self.module.values(data)
        result, summary = advantages(values, data, bool(self.config["normalize_advantages"]))
        metrics |= {f"critic/advantage_{k}": v for k, v in summary.items()}
        flat = np.concatenate(result) if result else np.zeros(0, np.float32)
        return result, metrics, flat

    def state_dict(self) -> dict:
        """The critic's weights (after a round they are also its last good state) and
        whether it has trained yet."""
        return {"module": self.module.state_dict(), "warm": self.warm}

    def load_state_dict(self, state: Mapping) -> None:
        self.module.load_state_dict(state["module"])
        self.last_good = copy.deepcopy(self.module.state_dict())
        self.warm = bool(state.get("warm", True))  # checkpoints from before "warm": trained
