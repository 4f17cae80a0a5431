"""ActorModule: ExprNnue trained by its explicit kernels under Lightning's manual
optimization.

The trained arrays are torch Parameters; the kernels read them, and write the gradients
into ``.grad``, through numpy views of the same memory. Each ``training_step`` runs the
joint loss's forward and backward (``kernels.loss_and_gradients``), clips by global
norm, steps the torch optimizer (SGD or Adam, ``actor.optimizer``), then re-encodes the
rule embeddings with the updated backbone. Lightning checkpoints hold the parameters,
the fixed arrays (buffers) and the optimizer; the actor weight file (``weights.py``)
holds the net alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from src.config import settings_from_config
from src.expr import Expr

from .kernels import PARAM_GROUPS, Clip, LossSettings, StepBatch, loss_and_gradients
from .nnue import ExprNnue, fixed_shapes
from .policy import ActorPolicy, fresh_net
from .weights import check_rule_table, load_actor_weights, save_actor_weights

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class OptimSettings:
    """The optimizer settings at the top of ``actor`` in conf."""

    optimizer: str  # sgd or adam
    lr: float
    momentum: float  # SGD's momentum, Adam's beta1
    adam_beta2: float
    weight_decay: float
    grad_clip: float
    update_batch_size: int

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"config actor.optimizer must be one of {', '.join(OPTIMIZERS)}, "
                f"not {self.optimizer!r}"
            )


@dataclass(frozen=True)
class UpdateSettings:
    """``actor.update`` in conf: passes over a round's rows and PPO's clip."""

    epochs: int
    clip: float
    target_kl: float
    normalize_advantages: bool

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.clip < 0 or self.target_kl < 0:
            raise ValueError(
                "config actor.update: epochs must be at least 1, clip and target_kl at least 0"
            )


def step_batch(batch: Mapping[str, torch.Tensor], dtype: np.dtype) -> StepBatch:
    """A collated batch (a dict of tensors named as StepBatch's fields) as numpy arrays."""
    names = [field.name for field in fields(StepBatch)]
    missing = [name for name in names if name not in batch]
    if missing:
        raise ValueError(f"actor batch lacks {missing}; it needs {names}")
    arrays = {name: batch[name].detach().cpu().numpy() for name in names}
    for name in names:
        kind = np.int64 if name == "rule_index" else dtype
        arrays[name] = np.ascontiguousarray(arrays[name], dtype=kind)
    rows = len(arrays["rule_index"])
    if any(len(array) != rows for array in arrays.values()):
        raise ValueError(f"actor batch fields have different lengths: {names}")
    return StepBatch(**arrays)


RULE_NAMES_KEY = "pixelflow_rule_names"  # a Lightning checkpoint's record of the rule table
# ... and of the actor's input encoding and widths (``actor.features``, ``actor.net``), so
# that a checkpoint is read back with the actor it holds whatever the reader's config says
ACTOR_SETTINGS_KEY = "pixelflow_actor_settings"


def check_checkpoint_rules(checkpoint: Mapping, rules: Sequence[str], where: str) -> None:
    """ValueError when a checkpoint's recorded rule table is not ``rules`` (one saved
    before the table was recorded has none, and passes)."""
    if RULE_NAMES_KEY in checkpoint:
        check_rule_table(checkpoint[RULE_NAMES_KEY], rules, where)


class ActorModule(pl.LightningModule):
    """The actor as a LightningModule (``automatic_optimization = False``)."""

    def __init__(
        self,
        config: Mapping,
        templates: Sequence[tuple[Expr, Expr]] = (),
        rule_names: Sequence[str] = (),
        latency_ns: Mapping[str, float] | None = None,
    ) -> None:
        """``config``: the ``actor`` config node; ``templates``: each rule's (LHS, RHS)
        in rule-table order; ``latency_ns``: op costs for the latency prior (or None)."""
        super().__init__()
        self.automatic_optimization = False
        if rule_names and len(rule_names) != len(templates):
            raise ValueError(f"{len(rule_names)} rule names for {len(templates)} rule templates")
        net = fresh_net(config, latency_ns)
        self.features, self.shape = net.feature_settings, net.shape
        self.loss_settings = settings_from_config(LossSettings, config, "actor")
        self.optim_settings = settings_from_config(OptimSettings, config, "actor")
        self.update_settings = settings_from_config(
            UpdateSettings, config["update"], "actor.update"
        )
        self._stopped_round = -1  # the round whose update the KL target stopped
        self.weights = torch.nn.ParameterDict(
            {name: torch.nn.Parameter(torch.from_numpy(a)) for name, a in net.params.items()}
        )
        for name, array in net.fixed.items():
            self.register_buffer(name, torch.from_numpy(array))
        self.templates = tuple(templates)
        self.rule_names = tuple(rule_names)
        self.template_features = net.features([side for pair in self.templates for side in pair])
        self.net = self._bound_net()

    def _bound_net(self) -> ExprNnue:
        """An ExprNnue on numpy views of this module's tensors, with fresh rule embeddings."""
        net = ExprNnue(
            self.shape,
            self.features,
            {name: p.detach().numpy() for name, p in self.weights.items()},
            {name: getattr(self, name).numpy() for name in fixed_shapes(self.shape, self.features)},
        )
        net.encode_rule_features(self.template_features)
        return net

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """torch SGD (the seed's) or Adam, as ``actor.optimizer`` says."""
        o = self.optim_settings
        if o.optimizer == "adam":
            return torch.optim.Adam(
                self.weights.parameters(),
                lr=o.lr,
                betas=(o.momentum, o.adam_beta2),
                weight_decay=o.weight_decay,
            )
        return torch.optim.SGD(
            self.weights.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay
        )

    def training_step(
        self, batch: Mapping[str, torch.Tensor], batch_idx: int
    ) -> torch.Tensor | None:
        """One update on ``batch``; a batch without steps (a round in which no rule was
        approved) changes nothing."""
        optimizer = self.optimizers()
        start = time.perf_counter()
        self.net = self._bound_net()
        steps = step_batch(batch, self.net.dtype)
        u = self.update_settings
        if not len(steps) or self._stopped_round == self.current_epoch:
            return None
        if u.epochs > 1:  # a later pass: the rules as the last update re-encoded them
            steps = dataclasses.replace(
                steps, rule_embedding=self.net.rule_embeddings[steps.rule_index]
            )
        clip = None
        if u.clip > 0:
            old = batch["old_probability"].detach().cpu().numpy().astype(self.net.dtype)
            clip = Clip(old, u.clip)
        parts, grads = loss_and_gradients(self.net.params, steps, self.loss_settings, clip)
        if u.target_kl and parts.get("kl", 0.0) > u.target_kl:
            # the last steps moved the policy this far from the one that drew the round's
            # actions: the round's update stops here
            self._stopped_round = self.current_epoch
            self.log_dict({"actor/kl": parts["kl"], "actor/update_stopped": 1.0}, on_step=True)
            return None
        for name, parameter in self.weights.items():
            parameter.grad = torch.from_numpy(grads[name])
        figures = {k: parts.pop(k) for k in ("kl", "clip_fraction") if k in parts}
        metrics = {f"actor/loss_{part}": value for part, value in parts.items()}
        metrics |= {f"actor/{k}": v for k, v in figures.items()}
        metrics["actor/approvals"] = float(np.mean(steps.approved))
        for group, names in PARAM_GROUPS.items():
            squares = sum(float(np.square(grads[name], dtype=np.float64).sum()) for name in names)
            metrics[f"actor/grad_norm/{group}"] = squares**0.5
        if self.optim_settings.grad_clip > 0:
            total = torch.nn.utils.clip_grad_norm_(
                self.weights.parameters(), self.optim_settings.grad_clip
            )
            metrics["actor/grad_norm/total"] = float(total)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        self.net = self._bound_net()
        metrics["time/update"] = time.perf_counter() - start
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=len(steps))
        return torch.tensor(parts["total"])

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """As torch's, then the net is re-bound and the rules re-encoded (resuming from a
        Lightning checkpoint goes through here)."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.net = self._bound_net()
        return result

    def policy(self) -> ActorPolicy:
        """A snapshot of the current actor for the trajectory runner."""
        return ActorPolicy(self.net)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """A Lightning checkpoint keeps the rule table the actor was trained for, and its
        feature settings and widths."""
        checkpoint[RULE_NAMES_KEY] = list(self.rule_names)
        widths = {k: v for k, v in asdict(self.shape).items() if k != "input_dim"}
        checkpoint[ACTOR_SETTINGS_KEY] = {"features": asdict(self.features), "net": widths}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Refuses a checkpoint trained for another rule table (one saved before the
        table was recorded is taken as it is)."""
        check_checkpoint_rules(checkpoint, self.rule_names, "the checkpoint")

    def save_weights(self, path: Path) -> None:
        """Write the actor weight file (``weights.py``)."""
        save_actor_weights(Path(path), self.net, self.rule_names)

    def load_weights(self, path: Path) -> None:
        """Load an actor weight file into this module; its widths, feature settings and
        rule names must be this module's."""
        net, _ = load_actor_weights(Path(path), rules=self.rule_names)
        if net.shape != self.net.shape or net.feature_settings != self.features:
            raise ValueError(f"{path}: the actor in it has other widths or feature settings")
        with torch.no_grad():
            for name, parameter in self.weights.items():
                parameter.copy_(torch.from_numpy(net.params[name]))
            for name, array in net.fixed.items():
                getattr(self, name).copy_(torch.from_numpy(array))
        self.net = self._bound_net()
