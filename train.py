"""``python train.py +experiment=unified``: the unified self-play training loop.

Not built yet: the loop arrives with its issue ("The unified self-play loop"). Until then
this composes the Hydra config, says so plainly, and exits with status 1 without
pretending to train.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    experiment = cfg.get("experiment", "(none)")
    print(
        f"pixelflow: experiment '{experiment}' composed, but the unified training loop "
        "is not built yet, so nothing was trained.",
        file=sys.stderr,
    )
    sys.exit(1)


if __name__ == "__main__":
    main()
