"""Shared fixtures for the actor tests: real expressions and rule templates."""

import numpy as np
import pytest

from src.config import conf_group, settings_from_config
from src.expr import parse_sexpr
from src.modules.actor import ActorModule
from src.modules.features import FeatureSettings
from src.modules.kernels import StepBatch
from src.modules.nnue import ExprNnue, InitSettings, net_shape
from src.selfplay.rules import RULES

EXPRESSIONS = [
    "(+ x (* y 2))",
    "(sin (* x x))",
    "(/ (exp x) (+ 1 (exp x)))",
    "(sqrt (+ (* x x) (* y y)))",
    "(log (fabs x))",
    "(fma x y (- z 1.5))",
    "(if (< x y) (cos x) (pow y 3))",
    "(- (* (+ x 1) (+ x 1)) (* x x))",
]
TEMPLATES = [(rule.lhs, rule.rhs) for rule in RULES]
RULE_NAMES = [rule.name for rule in RULES]


def actor_config():
    return conf_group("actor")


def make_net(dtype=np.float64) -> ExprNnue:
    config = actor_config()
    features = settings_from_config(FeatureSettings, config.features, "actor.features")
    shape = net_shape(config.net, features)
    net = ExprNnue.create(
        shape, features, settings_from_config(InitSettings, config.init, "actor.init"), dtype=dtype
    )
    net.encode_rules(TEMPLATES)
    return net


def make_batch(net: ExprNnue, rows: int, seed: int, advantage: bool = True) -> StepBatch:
    """Steps over the fixture expressions, each with a random rule, approval, advantage
    and value target (the advantage is zero when ``advantage`` is False)."""
    rng = np.random.default_rng(seed)
    features = net.features([parse_sexpr(text) for text in EXPRESSIONS])
    chosen = rng.integers(len(EXPRESSIONS), size=rows)
    rule_index = rng.integers(len(RULES), size=rows)
    dtype = net.dtype
    return StepBatch(
        features=features[chosen],
        rule_embedding=net.rule_embeddings[rule_index],
        rule_index=rule_index,
        approved=(rng.random(rows) < 0.5).astype(dtype),
        advantage=(rng.standard_normal(rows) * advantage).astype(dtype),
        value_target=rng.normal(2.0, 1.0, rows).astype(dtype),
    )


@pytest.fixture
def actor() -> ActorModule:
    return ActorModule(actor_config(), TEMPLATES, RULE_NAMES)
