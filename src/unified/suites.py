"""The expressions an evaluation (or a validation during training) optimizes, by suite:

- ``pairs``: composed BwdGenerator pairs (``BwdGenerator.composed``: optimized pieces
  joined, each junkified) from a generator seed training never uses, spread evenly over
  the size ladder's buckets; their optimized side is known, so recovery can be reported;
- ``fpcore``: the FPBench corpus kernels self-play never starts from
  (``corpus.trainable``: the held-out share, and every kernel over training's size cap,
  Fidget's SDF scenes among them);
- ``scenes``: generated SDF scenes (``src/data/scenes.py``) from a scene seed training
  never uses, spread over the buckets from medium up (a scene has 50+ nodes);
- ``file``: the kernels of any FPCore file (each file is its own suite, named by its stem).

Every case carries its size bucket (``src/data/ladder.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.config import conf_group
from src.cost.static import default_static_model
from src.data.bwd_generator import BwdGenerator, default_generator_settings
from src.data.corpus import load_corpus, trainable
from src.data.ladder import SizeLadder, default_ladder
from src.data.scenes import MIN_DAG_NODES, SceneGenerator, default_scene_settings
from src.expr import NUM, Expr, VarRange
from src.expr.fpcore import KernelError
from src.expr.inputs import read_kernel_file
from src.expr.kernel import Kernel
from src.expr.settings import default_range
from src.selfplay.rules import RULES

SUITES = ("pairs", "fpcore", "scenes")


@dataclass(frozen=True)
class Case:
    """One expression to optimize; ``best`` is a pair's optimized side (None otherwise)."""

    suite: str
    name: str
    expr: Expr
    ranges: Mapping[str, VarRange]
    best: Expr | None
    size: str  # the size bucket


def _targets(ladder: SizeLadder, buckets: Sequence[str], count: int, seed: int) -> list[int]:
    """``count`` target sizes, as evenly spread over ``buckets`` as ``count`` allows, each
    drawn uniformly from its bucket's span."""
    rng = np.random.default_rng(seed)
    return [ladder.draw(buckets[k % len(buckets)], rng) for k in range(count)]


def pair_cases(count: int, bwd_seed: int, ladder: SizeLadder) -> list[Case]:
    settings = dataclasses.replace(default_generator_settings(), seed=bwd_seed)
    generator = BwdGenerator(settings, RULES, default_static_model())
    compose = conf_group("data").compose
    ops, max_pieces = [str(op) for op in compose.ops], int(compose.max_pieces)
    found = []
    for index, target in enumerate(_targets(ladder, ladder.names, count, bwd_seed)):
        optimized, junk, _ = generator.composed(index, target, ops, max_pieces)
        ranges = {v: default_range() for v in junk.variables}
        size = ladder.bucket(junk.dag_nodes)
        found.append(Case("pairs", f"pair-{index}", junk, ranges, optimized, size))
    return found


def scene_cases(count: int, scene_seed: int, ladder: SizeLadder) -> list[Case]:
    generator = SceneGenerator(dataclasses.replace(default_scene_settings(), seed=scene_seed))
    buckets = [b for b in ladder.names if ladder.span(b)[1] >= MIN_DAG_NODES]
    found = []
    for index, target in enumerate(_targets(ladder, buckets, count, scene_seed)):
        expr = generator.scene(index, target)
        size = ladder.bucket(expr.dag_nodes)
        found.append(Case("scenes", f"scene-{index}", expr, generator.ranges(), None, size))
    return found


def kernel_cases(
    suite: str, kernels: Sequence[Kernel], max_dag_nodes: int, ladder: SizeLadder
) -> tuple[list[Case], list[str]]:
    """The numeric kernels up to ``max_dag_nodes``, and the names of the others."""
    found, skipped = [], []
    for kernel in kernels:
        if kernel.body.sort != NUM or kernel.body.dag_nodes > max_dag_nodes:
            skipped.append(kernel.name)
            continue
        size = ladder.bucket(kernel.body.dag_nodes)
        found.append(Case(suite, kernel.name, kernel.body, dict(kernel.ranges), None, size))
    return found, skipped


def file_kernels(path: Path) -> list[Kernel]:
    """Every kernel of the FPCore file at ``path``; ValueError naming the file, line and
    column of the first one that does not parse, or why the file cannot be read."""
    try:
        items = read_kernel_file(path, "fpcore")
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or error
        raise ValueError(f"{path}: cannot read: {why}") from None
    for item in items:
        if isinstance(item, KernelError):
            raise ValueError(str(item.error))
    if not items:
        raise ValueError(f"{path}: no FPCore in the file")
    return items


def cases(config: Mapping) -> tuple[list[Case], list[str]]:
    """The cases of the suites and files ``config`` names (``suites``, ``file``), and
    the names of skipped kernels. ValueError for an unknown suite or a bad file."""
    ladder = default_ladder()
    files = config["file"] or []
    files = [files] if isinstance(files, str) else list(files)
    suites = config["suites"]
    suites = ([] if files else list(SUITES)) if suites is None else list(suites)
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown suites {unknown}; choose from {', '.join(SUITES)}")
    limit = int(config["max_dag_nodes"])
    found: list[Case] = []
    skipped: list[str] = []
    for path in files:  # read first, so that a bad file stops the run before any work
        kernels = file_kernels(Path(path))
        more, passed = kernel_cases(Path(path).stem, kernels, limit, ladder)
        found += more
        skipped += passed
    if "pairs" in suites:
        found += pair_cases(int(config["pairs"]), int(config["pairs_bwd_seed"]), ladder)
    if "fpcore" in suites:  # the kernels self-play never starts from
        selfplay = config["data"]["selfplay"]
        held_out = [
            k
            for k in load_corpus()[0]
            if not trainable(k, selfplay["corpus_holdout"], selfplay["corpus_max_dag_nodes"])
        ]
        more, passed = kernel_cases("fpcore", held_out, limit, ladder)
        found += more
        skipped += passed
    if "scenes" in suites:
        found += scene_cases(int(config["scenes"]), int(config["scenes_seed"]), ladder)
    return found, skipped
