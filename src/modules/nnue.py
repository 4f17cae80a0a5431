"""ExprNnue: the actor network (DESIGN.md, "Actor: ExprNnue").

The trained parameters are a dict of numpy arrays (in the actor module, views of torch
Parameters); the fixed parts are the op embedding table that the EdgeAccumulator reads
and the rule encoder's projection. A rule is embedded by running its two templates
through the same backbone: with z_L and z_R their expr_embeds,
rule_embed = [z_L, z_R, z_L - z_R, z_L * z_R] Q + q. The rule encoder has no parameters
of its own in the joint loss (the seed's UnifiedGradients has none); it follows the
backbone, and the rule embeddings are re-encoded after each update.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from src.expr import Expr

from .features import NODE_KINDS, EdgeAccumulator, FeatureEncoder, FeatureSettings, op_embeddings
from .kernels import NetShape, Params, embed, heads, sigmoid

RULE_PAIR_BLOCKS = 4  # z_L, z_R, z_L - z_R, z_L * z_R


@dataclass(frozen=True)
class InitSettings:
    """``actor.init`` in conf."""

    seed: int
    interaction_noise: float
    rule_bias: float


def net_shape(config: Mapping, features: FeatureSettings) -> NetShape:
    """The layer widths from ``actor.net``; the input width follows from the features."""
    widths = {key: config[key] for key in ("hidden", "embed", "mlp_hidden", "max_rules")}
    for key, value in widths.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"config actor.net.{key} must be a positive int, not {value!r}")
    return NetShape(input_dim=features.input_dim, **widths)


def init_params(shape: NetShape, init: InitSettings, dtype: type = np.float32) -> dict:
    """Fresh trained parameters: He-scaled weights in front of each ReLU, 1/sqrt(fan-in)
    elsewhere, zero biases, interaction = identity + small noise, and every rule bias
    ``init.rule_bias`` (a prior on how often a rule is tried)."""
    rng = np.random.default_rng(init.seed)
    params: dict[str, np.ndarray] = {}
    relu_fed = {"w1", "value_w1", "mask_w1"}
    for name, dims in shape.param_shapes().items():
        if name == "interaction":
            value = np.eye(dims[0]) + init.interaction_noise * rng.standard_normal(dims)
        elif name == "rule_bias":
            value = np.full(dims, init.rule_bias)
        elif len(dims) == 2 or name == "value_w2":
            gain = 2.0 if name in relu_fed else 1.0
            value = rng.standard_normal(dims) * np.sqrt(gain / dims[0])
        else:
            value = np.zeros(dims)
        params[name] = value.astype(dtype)
    return params


def init_rule_projection(shape: NetShape, seed: int, dtype: type = np.float32) -> dict:
    """The rule encoder's fixed projection Q (4D x D) and offset q (zeros)."""
    rng = np.random.default_rng(seed)
    fan_in = RULE_PAIR_BLOCKS * shape.embed
    weight = rng.standard_normal((fan_in, shape.embed)) / np.sqrt(fan_in)
    return {
        "rule_proj_w": weight.astype(dtype),
        "rule_proj_b": np.zeros(shape.embed, dtype=dtype),
    }


def fixed_shapes(shape: NetShape, features: FeatureSettings) -> dict[str, tuple[int, ...]]:
    """Shapes of the untrained arrays: op embeddings and the rule encoder's projection."""
    return {
        "op_embeddings": (len(NODE_KINDS), features.op_dim),
        "rule_proj_w": (RULE_PAIR_BLOCKS * shape.embed, shape.embed),
        "rule_proj_b": (shape.embed,),
    }


class ExprNnue:
    """The actor: features, both heads, the rule encoder, and scoring of every rule."""

    def __init__(
        self,
        shape: NetShape,
        features: FeatureSettings,
        params: Params,
        fixed: Mapping[str, np.ndarray],
    ) -> None:
        """``params``: the trained arrays (``shape.param_shapes()``); ``fixed``:
        ``op_embeddings``, ``rule_proj_w``, ``rule_proj_b``."""
        if shape.input_dim != features.input_dim:
            raise ValueError(f"input width {shape.input_dim} does not fit op_dim {features.op_dim}")
        for kind, arrays, expected in (
            ("parameter", params, shape.param_shapes()),
            ("fixed array", fixed, fixed_shapes(shape, features)),
        ):
            for name, dims in expected.items():
                if name not in arrays or arrays[name].shape != dims:
                    got = arrays[name].shape if name in arrays else "nothing"
                    raise ValueError(f"actor {kind} '{name}' must have shape {dims}, got {got}")
        self.shape = shape
        self.feature_settings = features
        self.params = params
        self.fixed = fixed
        self.encoder = FeatureEncoder(features, fixed["op_embeddings"])
        self.rule_embeddings = np.zeros((0, shape.embed), dtype=params["w1"].dtype)

    @classmethod
    def create(
        cls,
        shape: NetShape,
        features: FeatureSettings,
        init: InitSettings,
        latency_ns: Mapping[str, float] | None = None,
        dtype: type = np.float32,
    ) -> ExprNnue:
        fixed = {
            "op_embeddings": op_embeddings(features, latency_ns).astype(dtype),
            **init_rule_projection(shape, init.seed + 1, dtype),
        }
        return cls(shape, features, init_params(shape, init, dtype), fixed)

    @property
    def dtype(self) -> np.dtype:
        return self.params["w1"].dtype

    def accumulator(self, expr: Expr) -> EdgeAccumulator:
        return self.encoder.accumulator(expr)

    def features(self, exprs: Sequence[Expr]) -> np.ndarray:
        """Network inputs, one row per expression, in the parameters' dtype."""
        return self.encoder.features(exprs).astype(self.dtype)

    def expr_embed(self, x: np.ndarray) -> np.ndarray:
        return embed(self.params, np.atleast_2d(x))[1]

    def value(self, x: np.ndarray) -> np.ndarray:
        """value_pred for each row of ``x``."""
        return heads(self.params, self.expr_embed(x))[1]

    def encode_rules(self, templates: Sequence[tuple[Expr, Expr]]) -> np.ndarray:
        """Embed each rule (its LHS and RHS templates) with the current backbone, keep
        the result for ``score_all_rules`` and return it (rules x D)."""
        return self.encode_rule_features(
            self.features([side for pair in templates for side in pair])
        )

    def encode_rule_features(self, side_features: np.ndarray) -> np.ndarray:
        """``encode_rules`` from the templates' feature rows (LHS, RHS, LHS, RHS, ...),
        which do not change as the net trains, so a trainer computes them once."""
        rules = len(side_features) // 2
        if len(side_features) % 2 or rules > self.shape.max_rules:
            raise ValueError(
                f"{rules} rules (from {len(side_features)} template rows), but the actor "
                f"embeds pairs of templates for at most {self.shape.max_rules} rules "
                "(actor.net.max_rules)"
            )
        if not len(side_features):
            self.rule_embeddings = np.zeros((0, self.shape.embed), dtype=self.dtype)
            return self.rule_embeddings
        sides = self.expr_embed(side_features)
        z_left, z_right = sides[0::2], sides[1::2]
        pair = np.concatenate([z_left, z_right, z_left - z_right, z_left * z_right], axis=1)
        encoded = pair @ self.fixed["rule_proj_w"] + self.fixed["rule_proj_b"]
        self.rule_embeddings = encoded.astype(self.dtype)
        return self.rule_embeddings

    def score_all_rules(self, state: EdgeAccumulator | np.ndarray) -> np.ndarray:
        """p_r = sigmoid(mask_features I rule_embed_r + rule_bias_r) for every encoded
        rule, for one state: a network input, or an expression's accumulator (outside any
        search, ``FeatureEncoder.inputs``)."""
        x = self.encoder.inputs(state.features()) if isinstance(state, EdgeAccumulator) else state
        f = heads(self.params, self.expr_embed(x.astype(self.dtype, copy=False)))[-1][0]
        rules = len(self.rule_embeddings)
        scores = self.rule_embeddings @ (f @ self.params["interaction"])
        return sigmoid(scores + self.params["rule_bias"][:rules])
