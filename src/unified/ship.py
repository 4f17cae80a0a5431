"""``python -m src.unified.ship RUN_DIR``: copy a training run's actor into
``models/guide/`` (the guide ``optimize.py`` and ``evaluate.py`` use by default), with
the run's resolved config and a summary of what it reached (``metrics.json``: rounds
trained, the median speedup of each round's trajectories, and its validation curve)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from src.atomic import write_bytes_atomic, write_text_atomic
from src.config import PROJECT_ROOT
from src.modules.weights import ActorWeightsError, load_actor_weights

from .report import learning_curve, validation_curve

GUIDE_DIR = PROJECT_ROOT / "models" / "guide"


def ship(run_dir: Path, target: Path = GUIDE_DIR) -> dict:
    weights = run_dir / "actor.pxw"
    load_actor_weights(weights)  # refuse a corrupt or foreign file before copying it
    curve = learning_curve(run_dir)
    summary = {
        "run_dir": str(run_dir),
        "rounds_trained": len(curve),
        "median_speedup_per_round": [{"round": r, "median_speedup": s} for r, s in curve],
        "validation_geomean_speedup": [
            {"round": r, "geomean_speedup": g} for r, g in validation_curve(run_dir)
        ],
    }
    target.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(target / "actor.pxw", weights.read_bytes())
    write_text_atomic(target / "config.yaml", (run_dir / ".hydra" / "config.yaml").read_text())
    write_text_atomic(target / "metrics.json", json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m src.unified.ship RUN_DIR", file=sys.stderr)
        return 2
    try:
        summary = ship(Path(args[0]))
    except (ActorWeightsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"shipped {summary['rounds_trained']} rounds of {args[0]} to {GUIDE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
