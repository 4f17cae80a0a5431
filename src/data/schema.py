"""Trajectory payloads (the seed's Task 1) and their JSONL files.

One trajectory per line in ``trajectories_rNNN.jsonl``, one advantages record per line in
``advantages_rNNN.jsonl``. Writing is atomic (temp file + rename); reading streams line
by line and validates as it goes: a bad line raises ``SchemaError`` naming the file and
the line (and the column, for JSON syntax errors).

Files in the seed's own format read as they are: the seed's steps have no ``approved``
(it is None here) and its trajectories no ``initial_cost_ns`` (None too), which only the
``log_speedup`` reward needs.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from src.atomic import atomic_open

REWARDS = ("log_speedup", "neg_cost_ns")
_NO_INITIAL_NS = (
    "no 'initial_cost_ns', which the reward log_speedup needs (for files in the seed's "
    "format, use the seed's reward, neg_cost_ns)"
)


class SchemaError(ValueError):
    """A trajectory or advantages file that does not hold what it should."""


@dataclass(frozen=True)
class StepShape:
    """The widths every step of a file must have (None: whatever the first step has)."""

    accumulator: int | None = None
    rule_embedding: int | None = None


@dataclass
class TrajectoryStep:
    """One step: the state the actor saw, the rule it scored, and what happened."""

    accumulator_state: np.ndarray  # float32, the EdgeAccumulator features (130)
    rule_embedding: np.ndarray  # float32, the scored rule's embedding (24)
    rule_idx: int
    action_probability: float  # sigmoid(score): the actor's confidence in the rule
    matched: bool  # the rule found a site and was applied
    approved: bool | None = None  # the sampled action (None in the seed's format)


@dataclass
class EpochDecisions:
    """One epoch's decisions: the state the actor saw, every rule's probability, and
    which rules were approved (sampled); the steps record the approved ones alone.
    ``eligible`` marks the rules the policy chose for or against: a walk's rules already
    tried in this state, and rules banned after a failed check, were not (None: all were).
    A walk's last epoch, in which it approved nothing, is recorded too."""

    accumulator_state: np.ndarray  # float32, as the epoch's steps have it
    probabilities: np.ndarray  # float32, one per rule of the table
    approved: np.ndarray  # bool, one per rule
    static_cost: float | None = None  # the static cost of the epoch's extraction (its progress)
    egraph_nodes: int | None = None  # the e-graph's e-nodes when the epoch began (its growth)
    eligible: np.ndarray | None = None  # bool, one per rule; None: every rule

    def eligible_rules(self) -> np.ndarray:
        """``eligible`` as a mask over every rule (all True when it is None)."""
        return np.ones(len(self.approved), bool) if self.eligible is None else self.eligible


@dataclass
class Trajectory:
    trajectory_id: str
    seed_expr: str
    steps: list[TrajectoryStep]
    final_cost_ns: float  # measured, per element
    initial_cost: float  # the judge's (static model's) estimates
    final_cost: float
    initial_cost_ns: float | None = None  # measured (None in the seed's format)
    decisions: list[EpochDecisions] = field(default_factory=list)  # [] in the seed's format
    egraph_nodes: int | None = None  # the e-graph's e-nodes at the end (None in the seed's format)
    node_budget: int | None = None  # the search's node budget (what the growth is priced against)
    search_seconds: float | None = None  # the search's wall time before the final measurement


@dataclass
class TrajectoryAdvantages:
    trajectory_idx: int
    advantages: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def terminal_reward(trajectory: Trajectory, reward: str) -> float:
    """R_T: ``log_speedup`` = ln(initial_cost_ns / final_cost_ns) (the default),
    ``neg_cost_ns`` = -final_cost_ns (the seed's)."""
    if reward == "neg_cost_ns":
        return -trajectory.final_cost_ns
    if reward != "log_speedup":
        raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
    if trajectory.initial_cost_ns is None:
        raise SchemaError(f"trajectory {trajectory.trajectory_id!r}: {_NO_INITIAL_NS}")
    return math.log(trajectory.initial_cost_ns / trajectory.final_cost_ns)


# ---- writing


def _float32_list(values: np.ndarray) -> list[float]:
    """Each value as the shortest decimal that reads back as the same float32 (numpy's
    float32 ``str``), so files hold ~9 characters per number instead of ~19."""
    return list(_shortest(np.asarray(values, dtype=np.float32).tobytes()))


@lru_cache(maxsize=8192)
def _shortest(float32_bytes: bytes) -> tuple[float, ...]:
    # cached: the steps of an epoch share one feature vector and a rule's embedding is
    # the same in every step, so a round's file holds few distinct vectors, many times
    return tuple(float(str(v)) for v in np.frombuffer(float32_bytes, dtype=np.float32))


def _step_record(step: TrajectoryStep) -> dict:
    record = {
        "accumulator_state": _float32_list(step.accumulator_state),
        "rule_embedding": _float32_list(step.rule_embedding),
        "rule_idx": int(step.rule_idx),
        "action_probability": float(step.action_probability),
        "matched": bool(step.matched),
    }
    if step.approved is not None:
        record["approved"] = bool(step.approved)
    return record


def _decision_text(decisions: EpochDecisions) -> str:
    """``approved`` in a file: 1 approved, 0 not, - not eligible (``EpochDecisions``)."""
    eligible = decisions.eligible_rules()
    return "".join(
        ("1" if a else "0") if e else "-" for a, e in zip(decisions.approved, eligible, strict=True)
    )


def trajectory_record(trajectory: Trajectory) -> dict:
    """The JSON object of one trajectory line."""
    record = {
        "trajectory_id": trajectory.trajectory_id,
        "seed_expr": trajectory.seed_expr,
        "steps": [_step_record(step) for step in trajectory.steps],
        "final_cost_ns": float(trajectory.final_cost_ns),
        "initial_cost": float(trajectory.initial_cost),
        "final_cost": float(trajectory.final_cost),
    }
    if trajectory.initial_cost_ns is not None:
        record["initial_cost_ns"] = float(trajectory.initial_cost_ns)
    for key in ("egraph_nodes", "node_budget"):
        if getattr(trajectory, key) is not None:
            record[key] = int(getattr(trajectory, key))
    if trajectory.search_seconds is not None:
        record["search_seconds"] = float(trajectory.search_seconds)
    if trajectory.decisions:
        record["decisions"] = [
            {
                "accumulator_state": _float32_list(d.accumulator_state),
                "probabilities": _float32_list(d.probabilities),
                "approved": _decision_text(d),
            }
            | ({} if d.static_cost is None else {"static_cost": float(d.static_cost)})
            | ({} if d.egraph_nodes is None else {"egraph_nodes": int(d.egraph_nodes)})
            for d in trajectory.decisions
        ]
    return record


def advantages_record(advantages: TrajectoryAdvantages) -> dict:
    return {
        "trajectory_idx": int(advantages.trajectory_idx),
        "advantages": _float32_list(advantages.advantages),
    }


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    """Write one JSON object per line to ``path`` atomically (streamed to a temp file
    beside it, then renamed), gzip-compressed when the name ends in ``.gz`` (zlib's
    default level 6: as small as level 9 on these files, in half the time); returns the
    number of lines."""
    path, count = Path(path), 0
    with atomic_open(path, "wb") as raw:
        sink = (
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) if path.suffix == ".gz" else raw
        )
        for record in records:
            line = json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n"
            sink.write(line.encode("utf-8"))
            count += 1
        if sink is not raw:
            sink.close()  # writes the gzip trailer; ``raw`` stays open
    return count


def write_trajectories(path: Path, trajectories: Iterable[Trajectory]) -> int:
    return write_jsonl(path, (trajectory_record(t) for t in trajectories))


def write_advantages(path: Path, advantages: Iterable[TrajectoryAdvantages]) -> int:
    return write_jsonl(path, (advantages_record(a) for a in advantages))


# ---- reading


class _Line:
    """Checks on one line's JSON object; errors name the file, line and field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, message: str) -> SchemaError:
        return SchemaError(f"{self.where}: {message}")

    def get(self, record: dict, key: str, kind: type | tuple, context: str = "") -> object:
        if not isinstance(record, dict):
            raise self.fail(f"{context}expected a JSON object")
        if key not in record:
            raise self.fail(f"{context}missing '{key}'")
        value = record[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            wanted = kind.__name__ if isinstance(kind, type) else "a number"
            raise self.fail(f"{context}'{key}' must be {wanted}, not {json.dumps(value)[:40]}")
        return value

    def number(self, record: dict, key: str, context: str = "", positive: bool = False) -> float:
        value = float(self.get(record, key, (int, float), context))
        if not math.isfinite(value) or (positive and value <= 0):
            kind = "a positive finite number" if positive else "a finite number"
            raise self.fail(f"{context}'{key}' must be {kind}, not {value}")
        return value

    def vector(self, record: dict, key: str, width: int | None, context: str) -> np.ndarray:
        values = self.get(record, key, list, context)
        if width is not None and len(values) != width:
            raise self.fail(f"{context}'{key}' has {len(values)} numbers, expected {width}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise self.fail(f"{context}'{key}' must hold only numbers")
        array = np.asarray(values, dtype=np.float64)
        if not np.isfinite(array).all():
            raise self.fail(f"{context}'{key}' holds a non-finite number")
        return array.astype(np.float32)


def _json_lines(path: Path) -> Iterator[tuple[str, object]]:
    """(where, parsed object) for each non-blank line of ``path``."""
    path = Path(path)
    try:  # opened apart from the reading below, so that only this error says "cannot read"
        if path.suffix == ".gz":
            file = gzip.open(path, "rt", encoding="utf-8")  # noqa: SIM115 (closed by the with)
        else:
            file = path.open(encoding="utf-8")
    except OSError as error:
        raise SchemaError(f"{path}: cannot read: {error.strerror}") from None
    with file:
        try:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    yield where, json.loads(line, parse_constant=_reject_constant)
                except json.JSONDecodeError as error:
                    raise SchemaError(f"{where}:{error.colno}: {error.msg}") from None
                except ValueError as error:
                    raise SchemaError(f"{where}: {error}") from None
        except UnicodeDecodeError:
            raise SchemaError(f"{path}: not UTF-8 text") from None
        except (OSError, EOFError) as error:  # a damaged .gz file
            raise SchemaError(f"{path}: cannot read: {error}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number this file may hold")


def _read_step(line: _Line, record: object, index: int, shape: StepShape) -> TrajectoryStep:
    context = f"step {index}: "
    probability = line.number(record, "action_probability", context)
    if not 0.0 <= probability <= 1.0:
        raise line.fail(f"{context}'action_probability' must be in [0, 1], not {probability}")
    rule_idx = line.get(record, "rule_idx", int, context)
    if rule_idx < 0:
        raise line.fail(f"{context}'rule_idx' must be >= 0, not {rule_idx}")
    approved = record.get("approved")
    if approved is not None and not isinstance(approved, bool):
        raise line.fail(f"{context}'approved' must be true or false")
    return TrajectoryStep(
        accumulator_state=line.vector(record, "accumulator_state", shape.accumulator, context),
        rule_embedding=line.vector(record, "rule_embedding", shape.rule_embedding, context),
        rule_idx=rule_idx,
        action_probability=probability,
        matched=line.get(record, "matched", bool, context),
        approved=approved,
    )


def _optional_count(line: _Line, record: dict, key: str, context: str = "") -> int | None:
    if record.get(key) is None:
        return None
    value = line.get(record, key, int, context)
    if value < 0:
        raise line.fail(f"{context}'{key}' must be >= 0, not {value}")
    return value


def _read_decisions(line: _Line, record: dict, width: int | None) -> list[EpochDecisions]:
    """The optional ``decisions`` of a trajectory line: every epoch the same number of
    rules, probabilities in [0, 1], ``approved`` a string of 0, 1 and - (not eligible),
    one per rule."""
    found, rules = [], None
    for index, epoch in enumerate(record.get("decisions") or []):
        context = f"decisions {index}: "
        p = line.vector(epoch, "probabilities", rules, context)
        if not np.all((p >= 0) & (p <= 1)):
            raise line.fail(f"{context}'probabilities' must be in [0, 1]")
        approved = line.get(epoch, "approved", str, context)
        if len(approved) != len(p) or set(approved) - {"0", "1", "-"}:
            raise line.fail(f"{context}'approved' must be {len(p)} characters, each 0, 1 or -")
        state = line.vector(epoch, "accumulator_state", width, context)
        cost = line.number(epoch, "static_cost", context) if "static_cost" in epoch else None
        nodes = _optional_count(line, epoch, "egraph_nodes", context)
        codes = np.frombuffer(approved.encode(), np.uint8)
        eligible = codes != ord("-")
        found.append(
            EpochDecisions(
                state, p, codes == ord("1"), cost, nodes, None if eligible.all() else eligible
            )
        )
        rules = len(p)
    return found


def read_trajectories(
    path: Path, shape: StepShape | None = None, reward: str | None = None
) -> Iterator[Trajectory]:
    """Stream the trajectories of ``path``, validating each line. Every step must have
    the widths in ``shape``; where ``shape`` leaves one open, the file's first step fixes
    it for the rest. With ``reward``, each trajectory must have what that reward needs."""
    shape = shape or StepShape()
    if reward is not None and reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
    for where, record in _json_lines(path):
        line = _Line(where)
        steps_json = line.get(record, "steps", list)
        steps = []
        for index, step_json in enumerate(steps_json):
            step = _read_step(line, step_json, index, shape)
            shape = StepShape(len(step.accumulator_state), len(step.rule_embedding))
            steps.append(step)
        initial_ns = None
        if record.get("initial_cost_ns") is not None:
            initial_ns = line.number(record, "initial_cost_ns", positive=True)
        elif reward == "log_speedup":
            raise line.fail(_NO_INITIAL_NS)
        yield Trajectory(
            trajectory_id=line.get(record, "trajectory_id", str),
            seed_expr=line.get(record, "seed_expr", str),
            steps=steps,
            final_cost_ns=line.number(record, "final_cost_ns", positive=True),
            initial_cost=line.number(record, "initial_cost"),
            final_cost=line.number(record, "final_cost"),
            initial_cost_ns=initial_ns,
            decisions=_read_decisions(line, record, shape.accumulator),
            egraph_nodes=_optional_count(line, record, "egraph_nodes"),
            node_budget=_optional_count(line, record, "node_budget"),
            search_seconds=(
                line.number(record, "search_seconds") if "search_seconds" in record else None
            ),
        )


def read_advantages(path: Path) -> Iterator[TrajectoryAdvantages]:
    """Stream the advantages records of ``path``, validating each line."""
    for where, record in _json_lines(path):
        line = _Line(where)
        index = line.get(record, "trajectory_idx", int)
        if index < 0:
            raise line.fail(f"'trajectory_idx' must be >= 0, not {index}")
        yield TrajectoryAdvantages(index, line.vector(record, "advantages", None, ""))
