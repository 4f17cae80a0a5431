"""The size ladder: buckets of expressions by DAG nodes, the same for training (a
curriculum) and evaluation (results per bucket). Bounds are in ``conf/data`` (``ladder``):
each bucket holds the sizes above the previous bucket's bound, up to its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from src.config import conf_group


@dataclass(frozen=True)
class SizeLadder:
    bounds: tuple[tuple[str, int], ...]  # (bucket, most DAG nodes), increasing

    def __post_init__(self) -> None:
        sizes = [bound for _, bound in self.bounds]
        if not sizes or sizes != sorted(set(sizes)) or sizes[0] < 1:
            raise ValueError(f"data.ladder: bounds must increase from 1 or more, not {sizes}")

    @classmethod
    def from_config(cls, config: Mapping) -> SizeLadder:
        return cls(tuple((str(name), int(bound)) for name, bound in dict(config).items()))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.bounds]

    def span(self, bucket: str) -> tuple[int, int]:
        """(fewest, most) DAG nodes of ``bucket``."""
        low = 1
        for name, bound in self.bounds:
            if name == bucket:
                return low, bound
            low = bound + 1
        raise KeyError(f"no size bucket {bucket!r}; the ladder has {', '.join(self.names)}")

    def draw(self, bucket: str, rng: np.random.Generator, fewest: int = 1) -> int:
        """A size drawn uniformly from ``bucket``'s span, at least ``fewest``."""
        low, high = self.span(bucket)
        return int(rng.integers(max(low, fewest), high + 1))

    def bucket(self, dag_nodes: int) -> str:
        """The bucket of an expression of ``dag_nodes`` DAG nodes; past the last bound,
        the last bucket's name with a ``+``."""
        for name, bound in self.bounds:
            if dag_nodes <= bound:
                return name
        return self.bounds[-1][0] + "+"


def default_ladder() -> SizeLadder:
    return SizeLadder.from_config(conf_group("data").ladder)
