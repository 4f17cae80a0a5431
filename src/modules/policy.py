"""The actor as the trajectory runner's ``Policy``: a frozen numpy snapshot of ExprNnue
(picklable, so worker processes get their own copy each round); and a fresh ExprNnue
from the actor's config. Numpy only: inference (``optimize.py``) never imports torch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from src.config import settings_from_config
from src.expr import Expr

from .features import FeatureSettings
from .nnue import ExprNnue, InitSettings, net_shape


def latency_prior(config: Mapping) -> Mapping[str, float] | None:
    """The op costs for the embeddings' latency prior: the static cost table
    (``cost.static.ops``) of the composed root config, if one is loaded and
    ``actor.features.latency_prior`` is on."""
    static = config.get("cost", {}).get("static")
    if not config["actor"]["features"]["latency_prior"] or not static:
        return None
    return {str(op): float(cost) for op, cost in static["ops"].items()}


def fresh_net(config: Mapping, latency_ns: Mapping[str, float] | None = None) -> ExprNnue:
    """A newly initialized ExprNnue from the ``actor`` config node (``latency_ns``: op
    costs for the latency prior, or None)."""
    features = settings_from_config(FeatureSettings, config["features"], "actor.features")
    shape = net_shape(config["net"], features)
    init = settings_from_config(InitSettings, config["init"], "actor.init")
    return ExprNnue.create(shape, features, init, latency_ns)


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

    def state(self, features: np.ndarray, budget: int, grown: int) -> np.ndarray:
        return self.net.encoder.inputs(features, budget, grown)

    def probabilities(self, state: np.ndarray) -> np.ndarray:
        return self.net.score_all_rules(state)

    def rule_embedding(self, index: int) -> np.ndarray:
        return self.net.rule_embeddings[index]
