"""The rule table (``table.py``) and its soundness check (``soundness.py``);
``python -m src.selfplay.rules [--check] [--json]`` lists and checks the rules."""

from .table import FAMILIES, RULES, Rule, RuleError

__all__ = ["FAMILIES", "RULES", "Rule", "RuleError"]
