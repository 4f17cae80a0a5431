"""``train(config)``: one Lightning ``fit`` in which every epoch is one round.

The actor (``ActorModule``) is the module Lightning trains; the data module
(``SelfPlayDataModule``) regenerates the round's data in ``train_dataloader`` (the
trainer reloads it every epoch): GENERATE with a snapshot of the actor, EXPORT,
CRITIQUE with the ``RoundCritic`` (its own short Lightning fit), then hands the steps
with their advantages to the actor's ``training_step`` (UPDATE). Checkpoints carry the
actor, its optimizer, the round (Lightning's epoch) and the critic (the data module's
state); the actor weight file is rewritten after every round.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, WandbLogger
from pytorch_lightning.plugins.io import TorchCheckpointIO

from src.atomic import atomic_open, write_text_atomic
from src.cost.measure import meter_from_config
from src.data.selfplay import SelfPlayDataModule
from src.modules.actor import ActorModule
from src.modules.critic.round import RoundCritic
from src.modules.policy import latency_prior
from src.modules.quiet import quiet_lightning
from src.selfplay.rules import RULES

from .report import VALIDATION_FILE, validation_records
from .search import runner_settings
from .validation import validate, validation_cases


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoints written to a temp file and renamed into place."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as file:
            torch.save(checkpoint, file)


class ActorWeightsEachRound(pl.Callback):
    """Rewrites the actor weight file after every round."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        module.save_weights(self.path)


class ValidateEveryN(pl.Callback):
    """Every ``every_n_rounds`` rounds, the actor's search on the held-out cases
    (``validation.py``), logged as ``val/*`` (overall, per suite and per size bucket) for
    the logger and for the checkpoint that keeps the best, and written to
    ``validation.jsonl``."""

    def __init__(self, config: Mapping, run_dir: Path) -> None:
        self.run_dir = run_dir
        v = config["validation"]
        self.every = int(v["every_n_rounds"])
        self.budget, self.time_limit_s = int(v["budget"]), float(v["time_limit_s"])
        self.settings = runner_settings(config)
        self.meter = meter_from_config(config["cost"])
        self.cases = validation_cases(config)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        round_index = trainer.current_epoch
        if (round_index + 1) % self.every:
            return
        start = time.perf_counter()
        metrics = validate(
            module.policy(), self.cases, self.budget, self.settings, self.time_limit_s, self.meter
        )
        module.log_dict({f"val/{k}": v for k, v in metrics.items()}, on_epoch=True)
        self._record(round_index, metrics)
        suites = ", ".join(
            f"{suite} {metrics[f'{suite}/geomean_speedup']:.3f}"
            for suite in dict.fromkeys(case.suite for case in self.cases)
        )
        print(
            f"round {round_index}: validation geomean speedup {metrics['geomean_speedup']:.3f} "
            f"({suites}), "
            f"e-graph nodes {metrics['egraph_nodes']:.0f} (median), failures "
            f"{metrics['failures']:.0f}, {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )

    def _record(self, round_index: int, metrics: Mapping[str, float]) -> None:
        """Rewrite ``validation.jsonl`` with this round's line (a redone round, after a
        resume, replaces its earlier line)."""
        kept = [r for r in validation_records(self.run_dir) if r["round"] != round_index]
        kept.append({"round": round_index, **metrics})
        lines = "".join(json.dumps(r) + "\n" for r in kept)
        write_text_atomic(self.run_dir / VALIDATION_FILE, lines)


class CheckpointOnInterrupt(pl.Callback):
    """Ctrl-C saves a checkpoint before the run stops."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_exception(
        self, trainer: pl.Trainer, module: pl.LightningModule, error: BaseException
    ) -> None:
        if isinstance(error, KeyboardInterrupt):
            data = trainer.datamodule
            if data is not None:  # the interrupted round is redone on resume
                data.generated_through = trainer.current_epoch - 1
            trainer.save_checkpoint(self.path)
            print(f"interrupted: checkpoint saved to {self.path}", file=sys.stderr)


def make_logger(config: Mapping, run_dir: Path):
    kind = config["logger"]["kind"]
    if kind == "csv":
        return CSVLogger(save_dir=str(run_dir), name="csv", version="")
    if kind == "wandb":
        return WandbLogger(
            project=config["logger"]["project"],
            save_dir=str(run_dir),
            mode=config["logger"]["mode"],
            config=OmegaConf.to_container(config, resolve=True),
        )
    raise ValueError(f"config logger.kind must be wandb or csv, not {kind!r}")


def _round_logger(logger, trainer_of):
    """The data module's per-round metrics (scalars; histograms too on W&B)."""

    def log(
        metrics: Mapping[str, float], histograms: Mapping[str, np.ndarray], round_index: int
    ) -> None:
        step = trainer_of().global_step
        logger.log_metrics({**metrics, "round": float(round_index)}, step=step)
        if isinstance(logger, WandbLogger):
            import wandb

            shown = {k: wandb.Histogram(v) for k, v in histograms.items() if len(v)}
            logger.log_metrics(shown, step=step)

    return log


def _validation_callbacks(config: Mapping, run_dir: Path, checkpoints: Path) -> list[pl.Callback]:
    """Validation every ``validation.every_n_rounds`` rounds (``validation.jsonl`` in
    ``run_dir``) and ``checkpoints/best.ckpt``, the checkpoint of the best
    ``val/geomean_speedup`` so far (none when it is 0)."""
    every = int(config["validation"]["every_n_rounds"])
    if every <= 0:
        return []
    best = ModelCheckpoint(
        dirpath=checkpoints,
        filename="best",
        monitor="val/geomean_speedup",
        mode="max",
        save_top_k=1,
        every_n_epochs=every,
        auto_insert_metric_name=False,
    )
    return [ValidateEveryN(config, run_dir), best]


def _trainer(**arguments) -> pl.Trainer:
    with quiet_lightning():
        return pl.Trainer(**arguments)


def train(config: DictConfig) -> float | None:
    """Trains a run; returns its best ``val/geomean_speedup`` (a sweep's objective), or
    None when the run validated no round."""
    run_dir = Path(config.paths.run_dir)
    checkpoints = run_dir / config.paths.checkpoints
    if config.ckpt_path is None and any(checkpoints.glob("*.ckpt")):
        # Lightning would write best-v1.ckpt beside the old best.ckpt, which is the one
        # ship.py and evaluate.py read: the new run's guide would silently be the old one
        raise ValueError(
            f"{checkpoints} holds another run's checkpoints; train into a new "
            "hydra.run.dir, or resume that run with ckpt_path=.../last.ckpt"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    actor = ActorModule(
        config.actor,
        [(r.lhs, r.rhs) for r in RULES],
        [r.name for r in RULES],
        latency_prior(config),
    )
    step_width = actor.shape.input_dim + actor.shape.embed
    critic = RoundCritic(config.critic, step_width, root_dir=run_dir / "critic")
    logger = make_logger(config, run_dir)
    trainer: pl.Trainer | None = None
    data = SelfPlayDataModule(
        config, run_dir, actor.policy, critic, _round_logger(logger, lambda: trainer)
    )
    validation = _validation_callbacks(config, run_dir, checkpoints)
    trainer = _trainer(
        max_epochs=config.trainer.rounds,
        accelerator=config.trainer.accelerator,
        devices=1,
        reload_dataloaders_every_n_epochs=1,
        logger=logger,
        log_every_n_steps=config.trainer.log_every_n_steps,
        callbacks=[
            ModelCheckpoint(
                dirpath=checkpoints,
                filename="round{epoch:03d}",
                auto_insert_metric_name=False,
                every_n_epochs=1,
                save_top_k=-1,
                save_last=True,
            ),
            ActorWeightsEachRound(run_dir / config.paths.actor_weights),
            CheckpointOnInterrupt(checkpoints / "interrupted.ckpt"),
            *validation,
        ],
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=str(run_dir),
    )
    with quiet_lightning():
        trainer.fit(actor, datamodule=data, ckpt_path=config.ckpt_path)
    best = [c.best_model_score for c in validation if isinstance(c, ModelCheckpoint)]
    return float(best[0]) if best and best[0] is not None else None
