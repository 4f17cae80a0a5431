"""The validation entry point (src/unified/validation.py) and the evaluation's suites
(src/unified/suites.py): metrics overall and per size bucket, at the given budget."""

import pytest
from omegaconf import OmegaConf

from src.config import conf_group
from src.data.ladder import default_ladder
from src.unified.search import RandomPolicy, runner_settings
from src.unified.suites import pair_cases, scene_cases
from src.unified.validation import validate


class _Nothing(RandomPolicy):
    """Approves no rule."""

    def __init__(self) -> None:
        super().__init__(0, 0)

    def probabilities(self, features):
        return super().probabilities(features) * 0


def _settings(**changes):
    config = OmegaConf.create({"selfplay": conf_group("selfplay")})
    settings = runner_settings(config)
    return type(settings)(**(settings.__dict__ | {"max_steps": 4} | changes))


def test_validate_reports_overall_and_per_bucket_metrics_at_the_budget():
    ladder = default_ladder()
    cases = pair_cases(4, 99, ladder)
    metrics = validate(RandomPolicy(6, 0), cases, budget=300, settings=_settings())
    assert metrics["expressions"] == 4 and metrics["failures"] == 0
    assert metrics["geomean_speedup"] >= 1.0  # the guard never hands back a slower kernel
    sizes = {case.size for case in cases}
    assert sum(metrics[f"{s}/expressions"] for s in sizes) == 4
    assert metrics["seconds"] > 0


def test_a_policy_that_approves_nothing_keeps_every_input():
    cases = pair_cases(2, 99, default_ladder())
    metrics = validate(_Nothing(), cases, budget=300, settings=_settings())
    assert metrics["geomean_speedup"] == pytest.approx(1.0)
    assert metrics["egraph_nodes"] <= max(c.expr.dag_nodes for c in cases)


def test_validate_refuses_no_cases():
    with pytest.raises(ValueError, match="at least one case"):
        validate(RandomPolicy(1, 0), [], budget=100, settings=_settings())


def test_suites_spread_over_the_ladder_and_hold_what_their_buckets_say():
    ladder = default_ladder()
    pairs = pair_cases(8, 99, ladder)
    scenes = scene_cases(6, 99, ladder)
    for case in pairs + scenes:
        low, high = ladder.span(case.size)
        assert low <= case.expr.dag_nodes <= high, (case.name, case.size, case.expr.dag_nodes)
    assert {c.size for c in pairs} == set(ladder.names)
    assert {c.size for c in scenes} >= {"medium", "large", "huge"}


def test_the_random_policy_approves_its_draws_and_ranks_the_rest_at_random():
    """Its drawn rules are the ones top_k approves; the rest come in a random order far
    below them, so a walk down the ranking (walk_down) goes on at random, not by index."""
    import numpy as np

    settings = _settings(approval="top_k", top_k=0)
    policy = RandomPolicy(5, 3)
    p = policy.probabilities(np.zeros(0))
    drawn = np.flatnonzero(p == 1.0)
    assert len(drawn) == 5 and np.sum(p) < 5.5
    assert np.flatnonzero(settings.approve(p, np.random.default_rng(0))).tolist() == drawn.tolist()
    rest = np.argsort(-p, kind="stable")[5:]
    assert sorted(rest.tolist()) != rest.tolist()  # not the table's order
    assert settings.approve(p, np.random.default_rng(0), tried=p == 1.0).sum() == 0  # < 0.5 left


def test_validation_reads_the_corpus_band_and_reports_each_suite():
    from src.data.corpus import trainable_kernels
    from src.unified.suites import cases as suite_cases
    from src.unified.validation import validation_cases

    config = OmegaConf.create(
        {
            "validation": {"pairs": 2, "scenes": 0, "seed": 99, "corpus": True},
            "data": {"selfplay": OmegaConf.to_container(conf_group("data").selfplay, resolve=True)},
        }
    )
    found = validation_cases(config)
    corpus = [c for c in found if c.suite == "corpus"]
    s = config.data.selfplay
    band = trainable_kernels(
        s.corpus_holdout, s.corpus_max_dag_nodes, s.corpus_validation, in_band=True
    )
    assert [c.name for c in corpus] == [k.name for k in band] and len(found) == 2 + len(band)
    config.validation.corpus = False
    assert [c.suite for c in validation_cases(config)] == ["pairs", "pairs"]
    # the band comes out of the training half: evaluation's fpcore suite is disjoint from
    # it, and the same with or without a band
    evaluation = OmegaConf.create(
        {"suites": ["fpcore"], "file": None, "max_dag_nodes": 2500, "data": config.data}
    )
    fpcore = [c.name for c in suite_cases(evaluation)[0]]
    assert fpcore and not set(fpcore) & {k.name for k in band}
    evaluation.data.selfplay.corpus_validation = 0.0
    assert [c.name for c in suite_cases(evaluation)[0]] == fpcore

    metrics = validate(RandomPolicy(3, 0), found[:1] + corpus[:2], 200, _settings())
    assert metrics["pairs/expressions"] == 1 and metrics["corpus/expressions"] == 2
    assert metrics["expressions"] == 3
