"""Large training and evaluation seeds (src/data): generated SDF scenes, composed
BwdGenerator pairs and the size ladder."""

import dataclasses

import numpy as np
import pytest

from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.data.ladder import SizeLadder, default_ladder
from src.data.scenes import SceneGenerator, SceneSettings, default_scene_settings
from src.expr import evaluate
from src.selfplay.rules import RULES

OPS = ["add", "mul", "min", "max", "sub"]


def _values(expr, inputs):
    with np.errstate(all="ignore"):
        return np.broadcast_to(
            evaluate(expr, inputs, np.float64), next(iter(inputs.values())).shape
        )


@pytest.mark.parametrize("target", [50, 150, 600, 2500])
def test_scenes_reach_their_size_and_are_finite_on_most_of_their_range(target):
    generator = SceneGenerator(default_scene_settings())
    rng = np.random.default_rng(target)
    r = generator.settings.range
    inputs = {v: rng.uniform(-r, r, 2000) for v in "xyz"}
    for index in range(3):
        scene = generator.scene(index, target)
        assert target <= scene.dag_nodes <= target + 250  # one primitive past the target
        assert scene.variables <= {"x", "y", "z"}
        assert np.mean(np.isfinite(_values(scene, inputs))) >= 0.9


def test_scenes_are_seeded_and_deterministic():
    settings = default_scene_settings()
    one, two = SceneGenerator(settings), SceneGenerator(settings)
    assert one.scene(3, 300) is two.scene(3, 300)  # interned: the same expression
    other = SceneGenerator(dataclasses.replace(settings, seed=settings.seed + 1))
    assert other.scene(3, 300) is not one.scene(3, 300)
    assert one.scene(4, 300) is not one.scene(3, 300)


def test_scenes_write_squares_as_pow_and_recompute_constants():
    text = SceneGenerator(default_scene_settings()).scene(0, 600).text
    assert "(pow " in text and "(cos " in text and "(sqrt " in text


def test_scene_settings_refuse_unknown_primitives():
    values = dataclasses.asdict(default_scene_settings())
    with pytest.raises(ValueError, match=r"data\.scenes\.primitives"):
        SceneSettings(**(values | {"primitives": {"teapot": 1.0}}))


@pytest.mark.parametrize("target", [10, 100, 400])
def test_composed_pairs_compute_what_their_optimized_side_computes(target):
    generator = BwdGenerator(default_generator_settings(), RULES, default_static_model())
    rng = np.random.default_rng(0)
    for index in range(3):
        optimized, junk, pieces = generator.composed(index, target, OPS, 400)
        assert junk.dag_nodes >= target and pieces >= 1
        inputs = {v: rng.uniform(-3, 3, 512) for v in junk.variables | optimized.variables}
        a, b = _values(optimized, inputs), _values(junk, inputs)
        both = np.isfinite(a) & np.isfinite(b)
        assert np.mean(both) > 0.25
        assert np.allclose(a[both], b[both], rtol=1e-5, atol=1e-6)


def test_composition_refuses_unary_ops():
    generator = BwdGenerator(default_generator_settings(), RULES, default_static_model())
    with pytest.raises(ValueError, match="binary ops"):
        generator.composed(0, 50, ["sin"], 10)


def test_the_ladder_buckets_hold_what_their_names_say():
    ladder = default_ladder()
    assert ladder.names == ["small", "medium", "large", "huge"]
    assert [ladder.bucket(n) for n in (1, 30, 31, 150, 151, 600, 601, 2500, 2501)] == [
        "small", "small", "medium", "medium", "large", "large", "huge", "huge", "huge+",
    ]  # fmt: skip
    assert ladder.span("large") == (151, 600)
    with pytest.raises(ValueError, match="increase"):
        SizeLadder((("a", 10), ("b", 5)))
