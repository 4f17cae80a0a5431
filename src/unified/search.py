"""Optimizing one expression, by each of the methods ``evaluate.py`` compares and the
one ``optimize.py`` uses (the trained guide). Every result is checked and guarded: the
answer is the fastest, by one paired measurement, of the input and the run's extracted
candidates that compute what the input does on sampled inputs
(``src/selfplay/fastest.py``), so no method hands back a slower kernel. The raw final
extraction is reported beside it (``raw_ns_after``), so comparisons stay honest.

Nothing here imports torch: a training checkpoint (``.ckpt``) is read through the
actor's LightningModule, imported only when one is given.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from omegaconf import OmegaConf

from src.config import PROJECT_ROOT
from src.cost.jit import Jit, default_jit_settings
from src.cost.measure import CostMeter, default_meter
from src.cost.static import StaticCostModel, default_static_model
from src.expr import Expr, VarRange
from src.modules.policy import ActorPolicy, fresh_net, latency_prior
from src.modules.weights import load_actor_weights
from src.selfplay.check import SeedCheck
from src.selfplay.egraph import EGraphEnv
from src.selfplay.fastest import Choice, fastest
from src.selfplay.rules import RULES
from src.selfplay.runner import Policy, RunnerSettings, run_trajectory
from src.selfplay.settings import runner_settings_from

if TYPE_CHECKING:
    from src.modules.actor import ActorModule

# each saturation method and the egglog scheduler it runs (EGraphEnv.saturate)
SATURATION_SCHEDULERS = {"saturation": "backoff", "saturation-simple": "simple"}


@dataclass
class Optimized:
    """One method's result on one expression: ``output`` is the guarded answer (see the
    module docstring); ``raw_ns_after`` the final extraction's cost from the same paired
    measurement (None when it failed the semantic check; ``ok`` is False then and
    ``note`` says why), ``candidates_measured`` how many extractions were compared with
    the input."""

    method: str
    name: str
    input: Expr
    output: Expr
    ns_before: float
    ns_after: float
    max_rel_error: float
    ok: bool
    rules_applied: list[str]
    egraph_nodes: int
    seconds: float
    note: str = ""
    raw_ns_after: float | None = None
    candidates_measured: int = 0
    epochs: int = 0  # a guided search's epochs (saturation: its iterations)
    raw_output: Expr | None = None  # the final extraction (raw_ns_after is its cost)

    @property
    def speedup(self) -> float:
        return self.ns_before / self.ns_after if self.ns_after > 0 else float("nan")

    @property
    def raw_speedup(self) -> float | None:
        """The final extraction's speedup, unguarded (None when it failed the check)."""
        if self.raw_ns_after is None or self.raw_ns_after <= 0:
            return None
        return self.ns_before / self.raw_ns_after


def _guarded(
    method: str, name: str, expr: Expr, choice: Choice, rules: list[str], nodes: int, start: float
) -> Optimized:
    return Optimized(
        method, name, expr, choice.output, choice.seed_ns, choice.output_ns,
        choice.output_error, not choice.final_disagreement, rules, nodes,
        time.perf_counter() - start, choice.final_disagreement, choice.final_ns,
        choice.candidates_measured, raw_output=choice.final,
    )  # fmt: skip


def runner_settings(config: Mapping) -> RunnerSettings:
    return runner_settings_from(config["selfplay"]["runner"], "selfplay.runner")


class RandomPolicy:
    """Approves ``rules_per_epoch`` rules drawn uniformly at random each epoch (as
    probability 1, the others far below, so the threshold keeps exactly those)."""

    def __init__(self, rules_per_epoch: int, seed: int) -> None:
        self.count = rules_per_epoch
        self.rng = np.random.default_rng(seed)

    def features(self, expr: Expr) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)

    def state(self, features: np.ndarray, budget: int, grown: int) -> np.ndarray:
        return features

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """1 for the drawn rules; the others get a random order below them, summing to
        under 0.5, so that top_k's round(sum p) approves the drawn ones and a walk down
        the ranking (``walk_down``) goes on in random order."""
        p = self.rng.random(len(RULES)) / (2 * len(RULES))
        chosen = self.rng.choice(len(RULES), size=min(self.count, len(RULES)), replace=False)
        p[chosen] = 1.0
        return p

    def rule_embedding(self, index: int) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)


def resolve_checkpoint(value: str) -> Path:
    """A checkpoint path as given, or relative to the project (where the shipped guide
    lives) when it is relative and not found from the current folder."""
    path = Path(value)
    if not path.is_absolute() and not path.exists() and (PROJECT_ROOT / path).exists():
        return PROJECT_ROOT / path
    return path


def actor_policy(config: Mapping, checkpoint: Path | None) -> ActorPolicy:
    """The actor in ``checkpoint`` (an actor weight file, or a Lightning checkpoint of a
    training run), or an untrained one built from ``config`` when it is None."""
    templates = [(rule.lhs, rule.rhs) for rule in RULES]
    if checkpoint is None:
        net = fresh_net(config["actor"], latency_prior(config))
        net.encode_rules(templates)
        return ActorPolicy(net)
    if Path(checkpoint).suffix == ".pxw":
        net, _ = load_actor_weights(Path(checkpoint), rules=[r.name for r in RULES])
        net.encode_rules(templates)
        return ActorPolicy(net)
    return checkpoint_actor(config, Path(checkpoint)).policy()


def checkpoint_actor(config: Mapping, checkpoint: Path) -> ActorModule:
    """The ``ActorModule`` of a training run's Lightning checkpoint (a torch file: only
    this path imports torch); ValueError naming the file when it cannot be one."""
    import torch

    from src.modules.actor import ACTOR_SETTINGS_KEY, ActorModule, check_checkpoint_rules

    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        state = saved["state_dict"]
    except OSError as error:
        raise ValueError(f"{checkpoint}: cannot read: {error.strerror}") from None
    except Exception as error:  # torch raises many kinds for a file it cannot read
        raise ValueError(f"{checkpoint}: not a checkpoint ({type(error).__name__})") from None
    # the actor's own encoding and widths, where the checkpoint records them
    actor_config = OmegaConf.merge(config["actor"], saved.get(ACTOR_SETTINGS_KEY, {}))
    templates = [(rule.lhs, rule.rhs) for rule in RULES]
    rule_names = [r.name for r in RULES]
    actor = ActorModule(actor_config, templates, rule_names, latency_prior(config))
    check_checkpoint_rules(saved, actor.rule_names, str(checkpoint))
    actor.load_state_dict(state)
    return actor


def guided(
    name: str,
    expr: Expr,
    ranges: Mapping[str, VarRange],
    policy: Policy,
    settings: RunnerSettings,
    method: str = "guide",
    model: StaticCostModel | None = None,
    meter: CostMeter | None = None,
) -> Optimized:
    """The policy's search by the runner with the settings' approval rule; a sampling
    rule draws from a stream seeded by ``sample_seed`` and the expression's text, so the
    same input gets the same answer."""
    model, meter = model or default_static_model(), meter or default_meter()
    start = time.perf_counter()
    rng = np.random.default_rng([settings.sample_seed, zlib.crc32(expr.text.encode())])
    outcome = run_trajectory(
        expr, ranges, policy, RULES, settings, model, meter, rng, name, sample=False
    )
    assert outcome.choice is not None  # every run that ends measures its candidates
    result = _guarded(
        method, name, expr, outcome.choice, outcome.rules_applied, outcome.egraph_nodes, start
    )
    return dataclasses.replace(result, epochs=outcome.epochs)


def saturated(
    name: str,
    expr: Expr,
    ranges: Mapping[str, VarRange],
    limits: Mapping[str, float],
    settings: RunnerSettings,
    model: StaticCostModel | None = None,
    meter: CostMeter | None = None,
    scheduler: str = "backoff",
) -> Optimized:
    """egglog equality saturation with every rule (``scheduler``: ``backoff`` or
    ``simple``, see ``EGraphEnv.saturate``; the limits in ``selfplay.saturation``); its
    candidates are the extractions at each limit check."""
    model, meter = model or default_static_model(), meter or default_meter()
    start = time.perf_counter()
    env = EGraphEnv(
        expr, RULES, model, node_budget=int(limits["max_nodes"]), fold=settings.fold_constants
    )
    extractions: list[Expr] = []
    report = env.saturate(
        **limits, on_check=lambda: extractions.append(env.extract()[0]), scheduler=scheduler
    )
    extractions.append(env.extract()[0])
    choice = fastest(expr, extractions, ranges, settings, meter)
    method = next(m for m, s in SATURATION_SCHEDULERS.items() if s == scheduler)
    result = _guarded(method, name, expr, choice, [], env.node_count(), start)
    return dataclasses.replace(result, epochs=report.iterations)


def fast_math_meter() -> CostMeter:
    """A meter whose kernels are compiled with LLVM's fast-math flags."""
    return CostMeter(Jit(dataclasses.replace(default_jit_settings(), fast_math=True)))


def fast_math(
    name: str,
    expr: Expr,
    ranges: Mapping[str, VarRange],
    fast: CostMeter,
    settings: RunnerSettings,
    meter: CostMeter | None = None,
) -> Optimized:
    """The input as it is, compiled with fast-math flags (what ``-ffast-math`` gives),
    its outputs judged like any rewrite's (``SeedCheck.judge``). Guarded like the others:
    when the fast-math build measures slower, the answer is the plain build. (The two
    builds come from two meters, so this one comparison is not paired.)"""
    meter = meter or default_meter()
    start = time.perf_counter()
    check = SeedCheck(expr, ranges, settings)
    kernel = fast.jit.compile(expr)
    disagreement, error = check.judge(kernel(check.inputs, n=settings.check_elements))
    ok = not disagreement
    before = meter.measure(expr, ranges).ns_per_element
    raw = fast.measure(expr, ranges).ns_per_element if ok else None
    after = before if raw is None else min(raw, before)
    return Optimized(
        "fast-math", name, expr, expr, before, after,
        error, ok, [], 0, time.perf_counter() - start, disagreement, raw, int(ok),
    )  # fmt: skip
