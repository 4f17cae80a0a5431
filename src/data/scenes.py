"""Signed-distance scenes over x, y, z, written the way a hurried graphics programmer
writes them: the large kernels where the choice of rewrite rules matters.

A scene is a tree of primitives (sphere, box, rounded box, torus, capsule, plane), each
seen through its own transform (a translation, a rotation by a constant angle about one
axis, a uniform scale), joined by unions (min), intersections (max), differences
(max(a, -b)) and smooth unions (the exp/log soft minimum), until the scene has at least a
target number of DAG nodes. The code is redundant on purpose, as such code is: squares
as ``pow(v, 2)``, the cosine and sine of each constant angle recomputed where they are
used, every length computed again by each primitive that needs it, a plane's normal
normalized in place each time. The same (seed, index, target) always gives the same
scene; every knob is in ``conf/data`` (``scenes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from src.config import conf_group
from src.expr import Expr, VarRange, parse_infix

# fewer DAG nodes than one primitive has: no scene is smaller (the smallest scene target)
MIN_DAG_NODES = 50
PRIMITIVES = ("sphere", "box", "rounded_box", "torus", "capsule", "plane")
COMBINATIONS = ("union", "intersection", "difference", "smooth_union")


@dataclass(frozen=True)
class SceneSettings:
    """``data.scenes`` in conf."""

    seed: int
    primitives: Mapping[str, float]  # relative weight of each primitive
    combinations: Mapping[str, float]  # relative weight of each way of joining two scenes
    centre: float  # primitives are centred uniformly in [-centre, centre]^3
    size: tuple[float, float]  # a primitive's size (radius, half extent) is drawn from this
    corner: tuple[float, float]  # a rounded box's corner radius, as a fraction of its size
    tube_divisor: float  # a torus's tube radius is its ring radius over this
    capsule_divisor: float  # a capsule's radius is its half length over this
    scale: tuple[float, float]  # a primitive's uniform scale is drawn from this
    smoothness: tuple[float, float]  # k of the soft minimum -log(exp(-k a) + exp(-k b)) / k
    rotate_probability: float  # chance that a primitive is turned by a constant angle
    range: float  # x, y, z range over [-range, range] when the scene is optimized
    max_primitives: int  # a scene that has not reached its target by then is returned as is

    def __post_init__(self) -> None:
        for name, weights, known in (
            ("primitives", self.primitives, PRIMITIVES),
            ("combinations", self.combinations, COMBINATIONS),
        ):
            unknown = sorted(set(weights) - set(known))
            if unknown or not any(w > 0 for w in weights.values()):
                raise ValueError(
                    f"data.scenes.{name}: weights of {', '.join(known)} (some positive); "
                    f"unknown: {unknown}"
                )

    @classmethod
    def from_config(cls, config: Mapping) -> SceneSettings:
        values = dict(config)
        for key in ("primitives", "combinations"):
            values[key] = {str(k): float(v) for k, v in dict(values[key]).items()}
        for key in ("size", "corner", "scale", "smoothness"):
            values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


def default_scene_settings() -> SceneSettings:
    return SceneSettings.from_config(conf_group("data").scenes)


def _number(value: float) -> str:
    return f"({value:.4g})"


class SceneGenerator:
    def __init__(self, settings: SceneSettings) -> None:
        self.settings = settings

    def ranges(self) -> dict[str, VarRange]:
        r = self.settings.range
        return {name: VarRange(-r, r) for name in "xyz"}

    def scene(self, index: int, min_dag_nodes: int) -> Expr:
        """The ``index``-th scene of at least ``min_dag_nodes`` DAG nodes (fewer only if
        ``max_primitives`` primitives do not reach it)."""
        rng = np.random.default_rng([self.settings.seed, index, min_dag_nodes])
        text, primitives = self._primitive(rng), 1
        while primitives < self.settings.max_primitives:
            expr = parse_infix(text)
            if expr.dag_nodes >= min_dag_nodes:
                return expr
            text = self._combine(text, self._primitive(rng), rng)
            primitives += 1
        return parse_infix(text)

    # -- joining

    def _combine(self, a: str, b: str, rng: np.random.Generator) -> str:
        kind = _weighted(self.settings.combinations, rng)
        if kind == "union":
            return f"min({a}, {b})"
        if kind == "intersection":
            return f"max({a}, {b})"
        if kind == "difference":
            return f"max({a}, -({b}))"
        k = _number(rng.uniform(*self.settings.smoothness))
        return f"(-log(exp(-{k} * {a}) + exp(-{k} * {b})) / {k})"

    # -- a primitive in its own frame

    def _frame(self, rng: np.random.Generator) -> tuple[str, str, str, str]:
        """The point in the primitive's frame (translated, maybe turned about one axis,
        scaled) as three texts, and the scale its distance is multiplied back by."""
        s = self.settings
        centre = rng.uniform(-s.centre, s.centre, 3)
        scale = _number(rng.uniform(*s.scale))
        p = [f"(x - {_number(centre[0])})", f"(y - {_number(centre[1])})"]
        p.append(f"(z - {_number(centre[2])})")
        if rng.random() < s.rotate_probability:
            axis = int(rng.integers(3))
            angle = _number(rng.uniform(0.0, np.pi))
            i, j = [k for k in range(3) if k != axis]
            # cos and sin of the constant, recomputed in both coordinates
            p[i], p[j] = (
                f"(cos({angle}) * {p[i]} + sin({angle}) * {p[j]})",
                f"(cos({angle}) * {p[j]} - sin({angle}) * {p[i]})",
            )
        x, y, z = (f"({c} / {scale})" for c in p)
        return x, y, z, scale

    def _primitive(self, rng: np.random.Generator) -> str:
        s = self.settings
        kind = _weighted(s.primitives, rng)
        x, y, z, scale = self._frame(rng)
        size_value = float(rng.uniform(*s.size))
        size = _number(size_value)
        if kind == "sphere":
            distance = f"(sqrt(pow({x}, 2) + pow({y}, 2) + pow({z}, 2)) - {size})"
        elif kind in ("box", "rounded_box"):
            # a rounded box is a smaller box grown by its corner radius
            corner = _number(rng.uniform(*s.corner) * size_value) if kind == "rounded_box" else ""
            inner = f"({size} - {corner})" if corner else size
            q = [f"(abs({c}) - {inner})" for c in (x, y, z)]
            squares = " + ".join(f"pow(max({c}, 0), 2)" for c in q)
            inside = f"min(max({q[0]}, max({q[1]}, {q[2]})), 0)"
            rounding = f" - {corner}" if corner else ""
            distance = f"(sqrt({squares}) + {inside}{rounding})"
        elif kind == "torus":
            ring = f"(sqrt(pow({x}, 2) + pow({z}, 2)) - {size})"
            tube = f"{size} / {_number(s.tube_divisor)}"
            distance = f"(sqrt(pow({ring}, 2) + pow({y}, 2)) - {tube})"
        elif kind == "capsule":
            # a segment along y from -size to size; the nearest point clamped onto it
            t = f"min(max({y} / {size}, -1), 1)"
            along = f"({y} - {t} * {size})"
            radius = f"{size} / {_number(s.capsule_divisor)}"
            distance = f"(sqrt(pow({x}, 2) + pow({along}, 2) + pow({z}, 2)) - {radius})"
        else:  # a plane through the frame's origin, its normal normalized where used
            n = rng.normal(size=3)
            nx, ny, nz = (_number(v) for v in n)
            length = f"sqrt(pow({nx}, 2) + pow({ny}, 2) + pow({nz}, 2))"
            distance = (
                f"({x} * ({nx} / {length}) + {y} * ({ny} / {length}) + {z} * ({nz} / {length}))"
            )
        return f"({distance} * {scale})"


def _weighted(weights: Mapping[str, float], rng: np.random.Generator) -> str:
    names = [k for k, w in weights.items() if w > 0]
    p = np.array([weights[k] for k in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]
