"""src/config.py: library defaults come from conf/, or from the tree an entry point
adopted (its overrides included)."""

from hydra import compose, initialize_config_dir

from src import config as config_module
from src.config import CONF_DIR, adopt_config, conf_group


def test_library_defaults_read_an_adopted_tree(monkeypatch):
    monkeypatch.setattr(config_module, "_adopted", [])
    default = conf_group("selfplay").egraph.match_limit
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        tree = compose(config_name="optimize", overrides=["selfplay.egraph.match_limit=7"])
    adopt_config(tree)
    assert conf_group("selfplay").egraph.match_limit == 7 != default
    tree.selfplay.egraph.match_limit = 9  # the adopted copy does not follow later edits
    assert conf_group("selfplay").egraph.match_limit == 7
