"""CriticModule: the critic as a LightningModule, its padded batches, training and the
advantage export.

Loss: mean squared error between V_t and the step's target G_t over the real (unpadded)
steps of a batch: the trajectory's return R for every step (``critic.target: terminal``,
the seed's R_T), or the return still to come when the step's epoch began (``progress``;
``src/data/returns.py``). Advantages: A_t = G_t - V_t from the trained critic in eval
mode, optionally standardized over the exported set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torchmetrics
from omegaconf import OmegaConf

from src.config import settings_from_config
from src.data.returns import ReturnSettings, step_returns
from src.data.schema import Trajectory

from ..quiet import quiet_lightning
from .model import CriticModelSettings, CriticTransformer

# the settings that may be null in conf, meaning 0: off
_NULL_IS_OFF = ("max_steps", "target_explained_variance", "patience")


@dataclass(frozen=True)
class CriticTrainSettings:
    """``critic.train`` in conf."""

    first_round_epochs: int
    epochs: int
    max_steps: int
    target_explained_variance: float
    patience: int
    tolerance: float
    batch_size: int
    lr: float
    weight_decay: float
    grad_clip: float
    precision: str
    seed: int
    print_every: int

    def __post_init__(self) -> None:
        rules = {
            "first_round_epochs": (self.first_round_epochs >= 0, ">= 0"),
            "epochs": (self.epochs >= 0, ">= 0"),
            "max_steps": (self.max_steps >= 0, ">= 0 (0: no cap)"),
            "target_explained_variance": (
                0 <= self.target_explained_variance <= 1,
                "in [0, 1] (0: off)",
            ),
            "patience": (self.patience >= 0, ">= 0 (0: off)"),
            "tolerance": (0 <= self.tolerance < 1, "in [0, 1)"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "print_every": (self.print_every >= 1, ">= 1"),
        }
        for key, (ok, rule) in rules.items():
            if not ok:
                raise ValueError(f"critic.train.{key} must be {rule}, not {getattr(self, key)!r}")
        if self.precision not in ("auto", "32-true", "bf16-mixed"):
            raise ValueError(
                f"critic.train.precision must be auto, 32-true or bf16-mixed, "
                f"not {self.precision!r}"
            )


def model_settings(config: Mapping) -> CriticModelSettings:
    return settings_from_config(CriticModelSettings, config["model"], "critic.model")


def train_settings(config: Mapping) -> CriticTrainSettings:
    train = dict(_plain(config["train"]))
    train |= {key: 0 for key in _NULL_IS_OFF if key in train and train[key] is None}
    return settings_from_config(CriticTrainSettings, train, "critic.train")


def native_bf16() -> bool:
    """Whether this machine computes bf16 natively: a CUDA GPU that supports it, or a
    CPU with AVX512-BF16 or AMX (read from /proc/cpuinfo; elsewhere assumed not)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    if precision == "auto":
        return "bf16-mixed" if native_bf16() else "32-true"
    return precision


@dataclass
class CriticData:
    """Trajectories as the critic reads them: one (steps, features) array per trajectory
    (accumulator state then rule embedding) and each step's target G_t."""

    steps: list[np.ndarray]
    targets: list[np.ndarray]

    @classmethod
    def from_trajectories(
        cls, trajectories: Sequence[Trajectory], returns: ReturnSettings
    ) -> CriticData:
        steps = [
            np.stack([np.concatenate([s.accumulator_state, s.rule_embedding]) for s in t.steps])
            if t.steps
            else np.zeros((0, 0), dtype=np.float32)
            for t in trajectories
        ]
        return cls(steps, [step_returns(t, returns) for t in trajectories])

    def __len__(self) -> int:
        return len(self.steps)


def pad_batch(items: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Right-padded ``steps`` (B, T, F), ``lengths`` (B,) and ``target`` (B, T) from
    (steps, per-step targets) pairs."""
    lengths = [len(steps) for steps, _ in items]
    width = items[0][0].shape[1]
    padded = np.zeros((len(items), max(lengths), width), dtype=np.float32)
    targets = np.zeros((len(items), max(lengths)), dtype=np.float32)
    for row, (steps, target) in enumerate(items):
        padded[row, : len(steps)] = steps
        targets[row, : len(steps)] = target
    return {
        "steps": torch.from_numpy(padded),
        "lengths": torch.tensor(lengths),
        "target": torch.from_numpy(targets),
    }


def real_steps(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(B, T) boolean mask of the unpadded steps."""
    return torch.arange(values.shape[1], device=values.device)[None, :] < lengths[:, None]


class CriticModule(pl.LightningModule):
    """The critic; ``critic`` is the ``critic`` config node."""

    def __init__(self, critic: Mapping, input_dim: int) -> None:
        super().__init__()
        self.save_hyperparameters({"critic": dict(_plain(critic)), "input_dim": input_dim})
        self.model_settings = model_settings(critic)
        self.train_settings = train_settings(critic)
        seed = self.train_settings.seed
        with torch.random.fork_rng():  # a seeded initialization; the global stream is untouched
            torch.manual_seed(seed)
            self.model = CriticTransformer(input_dim, self.model_settings, seed)
        # over all of an epoch's steps (a mean of per-batch ratios is far off when a
        # batch's rewards barely differ); float64, as rewards may differ by little
        self.explained_variance = torchmetrics.ExplainedVariance()
        self.explained_variance.set_dtype(torch.float64)

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        return self.model(steps)

    def training_step(self, batch: Mapping[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        values = self(batch["steps"]).float()
        mask = real_steps(values, batch["lengths"])
        targets = batch["target"][mask]
        predictions = values[mask]
        loss = (targets - predictions).square().mean()
        steps = len(targets)
        self.log("critic/loss", loss.detach(), on_step=False, on_epoch=True, batch_size=steps)
        self.explained_variance.update(predictions.detach().double(), targets.double())
        self.log("critic/explained_variance", self.explained_variance, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        t = self.train_settings
        return torch.optim.AdamW(self.parameters(), lr=t.lr, weight_decay=t.weight_decay)

    @torch.no_grad()
    def values(self, data: CriticData) -> list[np.ndarray]:
        """V_t for every step of every trajectory (eval mode, float32)."""
        was_training = self.training
        self.eval()
        out: list[np.ndarray] = [np.zeros(len(s), dtype=np.float32) for s in data.steps]
        order = [i for i in np.argsort([len(s) for s in data.steps]) if len(data.steps[i])]
        size = self.train_settings.batch_size
        for start in range(0, len(order), size):
            chosen = order[start : start + size]
            batch = pad_batch([(data.steps[i], data.targets[i]) for i in chosen])
            values = self(batch["steps"].to(self.device)).float().cpu().numpy()
            for row, index in enumerate(chosen):
                out[index] = values[row, : len(data.steps[index])]
        self.train(was_training)
        return out


def _plain(config: Mapping) -> dict:
    """A config node as plain dicts (for Lightning's hyperparameters)."""
    return config if isinstance(config, dict) else OmegaConf.to_container(config)


class _Trajectories(torch.utils.data.Dataset):
    def __init__(self, data: CriticData) -> None:
        self.items = [(s, g) for s, g in zip(data.steps, data.targets, strict=True) if len(s)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.items[index]


class _LengthBatches(torch.utils.data.Sampler):
    """Batches of trajectories of similar length (so little of a batch is padding), in
    a new random order every epoch."""

    def __init__(self, lengths: Sequence[int], size: int, generator: torch.Generator) -> None:
        by_length = sorted(range(len(lengths)), key=lambda i: lengths[i])
        self.batches = [by_length[k : k + size] for k in range(0, len(by_length), size)]
        self.generator = generator

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for k in torch.randperm(len(self.batches), generator=self.generator).tolist():
            yield self.batches[k]


class _EpochReport(pl.Callback):
    """Calls ``report(epoch, metrics)`` after the first epoch, every ``every`` epochs and
    the last one."""

    def __init__(self, every: int, report: Callable[[int, dict[str, float]], None]) -> None:
        self.every = every
        self.report = report

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        last = epoch == trainer.max_epochs or trainer.should_stop
        if epoch == 1 or epoch % self.every == 0 or last:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
            self.report(epoch, metrics)


class _EarlyStop(pl.Callback):
    """Ends a fit once an epoch's explained variance reaches ``target`` (0: never), or
    once the loss has gone ``patience`` epochs (0: never) without falling below its best
    so far by more than ``tolerance`` of it. (Lightning's EarlyStopping takes an absolute
    ``min_delta``, and the loss's scale depends on the return's settings.)"""

    def __init__(self, target: float, patience: int, tolerance: float) -> None:
        self.target = target
        self.patience = patience
        self.tolerance = tolerance
        self.best = math.inf
        self.waited = 0
        self.reason = ""

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        found = trainer.callback_metrics
        loss = float(found["critic/loss"])
        if self.target and float(found["critic/explained_variance"]) >= self.target:
            self.reason = "target"
        elif self.patience:
            if loss < self.best * (1 - self.tolerance):
                self.best, self.waited = loss, 0
            else:
                self.waited += 1
            if self.waited >= self.patience:
                self.reason = "plateau"
        trainer.should_stop = trainer.should_stop or bool(self.reason)


# why a fit ended before its epochs: the explained variance target, the loss's plateau,
# the cap on optimizer steps
STOP_REASONS = ("target", "plateau", "max_steps")


@dataclass(frozen=True)
class CriticFit:
    """What one fit did: its last epoch's ``critic/`` metrics, the epochs it ran (one
    cut short by the step cap counts), its optimizer steps, why it ended before its
    epochs (one of STOP_REASONS, or "" when it did not) and its seconds."""

    metrics: dict[str, float]
    epochs: int
    steps: int
    stopped: str
    seconds: float

    def summary(self) -> dict[str, float]:
        """The metrics with the fit's own: ``critic/epochs``, ``critic/optimizer_steps``,
        ``critic/train_seconds`` and a 0/1 ``critic/stopped_<reason>`` per reason."""
        own = {
            "critic/epochs": float(self.epochs),
            "critic/optimizer_steps": float(self.steps),
            "critic/train_seconds": self.seconds,
        }
        stops = {f"critic/stopped_{r}": float(self.stopped == r) for r in STOP_REASONS}
        return self.metrics | own | stops


def fit_critic(
    module: CriticModule,
    data: CriticData,
    epochs: int | None = None,
    report: Callable[[int, dict[str, float]], None] | None = None,
    logger: object = False,
    root_dir: Path | None = None,
    seed: int | None = None,
) -> CriticFit:
    """Train ``module`` on ``data`` with Lightning (padded batches of similar lengths in a
    shuffled order; gradient clipping, precision and device from the settings; a GPU
    when there is one) for ``epochs`` (default: the settings' ``epochs``), or fewer: the
    settings' early stopping and step cap apply.
    ``seed`` (default: the settings' seed) seeds the batch order."""
    start = time.perf_counter()
    t = module.train_settings
    dataset = _Trajectories(data)
    if not len(dataset):
        raise ValueError("no trajectory has any steps to train the critic on")
    generator = torch.Generator().manual_seed(t.seed if seed is None else seed)
    lengths = [len(steps) for steps, _ in dataset.items]
    batches = _LengthBatches(lengths, t.batch_size, generator)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=pad_batch)
    stop = _EarlyStop(t.target_explained_variance, t.patience, t.tolerance)
    callbacks = [stop, _EpochReport(t.print_every, report)] if report else [stop]
    max_epochs = t.epochs if epochs is None else epochs
    trainer_args = dict(
        max_epochs=max_epochs,
        max_steps=t.max_steps or -1,
        accelerator="auto",
        devices=1,
        precision=resolve_precision(t.precision),
        gradient_clip_val=t.grad_clip if t.grad_clip > 0 else None,
        logger=logger,
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root_dir,
    )
    with quiet_lightning():
        trainer = pl.Trainer(**trainer_args)
        trainer.fit(module, loader)
    stopped = ""
    if stop.reason and trainer.current_epoch < max_epochs:
        stopped = stop.reason
    elif t.max_steps and trainer.global_step < max_epochs * len(batches):
        stopped = "max_steps"
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("critic/")}
    return CriticFit(
        metrics, trainer.current_epoch, trainer.global_step, stopped, time.perf_counter() - start
    )


def advantages(
    values: Sequence[np.ndarray], data: CriticData, normalize: bool, logger: object = None
) -> tuple[list[np.ndarray], dict[str, float]]:
    """A_t = G_t - V_t per trajectory, from ``values`` (a baseline per step: the
    critic's ``values(data)``, say), standardized over all steps when ``normalize``; and
    the distribution's summary (count, mean, std, min, p10, p50, p90, max), which goes
    to ``logger`` (a Lightning logger) too when one is given."""
    result = [g - v for g, v in zip(data.targets, values, strict=True)]
    flat = np.concatenate(result) if result else np.zeros(0, np.float32)
    if normalize and len(flat):
        mean, std = float(flat.mean()), float(flat.std())
        result = [(a - mean) / (std if std > 0 else 1.0) for a in result]
        flat = np.concatenate(result)
    summary = {"count": float(len(flat))}
    if len(flat):
        p10, p50, p90 = np.percentile(flat, [10, 50, 90])
        summary |= {
            "mean": float(flat.mean()),
            "std": float(flat.std()),
            "min": float(flat.min()),
            "p10": float(p10),
            "p50": float(p50),
            "p90": float(p90),
            "max": float(flat.max()),
        }
    if logger:
        logger.log_metrics({f"critic/advantage_{k}": v for k, v in summary.items()})
    return [a.astype(np.float32) for a in result], summary


def summary_line(summary: Mapping[str, float]) -> str:
    keys = [k for k in ("mean", "std", "min", "p10", "p50", "p90", "max") if k in summary]
    return f"{int(summary['count'])} advantages: " + ", ".join(
        f"{k} {summary[k]:.4g}" for k in keys
    )
