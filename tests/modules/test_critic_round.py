"""The critic's schedule per round: first-round and later epochs, early stopping on the
explained variance or a plateau of the loss, the cap on optimizer steps, the seed's
literal schedule from config, the fit's metrics, and bad settings named."""

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src.config import CONF_DIR, conf_group
from src.data.schema import EpochDecisions, Trajectory, TrajectoryStep
from src.modules.critic.module import STOP_REASONS, CriticData, CriticModule, fit_critic
from src.modules.critic.round import RoundCritic

WIDTH = 154
# docs/training.md: the seed's schedule, 50 epochs every round and no early stopping
SEED_SCHEDULE = [
    "critic.train.first_round_epochs=50",
    "critic.train.epochs=50",
    "critic.train.target_explained_variance=0",
    "critic.train.patience=0",
    "critic.train.max_steps=0",
]


def config(**train):
    """The default critic config, float32, without dropout, early stopping off unless
    asked for, with ``train`` changes."""
    off = {"precision": "32-true", "target_explained_variance": 0, "patience": 0}
    return OmegaConf.merge(conf_group("critic"), {"model": {"dropout": 0.0}, "train": off | train})


def easy(count=8, length=6, seed=0):
    """Rewards a linear function of each trajectory's first step: a critic learns them
    within a few dozen epochs."""
    rng = np.random.default_rng(seed)
    steps = [rng.standard_normal((length, WIDTH)).astype(np.float32) for _ in range(count)]
    return CriticData(steps, [np.full(length, s[0, :4].sum(), np.float32) for s in steps])


def trajectories(count=4, length=3, seed=0):
    rng = np.random.default_rng(seed)
    result = []
    for i in range(count):
        step = TrajectoryStep(
            rng.standard_normal(130).astype(np.float32),
            rng.standard_normal(24).astype(np.float32),
            1, 0.5, True,
        )  # fmt: skip
        approved = np.zeros(4, bool)
        approved[1] = True
        epochs = [
            EpochDecisions(step.accumulator_state, np.full(4, 0.5, np.float32), approved,
                           2.0 - 0.2 * e, 10 + 5 * e)
            for e in range(length)
        ]  # fmt: skip
        result.append(
            Trajectory(f"t{i}", "x", [step] * length, 1.0 + i, 2.0, 1.0, 3.0, epochs, 30, 100)
        )
    return result


def test_the_explained_variance_target_stops_training_early(tmp_path):
    module = CriticModule(config(lr=1e-3, batch_size=4, target_explained_variance=0.8), WIDTH)
    fit = fit_critic(module, easy(), epochs=300, root_dir=tmp_path)
    assert fit.stopped == "target" and fit.epochs < 300
    assert fit.metrics["critic/explained_variance"] >= 0.8
    assert fit.summary()["critic/stopped_target"] == 1.0


def test_a_plateau_of_the_loss_stops_training_after_patience_epochs(tmp_path):
    # no epoch can cut the loss by 99%: the first sets the best, the next 2 do not improve
    module = CriticModule(config(patience=2, tolerance=0.99), WIDTH)
    fit = fit_critic(module, easy(), epochs=50, root_dir=tmp_path)
    assert (fit.stopped, fit.epochs) == ("plateau", 3)


def test_the_step_cap_caps_optimizer_steps(tmp_path):
    module = CriticModule(config(batch_size=3, max_steps=7), WIDTH)
    fit = fit_critic(module, easy(count=8), epochs=10, root_dir=tmp_path)  # 3 batches an epoch
    assert (fit.steps, fit.epochs, fit.stopped) == (7, 3, "max_steps")
    uncapped = fit_critic(CriticModule(config(batch_size=3), WIDTH), easy(count=8), epochs=2)
    assert (uncapped.steps, uncapped.epochs, uncapped.stopped) == (6, 2, "")


def test_null_turns_the_optional_rules_off():
    module = CriticModule(
        config(max_steps=None, target_explained_variance=None, patience=None), WIDTH
    )
    t = module.train_settings
    assert (t.max_steps, t.target_explained_variance, t.patience) == (0, 0.0, 0)


def test_explained_variance_is_over_all_of_an_epochs_steps(tmp_path):
    # lr 0 and no dropout: the logged value is the fixed critic's, over every step
    module = CriticModule(config(lr=0.0, weight_decay=0.0, batch_size=2), WIDTH)
    data = easy(count=6)
    fit = fit_critic(module, data, epochs=1, root_dir=tmp_path)
    values = np.concatenate(module.values(data))
    rewards = np.concatenate(data.targets)
    expected = 1 - np.var(rewards - values) / np.var(rewards)
    assert fit.metrics["critic/explained_variance"] == pytest.approx(expected, rel=1e-4)


def test_rounds_train_first_round_epochs_then_epochs_and_report_them():
    critic = RoundCritic(config(first_round_epochs=4, epochs=2), WIDTH)
    epochs = [critic(r, trajectories(seed=r))[1]["critic/epochs"] for r in range(3)]
    assert epochs == [4, 2, 2]
    _, metrics, _ = critic(3, trajectories(seed=3))
    assert metrics["critic/train_seconds"] > 0 and metrics["critic/optimizer_steps"] == 2
    assert all(metrics[f"critic/stopped_{r}"] == 0.0 for r in STOP_REASONS)
    resumed = RoundCritic(config(first_round_epochs=4, epochs=2), WIDTH)
    resumed.load_state_dict(critic.state_dict())
    assert resumed(4, trajectories(seed=4))[1]["critic/epochs"] == 2
    untrained = RoundCritic(config(first_round_epochs=4, epochs=2), WIDTH)
    resumed.load_state_dict(untrained.state_dict())  # e.g. interrupted in its first round
    assert resumed(0, trajectories())[1]["critic/epochs"] == 4


def test_the_seeds_schedule_trains_50_epochs_every_round():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        composed = compose("config", ["+experiment=unified", *SEED_SCHEDULE])
    critic = RoundCritic(composed.critic, WIDTH)
    for r in range(2):
        _, metrics, _ = critic(r, trajectories(count=2, length=2, seed=r))
        assert metrics["critic/epochs"] == 50
        assert all(metrics[f"critic/stopped_{reason}"] == 0.0 for reason in STOP_REASONS)


@pytest.mark.parametrize(
    "key, value",
    [
        ("first_round_epochs", -1),
        ("epochs", -1),
        ("max_steps", -5),
        ("target_explained_variance", 1.5),
        ("target_explained_variance", -0.1),
        ("patience", -1),
        ("tolerance", 1.0),
        ("batch_size", 0),
        ("print_every", 0),
    ],
)
def test_bad_schedule_settings_are_named(key, value):
    with pytest.raises(ValueError, match=f"critic.train.{key} must be"):
        CriticModule(config(**{key: value}), WIDTH)


def test_the_plain_baseline_is_the_rounds_mean_target():
    critic = RoundCritic(OmegaConf.merge(config(), {"baseline": "mean"}), WIDTH)
    found = trajectories(count=3, length=2)
    result, metrics, _ = critic(0, found)
    targets = CriticData.from_trajectories(found, critic.returns).targets
    mean = np.concatenate(targets).mean()
    for a, g in zip(result, targets, strict=True):
        np.testing.assert_allclose(a, g - mean, rtol=1e-5, atol=1e-6)
    assert "critic/epochs" not in metrics and not critic.warm
    with pytest.raises(ValueError, match=r"critic\.baseline must be one of critic, mean"):
        RoundCritic(OmegaConf.merge(config(), {"baseline": "median"}), WIDTH)
