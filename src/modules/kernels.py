"""ExprNnue's explicit kernels: the batched forward pass with its cache and the
hand-derived backward pass of the joint loss (the seed's Task 2), in numpy.

The net, for a batch of B steps (x: network inputs, r: the chosen rules' embeddings,
i: their indices)::

    h = relu(x W1 + b1)                  backbone, (B, H)
    e = h P + p                          expr_embed, (B, D)
    v = relu(e V1 + c1) . v2 + c2        value_pred, (B,)
    f = relu([e; v] M1 + m1) M2 + m2     mask_features, (B, D)
    s = (f I) . r + bias[i]              score, (B,);  p = sigmoid(s)

The loss, averaged over the batch (a: approved or not, A: advantage, y: value target)::

    L = mean(-log pi(a|s) A)  -  entropy_coeff mean(H(p))  +  value_coeff mean((v - y)^2)

with pi(1|s) = p, pi(0|s) = 1 - p and H the Bernoulli entropy. With a ``Clip`` (PPO's
clipped surrogate, for several passes over a round's decisions), the policy term is
instead, with r = pi(a|s) / pi_old(a|s) against the probabilities the actions were drawn
with::

    mean(-min(r A, clip(r, 1 - eps, 1 + eps) A))

whose gradient is that of mean(-log pi(a|s) A') with A' = r A where the unclipped term
is the smaller, 0 elsewhere (r A has gradient r A d log pi): the kernels below serve both.
The rule embeddings r are inputs, not parameters (they are re-encoded after each
update). The policy gradient reaches the value MLP through v, which the mask MLP reads.

Kernels work in the dtype of the parameters (float32 in training, float64 in the
gradient tests); no autograd is involved. The matrix products are numpy's (BLAS); the
element-wise ReLU steps are small numba loops, fused so that each is one pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

Params = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class NetShape:
    """The layer widths (``actor.net`` in conf; the seed's are 130, 64, 24, 16, 1024)."""

    input_dim: int
    hidden: int
    embed: int
    mlp_hidden: int
    max_rules: int

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        h, d, m = self.hidden, self.embed, self.mlp_hidden
        return {
            "w1": (self.input_dim, h),
            "b1": (h,),
            "expr_proj_w": (h, d),
            "expr_proj_b": (d,),
            "value_w1": (d, m),
            "value_b1": (m,),
            "value_w2": (m,),
            "value_b2": (1,),
            "mask_w1": (d + 1, m),
            "mask_b1": (m,),
            "mask_w2": (m, d),
            "mask_b2": (d,),
            "interaction": (d, d),
            "rule_bias": (self.max_rules,),
        }


# Parameter groups, as the seed's UnifiedGradients lists them; gradient norms are
# logged per group.
PARAM_GROUPS: dict[str, tuple[str, ...]] = {
    "backbone": ("w1", "b1"),
    "expr_proj": ("expr_proj_w", "expr_proj_b"),
    "value_mlp": ("value_w1", "value_b1", "value_w2", "value_b2"),
    "mask_mlp": ("mask_w1", "mask_b1", "mask_w2", "mask_b2"),
    "interaction": ("interaction",),
    "rule_bias": ("rule_bias",),
}


@dataclass(frozen=True)
class LossSettings:
    """The loss weights at the top of ``actor`` in conf."""

    value_coeff: float
    entropy_coeff: float


@dataclass(frozen=True)
class StepBatch:
    """A batch of self-play steps as the update reads them (numpy, one row per step)."""

    features: np.ndarray  # (B, input_dim) network inputs
    rule_embedding: np.ndarray  # (B, embed) embedding of the rule the step scored
    rule_index: np.ndarray  # (B,) int, index of that rule
    approved: np.ndarray  # (B,) 1.0 where the rule was applied, else 0.0
    advantage: np.ndarray  # (B,) the critic's A_t
    value_target: np.ndarray  # (B,) target of the value head

    def __len__(self) -> int:
        return len(self.rule_index)


@dataclass
class ForwardCache:
    """Every intermediate the backward pass reads (batch-major). Only post-ReLU values
    are kept: a unit's ReLU passes gradient exactly where its output is > 0."""

    x: np.ndarray
    h: np.ndarray
    e: np.ndarray
    v_h: np.ndarray
    v: np.ndarray
    m_in: np.ndarray
    m_h: np.ndarray
    f: np.ndarray
    score: np.ndarray
    p: np.ndarray


@numba.njit(cache=True, fastmath=True)
def _add_bias_relu(out: np.ndarray, bias: np.ndarray) -> None:
    """out = max(out + bias, 0) in place, in one pass (numpy needs two, each several
    times slower than this loop)."""
    rows, columns = out.shape
    for i in range(rows):
        for j in range(columns):
            value = out[i, j] + bias[j]
            out[i, j] = value if value > 0 else 0


@numba.njit(cache=True, fastmath=True)
def _zero_where_inactive(d_out: np.ndarray, out: np.ndarray) -> None:
    """d_out = 0 wherever the ReLU output ``out`` is 0 (in place)."""
    rows, columns = d_out.shape
    for i in range(rows):
        for j in range(columns):
            if out[i, j] <= 0:
                d_out[i, j] = 0


def _dense_relu(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    out = x @ weight
    _add_bias_relu(out, bias)
    return out


def embed(params: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backbone and projection: (h, expr_embed) for inputs ``x`` (B, input_dim)."""
    h = _dense_relu(x, params["w1"], params["b1"])
    e = h @ params["expr_proj_w"]
    e += params["expr_proj_b"]
    return h, e


def heads(params: Params, e: np.ndarray) -> tuple[np.ndarray, ...]:
    """Value and mask heads on expr_embed ``e``: (v_h, v, m_in, m_h, f)."""
    v_h = _dense_relu(e, params["value_w1"], params["value_b1"])
    v = v_h @ params["value_w2"]
    v += params["value_b2"][0]
    m_in = np.concatenate([e, v[:, None]], axis=1)
    m_h = _dense_relu(m_in, params["mask_w1"], params["mask_b1"])
    f = m_h @ params["mask_w2"]
    f += params["mask_b2"]
    return v_h, v, m_in, m_h, f


def sigmoid(score: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-score)), as exp(-softplus(-score)): no overflow for any score."""
    return np.exp(-np.logaddexp(0.0, -score))


def forward(
    params: Params, x: np.ndarray, rule_embedding: np.ndarray, rule_index: np.ndarray
) -> ForwardCache:
    """The batched forward pass, keeping what ``backward`` needs."""
    h, e = embed(params, x)
    v_h, v, m_in, m_h, f = heads(params, e)
    score = np.einsum("bj,bj->b", f @ params["interaction"], rule_embedding)
    score += params["rule_bias"][rule_index]
    return ForwardCache(x, h, e, v_h, v, m_in, m_h, f, score, sigmoid(score))


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def losses(cache: ForwardCache, batch: StepBatch, loss: LossSettings) -> dict[str, float]:
    """The loss parts (batch means) and their weighted total."""
    s, a = cache.score, batch.approved
    log_pi = -(a * _softplus(-s) + (1.0 - a) * _softplus(s))
    p = cache.p
    entropy = p * _softplus(-s) + (1.0 - p) * _softplus(s)
    policy = float(np.mean(-log_pi * batch.advantage))
    value = float(np.mean((cache.v - batch.value_target) ** 2))
    mean_entropy = float(np.mean(entropy))
    return _with_total({"policy": policy, "value": value, "entropy": mean_entropy}, loss)


def _with_total(parts: dict[str, float], loss: LossSettings) -> dict[str, float]:
    """``parts`` and their weighted total."""
    total = parts["policy"] - loss.entropy_coeff * parts["entropy"]
    return parts | {"total": total + loss.value_coeff * parts["value"]}


def score_gradient(cache: ForwardCache, batch: StepBatch, loss: LossSettings) -> np.ndarray:
    """dL/dscore per step: the policy term -(a - p) A and the entropy bonus
    entropy_coeff * s p (1 - p), divided by the batch size."""
    s, p = cache.score, cache.p
    d_score = -(batch.approved - p) * batch.advantage + loss.entropy_coeff * s * p * (1.0 - p)
    return d_score / len(batch)


def value_gradient(cache: ForwardCache, batch: StepBatch, loss: LossSettings) -> np.ndarray:
    """dL/dvalue_pred per step from the value loss alone."""
    return 2.0 * loss.value_coeff * (cache.v - batch.value_target) / len(batch)


def _column_sums(d: np.ndarray) -> np.ndarray:
    """Sum over the batch (as a matrix-vector product: several times faster than
    ``sum(axis=0)`` on a tall array)."""
    return np.ones(len(d), dtype=d.dtype) @ d


def _through_relu(d_out: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient at a ReLU's input from the one at its output (in place)."""
    _zero_where_inactive(d_out, out)
    return d_out


def backward(
    params: Params,
    cache: ForwardCache,
    batch: StepBatch,
    d_score: np.ndarray,
    d_value: np.ndarray,
) -> dict[str, np.ndarray]:
    """Gradients of every parameter, given dL/dscore and dL/dvalue_pred per step (either
    may be zeros: the policy and value losses each use half of this chain)."""
    grads: dict[str, np.ndarray] = {}
    dtype = params["w1"].dtype
    # bilinear score: s = f I r + bias[i]
    grads["rule_bias"] = np.bincount(
        batch.rule_index, weights=d_score, minlength=len(params["rule_bias"])
    ).astype(dtype)
    d_t = d_score[:, None] * batch.rule_embedding
    grads["interaction"] = cache.f.T @ d_t
    d_f = d_t @ params["interaction"].T
    # mask MLP on [e; v]
    grads["mask_w2"] = cache.m_h.T @ d_f
    grads["mask_b2"] = _column_sums(d_f)
    d_m = _through_relu(d_f @ params["mask_w2"].T, cache.m_h)
    grads["mask_w1"] = cache.m_in.T @ d_m
    grads["mask_b1"] = _column_sums(d_m)
    d_m_in = d_m @ params["mask_w1"].T
    d_e = d_m_in[:, :-1]
    d_v = d_m_in[:, -1] + d_value
    # value MLP (reached by the value loss and, through v, by the policy loss)
    grads["value_w2"] = cache.v_h.T @ d_v
    grads["value_b2"] = np.array([d_v.sum()], dtype=dtype)
    d_v_h = _through_relu(np.outer(d_v, params["value_w2"]), cache.v_h)
    grads["value_w1"] = cache.e.T @ d_v_h
    grads["value_b1"] = _column_sums(d_v_h)
    d_e = d_e + d_v_h @ params["value_w1"].T
    # projection and backbone
    grads["expr_proj_w"] = cache.h.T @ d_e
    grads["expr_proj_b"] = _column_sums(d_e)
    d_h = _through_relu(d_e @ params["expr_proj_w"].T, cache.h)
    grads["w1"] = cache.x.T @ d_h
    grads["b1"] = _column_sums(d_h)
    return grads


@dataclass(frozen=True)
class Clip:
    """PPO's clipped ratio: the probabilities p the batch's actions were drawn with, and
    the clip range eps."""

    old_probability: np.ndarray  # (B,)
    range: float


def clipped_advantage(p: np.ndarray, batch: StepBatch, clip: Clip) -> tuple[np.ndarray, dict]:
    """A' (see the module docstring) and the surrogate's figures: ``surrogate`` (the
    policy term), ``kl`` (mean log pi_old - log pi, an estimate of KL(old || new)) and
    ``clip_fraction`` (the share of rows whose clipped term is the smaller)."""
    a, advantage, eps = batch.approved, batch.advantage, clip.range
    pi = a * p + (1.0 - a) * (1.0 - p)
    pi_old = a * clip.old_probability + (1.0 - a) * (1.0 - clip.old_probability)
    ratio = pi / pi_old
    clipped = ((advantage > 0) & (ratio > 1.0 + eps)) | ((advantage < 0) & (ratio < 1.0 - eps))
    surrogate = np.minimum(ratio * advantage, np.clip(ratio, 1.0 - eps, 1.0 + eps) * advantage)
    figures = {
        "surrogate": float(-np.mean(surrogate)),
        "kl": float(np.mean(np.log(pi_old) - np.log(pi))),
        "clip_fraction": float(np.mean(clipped)),
    }
    return np.where(clipped, 0.0, ratio * advantage).astype(advantage.dtype), figures


def loss_and_gradients(
    params: Params, batch: StepBatch, loss: LossSettings, clip: Clip | None = None
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Forward, loss parts, and the gradient of the joint loss: the whole update's math.
    With ``clip``, the policy term is PPO's clipped surrogate (its parts add ``kl`` and
    ``clip_fraction``)."""
    cache = forward(params, batch.features, batch.rule_embedding, batch.rule_index)
    figures: dict[str, float] = {}
    if clip is not None:
        effective, figures = clipped_advantage(cache.p, batch, clip)
        batch = dataclasses.replace(batch, advantage=effective)
    d_score = score_gradient(cache, batch, loss)
    d_value = value_gradient(cache, batch, loss)
    parts = losses(cache, batch, loss)
    if clip is not None:
        parts = _with_total(parts | {"policy": figures.pop("surrogate")}, loss)
    return parts | figures, backward(params, cache, batch, d_score, d_value)
