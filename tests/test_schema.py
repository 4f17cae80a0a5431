"""Trajectory payloads and their JSONL files: the seed's round trips, the seed's own
format, exact float32 values, streaming, atomic writes, and clear errors for bad lines."""

import json
import math

import numpy as np
import pytest

from src.data.schema import (
    EpochDecisions,
    SchemaError,
    StepShape,
    Trajectory,
    TrajectoryAdvantages,
    TrajectoryStep,
    read_advantages,
    read_trajectories,
    terminal_reward,
    trajectory_record,
    write_advantages,
    write_trajectories,
)

SHAPE = StepShape(130, 24)


def _trajectory(steps=2, initial_ns=10.0, seed=0):
    """``steps`` epochs, each approving one rule of 16 (one step each), with each epoch's
    static cost and e-graph size."""
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((steps, 130)).astype(np.float32)
    chosen = [np.arange(16) == 3 + i for i in range(steps)]
    return Trajectory(
        trajectory_id=f"test_{seed}",
        seed_expr="(+ x y)",
        steps=[
            TrajectoryStep(
                accumulator_state=states[i],
                rule_embedding=rng.standard_normal(24).astype(np.float32),
                rule_idx=3 + i,
                action_probability=0.87,
                matched=i % 2 == 0,
                approved=True,
            )
            for i in range(steps)
        ],
        final_cost_ns=3.42,
        initial_cost=10.5,
        final_cost=3.2,
        initial_cost_ns=initial_ns,
        decisions=[
            EpochDecisions(states[i], np.full(16, 0.5, np.float32), chosen[i], 10.5 - i, 20 + 3 * i)
            for i in range(steps)
        ],
        egraph_nodes=20 + 3 * steps,
        node_budget=100,
        search_seconds=0.25,
    )


def test_trajectory_round_trip_jsonl(tmp_path):
    """The seed's trajectory_round_trip_jsonl, plus exact float32 values."""
    path = tmp_path / "t.jsonl"
    original = [_trajectory(seed=0), _trajectory(steps=0, seed=1)]
    assert write_trajectories(path, original) == 2
    back = list(read_trajectories(path, SHAPE))
    assert [t.trajectory_id for t in back] == ["test_0", "test_1"]
    assert len(back[0].steps) == 2 and back[1].steps == []
    assert math.isclose(back[0].final_cost_ns, 3.42, abs_tol=1e-6)
    for got, want in zip(back[0].steps, original[0].steps, strict=True):
        np.testing.assert_array_equal(got.accumulator_state, want.accumulator_state)
        np.testing.assert_array_equal(got.rule_embedding, want.rule_embedding)
        assert (got.rule_idx, got.matched, got.approved) == (want.rule_idx, want.matched, True)
    assert back[0].initial_cost_ns == 10.0


def test_advantages_round_trip_jsonl(tmp_path):
    path = tmp_path / "a.jsonl"
    write_advantages(path, [TrajectoryAdvantages(0, np.array([0.12, -0.34, 0.56]))])
    (back,) = read_advantages(path)
    assert back.trajectory_idx == 0 and len(back.advantages) == 3
    assert abs(back.advantages[1] - (-0.34)) < 1e-6


def test_the_seeds_format_reads(tmp_path):
    """The seed's Task 3 smoke-test line: no 'approved', no 'initial_cost_ns'."""
    line = {
        "trajectory_id": "t0",
        "seed_expr": "X+Y",
        "steps": [
            {
                "accumulator_state": [0.1] * 130,
                "rule_embedding": [0.5] * 24,
                "rule_idx": 3,
                "action_probability": 0.87,
                "matched": True,
            }
        ],
        "final_cost_ns": 3.42,
        "initial_cost": 10.5,
        "final_cost": 3.2,
    }
    path = tmp_path / "seed.jsonl"
    path.write_text(json.dumps(line) + "\n")
    (trajectory,) = read_trajectories(path, SHAPE)
    assert trajectory.steps[0].approved is None and trajectory.initial_cost_ns is None
    assert terminal_reward(trajectory, "neg_cost_ns") == -3.42
    with pytest.raises(SchemaError, match="no 'initial_cost_ns'"):
        terminal_reward(trajectory, "log_speedup")
    with pytest.raises(SchemaError, match=f"{path}:1: no 'initial_cost_ns'.*neg_cost_ns"):
        list(read_trajectories(path, SHAPE, reward="log_speedup"))
    record = trajectory_record(trajectory)
    assert "approved" not in record["steps"][0] and "initial_cost_ns" not in record


def test_rewards():
    trajectory = _trajectory(initial_ns=6.84)
    assert terminal_reward(trajectory, "log_speedup") == pytest.approx(math.log(2.0))
    assert terminal_reward(trajectory, "neg_cost_ns") == -3.42
    with pytest.raises(ValueError, match="unknown reward"):
        terminal_reward(trajectory, "speed")


def test_reading_streams_line_by_line(tmp_path):
    path = tmp_path / "t.jsonl"
    write_trajectories(path, [_trajectory(seed=i) for i in range(3)])
    with path.open("a") as file:
        file.write("{not json\n")
    stream = read_trajectories(path, SHAPE)
    assert [next(stream).trajectory_id for _ in range(3)] == ["test_0", "test_1", "test_2"]
    with pytest.raises(SchemaError, match=f"{path}:4:2: "):
        next(stream)


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "t.jsonl"
    write_trajectories(path, [_trajectory()])
    before = path.read_text()

    def broken():
        yield _trajectory(seed=5)
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        write_trajectories(path, broken())
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]
    bad = _trajectory()
    bad.final_cost_ns = math.nan
    with pytest.raises(ValueError):
        write_trajectories(path, [bad])
    assert path.read_text() == before


def _good_line():
    return trajectory_record(_trajectory())


def _set(path_keys, value):
    def edit(record):
        target = record
        for key in path_keys[:-1]:
            target = target[key]
        target[path_keys[-1]] = value

    return edit


def _delete(key):
    return lambda record: record.pop(key)


BAD_LINES = {
    "missing field": (_delete("final_cost_ns"), "missing 'final_cost_ns'"),
    "wrong type": (_set(["trajectory_id"], 7), "'trajectory_id' must be str"),
    "short accumulator": (
        _set(["steps", 1, "accumulator_state"], [0.0] * 129),
        "step 1: 'accumulator_state' has 129 numbers, expected 130",
    ),
    "long rule embedding": (
        _set(["steps", 0, "rule_embedding"], [0.0] * 25),
        "step 0: 'rule_embedding' has 25 numbers, expected 24",
    ),
    "text in a vector": (
        _set(["steps", 0, "rule_embedding"], ["a"] * 24),
        "'rule_embedding' must hold only numbers",
    ),
    "negative cost": (_set(["final_cost_ns"], -1.0), "'final_cost_ns' must be a positive"),
    "probability above 1": (
        _set(["steps", 0, "action_probability"], 1.5),
        "'action_probability' must be in \\[0, 1\\]",
    ),
    "boolean rule index": (_set(["steps", 0, "rule_idx"], True), "'rule_idx' must be int"),
    "negative rule index": (_set(["steps", 0, "rule_idx"], -2), "'rule_idx' must be >= 0"),
    "step not an object": (_set(["steps", 0], [1, 2]), "step 0: expected a JSON object"),
    "approved not a boolean": (_set(["steps", 0, "approved"], 1), "'approved' must be true"),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_bad_lines_name_file_line_and_field(tmp_path, case):
    edit, message = BAD_LINES[case]
    record = _good_line()
    edit(record)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_good_line()) + "\n\n" + json.dumps(record) + "\n")
    with pytest.raises(SchemaError, match=f"^{path}:3: .*{message}"):
        list(read_trajectories(path, SHAPE))


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"trajectory_id": NaN}', "NaN is not a number"),
        ('{"a": Infinity}', "Infinity is not a number"),
        ('{"a": 1,,}', ":1:9: Expecting property name"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_json_is_named(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text + "\n")
    with pytest.raises(SchemaError, match=f"^{path}:1"):
        list(read_trajectories(path, SHAPE))
    with pytest.raises(SchemaError, match=message):
        list(read_trajectories(path, SHAPE))


def test_a_number_that_overflows_is_refused(tmp_path):
    record = _good_line()
    record["steps"][0]["rule_embedding"][5] = 12345.5
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(record).replace("12345.5", "1e400") + "\n")
    with pytest.raises(SchemaError, match=f"{path}:1: step 0: 'rule_embedding' holds a non-finite"):
        list(read_trajectories(path, SHAPE))


def test_unreadable_files(tmp_path):
    with pytest.raises(SchemaError, match="cannot read"):
        list(read_trajectories(tmp_path / "missing.jsonl"))
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SchemaError, match="not UTF-8"):
        list(read_trajectories(binary))


def test_an_open_shape_is_fixed_by_the_first_step(tmp_path):
    path = tmp_path / "t.jsonl"
    record = _good_line()
    record["steps"][1]["rule_embedding"] = [0.0] * 23
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(SchemaError, match="step 1: 'rule_embedding' has 23 numbers, expected 24"):
        list(read_trajectories(path))


def test_bad_advantages_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"trajectory_idx": 0, "advantages": [1.0, NaN]}\n')
    with pytest.raises(SchemaError, match=f"{path}:1"):
        list(read_advantages(path))
    path.write_text('{"trajectory_idx": -1, "advantages": []}\n')
    with pytest.raises(SchemaError, match="'trajectory_idx' must be >= 0"):
        list(read_advantages(path))


def test_gzip_files_round_trip(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    write_trajectories(path, [_trajectory(seed=3)])
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    (back,) = read_trajectories(path, SHAPE)
    np.testing.assert_array_equal(
        back.steps[1].rule_embedding, _trajectory(seed=3).steps[1].rule_embedding
    )
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(SchemaError, match="cannot read"):
        list(read_trajectories(broken, SHAPE))


def test_numbers_are_written_at_float32_precision(tmp_path):
    path = tmp_path / "t.jsonl"
    trajectory = _trajectory(steps=1)
    trajectory.steps[0].rule_embedding[:] = np.float32(0.1)
    write_trajectories(path, [trajectory])
    assert '"rule_embedding":[0.1,0.1,' in path.read_text()
