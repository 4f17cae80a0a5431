"""PPO's clipped surrogate in the explicit kernels (``kernels.Clip``): its gradient is
torch autograd's of the same loss, in float64, with rows on both sides of the clip; at
the probabilities the actions were drawn with it is the plain policy gradient."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from src.modules.autograd_reference import batch_tensors, reference_forward
from src.modules.kernels import Clip, LossSettings, forward, loss_and_gradients

from .conftest import make_batch, make_net

LOSS = LossSettings(value_coeff=0.5, entropy_coeff=0.05)
EPS = 0.2


def _reference_total(params, batch, old, eps):
    """The clipped surrogate plus the entropy and value terms, with torch ops."""
    score, v = reference_forward(params, batch)
    p, a, adv = torch.sigmoid(score), batch["approved"], batch["advantage"]
    ratio = (a * p + (1 - a) * (1 - p)) / (a * old + (1 - a) * (1 - old))
    surrogate = -torch.minimum(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv).mean()
    entropy = (p * F.softplus(-score) + (1 - p) * F.softplus(score)).mean()
    value = ((v - batch["value_target"]) ** 2).mean()
    return surrogate - LOSS.entropy_coeff * entropy + LOSS.value_coeff * value


def test_the_clipped_gradient_is_autograds():
    net = make_net(np.float64)
    batch = make_batch(net, rows=64, seed=5)
    p = forward(net.params, batch.features, batch.rule_embedding, batch.rule_index).p
    # old probabilities spread around the current ones: some ratios far outside the clip
    rng = np.random.default_rng(2)
    old = np.clip(p * np.exp(rng.normal(0.0, 1.0, len(p))), 0.02, 0.98)
    parts, grads = loss_and_gradients(net.params, batch, LOSS, Clip(old, EPS))
    assert 0.1 < parts["clip_fraction"] < 0.9  # both sides of the clip are exercised
    params = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in net.params.items()}
    total = _reference_total(params, batch_tensors(batch), torch.from_numpy(old), EPS)
    total.backward()
    assert parts["total"] == pytest.approx(float(total.detach()), rel=1e-10)
    for name, parameter in params.items():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_at_the_drawing_probabilities_the_clip_changes_nothing():
    net = make_net(np.float64)
    batch = make_batch(net, rows=32, seed=8)
    p = forward(net.params, batch.features, batch.rule_embedding, batch.rule_index).p
    plain_parts, plain = loss_and_gradients(net.params, batch, LOSS)
    parts, clipped = loss_and_gradients(net.params, batch, LOSS, Clip(p.copy(), EPS))
    assert parts["kl"] == pytest.approx(0.0, abs=1e-12) and parts["clip_fraction"] == 0.0
    # the surrogate at r = 1 is -mean(A) (its value, not its gradient, differs from the
    # plain -mean(log pi A))
    assert parts["policy"] == pytest.approx(-float(np.mean(batch.advantage)), rel=1e-12)
    assert parts["value"] == plain_parts["value"]
    for name in plain:
        np.testing.assert_allclose(clipped[name], plain[name], rtol=1e-10, atol=1e-14)


def test_a_clipped_row_pushes_no_further():
    net = make_net(np.float64)
    batch = make_batch(net, rows=16, seed=9)
    batch = dataclasses.replace(batch, advantage=np.abs(batch.advantage) + 0.5)  # all A > 0
    p = forward(net.params, batch.features, batch.rule_embedding, batch.rule_index).p
    a = batch.approved
    old = np.where(a > 0, p / 2, 1 - (1 - p) / 2)  # every ratio is 2: past 1 + eps
    no_value = LossSettings(value_coeff=0.0, entropy_coeff=0.0)
    parts, grads = loss_and_gradients(net.params, batch, no_value, Clip(old, EPS))
    assert parts["clip_fraction"] == 1.0
    assert all(not g.any() for g in grads.values())
