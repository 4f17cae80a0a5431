"""``python -m src.selfplay.rules [--check] [--json]``: list the rules, and check them.

Each rule prints as ``name  family  lhs -> rhs`` (plus ``if guard``). ``--check`` runs
the soundness check on every rule (``soundness.py``) and exits with status 1 if any rule
fails, printing the failures with a counterexample. ``--json`` prints one JSON list
instead, an object per rule with ``name``, ``family``, ``lhs``, ``rhs`` (and ``sound``
with ``--check``).
"""

from __future__ import annotations

import argparse
import json
import sys

from src.expr.cli import run

from .soundness import check_rule, default_soundness_settings
from .table import RULES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m src.selfplay.rules", description="List (and check) the rewrite rules."
    )
    parser.add_argument("--check", action="store_true", help="run the soundness check")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    args = parser.parse_args(argv)
    settings = default_soundness_settings()
    rows, failed = [], []
    for rule in RULES:
        row = {"name": rule.name, "family": rule.family, "lhs": rule.lhs.text, "rhs": rule.rhs.text}
        if args.check:
            result = check_rule(rule, settings)
            row["sound"] = result.sound
            if not result.sound:
                failed.append(result)
        rows.append(row)
        if not args.json:
            guard = f"  if {rule.guard.text}" if rule.guard is not None else ""
            status = ("  ok" if row["sound"] else "  UNSOUND") if args.check else ""
            rewrite = f"{rule.lhs.text} -> {rule.rhs.text}{guard}"
            print(f"{rule.name:24s} {rule.family:8s} {rewrite}{status}")
    if args.json:
        print(json.dumps(rows, indent=2))
    for result in failed:
        example = f": {result.counterexample}" if result.counterexample else ""
        print(f"error: rule {result.rule} is unsound ({result.detail}){example}", file=sys.stderr)
    if args.check and not args.json:
        print(
            f"{len(RULES) - len(failed)} of {len(RULES)} rules sound "
            f"({settings.bindings}+ bindings each where the left side is defined)",
            file=sys.stderr,
        )
    return 1 if failed else 0


def console() -> None:
    run(main)
