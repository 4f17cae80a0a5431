"""``python -m src.modules.critic``: end to end on a hand-written file in the seed's
format and on one of ours; warm starts; bad input is one error line, exit 1, and the
output file is not touched."""

import json

import numpy as np
import pytest

from src.data.schema import read_advantages, write_trajectories
from src.modules.critic.cli import main
from tests.cli_runner import run_module
from tests.test_schema import _trajectory

SEED_LINE = (
    '{"trajectory_id":"t0","seed_expr":"X+Y","steps":[{"accumulator_state":['
    + ",".join(["0.1"] * 130)
    + '],"rule_embedding":['
    + ",".join(["0.5"] * 24)
    + '],"rule_idx":3,"action_probability":0.87,"matched":true}],'
    '"final_cost_ns":3.42,"initial_cost":10.5,"final_cost":3.2}\n'
)


@pytest.fixture
def ours(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    write_trajectories(path, [_trajectory(steps=n, seed=n) for n in (3, 0, 7, 5)])
    return path


def test_the_seeds_smoke_test_end_to_end(tmp_path):
    """The seed's Task 3 step 5, as a user runs it (with the seed's reward)."""
    source, output = tmp_path / "test_traj.jsonl", tmp_path / "test_adv.jsonl"
    source.write_text(SEED_LINE)
    result = run_module(
        "src.modules.critic", "--input", str(source), "--output", str(output),
        "--epochs", "5", "--reward", "neg_cost_ns", "--target", "terminal", "--budget-weight", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    (record,) = [json.loads(line) for line in output.read_text().splitlines()]
    assert record["trajectory_idx"] == 0 and len(record["advantages"]) == 1
    assert "wrote 1 advantage records" in result.stderr


def test_the_seeds_format_with_the_default_reward_says_what_to_do(tmp_path, capsys):
    source, output = tmp_path / "seed.jsonl", tmp_path / "adv.jsonl"
    source.write_text(SEED_LINE)
    assert main(["--input", str(source), "--output", str(output), "--epochs", "1"]) == 1
    error = capsys.readouterr().err.strip()
    assert error == (
        f"error: {source}:1: no 'initial_cost_ns', which the reward log_speedup needs "
        "(for files in the seed's format, use the seed's reward, neg_cost_ns)"
    )
    assert not output.exists()


def test_one_line_per_trajectory_and_a_warm_start(ours, tmp_path, capsys):
    output, checkpoint = tmp_path / "adv.jsonl", tmp_path / "critic.pt"
    argv = ["--input", str(ours), "--output", str(output), "--checkpoint", str(checkpoint)]
    assert main([*argv, "--epochs", "2"]) == 0
    first = list(read_advantages(output))
    assert [len(a.advantages) for a in first] == [3, 0, 7, 5]
    assert [a.trajectory_idx for a in first] == [0, 1, 2, 3]
    assert checkpoint.exists() and "warm start" not in capsys.readouterr().err
    assert main([*argv, "--epochs", "0"]) == 0
    assert f"warm start from {checkpoint}" in capsys.readouterr().err
    again = list(read_advantages(output))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_allclose(a.advantages, b.advantages, rtol=1e-5, atol=1e-6)


def _corrupt(path, edit):
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    edit(record)
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda r: r["steps"][4].update(accumulator_state=[0.0] * 10),
            "has 10 numbers, expected 130",
        ),
        (lambda r: r.update(final_cost_ns="fast"), "'final_cost_ns' must be a number"),
        (lambda r: r.pop("steps"), "missing 'steps'"),
    ],
)
def test_bad_input_leaves_the_output_alone(ours, tmp_path, capsys, edit, message):
    output = tmp_path / "adv.jsonl"
    output.write_text("previous\n")
    _corrupt(ours, edit)
    assert main(["--input", str(ours), "--output", str(output), "--epochs", "1"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"error: {ours}:3: ") and message in error[-1]
    assert output.read_text() == "previous\n"


def test_nan_and_broken_json_are_clear_errors(ours, tmp_path, capsys):
    output = tmp_path / "adv.jsonl"
    text = ours.read_text().splitlines()
    ours.write_text(text[0] + "\n" + text[1].replace("3.42", "NaN", 1) + "\n")
    assert main(["--input", str(ours), "--output", str(output)]) == 1
    assert f"error: {ours}:2: NaN is not a number" in capsys.readouterr().err
    ours.write_text(text[0][:50] + "\n")
    assert main(["--input", str(ours), "--output", str(output)]) == 1
    assert f"error: {ours}:1:" in capsys.readouterr().err
    assert not output.exists()


def test_a_checkpoint_of_another_width_is_refused(ours, tmp_path, capsys):
    output, checkpoint = tmp_path / "adv.jsonl", tmp_path / "critic.pt"
    argv = ["--input", str(ours), "--output", str(output), "--checkpoint", str(checkpoint)]
    assert main([*argv, "--epochs", "1"]) == 0
    saved = checkpoint.read_bytes()
    output.write_text("kept\n")
    assert main([*argv, "--epochs", "1", "--d-model", "64"]) == 1
    assert "d_model 128 (here 64)" in capsys.readouterr().err
    assert output.read_text() == "kept\n" and checkpoint.read_bytes() == saved


def test_missing_input_and_output_folder(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "a")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "no" / "a.jsonl")]) == 1
    assert "folder does not exist" in capsys.readouterr().err
