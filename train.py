"""``python train.py +experiment=unified``: the unified self-play training loop.

Hydra composes ``conf/``; ``src.unified.loop.train`` runs the rounds (see
docs/training.md). Multirun sweeps work as usual:
``python train.py -m +experiment=smoke actor.lr=1e-3,3e-3``, and an Optuna search over
the learning knobs maximizes the value ``main`` returns:
``python train.py -m hparams_search=unified_optuna +experiment=unified``.

The loop (torch, Lightning) is imported inside ``main``: self-play workers are spawned
processes, and a spawned process re-imports this file, so an import at the top would cost
every worker seconds of start-up for libraries it never uses.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> float | None:
    """The run's best validation geomean speedup: what an Optuna sweep maximizes."""
    from src.unified.loop import train

    try:
        return train(cfg)
    except (ValueError, OSError) as error:  # bad settings, a missing or foreign checkpoint
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
