"""``python train.py +experiment=unified``: the unified self-play training loop.

Hydra composes ``conf/``; ``src.unified.loop.train`` runs the rounds (see
docs/training.md). Multirun sweeps work as usual:
``python train.py -m +experiment=smoke actor.lr=1e-3,3e-3``.

The loop (torch, Lightning) is imported inside ``main``: self-play workers are spawned
processes, and a spawned process re-imports this file, so an import at the top would cost
every worker seconds of start-up for libraries it never uses.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    from src.unified.loop import train

    try:
        status = train(cfg)
    except (ValueError, OSError) as error:  # bad settings, a missing or foreign checkpoint
        print(f"error: {error}", file=sys.stderr)
        status = 1
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
