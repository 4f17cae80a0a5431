"""``python -m src.modules.critic --input T.jsonl --output A.jsonl``: the seed's
standalone critic (Task 3) on this project.

Reads trajectories, trains the critic (warm-started from ``--checkpoint`` when that file
exists, and saved there afterwards), and writes one advantages line per trajectory with
one advantage per step. Defaults come from ``conf/critic/default.yaml``; step widths
from ``conf/actor/default.yaml``. Bad input is one ``error:`` line naming the file and
line, exit status 1, and neither the output nor the checkpoint is touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import OmegaConf

from src.config import conf_group, settings_from_config
from src.data.returns import TARGETS, ReturnSettings
from src.data.schema import (
    REWARDS,
    SchemaError,
    StepShape,
    TrajectoryAdvantages,
    read_trajectories,
    write_advantages,
)

from .checkpoint import CriticCheckpointError, load_critic, save_critic
from .module import CriticData, CriticModule, advantages, fit_critic, summary_line

# flag -> (config path, type)
_OVERRIDES = {
    "epochs": ("train.epochs", int),
    "max_steps": ("train.max_steps", int),
    "target_explained_variance": ("train.target_explained_variance", float),
    "patience": ("train.patience", int),
    "batch_size": ("train.batch_size", int),
    "lr": ("train.lr", float),
    "weight_decay": ("train.weight_decay", float),
    "precision": ("train.precision", str),
    "seed": ("train.seed", int),
    "d_model": ("model.d_model", int),
    "nhead": ("model.nhead", int),
    "num_layers": ("model.num_layers", int),
    "dropout": ("model.dropout", float),
    "reward": ("reward", str),
    "target": ("target", str),
    "budget_weight": ("budget_weight", float),
    "time_weight": ("time_weight", float),
    "discount": ("discount", float),
}

_CHOICES = {"reward": REWARDS, "target": TARGETS}


def _arguments(argv: list[str] | None, config) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m src.modules.critic",
        description="Train the causal-transformer critic on trajectories; write advantages.",
    )
    parser.add_argument("--input", required=True, type=Path, help="trajectory JSONL")
    parser.add_argument("--output", required=True, type=Path, help="advantages JSONL to write")
    parser.add_argument(
        "--checkpoint", type=Path, help="critic weights: warm start if present, saved after"
    )
    for flag, (key, kind) in _OVERRIDES.items():
        default = OmegaConf.select(config, key)
        extra = {"choices": _CHOICES[flag]} if flag in _CHOICES else {}
        parser.add_argument(
            "--" + flag.replace("_", "-"), type=kind, default=default,
            help=f"default {default} (critic.{key})", **extra,
        )  # fmt: skip
    parser.add_argument(
        "--normalize-advantages",
        action=argparse.BooleanOptionalAction,
        default=config.normalize_advantages,
        help="standardize the advantages (mean 0, std 1)",
    )
    return parser.parse_args(argv)


def _step_shape() -> StepShape:
    actor = conf_group("actor")
    return StepShape(4 * actor.features.op_dim + 2, actor.net.embed)


def _report(epoch: int, metrics: dict[str, float]) -> None:
    parts = [f"critic: epoch {epoch}"]
    if "critic/loss" in metrics:
        parts.append(f"loss {metrics['critic/loss']:.6g}")
    if "critic/explained_variance" in metrics:
        parts.append(f"explained variance {metrics['critic/explained_variance']:.3f}")
    print(", ".join(parts), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    defaults = conf_group("critic")
    args = _arguments(argv, defaults)
    config = OmegaConf.create(OmegaConf.to_container(defaults))
    for flag, (key, _) in _OVERRIDES.items():
        OmegaConf.update(config, key, getattr(args, flag))
    config.normalize_advantages = args.normalize_advantages
    shape = _step_shape()
    try:
        if not args.output.parent.is_dir():
            raise SchemaError(f"{args.output}: its folder does not exist")
        trajectories = list(read_trajectories(args.input, shape, config.reward))
        if not trajectories:
            raise SchemaError(f"{args.input}: holds no trajectories")
        data = CriticData.from_trajectories(
            trajectories, settings_from_config(ReturnSettings, config, "critic")
        )
        module = CriticModule(config, shape.accumulator + shape.rule_embedding)
        if args.checkpoint is not None and args.checkpoint.exists():
            load_critic(args.checkpoint, module)
            print(f"critic: warm start from {args.checkpoint}", file=sys.stderr)
        steps = sum(len(s) for s in data.steps)
        print(
            f"critic: {len(data)} trajectories, {steps} steps, "
            f"{module.train_settings.epochs} epochs",
            file=sys.stderr,
        )
        if steps:
            fit = fit_critic(module, data, report=_report)
            if fit.stopped:
                print(f"critic: stopped after {fit.epochs} epochs ({fit.stopped})", file=sys.stderr)
        result, summary = advantages(module.values(data), data, bool(config.normalize_advantages))
    except (SchemaError, CriticCheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    records = (TrajectoryAdvantages(i, a) for i, a in enumerate(result))
    count = write_advantages(args.output, records)
    if args.checkpoint is not None:
        save_critic(args.checkpoint, module)
    print(f"critic: {summary_line(summary)}", file=sys.stderr)
    print(f"critic: wrote {count} advantage records to {args.output}", file=sys.stderr)
    return 0
