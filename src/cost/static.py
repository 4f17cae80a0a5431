"""The static cost model: an expression costs the sum of its DAG's distinct nodes' costs
(after constant folding, as the JIT compiles it).

Per-op costs (nanoseconds per element, from ``python -m src.cost.calibrate``) live in
``conf/cost/static/calibrated.yaml``. A subexpression shared by several parents is paid
for once, as the compiled kernel computes it once. This is what e-graph extraction
minimizes, and the cheap stand-in for a measurement in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from omegaconf import DictConfig

from src.config import conf_group
from src.expr import CONST, OPS, VAR, Expr, postorder
from src.expr.fold import fold_constants

# Every kind of node the model prices: the ops, and the two kinds of leaves.
PRICED = (*OPS, VAR, CONST)


class StaticCostError(ValueError):
    """The per-op cost table is missing, incomplete or invalid."""


@dataclass(frozen=True)
class StaticCostModel:
    costs: Mapping[str, float]

    def __post_init__(self) -> None:
        missing = [name for name in PRICED if name not in self.costs]
        if missing:
            raise StaticCostError(
                f"static cost table has no cost for {', '.join(missing)}; "
                "run `python -m src.cost.calibrate`"
            )
        bad = [name for name in PRICED if not self.costs[name] >= 0]
        if bad:
            raise StaticCostError(f"static costs must be >= 0: {', '.join(bad)}")

    @classmethod
    def from_config(cls, config: DictConfig | None) -> StaticCostModel:
        """From the ``cost.static`` config (None when no calibrated file exists)."""
        if config is None or "ops" not in config:
            raise StaticCostError(
                "no static cost table (conf/cost/static/calibrated.yaml); "
                "run `python -m src.cost.calibrate`"
            )
        return cls({str(k): float(v) for k, v in config.ops.items()})

    def cost(self, expr: Expr) -> float:
        """The sum of the costs of ``expr``'s distinct nodes once its subexpressions of
        constants alone are folded, as the JIT folds them (``kernel_ir``)."""
        return sum(self.costs[node.op] for node in postorder(fold_constants(expr)))


@cache
def default_static_model() -> StaticCostModel:
    return StaticCostModel.from_config(conf_group("cost").get("static"))


def static_cost(expr: Expr) -> float:
    """The static cost of ``expr`` under the calibrated table in ``conf/cost``."""
    return default_static_model().cost(expr)
