"""``optimize.py`` and ``evaluate.py``: results in the input's syntax with exactly the
promised JSON keys, a failed check never hands back a wrong kernel, clear errors, and an
evaluation that writes its table, JSON and plot with every output checked."""

import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src.config import CONF_DIR, conf_group
from src.cost.measure import default_meter
from src.expr import parse_sexpr
from src.modules.actor import ActorModule
from src.selfplay.fastest import fastest
from src.selfplay.rules import RULES
from src.unified import search
from src.unified.evaluation import evaluate
from src.unified.optimize import JSON_KEYS, optimize, quote_free_text


@pytest.fixture(scope="module")
def actor_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("guide") / "actor.pxw"
    ActorModule(
        conf_group("actor"), [(r.lhs, r.rhs) for r in RULES], [r.name for r in RULES]
    ).save_weights(path)
    return path


def _config(name, *overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        return compose(config_name=name, overrides=list(overrides))


def test_json_output_has_exactly_the_keys(actor_file, capsys):
    config = _config(
        "optimize", "expression='(+ (* a b) (* a c))'", f"ckpt={actor_file}", "output=json"
    )
    assert optimize(config) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert tuple(record) == JSON_KEYS
    assert record["ok"] is True and record["input"] == "(+ (* a b) (* a c))"
    assert record["speedup"] == pytest.approx(record["ns_before"] / record["ns_after"])


def test_output_is_in_the_inputs_syntax(actor_file, capsys):
    config = _config("optimize", "expression='a * b + a * c'", f"ckpt={actor_file}", "output=json")
    assert optimize(config) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["input"] == "a * b + a * c"
    fpcore = _config(
        "optimize",
        "input=data/fpbench/hamming-rearrangement.fpcore",
        f"ckpt={actor_file}",
        "output=json",
    )
    assert optimize(fpcore) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) > 3 and all(r["output"].startswith("(FPCore") for r in records)


def test_a_failed_check_keeps_the_input():
    seed, wrong = parse_sexpr("(sin x)"), parse_sexpr("(cos x)")
    settings = search.runner_settings(_config("optimize"))
    choice = fastest(seed, [wrong], {}, settings, default_meter())
    assert choice.final_disagreement and choice.output is seed
    assert choice.final_ns is None and choice.candidates_measured == 0


def test_bad_calls_are_one_line_errors(actor_file, tmp_path, capsys):
    assert optimize(_config("optimize", f"ckpt={actor_file}")) == 2
    assert "give one of expr=EXPRESSION or input=FILE" in capsys.readouterr().err
    missing = _config("optimize", "expression='(+ x 1)'", f"ckpt={tmp_path / 'none.pxw'}")
    assert optimize(missing) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'none.pxw'}: cannot read")
    broken = _config("optimize", "expression='(+ x'", f"ckpt={actor_file}")
    assert optimize(broken) == 1
    assert "error: <input>:1:1: '(' is never closed" in capsys.readouterr().err


def test_free_text_is_quoted_for_hydra():
    assert quote_free_text(["optimize.py", "expr=(+ (* a b) c)", "output=json"]) == [
        "optimize.py", "expression='(+ (* a b) c)'", "output=json",
    ]  # fmt: skip
    assert quote_free_text(["input=it's.fpcore"]) == ["input='it\\'s.fpcore'"]


def test_evaluation_writes_table_json_and_plot(actor_file, tmp_path):
    config = _config(
        "evaluate", "suites=[pairs]", "pairs=2", f"ckpt={actor_file}", "workers=1",
        "budgets=[50,200]", "methods=[input,fast-math,random,guide]",
        "selfplay.runner.max_steps=3",
    )  # fmt: skip
    config = OmegaConf.merge(config, {"paths": {"run_dir": str(tmp_path)}})
    assert evaluate(config) == 0
    table = (tmp_path / "results.md").read_text()
    assert "| pairs | small | random | 50 |" in table
    results = json.loads((tmp_path / "results.json").read_text())
    # 2 pairs x 4 methods x 2 budgets; input and fast-math ran once and are listed at both
    assert len(results["results"]) == 16 and all(r["ok"] for r in results["results"])
    assert {r["budget"] for r in results["results"]} == {50, 200}
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
