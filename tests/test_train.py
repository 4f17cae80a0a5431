"""``python train.py``: the smoke experiment end to end (files for every round, a
checkpoint, the actor weight file, W&B offline files with the metrics), the actor
learning with finite losses, an exact resume, and a multirun sweep."""

import contextlib
import csv
import dataclasses
import gzip
import json
import math
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from src.config import PROJECT_ROOT
from src.modules.weights import load_actor_weights
from src.selfplay.rules import RULES

ROUNDS = 3
METRICS = [
    "selfplay/initial_cost_ns",
    "selfplay/final_cost_ns",
    "selfplay/speedup_median",
    "selfplay/speedup_geomean",
    "actor/loss_policy",
    "actor/loss_value",
    "critic/loss",
    "critic/advantages",
    "actor/grad_norm/backbone",
    "actor/grad_norm/rule_bias",
    "rules/algebra/approved",
    "rules/algebra/approval_rate",
    "rules/algebra/match_rate",
    "time/update",
    "selfplay/egraph_nodes_mean",
    "selfplay/dropped",
    "selfplay/rollbacks",
    "time/generate",
    "time/critique",
]


def _train(run_dir, *overrides):
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    return subprocess.run(
        [sys.executable, "train.py", "+experiment=smoke", f"hydra.run.dir={run_dir}", *overrides],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _steps(path):
    with gzip.open(path, "rt") as file:
        return [(t["trajectory_id"], t["steps"]) for t in map(json.loads, file)]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke")
    result = _train(run_dir, "logger=csv")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_the_smoke_run_leaves_every_file(smoke_run):
    for round_index in range(ROUNDS):
        for kind in ("trajectories", "advantages"):
            assert (smoke_run / f"{kind}_r{round_index:03d}.jsonl.gz").stat().st_size > 0
    assert (smoke_run / "checkpoints" / "last.ckpt").exists()
    assert (smoke_run / "checkpoints" / "round001.ckpt").exists()
    _, rules = load_actor_weights(smoke_run / "actor.pxw")
    assert len(rules) == len(RULES)


def test_validation_runs_every_n_rounds_and_keeps_the_best_checkpoint(smoke_run):
    # the smoke experiment validates every 2 rounds: after round 1 of rounds 0-2
    with open(smoke_run / "csv" / "metrics.csv") as file:
        rows = [row for row in csv.DictReader(file) if row.get("val/geomean_speedup")]
    assert len(rows) == 1
    speedup = float(rows[0]["val/geomean_speedup"])
    assert speedup >= 1.0 and float(rows[0]["val/expressions"]) == 2  # never slower
    assert float(rows[0]["val/failures"]) == 0
    assert (smoke_run / "checkpoints" / "best.ckpt").exists()
    (line,) = (smoke_run / "validation.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["round"] == 1 and record["geomean_speedup"] == pytest.approx(speedup)


def test_the_actor_learns_and_every_loss_is_finite(smoke_run):
    from src.config import default_config
    from src.modules.actor import ActorModule
    from src.modules.policy import latency_prior
    from src.selfplay.rules import RULES

    config = default_config()
    fresh = ActorModule(config.actor, [(r.lhs, r.rhs) for r in RULES], [], latency_prior(config))
    trained, _ = load_actor_weights(smoke_run / "actor.pxw")
    changed = [n for n, a in fresh.net.params.items() if not np.array_equal(a, trained.params[n])]
    assert {"w1", "interaction", "rule_bias", "value_w1", "mask_w1"} <= set(changed)
    with open(smoke_run / "csv" / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    losses = [
        float(value) for row in rows for key, value in row.items() if value and ("loss" in key)
    ]
    assert len(losses) >= ROUNDS * 5 and all(math.isfinite(v) for v in losses)
    rounds = {float(row["round"]) for row in rows if row.get("round")}
    assert rounds == {0.0, 1.0, 2.0}


def test_resuming_from_round_1_reproduces_round_2(smoke_run, tmp_path):
    resumed = tmp_path / "resumed"
    checkpoint = smoke_run / "checkpoints" / "round001.ckpt"
    result = _train(resumed, "logger=csv", f"ckpt_path={checkpoint}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (resumed / "trajectories_r001.jsonl.gz").exists()
    original = _steps(smoke_run / "trajectories_r002.jsonl.gz")
    again = _steps(resumed / "trajectories_r002.jsonl.gz")
    assert [t for t, _ in original] == [t for t, _ in again]
    for (_, a), (_, b) in zip(original, again, strict=True):
        assert a == b  # states, rules, probabilities, approvals and matches, exactly


def test_the_wandb_run_holds_the_metrics(tmp_path):
    result = _train(tmp_path, "trainer.rounds=1")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    stored = run.read_bytes()
    missing = [m for m in METRICS if m.encode() not in stored]
    assert not missing


def test_a_multirun_sweep_makes_two_runs(tmp_path):
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    result = subprocess.run(
        [
            sys.executable, "train.py", "-m", "+experiment=smoke", "actor.lr=1e-3,3e-3",
            "trainer.rounds=1", "logger=csv", f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in runs] == ["0", "1"]
    for run, lr in zip(runs, ("0.001", "0.003"), strict=True):
        assert (run / "trajectories_r000.jsonl.gz").exists()
        assert f"actor.lr={lr}" in (run / ".hydra" / "overrides.yaml").read_text()


def test_bad_settings_are_one_line_errors(tmp_path):
    result = _train(tmp_path, "logger=csv", "critic.model.nhead=3")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: critic.model.d_model (128) must split into 3 heads of an even width"
    )
    result = _train(tmp_path, "logger=csv", f"ckpt_path={tmp_path / 'missing.ckpt'}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    result = _train(tmp_path, "logger=csv", "actor.update.epochs=0")
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        "error: config actor.update: epochs must be at least 1, clip and target_kl at least 0"
    )
    result = _train(tmp_path, "logger=csv", "actor.decisions=some")
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        "error: config actor.decisions must be one of approved, all, not 'some'"
    )
    result = _train(tmp_path, "logger=csv", "data.selfplay.backend=dask")
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == (
        "error: config data.selfplay: backend is one of process, ray, not 'dask'"
    )


def test_a_round_updates_on_every_decision(tmp_path):
    result = _train(tmp_path, "logger=csv", "actor.decisions=all", "trainer.rounds=1")
    assert result.returncode == 0, result.stderr[-3000:]
    with gzip.open(tmp_path / "trajectories_r000.jsonl.gz", "rt") as file:
        trajectory = json.loads(file.readline())
    approved = sum(d["approved"].count("1") for d in trajectory["decisions"])
    assert approved == len(trajectory["steps"]) and all(
        len(d["approved"]) == len(d["probabilities"]) == len(RULES) for d in trajectory["decisions"]
    )
    with open(tmp_path / "csv" / "metrics.csv") as file:
        losses = [
            float(r["actor/loss_policy"])
            for r in csv.DictReader(file)
            if r.get("actor/loss_policy")
        ]
    assert losses and all(math.isfinite(v) for v in losses)


def test_a_run_whose_actor_reads_the_search_context(tmp_path):
    """Episodes at budgets drawn from a list, an actor that reads the budget and the
    e-graph's growth: every recorded state carries both, and the run's checkpoint is read
    back with its own encoding under a config that has it off (``evaluate.py``'s)."""
    from hydra import compose, initialize_config_dir

    from src.config import CONF_DIR
    from src.expr import parse_sexpr
    from src.unified.search import actor_policy

    result = _train(
        tmp_path, "logger=csv", "trainer.rounds=2", "actor.features.search_context=true",
        "data.selfplay.episode_budgets=[100,300]",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with gzip.open(tmp_path / "trajectories_r001.jsonl.gz", "rt") as file:
        trajectories = [json.loads(line) for line in file]
    for t in trajectories:
        assert t["node_budget"] in (100, 300)
        for d in t["decisions"]:
            state = d["accumulator_state"]
            assert len(state) == 132 and state[130] == pytest.approx(
                math.log2(t["node_budget"] / 1000)
            )
            assert state[131] == pytest.approx(
                (d["egraph_nodes"] - t["decisions"][0]["egraph_nodes"]) / t["node_budget"]
            )
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="evaluate")
    assert not config.actor.features.search_context
    policy = actor_policy(config, tmp_path / "checkpoints" / "best.ckpt")
    x = policy.state(policy.features(parse_sexpr("(+ x 1)")), 1000, 0)
    assert x.shape == (132,) and policy.probabilities(x).shape == (len(RULES),)


def test_a_run_ships_as_the_guide(smoke_run, tmp_path):
    from omegaconf import OmegaConf

    from src.expr import parse_sexpr
    from src.unified.search import actor_policy
    from src.unified.ship import ship

    summary = ship(smoke_run, tmp_path / "guide")
    assert summary["rounds_trained"] == ROUNDS
    # the best by validation (the only validation is after round 1), not the final actor
    assert summary["shipped"] == {
        "checkpoint": "checkpoints/best.ckpt",
        "round": 1,
        "validation_geomean_speedup": summary["validation_geomean_speedup"][0]["geomean_speedup"],
    }
    shipped = (tmp_path / "guide" / "actor.pxw").read_bytes()
    assert shipped != (smoke_run / "actor.pxw").read_bytes()
    config = OmegaConf.load(smoke_run / ".hydra" / "config.yaml")
    expr = parse_sexpr("(+ (* a b) (* a c))")
    policies = [
        actor_policy(config, path)
        for path in (tmp_path / "guide" / "actor.pxw", smoke_run / "checkpoints" / "best.ckpt")
    ]
    p_shipped, p_best = (p.probabilities(p.features(expr)) for p in policies)
    np.testing.assert_allclose(p_shipped, p_best, rtol=1e-6)
    assert "experiment: smoke" in (tmp_path / "guide" / "config.yaml").read_text()
    metrics = json.loads((tmp_path / "guide" / "metrics.json").read_text())
    assert [r["round"] for r in metrics["median_speedup_per_round"]] == [0, 1, 2]
    assert [r["round"] for r in metrics["validation_geomean_speedup"]] == [1]


def test_evaluate_takes_the_guide_of_the_run_it_is_given(smoke_run):
    """``evaluate.py run_dir=RUN`` evaluates the actor that RUN ships (its best by
    validation), ``ckpt=`` overrides it, and neither means the shipped guide."""
    from src.unified.evaluation import guide_checkpoint
    from src.unified.ship import SHIPPED_GUIDE

    best, final = smoke_run / "checkpoints" / "best.ckpt", smoke_run / "actor.pxw"
    assert guide_checkpoint({"ckpt": None, "run_dir": str(smoke_run)}) == best
    assert guide_checkpoint({"ckpt": str(final), "run_dir": str(smoke_run)}) == final
    assert guide_checkpoint({"ckpt": None, "run_dir": None}) == SHIPPED_GUIDE


def test_an_actor_trained_for_another_rule_table_is_refused(smoke_run, tmp_path):
    """Rule biases are per position in the table: a weight file or checkpoint whose
    recorded table is not this one is refused, naming the file and the first rule that
    differs, instead of scoring each rule with another rule's bias."""
    import torch
    from omegaconf import OmegaConf

    from src.modules.weights import ActorWeightsError, save_actor_weights
    from src.unified.search import actor_policy

    config = OmegaConf.load(smoke_run / ".hydra" / "config.yaml")
    names = [rule.name for rule in RULES]
    net, saved = load_actor_weights(smoke_run / "actor.pxw")
    assert saved == names
    moved = [names[0], "mul-one-left", *names[1:-1]]  # a rule inserted near the top
    path = tmp_path / "other_table.pxw"
    save_actor_weights(path, net, moved)
    expected = f"{path}: the actor in it was trained for another rule table (rule 1 is "
    expected += f"'mul-one-left' there and {names[1]!r} here)"
    with pytest.raises(ActorWeightsError, match=re.escape(expected)):
        actor_policy(config, path)
    checkpoint = torch.load(smoke_run / "checkpoints" / "best.ckpt", weights_only=True)
    assert checkpoint["pixelflow_rule_names"] == names
    checkpoint["pixelflow_rule_names"] = moved
    torch.save(checkpoint, tmp_path / "other_table.ckpt")
    with pytest.raises(ValueError, match=r"other_table\.ckpt: .*another rule table \(rule 1 is"):
        actor_policy(config, tmp_path / "other_table.ckpt")


def test_ship_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    from src.unified.ship import main

    assert main([str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and ".hydra/config.yaml: not found" in error
    assert error.count("\n") == 1


def test_the_recipes_episodes_are_its_own_and_its_searches_are_optimize_pys():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from src.config import CONF_DIR
    from src.data.selfplay import episode_settings
    from src.unified.search import runner_settings

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="config", overrides=["+experiment=unified"])
        plain = compose(config_name="optimize")
    episode, search = episode_settings(config), runner_settings(config)
    assert (episode.max_steps, episode.max_candidates, episode.patience) == (30, 1, 0)
    assert not episode.walk_down  # episodes sample every rule every epoch (docs/training.md)
    # validation runs the search optimize.py runs (but for the node budget it is given)
    assert search == dataclasses.replace(runner_settings(plain), node_budget=search.node_budget)
    assert search.walk_down and search.max_candidates == 3
    typo = OmegaConf.create(OmegaConf.to_container(config))  # not struct: a new key is taken
    typo.data.selfplay.episode.max_step = 3
    with pytest.raises(ValueError, match="max_step"):
        episode_settings(typo)
    retired = OmegaConf.create(OmegaConf.to_container(config))  # a knob this code lacks
    retired.selfplay.runner.matchable_only = True
    for read in (runner_settings, episode_settings):
        with pytest.raises(ValueError, match="matchable_only"):
            read(retired)


def test_the_seed_experiment_keeps_the_seeds_literal_schedule():
    from hydra import compose, initialize_config_dir

    from src.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        config = compose(config_name="config", overrides=["+experiment=seed"])
    assert config.trainer.rounds == 30 and config.data.selfplay.trajectories_per_round == 50
    assert config.selfplay.runner.threshold == 0.3 and config.actor.update_batch_size == 0
    assert config.selfplay.runner.approval == "threshold" and config.actor.decisions == "approved"
    assert config.actor["update"]["epochs"] == 1 and config.actor["update"]["clip"] == 0
    assert config.critic.target == "terminal" and config.critic.budget_weight == 0
    train = config.critic.train
    assert (train.first_round_epochs, train.epochs) == (50, 50)
    assert not train.target_explained_variance and not train.patience and not train.max_steps


def _update_rows(run_dir):
    with open(run_dir / "csv" / "metrics.csv") as file:
        return [r for r in csv.DictReader(file) if r.get("actor/kl")]


def test_several_clipped_passes_over_a_round(tmp_path):
    result = _train(
        tmp_path, "logger=csv", "trainer.rounds=1", "actor.update.epochs=2",
        "actor.update.clip=0.2", "actor.update_batch_size=5", "actor.decisions=approved",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "csv" / "metrics.csv") as file:
        (metrics,) = [r for r in csv.DictReader(file) if r.get("selfplay/steps")]
    steps = int(float(metrics["selfplay/steps"]))
    rows = _update_rows(tmp_path)
    assert len(rows) == 2 * -(-steps // 5)  # two passes of minibatches of 5
    assert all(0.0 <= float(r["actor/clip_fraction"]) <= 1.0 for r in rows)


def test_the_kl_target_stops_a_rounds_update(tmp_path):
    result = _train(
        tmp_path, "logger=csv", "trainer.rounds=1", "actor.update.epochs=4",
        "actor.update.clip=0.2", "actor.update_batch_size=5", "actor.update.target_kl=1e-12",
        "actor.lr=0.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _update_rows(tmp_path)
    first = next(k for k, r in enumerate(rows) if r.get("actor/update_stopped"))
    # Lightning repeats a batch's last step metrics while training_step returns None:
    # after the stop, no update logs anything new
    assert first < len(rows) - 1
    assert {r["actor/kl"] for r in rows[first:]} == {rows[first]["actor/kl"]}
    assert float(rows[first]["actor/kl"]) > 1e-12


def test_the_learning_curve_plots_self_play_and_validation(smoke_run, tmp_path):
    from src.unified.report import learning_curve, learning_curve_plot, validation_curve

    assert [r for r, _ in learning_curve(smoke_run)] == [0, 1, 2]
    ((round_index, speedup),) = validation_curve(smoke_run)
    assert round_index == 1 and speedup >= 1.0
    assert validation_curve(tmp_path) == []  # a run that did not validate
    learning_curve_plot(smoke_run, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_directory_holding_checkpoints_is_not_trained_into_again(smoke_run):
    checkpoints = smoke_run / "checkpoints"
    before = {p.name: p.stat().st_mtime_ns for p in checkpoints.iterdir()}
    result = _train(smoke_run, "logger=csv")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {checkpoints} holds another run's checkpoints; train into a new "
        "hydra.run.dir, or resume that run with ckpt_path=.../last.ckpt"
    )
    assert {p.name: p.stat().st_mtime_ns for p in checkpoints.iterdir()} == before


def test_a_trainer_killed_mid_round_loses_at_most_that_round(tmp_path):
    """``kill -9`` of the trainer as round 1 starts (its pool's workers are left alone, as
    after a real crash), then a resume from ``last.ckpt``: round 0 is kept as it was
    written, round 1 is run again, and the run ends with all three rounds."""
    run_dir = tmp_path / "run"
    overrides = ["logger=csv", "data.selfplay.trajectories_per_round=12"]
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    command = [sys.executable, "train.py", "+experiment=smoke", f"hydra.run.dir={run_dir}"]
    trainer = subprocess.Popen(
        [*command, *overrides], cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for line in trainer.stderr:
            if line.startswith("round 1: generating"):
                os.kill(trainer.pid, signal.SIGKILL)
                break
        assert trainer.wait(timeout=120) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(trainer.pid, signal.SIGKILL)  # the orphaned pool workers
        trainer.stderr.close()
    first_round = (run_dir / "trajectories_r000.jsonl.gz").read_bytes()
    assert not (run_dir / "trajectories_r002.jsonl.gz").exists()
    last = run_dir / "checkpoints" / "last.ckpt"
    resumed = _train(run_dir, *overrides, f"ckpt_path={last}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "round 0: generating" not in resumed.stderr
    assert "round 1: generating" in resumed.stderr
    assert (run_dir / "trajectories_r000.jsonl.gz").read_bytes() == first_round
    for round_index in range(ROUNDS):
        assert (run_dir / f"trajectories_r{round_index:03d}.jsonl.gz").stat().st_size > 0
    assert (run_dir / "checkpoints" / f"round{ROUNDS - 1:03d}.ckpt").exists()


def test_the_ray_backend_gives_the_process_backends_trajectories(smoke_run, tmp_path):
    """``data.selfplay.backend=ray``: round 0 of a smoke run on a local Ray holds the very
    steps of the process backend's (``smoke_run``), from the same seed and actor."""
    result = _train(tmp_path, "logger=csv", "trainer.rounds=1", "data.selfplay.backend=ray")
    assert result.returncode == 0, result.stderr[-3000:]
    original = _steps(smoke_run / "trajectories_r000.jsonl.gz")
    assert _steps(tmp_path / "trajectories_r000.jsonl.gz") == original


def test_a_two_trial_optuna_sweep_writes_its_best_parameters(tmp_path):
    """``hparams_search=unified_optuna`` on the smoke experiment: two trials, each a run
    that validates once; the best run's validation geomean speedup is the best value."""
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    result = subprocess.run(
        [
            sys.executable, "train.py", "-m", "hparams_search=unified_optuna",
            "+experiment=smoke", "hydra.sweeper.n_trials=2", "trainer.rounds=2", "logger=csv",
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    found = OmegaConf.load(tmp_path / "optimization_results.yaml")
    assert set(found.best_params) == {
        "actor.lr", "actor.update.clip", "actor.update.epochs", "actor.entropy_coeff",
        "critic.budget_weight", "critic.train.epochs",
    }  # fmt: skip
    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in runs] == ["0", "1"]
    validated = [
        max(
            json.loads(line)["geomean_speedup"]
            for line in (run / "validation.jsonl").read_text().splitlines()
        )
        for run in runs
    ]
    assert found.best_value == pytest.approx(max(validated), rel=1e-6)
