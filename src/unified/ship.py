"""``python -m src.unified.ship RUN_DIR``: copy a training run's actor into
``models/guide/`` (the guide ``optimize.py`` and ``evaluate.py`` use by default), with
the run's resolved config and a summary of what it reached (``metrics.json``: rounds
trained, the median speedup of each round's trajectories, its validation curve, and
which actor was shipped).

The actor shipped is the run's best by validation (``checkpoints/best.ckpt``, the
search ``optimize.py`` runs, on held-out cases) when the run validated, else its final
one (``actor.pxw``)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

from src.atomic import write_bytes_atomic, write_text_atomic
from src.config import PROJECT_ROOT
from src.modules.weights import ActorWeightsError, load_actor_weights

from .report import learning_curve, validation_curve
from .search import checkpoint_actor

GUIDE_DIR = PROJECT_ROOT / "models" / "guide"
SHIPPED_GUIDE = GUIDE_DIR / "actor.pxw"  # the guide optimize.py and evaluate.py use by default


def _run_config(run_dir: Path) -> str:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.exists():
        raise ValueError(
            f"{path}: not found; ship reads the run's Hydra output directory (a run trained "
            "with hydra.run.dir=DIR has it; paths.run_dir=DIR alone writes it elsewhere)"
        )
    return path.read_text()


def run_actor(run_dir: Path) -> Path:
    """The actor a run ships: its best by validation (``best.ckpt`` in the run's
    checkpoint folder) when it validated, else its final one (``actor.pxw``)."""
    if validation_curve(run_dir):
        config = OmegaConf.create(_run_config(run_dir))
        return run_dir / config.paths.checkpoints / "best.ckpt"
    return run_dir / "actor.pxw"


def _checkpoint_weights(checkpoint: Path, config_text: str) -> tuple[bytes, int]:
    """The actor weight file of a run's Lightning checkpoint, and its round."""
    import torch

    actor = checkpoint_actor(OmegaConf.create(config_text), checkpoint)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "actor.pxw"
        actor.save_weights(path)
        return path.read_bytes(), int(state["epoch"])


def ship(run_dir: Path, target: Path = GUIDE_DIR) -> dict:
    config_text = _run_config(run_dir)
    validations = validation_curve(run_dir)
    best = run_actor(run_dir)
    if best.suffix == ".ckpt":
        weights, round_index = _checkpoint_weights(best, config_text)
        shipped = {"checkpoint": os.path.relpath(best, run_dir), "round": round_index}
        shipped["validation_geomean_speedup"] = dict(validations).get(round_index)
    else:
        weights = best.read_bytes()
        load_actor_weights(best)  # refuse a corrupt or foreign file
        shipped = {"checkpoint": best.name, "round": None}
    curve = learning_curve(run_dir)
    summary = {
        "run_dir": str(run_dir),
        "rounds_trained": len(curve),
        "shipped": shipped,
        "median_speedup_per_round": [{"round": r, "median_speedup": s} for r, s in curve],
        "validation_geomean_speedup": [{"round": r, "geomean_speedup": g} for r, g in validations],
    }
    target.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(target / SHIPPED_GUIDE.name, weights)
    write_text_atomic(target / "config.yaml", config_text)
    write_text_atomic(target / "metrics.json", json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m src.unified.ship RUN_DIR", file=sys.stderr)
        return 2
    try:
        summary = ship(Path(args[0]))
    except (ActorWeightsError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    which = summary["shipped"]
    print(
        f"shipped the actor of {which['checkpoint']} (round {which['round']}) of "
        f"{summary['rounds_trained']} rounds of {args[0]} to {GUIDE_DIR}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
