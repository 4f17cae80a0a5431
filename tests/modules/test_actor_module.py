"""ActorModule under Lightning: the manual update (explicit gradients, clipping, SGD),
logging, rule re-encoding, checkpoints, the actor weight file, and a supervised sanity
check of the value head."""

import dataclasses
import struct

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from src.config import default_config
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.expr import parse_sexpr
from src.modules.actor import ActorModule, step_batch
from src.modules.kernels import PARAM_GROUPS, LossSettings, StepBatch, loss_and_gradients
from src.modules.policy import latency_prior
from src.modules.weights import ActorWeightsError, load_actor_weights
from src.selfplay.rules import RULES

from .conftest import RULE_NAMES, TEMPLATES, actor_config, make_batch


def _loader(batch: StepBatch, batch_size: int, shuffle: bool = False):
    rows = [
        {f.name: torch.as_tensor(getattr(batch, f.name)[i]) for f in dataclasses.fields(batch)}
        for i in range(len(batch))
    ]
    return torch.utils.data.DataLoader(rows, batch_size=batch_size, shuffle=shuffle)


def _fit(actor, loader, epochs=1, tmp_path=None, logger=False):
    trainer = pl.Trainer(
        max_epochs=epochs,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(actor, loader)
    return trainer


def _with(config, **changes):
    merged = OmegaConf.merge(config, OmegaConf.create(changes))
    OmegaConf.set_readonly(merged, True)
    return merged


def test_seed_dimensions(actor):
    shape = actor.net.shape
    assert (shape.input_dim, shape.hidden, shape.embed, shape.mlp_hidden, shape.max_rules) == (
        130,
        64,
        24,
        16,
        1024,
    )
    interaction = actor.net.params["interaction"]
    assert np.abs(interaction - np.eye(24)).max() < 0.1
    assert actor.net.rule_embeddings.shape == (len(RULES), 24)


def test_one_step_is_sgd_on_the_clipped_explicit_gradient(tmp_path):
    config = _with(actor_config(), lr=0.5, momentum=0.0, weight_decay=0.01, grad_clip=0.05)
    actor = ActorModule(config, TEMPLATES, RULE_NAMES)
    batch = make_batch(actor.net, rows=16, seed=1)
    before = {name: array.copy() for name, array in actor.net.params.items()}
    _, grads = loss_and_gradients(before, batch, actor.loss_settings)
    norm = np.sqrt(sum(np.square(g, dtype=np.float64).sum() for g in grads.values()))
    assert norm > 0.05  # so the clip is active
    trainer = _fit(actor, _loader(batch, batch_size=16), tmp_path=tmp_path)
    for name, old in before.items():
        expected = old - 0.5 * (grads[name] * (0.05 / norm) + 0.01 * old)
        np.testing.assert_allclose(actor.net.params[name], expected, rtol=1e-4, atol=1e-6)
    logged = trainer.logged_metrics
    for part in ("policy", "value", "entropy", "total"):
        assert f"actor/loss_{part}" in logged
    for group in PARAM_GROUPS:
        assert float(logged[f"actor/grad_norm/{group}"]) >= 0.0
    assert float(logged["actor/grad_norm/total"]) == pytest.approx(norm, rel=1e-4)


def test_adam_steps_each_parameter_by_its_own_scale(tmp_path):
    # Adam's first step moves every weight by lr * g / (|g| + eps): the sign of its
    # gradient, whatever the gradient's size (a rule bias as far as a backbone weight)
    config = _with(actor_config(), optimizer="adam", lr=0.01, weight_decay=0.0, grad_clip=0.0)
    actor = ActorModule(config, TEMPLATES, RULE_NAMES)
    assert isinstance(actor.configure_optimizers(), torch.optim.Adam)
    batch = make_batch(actor.net, rows=16, seed=1)
    before = {name: array.copy() for name, array in actor.net.params.items()}
    _, grads = loss_and_gradients(before, batch, actor.loss_settings)
    _fit(actor, _loader(batch, batch_size=16), tmp_path=tmp_path)
    for name, old in before.items():
        g = grads[name].astype(np.float64)
        expected = old - 0.01 * g / (np.abs(g) + 1e-8)
        np.testing.assert_allclose(actor.net.params[name], expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match=r"actor\.optimizer must be one of sgd, adam"):
        ActorModule(_with(actor_config(), optimizer="lbfgs"), TEMPLATES)


def test_rule_embeddings_follow_the_backbone(actor, tmp_path):
    before = actor.net.rule_embeddings.copy()
    _fit(actor, _loader(make_batch(actor.net, rows=32, seed=2), batch_size=16), tmp_path=tmp_path)
    after = actor.net.rule_embeddings
    assert not np.allclose(before, after)
    fresh = actor.net.encode_rules(TEMPLATES)
    np.testing.assert_allclose(after, fresh, rtol=1e-6, atol=1e-7)


def test_the_value_head_learns_known_costs(tmp_path):
    """The supervised sanity check: value targets ln(static cost) of a few hundred
    BwdGenerator expressions; the value loss must fall at least 10x. The actor is built as
    the training loop builds it, with the latency prior from the static cost table."""
    actor = ActorModule(actor_config(), TEMPLATES, RULE_NAMES, latency_prior(default_config()))
    model = default_static_model()
    generator = BwdGenerator(default_generator_settings(), RULES, model)
    exprs = [side for seed in range(150) for side in generator.pair(seed)[:2]]
    rows = len(exprs)
    zeros = np.zeros(rows, dtype=np.float32)
    batch = StepBatch(
        features=actor.net.features(exprs),
        rule_embedding=np.zeros((rows, 24), dtype=np.float32),
        rule_index=np.zeros(rows, dtype=np.int64),
        approved=zeros,
        advantage=zeros,
        value_target=np.log([model.cost(e) for e in exprs]).astype(np.float32),
    )

    def value_loss():
        return float(np.mean((actor.net.value(batch.features) - batch.value_target) ** 2))

    before = value_loss()
    torch.manual_seed(0)
    _fit(actor, _loader(batch, batch_size=32, shuffle=True), epochs=40, tmp_path=tmp_path)
    after = value_loss()
    print(f"value loss {before:.3f} -> {after:.4f} ({before / after:.0f}x)")
    assert after * 10 <= before, (before, after)


def test_lightning_checkpoint_restores_the_actor(actor, tmp_path):
    trainer = _fit(actor, _loader(make_batch(actor.net, rows=16, seed=3), 8), tmp_path=tmp_path)
    path = tmp_path / "actor.ckpt"
    trainer.save_checkpoint(path)
    restored = ActorModule(actor_config(), TEMPLATES, RULE_NAMES)
    restored.load_state_dict(torch.load(path, weights_only=True)["state_dict"])
    x = actor.net.features([parse_sexpr("(* (+ x 1) (sin y))")])[0]
    np.testing.assert_array_equal(restored.net.score_all_rules(x), actor.net.score_all_rules(x))


def test_weight_file_round_trip(actor, tmp_path):
    _fit(actor, _loader(make_batch(actor.net, rows=16, seed=4), 8), tmp_path=tmp_path)
    path = tmp_path / "actor.pxw"
    actor.save_weights(path)
    net, names = load_actor_weights(path)
    assert names == RULE_NAMES
    for name, array in {**actor.net.params, **actor.net.fixed}.items():
        np.testing.assert_array_equal(array, {**net.params, **net.fixed}[name])
    fresh = ActorModule(actor_config(), TEMPLATES, RULE_NAMES)
    fresh.load_weights(path)
    x = actor.net.features([parse_sexpr("(sqrt (+ (* x x) 1))")])[0]
    np.testing.assert_array_equal(fresh.net.score_all_rules(x), actor.net.score_all_rules(x))


def _rewrite(path, edit):
    blob = bytearray(path.read_bytes())
    edit(blob)
    path.write_bytes(bytes(blob))


def test_bad_weight_files_are_clear_errors(actor, tmp_path):
    good = tmp_path / "good.pxw"
    actor.save_weights(good)
    cases = {
        "missing": (lambda p: p.unlink(), "cannot read"),
        "magic": (
            lambda p: _rewrite(p, lambda b: b.__setitem__(0, ord("Q"))),
            "not a pixelflow actor",
        ),
        "flipped": (
            lambda p: _rewrite(p, lambda b: b.__setitem__(len(b) // 2, b[len(b) // 2] ^ 1)),
            "checksum",
        ),
        "truncated": (lambda p: p.write_bytes(p.read_bytes()[:-100]), "checksum"),
        "version": (
            lambda p: _rewrite(p, lambda b: b.__setitem__(slice(8, 12), struct.pack("<I", 99))),
            "version 99",
        ),
        "empty": (lambda p: p.write_bytes(b""), "not a pixelflow actor"),
    }
    for name, (damage, message) in cases.items():
        path = tmp_path / f"{name}.pxw"
        path.write_bytes(good.read_bytes())
        damage(path)
        with pytest.raises(ActorWeightsError, match=message) as error:
            load_actor_weights(path)
        assert str(path) in str(error.value)


def test_weight_file_for_another_actor_is_refused(actor, tmp_path):
    path = tmp_path / "actor.pxw"
    actor.save_weights(path)
    wider = ActorModule(_with(actor_config(), net={"hidden": 32}), TEMPLATES, RULE_NAMES)
    with pytest.raises(ValueError, match="other widths"):
        wider.load_weights(path)
    fewer_rules = ActorModule(actor_config(), TEMPLATES[:5], RULE_NAMES[:5])
    with pytest.raises(ValueError, match="another rule table"):
        fewer_rules.load_weights(path)


def test_batches_and_rule_tables_are_checked(actor):
    with pytest.raises(ValueError, match="lacks \\['rule_embedding'"):
        step_batch({"features": torch.zeros(2, 130)}, np.float32)
    with pytest.raises(ValueError, match="max_rules"):
        ActorModule(_with(actor_config(), net={"max_rules": 10}), TEMPLATES, RULE_NAMES)
    with pytest.raises(ValueError, match="rule names"):
        ActorModule(actor_config(), TEMPLATES, RULE_NAMES[:3])


def test_latency_prior_comes_from_the_static_cost_table():
    config = default_config()
    prior = latency_prior(config)
    assert prior == dict(config.cost.static.ops)
    off = _with(config, actor={"features": {"latency_prior": False}})
    assert latency_prior(off) is None
    with_prior = ActorModule(config.actor, TEMPLATES, RULE_NAMES, prior)
    assert with_prior.net.fixed["op_embeddings"][:, 0].max() == pytest.approx(1.0)


def test_loss_settings_reach_the_kernels():
    actor = ActorModule(_with(actor_config(), value_coeff=0.25, entropy_coeff=0.125), TEMPLATES)
    assert actor.loss_settings == LossSettings(value_coeff=0.25, entropy_coeff=0.125)


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match=r"config actor\.lr must be float"):
        ActorModule(_with(actor_config(), lr="fast"), TEMPLATES)
    with pytest.raises(ValueError, match=r"actor\.net\.hidden must be a positive int"):
        ActorModule(_with(actor_config(), net={"hidden": 0}), TEMPLATES)
    with pytest.raises(ValueError, match="op_dim must be an even number"):
        ActorModule(_with(actor_config(), features={"op_dim": 7}), TEMPLATES)
