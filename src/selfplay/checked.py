"""A search's e-graph whose extracted expression never leaves the seed's semantics.

The rules are sound over the reals, not always in float32: on an ill-conditioned kernel
a rewrite can make two expressions equal that differ in float32 (a cancellation moved,
an identity that overflows), and extraction may then pick the wrong one. With
``check_states`` each new extracted expression is checked against the seed
(``SeedCheck``: its values of shared subexpressions are kept, so a check costs about the
new nodes). When one fails, the search goes back to the last expression that passed. An
e-graph cannot undo a merge, so going back means a fresh e-graph of that expression; the
rules applied in the epoch that led to the failing state are banned for the rest of the
search, and the abandoned e-graph's e-nodes still count against the node budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from src.cost.static import StaticCostModel
from src.expr import Expr, VarRange

from .check import SeedCheck
from .egraph import EGraphEnv
from .rules import Rule
from .settings import RunnerSettings


class CheckedEGraph:
    """``EGraphEnv``'s ``apply_rules``, ``extract`` and ``node_count`` for one search,
    with the check and the going back of the module docstring (``settings.check_states``;
    without it, a plain e-graph)."""

    def __init__(
        self,
        seed: Expr,
        ranges: Mapping[str, VarRange],
        rules: Sequence[Rule],
        model: StaticCostModel,
        settings: RunnerSettings,
    ) -> None:
        self.check = SeedCheck(seed, ranges, settings)
        self.banned = np.zeros(len(rules), dtype=bool)  # never approved again this search
        self.rollbacks = 0
        self.passed = seed  # the last extracted expression that passed the check
        self._rules, self._model, self._settings = rules, model, settings
        self._spent = 0  # e-nodes of the e-graphs given up
        self._last: list[int] = []  # the rules applied since the last extraction
        self._env = EGraphEnv(
            seed, rules, model, settings.node_budget, fold=settings.fold_constants
        )

    def node_count(self) -> int:
        """E-nodes of this e-graph and of every one given up before it."""
        return self._spent + self._env.node_count()

    def apply_rules(self, indices: Sequence[int]) -> list[int]:
        self._last += indices
        return self._env.apply_rules(indices)

    def extract(self) -> tuple[Expr, float]:
        """The cheapest expression and its static cost; the last one that passed the
        check (in a fresh e-graph) when the cheapest fails it."""
        best, cost = self._env.extract()
        epoch, self._last = self._last, []
        if not self._settings.check_states or best == self.passed:
            return best, cost
        if not self.check.check(best)[0]:
            self.passed = best
            return best, cost
        self.rollbacks += 1
        self.banned[epoch] = True
        self._spent += self._env.node_count()
        self._env = EGraphEnv(
            self.passed,
            self._rules,
            self._model,
            self._settings.node_budget - self._spent,
            fold=self._settings.fold_constants,
        )
        return self.passed, self._model.cost(self.passed)
