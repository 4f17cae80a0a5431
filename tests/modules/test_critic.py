"""The critic: causality, padding invariance, overfitting a small set, advantages,
warm starts from its checkpoint, and the dropout it uses."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from src.config import conf_group
from src.data.returns import ReturnSettings
from src.data.schema import Trajectory, TrajectoryStep
from src.modules.critic.checkpoint import CriticCheckpointError, load_critic, save_critic
from src.modules.critic.model import Dropout
from src.modules.critic.module import (
    CriticData,
    CriticModule,
    advantages,
    fit_critic,
    pad_batch,
    resolve_precision,
)

WIDTH = 154


def critic_config(**changes):
    """The default critic config with changes; float32, so comparisons can be tight, and
    no early stopping, so fits run the epochs asked for."""
    exact = {"precision": "32-true", "target_explained_variance": 0, "patience": 0}
    config = OmegaConf.merge(conf_group("critic"), {"train": exact}, changes)
    OmegaConf.set_readonly(config, True)
    return config


def synthetic(count, length, seed=0, vary=True):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, length + 1, size=count) if vary else [length] * count
    steps = [rng.standard_normal((n, WIDTH)).astype(np.float32) for n in lengths]
    # each trajectory's return, less a different part of it at each step (as progress has)
    targets = [(rng.standard_normal() - 0.1 * np.arange(n)).astype(np.float32) for n in lengths]
    return CriticData(steps, targets)


def values_of(module, steps):
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(steps)[None])[0].numpy()


def test_values_depend_only_on_earlier_steps():
    module = CriticModule(critic_config(), WIDTH)
    steps = synthetic(1, 30, vary=False).steps[0]
    before = values_of(module, steps)
    changed = steps.copy()
    changed[12:] = np.random.default_rng(9).standard_normal(changed[12:].shape)
    after = values_of(module, changed)
    np.testing.assert_allclose(after[:12], before[:12], rtol=1e-5, atol=1e-6)
    assert not np.allclose(after[12:], before[12:])


def test_values_are_the_same_alone_and_in_a_padded_batch():
    module = CriticModule(critic_config(), WIDTH)
    data = synthetic(5, 40, seed=1)
    module.eval()
    batch = pad_batch([(s, 0.0) for s in data.steps])
    with torch.no_grad():
        together = module(batch["steps"]).numpy()
    for row, steps in enumerate(data.steps):
        np.testing.assert_allclose(
            together[row, : len(steps)], values_of(module, steps), rtol=1e-5, atol=1e-5
        )
    assert batch["steps"].shape[1] == max(len(s) for s in data.steps)


def test_the_critic_overfits_a_small_set(tmp_path):
    config = critic_config(train={"lr": 1e-3, "batch_size": 8}, model={"dropout": 0.0})
    module = CriticModule(config, WIDTH)
    data = synthetic(8, 12, seed=2)

    def loss():
        values = module.values(data)
        return float(
            np.mean(
                np.concatenate([(v - g) ** 2 for v, g in zip(values, data.targets, strict=True)])
            )
        )

    before = loss()
    fit_critic(module, data, epochs=100, root_dir=tmp_path)
    after = loss()
    print(f"critic loss {before:.4f} -> {after:.6f} ({before / after:.0f}x)")
    assert after * 100 <= before


def test_one_advantage_per_step(tmp_path):
    module = CriticModule(critic_config(), WIDTH)
    data = synthetic(6, 20, seed=3)
    data.steps.append(np.zeros((0, WIDTH), dtype=np.float32))
    data.targets.append(np.zeros(0, np.float32))
    result, summary = advantages(module.values(data), data, normalize=False)
    assert [len(a) for a in result] == [len(s) for s in data.steps]
    values = module.values(data)
    for a, v, g in zip(result, values, data.targets, strict=True):
        np.testing.assert_allclose(a, g - v, rtol=1e-6, atol=1e-6)
    assert summary["count"] == sum(len(s) for s in data.steps)
    normalized, _ = advantages(module.values(data), data, normalize=True)
    flat = np.concatenate(normalized)
    assert abs(flat.mean()) < 1e-5 and abs(flat.std() - 1) < 1e-4


def test_training_logs_loss_and_explained_variance(tmp_path):
    module = CriticModule(critic_config(), WIDTH)
    fit = fit_critic(module, synthetic(6, 10, seed=4), epochs=2, root_dir=tmp_path)
    assert {"critic/loss", "critic/explained_variance"} <= set(fit.metrics)
    assert (fit.epochs, fit.steps, fit.stopped) == (2, 2, "")


def test_warm_start_resumes_from_the_checkpoint(tmp_path):
    data = synthetic(6, 15, seed=5)
    first = CriticModule(critic_config(), WIDTH)
    fit_critic(first, data, epochs=3, root_dir=tmp_path)
    path = tmp_path / "critic.pt"
    save_critic(path, first)
    second = CriticModule(critic_config(train={"seed": 99}), WIDTH)
    load_critic(path, second)
    for a, b in zip(first.values(data), second.values(data), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_checkpoints_are_clear_errors(tmp_path):
    module = CriticModule(critic_config(), WIDTH)
    path = tmp_path / "critic.pt"
    save_critic(path, module)
    wider = CriticModule(critic_config(model={"d_model": 64}), WIDTH)
    with pytest.raises(CriticCheckpointError, match="d_model 128 \\(here 64\\)"):
        load_critic(path, wider)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CriticCheckpointError, match="not a critic checkpoint"):
        load_critic(garbage, module)
    torch.save({"weights": 1}, garbage)
    with pytest.raises(CriticCheckpointError, match="not a pixelflow critic checkpoint"):
        load_critic(garbage, module)
    with pytest.raises(CriticCheckpointError, match="cannot read"):
        load_critic(tmp_path / "missing.pt", module)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="must split into 3 heads"):
        CriticModule(critic_config(model={"nhead": 3}), WIDTH)
    with pytest.raises(ValueError, match="precision"):
        CriticModule(critic_config(train={"precision": "fp8"}), WIDTH)
    assert resolve_precision("32-true") == "32-true"
    assert resolve_precision("auto") in ("32-true", "bf16-mixed")


def test_dropout_keeps_the_expectation():
    layer = Dropout(0.1, np.random.default_rng(0))
    x = torch.ones(200_000)
    y = layer(x)
    kept = (y > 0).float().mean().item()
    assert abs(kept - 0.9) < 0.005
    assert abs(y.mean().item() - 1.0) < 0.01
    layer.eval()
    assert layer(x) is x


def test_trajectories_become_critic_inputs():
    step = TrajectoryStep(np.full(130, 0.1, np.float32), np.full(24, 0.5, np.float32), 3, 0.8, True)
    trajectory = Trajectory("t", "(+ x y)", [step, step], 2.0, 4.0, 2.0, initial_cost_ns=8.0)
    terminal = ReturnSettings("log_speedup", "terminal", 0.0, 0.0, 1.0)
    data = CriticData.from_trajectories([trajectory], terminal)
    assert data.steps[0].shape == (2, WIDTH)
    np.testing.assert_allclose(data.targets[0], np.log(4.0), rtol=1e-6)
    np.testing.assert_array_equal(data.steps[0][0, 130:], 0.5)


def test_initialization_is_seeded():
    a, b = CriticModule(critic_config(), WIDTH), CriticModule(critic_config(), WIDTH)
    c = CriticModule(critic_config(train={"seed": 1}), WIDTH)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert not all(torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters(), strict=True))


def test_a_diverged_critic_falls_back_to_its_last_good_state(monkeypatch, capsys):
    from src.modules.critic import round as round_module
    from src.modules.critic.module import CriticFit
    from src.modules.critic.round import RoundCritic

    critic = RoundCritic(critic_config(target="terminal", budget_weight=0.0), WIDTH)
    before = {k: v.clone() for k, v in critic.module.state_dict().items()}

    def diverging_fit(module, data, *args, **kwargs):
        with torch.no_grad():
            next(module.parameters()).fill_(float("nan"))
        return CriticFit({"critic/loss": float("nan")}, 1, 1, "", 0.1)

    monkeypatch.setattr(round_module, "fit_critic", diverging_fit)
    step = TrajectoryStep(np.zeros(130, np.float32), np.zeros(24, np.float32), 1, 0.5, True)
    trajectory = Trajectory("t", "x", [step] * 3, 2.0, 1.0, 1.0, initial_cost_ns=3.0)
    result, metrics, flat = critic(4, [trajectory])
    assert metrics["critic/diverged"] == 1.0
    assert "round 4: the critic diverged" in capsys.readouterr().err
    for key, value in critic.module.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert len(result[0]) == 3 and np.isfinite(flat).all()
    assert not critic.warm  # the next round is still its first
