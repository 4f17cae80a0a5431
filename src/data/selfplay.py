"""SelfPlayDataModule: each epoch (one round) regenerates the round's trajectories with
the current actor, writes them, has the critic score them, and serves the steps with
their advantages to the actor's update.

``train_dataloader`` runs, in order (Lightning calls it every epoch because the trainer
is built with ``reload_dataloaders_every_n_epochs=1``):

GENERATE  trajectories from this round's seeds (BwdGenerator junk sides, and a share of
          corpus kernels), in worker processes, with a snapshot of the current actor;
          deterministic for a given seed and round: each trajectory draws from its own
          random stream (seed, round, index).
EXPORT    ``trajectories_rNNN.jsonl`` (atomic).
CRITIQUE  the critic trains on them and gives A_t; ``advantages_rNNN.jsonl``.
then      batches of steps (state, rule, approved, A_t, value target ln final_cost_ns)
          for the actor's training_step (UPDATE).

The actor and the critic are passed in as callables (this layer does not import them).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from src.config import settings_from_config
from src.data.ladder import SizeLadder
from src.data.returns import growth
from src.data.rollout import RolloutTask, run_task
from src.data.schema import Trajectory, TrajectoryAdvantages, write_advantages, write_trajectories
from src.selfplay.rules import FAMILIES, RULES
from src.selfplay.runner import (
    RUNNER_PHASES,
    Policy,
    RunnerSettings,
    RunOutcome,
)
from src.selfplay.settings import runner_settings_from
from src.workers import TaskPool, WorkerSettings

Critique = Callable[[int, Sequence[Trajectory]], tuple[list[np.ndarray], dict, np.ndarray]]
Log = Callable[[Mapping[str, float], Mapping[str, np.ndarray], int], None]


@dataclass(frozen=True)
class SelfPlaySettings:
    """``data.selfplay`` in conf."""

    trajectories_per_round: int
    corpus_fraction: float
    corpus_holdout: float
    corpus_validation: float
    corpus_max_dag_nodes: int
    scene_fraction: float
    backend: str
    workers: int
    seed: int
    gzip: bool


def _round_metrics(outcomes: Sequence[RunOutcome], trajectories: Sequence[Trajectory]) -> dict:
    metrics: dict[str, float] = {
        "selfplay/trajectories": float(len(trajectories)),
        "selfplay/dropped": float(sum(o.dropped is not None for o in outcomes)),
        "selfplay/rollbacks": float(sum(o.rollbacks for o in outcomes)),
        "selfplay/egraph_nodes_mean": float(np.mean([o.egraph_nodes for o in outcomes])),
        "selfplay/egraph_nodes_max": float(np.max([o.egraph_nodes for o in outcomes])),
        "selfplay/steps": float(sum(len(t.steps) for t in trajectories)),
    }
    if trajectories:
        speedups = np.array([t.initial_cost_ns / t.final_cost_ns for t in trajectories])
        metrics |= {
            "selfplay/speedup_median": float(np.median(speedups)),
            "selfplay/speedup_geomean": float(np.exp(np.mean(np.log(speedups)))),
            "selfplay/initial_cost_ns_median": float(
                np.median([t.initial_cost_ns for t in trajectories])
            ),
            "selfplay/final_cost_ns_median": float(
                np.median([t.final_cost_ns for t in trajectories])
            ),
            "selfplay/growth_mean": float(np.mean([growth(t) for t in trajectories])),
        }
    epochs = sum(o.epochs for o in outcomes if o.trajectory is not None)
    for name in FAMILIES:
        members = sum(rule.family == name for rule in RULES)
        steps = [s for t in trajectories for s in t.steps if RULES[s.rule_idx].family == name]
        metrics[f"rules/{name}/approved"] = float(len(steps))
        if epochs:  # approvals per (epoch, rule of the family) offered
            metrics[f"rules/{name}/approval_rate"] = len(steps) / (epochs * members)
        if steps:
            metrics[f"rules/{name}/match_rate"] = float(np.mean([s.matched for s in steps]))
    return metrics


DECISIONS = ("approved", "all")


def episode_settings(config: Mapping) -> RunnerSettings:
    """The runner's settings for self-play's episodes: ``selfplay.runner`` (what every
    search, validation included, runs) with ``data.selfplay.episode`` over it."""
    episode = config["data"]["selfplay"]["episode"] or {}
    merged = OmegaConf.merge(config["selfplay"]["runner"], episode)
    return runner_settings_from(merged, "selfplay.runner + data.selfplay.episode")


class SelfPlayDataModule(pl.LightningDataModule):
    """See the module docstring. ``config`` is the root config."""

    def __init__(
        self,
        config: Mapping,
        run_dir: Path,
        policy: Callable[[], Policy],
        critique: Critique,
        log: Log | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings_from_config(
            SelfPlaySettings, config["data"]["selfplay"], "data.selfplay"
        )
        # the size buckets of composed pairs and scenes, per curriculum stage (lists: not
        # plain settings)
        selfplay = config["data"]["selfplay"]
        stages = [list(stage) for stage in selfplay["curriculum"] or []]
        self.stages = [tuple(str(b) for b in stage) for stage in stages] or [
            tuple(str(b) for b in selfplay["sizes"] or ())
        ]
        self.stage_rounds = int(selfplay["curriculum_rounds"])
        ladder = SizeLadder.from_config(config["data"]["ladder"])
        unknown = sorted({b for stage in self.stages for b in stage} - set(ladder.names))
        if unknown or self.stage_rounds < 1:
            raise ValueError(
                f"config data.selfplay: sizes and curriculum stages take buckets of "
                f"{', '.join(ladder.names)} (not {unknown}), curriculum_rounds at least 1"
            )
        self.runner = episode_settings(config)
        self.budgets = tuple(selfplay["episode_budgets"] or ())
        if any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in self.budgets):
            raise ValueError(
                f"config data.selfplay.episode_budgets takes e-node counts of at least 1, "
                f"not {list(self.budgets)}"
            )
        self.update_batch_size = int(config["actor"]["update_batch_size"])
        update = config["actor"]["update"]
        self.update_passes = int(update["epochs"])
        self.normalize_advantages = bool(update["normalize_advantages"])
        self.decisions = str(config["actor"]["decisions"])
        if self.decisions not in DECISIONS:
            raise ValueError(
                f"config actor.decisions must be one of {', '.join(DECISIONS)}, not "
                f"{self.decisions!r}"
            )
        # the workers' meter and seed generators follow the run's settings, overrides included
        self.cost = json.dumps(OmegaConf.to_container(config["cost"], resolve=True))
        self.data = json.dumps(OmegaConf.to_container(config["data"], resolve=True))
        self.run_dir = Path(run_dir)
        self.policy = policy
        self.critique = critique
        self.log = log
        self.dropped_total = 0
        self.generated_through = -1  # the last round whose data this module made
        self.workers = WorkerSettings.from_config(
            self.settings.backend, self.settings.workers, config["ray"], "data.selfplay"
        )
        self._pool: TaskPool | None = None

    # ---- Lightning hooks

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        round_index = self.trainer.current_epoch if self.trainer is not None else 0
        if round_index <= self.generated_through:
            # resuming from the checkpoint at the end of this round: Lightning asks for
            # the finished round's data once before it moves on; nothing is left to train
            return torch.utils.data.DataLoader([_empty_batch()], batch_size=None)
        self.generated_through = round_index
        return self.run_round(round_index)

    def state_dict(self) -> dict:
        critic = self.critique.state_dict() if hasattr(self.critique, "state_dict") else None
        return {
            "critic": critic,
            "dropped_total": self.dropped_total,
            "generated_through": self.generated_through,
        }

    def load_state_dict(self, state: Mapping) -> None:
        if state.get("critic") is not None:
            self.critique.load_state_dict(state["critic"])
        self.dropped_total = int(state.get("dropped_total", 0))
        self.generated_through = int(state.get("generated_through", -1))

    def teardown(self, stage: str) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ---- a round

    def sizes(self, round_index: int) -> tuple[str, ...]:
        """The size buckets of the round's composed pairs and scenes: the curriculum's
        stage for the round (each stage lasts ``curriculum_rounds`` rounds, the last one
        to the end), or ``sizes`` without a curriculum."""
        return self.stages[min(round_index // self.stage_rounds, len(self.stages) - 1)]

    def generate(self, round_index: int) -> list[tuple[RunOutcome, str]]:
        s = self.settings
        policy = self.policy()
        tasks = [
            RolloutTask(
                round_index,
                i,
                s.seed,
                s.corpus_fraction,
                s.corpus_holdout,
                s.corpus_validation,
                s.corpus_max_dag_nodes,
                s.scene_fraction,
                self.sizes(round_index),
                self.runner,
                self.budgets,
                self.cost,
                self.data,
            )
            for i in range(s.trajectories_per_round)
        ]
        if self.workers.backend == "process" and self.workers.count() == 1:
            results = (run_task(policy, task) for task in tasks)
        else:
            if self._pool is None:
                self._pool = TaskPool(self.workers)
            results = self._pool.map(run_task, policy, tasks)
        done = []
        for result in results:  # in task order, whichever worker ran it
            done.append(result)
            if len(done) % 10 == 0 and len(done) < len(tasks):
                _say(f"round {round_index}: {len(done)}/{len(tasks)} trajectories")
        return done

    def path(self, kind: str, round_index: int) -> Path:
        suffix = ".jsonl.gz" if self.settings.gzip else ".jsonl"
        return self.run_dir / f"{kind}_r{round_index:03d}{suffix}"

    def run_round(self, round_index: int) -> torch.utils.data.DataLoader:
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        _say(f"round {round_index}: generating {self.settings.trajectories_per_round} trajectories")
        results = self.generate(round_index)
        outcomes = [outcome for outcome, _ in results]
        trajectories = [o.trajectory for o in outcomes if o.trajectory is not None]
        for outcome, name in results:
            if outcome.dropped is not None:
                self.dropped_total += 1
                applied = ", ".join(outcome.rules_applied) or "none"
                _say(
                    f"round {round_index}: dropped a trajectory from {name}: "
                    f"{outcome.dropped}; rules applied: {applied}"
                )
        seconds["generate"] = time.perf_counter() - start
        start = time.perf_counter()
        write_trajectories(self.path("trajectories", round_index), trajectories)
        seconds["export"] = time.perf_counter() - start
        start = time.perf_counter()
        _say(f"round {round_index}: critic on {len(trajectories)} trajectories")
        advantages, critic_metrics, flat = self.critique(round_index, trajectories)
        write_advantages(
            self.path("advantages", round_index),
            (TrajectoryAdvantages(i, a) for i, a in enumerate(advantages)),
        )
        seconds["critique"] = time.perf_counter() - start
        metrics = _round_metrics(outcomes, trajectories) | critic_metrics
        metrics["selfplay/dropped_total"] = float(self.dropped_total)
        for phase in RUNNER_PHASES:
            metrics[f"time/runner_{phase}"] = float(
                sum(o.seconds.get(phase, 0.0) for o in outcomes)
            )
        metrics |= {f"time/{phase}": value for phase, value in seconds.items()}
        histograms = {
            "selfplay/initial_cost_ns": np.array([t.initial_cost_ns for t in trajectories]),
            "selfplay/final_cost_ns": np.array([t.final_cost_ns for t in trajectories]),
            "critic/advantages": flat,
        }
        if self.log is not None:
            self.log(metrics, histograms, round_index)
        _say(
            f"round {round_index}: {len(trajectories)} kept, "
            f"{int(metrics['selfplay/dropped'])} dropped, "
            f"speedup median {metrics.get('selfplay/speedup_median', math.nan):.3f}; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
        )
        return self._step_batches(round_index, trajectories, advantages)

    def _step_batches(
        self, round_index: int, trajectories: Sequence[Trajectory], advantages: Sequence[np.ndarray]
    ) -> torch.utils.data.DataLoader:
        """The round's update rows in a seeded order, in batches of ``update_batch_size``:
        one per approved rule (``actor.decisions: approved``, the seed's), or one per
        rule and epoch (``all``: a rule that was not approved is a decision too)."""
        if self.decisions == "all":
            policy = self.policy()  # the snapshot that made the round: the update comes next
            embeddings = np.stack([policy.rule_embedding(k) for k in range(len(RULES))])
            arrays = _decision_arrays(trajectories, advantages, embeddings)
        else:
            arrays = _step_arrays(trajectories, advantages)
        count = len(arrays["rule_index"])
        if self.normalize_advantages and count > 1:
            a = arrays["advantage"]
            arrays["advantage"] = ((a - a.mean()) / (a.std() or 1.0)).astype(np.float32)
        size = self.update_batch_size or max(count, 1)
        batches = []
        for update_pass in range(self.update_passes):  # each pass in its own seeded order
            key = [self.settings.seed, round_index, 1] + ([update_pass] if update_pass else [])
            order = np.random.default_rng(key).permutation(count)
            batches += [
                {
                    name: torch.from_numpy(value[order[k : k + size]])
                    for name, value in arrays.items()
                }
                for k in range(0, count, size)
            ]
        # a round without steps still has one (empty) batch: a loader without batches
        # would end Lightning's fit
        return torch.utils.data.DataLoader(batches or [_empty_batch()], batch_size=None)


def _step_arrays(
    trajectories: Sequence[Trajectory], advantages: Sequence[np.ndarray]
) -> dict[str, np.ndarray]:
    """One row per recorded step (approved rule), with its own advantage."""
    steps = [s for t in trajectories for s in t.steps]
    state, rule = (
        (len(steps[0].accumulator_state), len(steps[0].rule_embedding)) if steps else (0, 0)
    )
    return {
        "features": np.array([s.accumulator_state for s in steps], np.float32).reshape(
            len(steps), state
        ),
        "rule_embedding": np.array([s.rule_embedding for s in steps], np.float32).reshape(
            len(steps), rule
        ),
        "rule_index": np.array([s.rule_idx for s in steps], np.int64),
        "approved": np.array([float(bool(s.approved)) for s in steps], np.float32),
        "old_probability": np.array([s.action_probability for s in steps], np.float32),
        "advantage": np.concatenate([*advantages, np.zeros(0)]).astype(np.float32),
        "value_target": np.array(
            [math.log(t.final_cost_ns) for t in trajectories for _ in t.steps], np.float32
        ),
    }


def _empty_batch() -> dict[str, torch.Tensor]:
    """A batch without rows (Lightning's fit ends on a loader without batches)."""
    return {key: torch.from_numpy(value) for key, value in _step_arrays([], []).items()}


def _epoch_advantages(trajectory: Trajectory, advantages: np.ndarray) -> np.ndarray:
    """One advantage per epoch: the mean of its steps' (they share the epoch's state);
    an epoch that approved nothing takes the nearest earlier epoch's, else the nearest
    later one's; a trajectory without steps has no critic value and gets 0."""
    counts = [int(d.approved.sum()) for d in trajectory.decisions]
    if sum(counts) != len(advantages):
        raise ValueError(
            f"trajectory {trajectory.trajectory_id}: {sum(counts)} approvals in its decisions "
            f"but {len(advantages)} steps"
        )
    ends = np.cumsum(counts)
    known = [
        float(advantages[end - n : end].mean()) if n else None
        for n, end in zip(counts, ends, strict=True)
    ]
    if all(a is None for a in known):
        return np.zeros(len(counts), np.float32)
    filled, last = [], next(a for a in known if a is not None)  # leading gaps: the first
    for value in known:
        last = value if value is not None else last
        filled.append(last)
    return np.array(filled, np.float32)


def _decision_arrays(
    trajectories: Sequence[Trajectory], advantages: Sequence[np.ndarray], embeddings: np.ndarray
) -> dict[str, np.ndarray]:
    """One row per eligible rule and epoch (``EpochDecisions.eligible``): the epoch's
    state, the rule's embedding (the round's snapshot), whether it was approved, and the
    epoch's advantage."""
    names = ("features", "rule_index", "approved", "old_probability", "advantage", "value_target")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    rules = len(embeddings)
    for trajectory, advantage in zip(trajectories, advantages, strict=True):
        epochs = trajectory.decisions
        if not epochs:
            continue
        states = np.stack([d.accumulator_state for d in epochs]).astype(np.float32)
        parts["features"].append(np.repeat(states, rules, axis=0))
        parts["rule_index"].append(np.tile(np.arange(rules), len(epochs)))
        parts["approved"].append(np.concatenate([d.approved for d in epochs]).astype(np.float32))
        parts["old_probability"].append(np.concatenate([d.probabilities for d in epochs]))
        parts["advantage"].append(np.repeat(_epoch_advantages(trajectory, advantage), rules))
        parts["value_target"].append(
            np.full(rules * len(epochs), math.log(trajectory.final_cost_ns), np.float32)
        )
    if not parts["features"]:
        return _step_arrays([], [])
    eligible = np.concatenate([d.eligible_rules() for t in trajectories for d in t.decisions])
    arrays = {k: np.concatenate(v)[eligible] for k, v in parts.items()}
    arrays["rule_embedding"] = embeddings[arrays["rule_index"]].astype(np.float32)
    return arrays


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
