"""``python optimize.py expr='(+ (* a b) (* a c))'`` (or ``input=FILE.fpcore``): optimize
expressions with the trained guide; ``output=json`` for machine-readable results,
``ckpt=...`` for another actor. See ``src/unified/optimize.py``."""

import sys

import hydra
from omegaconf import DictConfig

from src.config import adopt_config
from src.unified.optimize import optimize, quote_free_text


@hydra.main(config_path="conf", config_name="optimize", version_base=None)
def main(cfg: DictConfig) -> None:
    adopt_config(cfg)  # library defaults come from this tree (overrides included)
    status = optimize(cfg)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    sys.argv = quote_free_text(sys.argv)
    main()
