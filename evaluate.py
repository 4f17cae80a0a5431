"""``python evaluate.py [ckpt=...] [run_dir=...]``: the trained guide against the
baselines on held-out BwdGenerator pairs and the FPCore corpus; writes a table, a JSON
file and a plot. See ``src/unified/evaluation.py``."""

import sys

import hydra
from omegaconf import DictConfig

from src.unified.evaluation import evaluate


@hydra.main(config_path="conf", config_name="evaluate", version_base=None)
def main(cfg: DictConfig) -> None:
    status = evaluate(cfg)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
