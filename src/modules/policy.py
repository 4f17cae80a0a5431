"""The actor as the trajectory runner's ``Policy``: a frozen numpy snapshot of ExprNnue
(picklable, so worker processes get their own copy each round)."""

from __future__ import annotations

import numpy as np

from src.expr import Expr

from .nnue import ExprNnue


class ActorPolicy:
    """Features, every rule's probability, and rule embeddings from one actor snapshot."""

    def __init__(self, net: ExprNnue) -> None:
        self.net = ExprNnue(
            net.shape,
            net.feature_settings,
            {name: array.copy() for name, array in net.params.items()},
            {name: array.copy() for name, array in net.fixed.items()},
        )
        self.net.rule_embeddings = net.rule_embeddings.copy()

    def features(self, expr: Expr) -> np.ndarray:
        return self.net.accumulator(expr).features()

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return self.net.score_all_rules(features)

    def rule_embedding(self, index: int) -> np.ndarray:
        return self.net.rule_embeddings[index]
