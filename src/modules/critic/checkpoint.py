"""The standalone critic's checkpoint (``--checkpoint C.pt``): the network's weights
with the widths it was built with, so that a warm start into a different network is a
clear error instead of a shape mismatch deep in torch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from src.atomic import atomic_open

from .module import CriticModule

FORMAT = "pixelflow-critic"
VERSION = 1
_WIDTHS = ("d_model", "nhead", "num_layers", "ff_mult")  # what the weights' shapes depend on


class CriticCheckpointError(ValueError):
    """A critic checkpoint that cannot be loaded into this critic."""


def save_critic(path: Path, module: CriticModule) -> None:
    """Write the critic's network to ``path`` atomically."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "input_dim": module.model.input_dim,
        "model": asdict(module.model_settings),
        "state_dict": module.model.state_dict(),
    }
    with atomic_open(Path(path), "wb") as file:
        torch.save(payload, file)


def load_critic(path: Path, module: CriticModule) -> None:
    """Load the network in ``path`` into ``module``; it must have the same widths."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise CriticCheckpointError(f"{path}: cannot read: {error.strerror}") from None
    except Exception as error:  # torch raises many kinds for a file it cannot unpickle
        raise CriticCheckpointError(
            f"{path}: not a critic checkpoint ({type(error).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CriticCheckpointError(f"{path}: not a pixelflow critic checkpoint")
    if payload.get("version") != VERSION:
        raise CriticCheckpointError(
            f"{path}: critic checkpoint version {payload.get('version')}; this pixelflow "
            f"reads version {VERSION}"
        )
    model = payload.get("model") if isinstance(payload.get("model"), dict) else {}
    ours = {"input_dim": module.model.input_dim}
    theirs = {"input_dim": payload.get("input_dim")}
    for key in _WIDTHS:
        ours[key], theirs[key] = getattr(module.model_settings, key), model.get(key)
    differ = [f"{key} {theirs[key]} (here {ours[key]})" for key in ours if theirs[key] != ours[key]]
    if differ:
        raise CriticCheckpointError(
            f"{path}: the checkpoint's critic has {', '.join(differ)}; pass the same widths"
        )
    try:
        module.model.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError) as error:
        raise CriticCheckpointError(f"{path}: its weights do not fit: {error}") from None
