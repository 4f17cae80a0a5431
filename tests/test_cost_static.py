"""The static cost model and its calibration: DAG-sum costs, the shared-subtree rule,
the microbenchmarks, the least-squares fit, and the calibrate command."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from src.config import default_config
from src.cost import calibrate as cal
from src.cost.static import PRICED, StaticCostError, StaticCostModel, default_static_model
from src.expr import CONST, OPS, parse_fpcore, parse_sexpr, postorder


def test_the_shipped_table_prices_every_op():
    model = default_static_model()
    assert set(PRICED) <= set(model.costs)
    assert model.costs[CONST] == 0
    assert model.costs["sin"] > model.costs["add"] > 0


def test_cost_is_the_sum_over_distinct_dag_nodes():
    model = StaticCostModel({name: 1.0 for name in PRICED} | {"sin": 10.0, CONST: 0.0})
    repeated = parse_sexpr("(+ (sin (* x y)) (* (sin (* x y)) (sin (* x y))))")
    let_bound = parse_fpcore("(FPCore (x y) (let ((s (sin (* x y)))) (+ s (* s s))))").body
    # distinct nodes: x, y, (* x y), sin, (* s s), + ... once each
    assert model.cost(repeated) == model.cost(let_bound) == 1 + 1 + 1 + 10 + 1 + 1
    assert model.cost(parse_sexpr("(+ (sin x) (sin y))")) == 1 + 1 + 10 + 10 + 1


def test_a_missing_or_bad_table_is_a_clear_error():
    with pytest.raises(StaticCostError, match=r"run `python -m src\.cost\.calibrate`"):
        StaticCostModel.from_config(None)
    with pytest.raises(StaticCostError, match=r"no cost for .*hypot"):
        StaticCostModel({name: 1.0 for name in PRICED if name != "hypot"})
    with pytest.raises(StaticCostError, match=">= 0: sin"):
        StaticCostModel({name: 1.0 for name in PRICED} | {"sin": -1.0})


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_microbenchmark_has_distinct_instances_of_its_op(op):
    expr = cal.microbenchmark(op, 8)
    count = sum(node.op == op for node in postorder(expr))
    scaffolding = {"add", "mul", "lt", "select"}  # the sums, scalings and conditions
    assert count == 8 if op not in scaffolding else count >= 8
    assert expr.sort == "num"


def test_the_fit_recovers_known_costs():
    rng = np.random.default_rng(0)
    truth = {name: float(rng.uniform(0.01, 5)) for name in cal.FITTED}
    kernels = [cal.microbenchmark(op, n) for op in OPS for n in (8, 24)] + cal.baselines()
    intercept = 3.0
    measured = [
        intercept + sum(truth[node.op] for node in postorder(e) if node.op != CONST)
        for e in kernels
    ]
    costs, pinned = cal.fit(kernels, measured)
    assert pinned == []
    for name in cal.FITTED:
        assert costs[name] == pytest.approx(truth[name], rel=1e-6), name


def test_the_fit_pins_negative_costs_at_zero_and_says_so():
    kernels = [cal.microbenchmark(op, n) for op in OPS for n in (8, 24)] + cal.baselines()
    truth = dict.fromkeys(cal.FITTED, 1.0) | {"neg": -0.5}
    measured = [
        10 + sum(truth[node.op] for node in postorder(e) if node.op != CONST) for e in kernels
    ]
    costs, pinned = cal.fit(kernels, measured)
    assert pinned == ["neg"] and costs["neg"] == 0
    assert all(costs[name] >= 0 for name in cal.FITTED)


def test_calibration_settings_are_validated():
    config = OmegaConf.create(
        {"instances": [8], "domain": [-1, 1], "domains": {}, "cost_floor": 0, "output": "x.yaml"}
    )
    with pytest.raises(ValueError, match="two or more distinct counts"):
        cal.CalibrationSettings.from_config(config)


def test_calibrate_writes_a_table_the_model_loads(tmp_path, capsys):
    output = tmp_path / "calibrated.yaml"
    assert cal.main(["--output", str(output)]) == 0
    model = StaticCostModel.from_config(OmegaConf.load(output))
    floor = cal.CalibrationSettings.from_config(default_config().cost.calibrate).cost_floor
    assert all(model.costs[name] >= floor for name in cal.FITTED)
    assert model.costs["pow"] > model.costs["mul"]
    assert "wrote" in capsys.readouterr().err
    assert cal.main(["--output", str(tmp_path / "missing" / "x.yaml")]) == 1
