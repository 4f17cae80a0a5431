"""The explicit backward kernels against central finite differences and against torch
autograd, for every parameter group and for each part of the joint loss (the seed's
Task 2, step 7), in float64."""

import dataclasses

import numpy as np
import pytest
import torch

from src.modules.autograd_reference import batch_tensors, reference_losses
from src.modules.kernels import (
    PARAM_GROUPS,
    LossSettings,
    backward,
    forward,
    loss_and_gradients,
    losses,
    score_gradient,
    value_gradient,
)

from .conftest import make_batch, make_net

# name -> (loss settings, whether the batch has advantages)
LOSSES = {
    "policy": (LossSettings(value_coeff=0.0, entropy_coeff=0.0), True),
    "value": (LossSettings(value_coeff=0.5, entropy_coeff=0.0), False),
    "entropy": (LossSettings(value_coeff=0.0, entropy_coeff=0.3), False),
    "joint": (LossSettings(value_coeff=0.5, entropy_coeff=0.05), True),
}
# what each loss must not touch: the value loss reaches neither the mask MLP nor the
# score; everything else reaches every group.
UNTOUCHED = {"value": {"mask_mlp", "interaction", "rule_bias"}}
FD_EPS = 1e-6
FD_RTOL = 1e-3
ENTRIES_PER_ARRAY = 40


def _total(params, batch, loss):
    return losses(
        forward(params, batch.features, batch.rule_embedding, batch.rule_index), batch, loss
    )["total"]


def _sample_entries(name, array, batch, rng):
    """Every entry of a small array; a random sample of a large one. For the rule bias,
    the entries the batch uses plus a few it does not."""
    if name == "rule_bias":
        unused = np.setdiff1d(np.arange(array.size), batch.rule_index)[:5]
        return [(int(i),) for i in np.concatenate([np.unique(batch.rule_index), unused])]
    if array.size <= ENTRIES_PER_ARRAY:
        return list(np.ndindex(array.shape))
    flat = rng.choice(array.size, size=ENTRIES_PER_ARRAY, replace=False)
    return [np.unravel_index(int(i), array.shape) for i in flat]


@pytest.fixture(scope="module")
def net():
    return make_net(np.float64)


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("group", list(PARAM_GROUPS))
def test_gradient_matches_finite_differences(net, loss_name, group):
    loss, with_advantage = LOSSES[loss_name]
    batch = make_batch(net, rows=24, seed=3, advantage=with_advantage)
    _, grads = loss_and_gradients(net.params, batch, loss)
    params = {name: array.copy() for name, array in net.params.items()}
    rng = np.random.default_rng(11)
    for name in PARAM_GROUPS[group]:
        analytic = grads[name]
        if group in UNTOUCHED.get(loss_name, ()):
            assert not analytic.any(), f"{loss_name} loss must not reach {name}"
        for entry in _sample_entries(name, params[name], batch, rng):
            saved = params[name][entry]
            params[name][entry] = saved + FD_EPS
            up = _total(params, batch, loss)
            params[name][entry] = saved - FD_EPS
            down = _total(params, batch, loss)
            params[name][entry] = saved
            numeric = (up - down) / (2 * FD_EPS)
            scale = max(abs(analytic[entry]), abs(numeric), 1e-6)
            assert abs(analytic[entry] - numeric) / scale < FD_RTOL, (name, entry)
    if group not in UNTOUCHED.get(loss_name, ()):
        assert any(grads[name].any() for name in PARAM_GROUPS[group])


@pytest.mark.parametrize("loss_name", list(LOSSES))
def test_gradient_matches_torch_autograd(net, loss_name):
    loss, with_advantage = LOSSES[loss_name]
    batch = make_batch(net, rows=64, seed=5, advantage=with_advantage)
    parts, grads = loss_and_gradients(net.params, batch, loss)
    params = {name: torch.tensor(a, requires_grad=True) for name, a in net.params.items()}
    reference = reference_losses(params, batch_tensors(batch), loss)
    reference["total"].backward()
    for part, value in reference.items():
        assert parts[part] == pytest.approx(value.item(), rel=1e-12, abs=1e-12)
    for name, parameter in params.items():
        expected = parameter.grad.numpy()
        error = np.abs(grads[name] - expected).max()
        assert error <= 1e-5 * max(np.abs(expected).max(), 1e-12), name


def test_both_losses_accumulate_in_w1(net):
    batch = make_batch(net, rows=32, seed=8)
    cache = forward(net.params, batch.features, batch.rule_embedding, batch.rule_index)
    loss = LOSSES["joint"][0]
    d_score, d_value = score_gradient(cache, batch, loss), value_gradient(cache, batch, loss)
    policy = backward(net.params, cache, batch, d_score, np.zeros_like(d_value))["w1"]
    value = backward(net.params, cache, batch, np.zeros_like(d_score), d_value)["w1"]
    joint = backward(net.params, cache, batch, d_score, d_value)["w1"]
    assert np.abs(policy).max() > 0 and np.abs(value).max() > 0
    np.testing.assert_allclose(joint, policy + value, rtol=1e-10, atol=1e-14)
    assert not np.allclose(joint, policy) and not np.allclose(joint, value)


def test_policy_gradient_reaches_the_value_mlp_through_value_pred(net):
    """The seed's step 5: the mask MLP reads value_pred, so the policy loss alone has a
    gradient in the value MLP."""
    batch = make_batch(net, rows=32, seed=9)
    _, grads = loss_and_gradients(net.params, batch, LOSSES["policy"][0])
    assert np.abs(grads["value_w1"]).max() > 0 and np.abs(grads["value_w2"]).max() > 0


def test_float32_kernels_agree_with_float64(net):
    batch64 = make_batch(net, rows=64, seed=4)
    params32 = {name: a.astype(np.float32) for name, a in net.params.items()}
    batch32 = dataclasses.replace(
        batch64,
        **{
            f.name: getattr(batch64, f.name).astype(np.float32)
            for f in dataclasses.fields(batch64)
            if f.name != "rule_index"
        },
    )
    loss = LOSSES["joint"][0]
    _, grads64 = loss_and_gradients(net.params, batch64, loss)
    _, grads32 = loss_and_gradients(params32, batch32, loss)
    for name, grad in grads32.items():
        assert grad.dtype == np.float32, name
        np.testing.assert_allclose(
            grad, grads64[name], rtol=1e-3, atol=1e-5 * np.abs(grads64[name]).max()
        )
