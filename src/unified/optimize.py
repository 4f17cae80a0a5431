"""``python optimize.py``: the trained guide on a user's expressions.

For each expression: the guided search (``selfplay.runner``), then the result in the
input's syntax with measured ns/element before and after, the speedup, the largest
relative error on sampled inputs, the rules applied, the e-graph size and the seconds.
The result is the fastest, by paired measurement, of the input and the search's
extractions that pass the semantic check, so it never measures slower than the input;
when the final extraction fails the check, ``ok`` is false and the note says why.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path

from src.cost.measure import meter_from_config
from src.expr import Kernel, KernelError, print_fpcore, print_infix
from src.expr.inputs import InputError, detect_syntax, load_input

from .search import Optimized, actor_policy, guided, resolve_checkpoint, runner_settings

JSON_KEYS = (
    "name", "input", "output", "ns_before", "ns_after", "speedup", "max_rel_error", "ok",
    "rules_applied", "egraph_nodes", "seconds", "candidates_measured", "raw_output",
    "raw_speedup",
)  # fmt: skip


def quote_free_text(argv: list[str]) -> list[str]:
    """``expr=(+ a b)`` as Hydra needs it: ``expression='(+ a b)'``. ``expr`` is also the
    name of a config group, so the key is ``expression``; and expressions are full of
    characters Hydra's grammar gives meaning to, so an unquoted ``expr=``,
    ``expression=`` or ``input=`` value is quoted (``\\`` and ``'`` escaped) before
    Hydra reads the command line."""
    quoted = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in ("expr", "expression", "input"):
            key = "expression" if key == "expr" else key
            if not value.startswith(("'", '"')):
                value = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            arg = f"{key}={value}"
        quoted.append(arg)
    return quoted


def _written(kernel: Kernel, syntax: str, body) -> str:
    if syntax == "fpcore":
        return print_fpcore(dataclasses.replace(kernel, body=body))
    return print_infix(body) if syntax == "infix" else body.text


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _record(result: Optimized, kernel: Kernel, syntax: str) -> dict:
    return {
        "name": result.name,
        "input": _written(kernel, syntax, result.input),
        "output": _written(kernel, syntax, result.output),
        "ns_before": result.ns_before,
        "ns_after": result.ns_after,
        "speedup": _number(result.speedup),
        "max_rel_error": _number(result.max_rel_error),
        "ok": result.ok,
        "rules_applied": result.rules_applied,
        "egraph_nodes": result.egraph_nodes,
        "seconds": result.seconds,
        "candidates_measured": result.candidates_measured,
        "raw_output": _written(kernel, syntax, result.raw_output or result.input),
        "raw_speedup": None if result.raw_speedup is None else _number(result.raw_speedup),
    }


def _indented(text: str) -> str:
    """Multi-line text (FPCore) lined up under its first line in the report."""
    return text.replace("\n", "\n" + " " * 10)


def _kept_input(record: dict) -> list[str]:
    """The search's own answer, when the guard kept another (it did not measure faster
    beyond the comparison's noise, or it failed the check)."""
    if record["raw_output"] == record["output"]:
        return []
    raw = record["raw_speedup"]
    measured = "failed the check" if raw is None else f"measured {raw:.3f}x"
    return [f"  search: {_indented(record['raw_output'])} ({measured}: not given)"]


def _show(record: dict, note: str) -> str:
    status = "ok" if record["ok"] else f"NOT ok ({note}); the input is kept"
    error = record["max_rel_error"]
    return "\n".join(
        [
            record["name"],
            f"  input:  {_indented(record['input'])}",
            f"  output: {_indented(record['output'])}",
            *_kept_input(record),
            f"  {record['ns_before']:.4g} -> {record['ns_after']:.4g} ns/element, speedup "
            f"{record['speedup']:.3f}x, max relative error "
            f"{'inf' if error is None else f'{error:.3g}'}, {status}",
            f"  rules applied: {', '.join(record['rules_applied']) or 'none'}",
            f"  e-graph {record['egraph_nodes']} nodes, {record['seconds']:.2f} s, fastest of "
            f"the input and {record['candidates_measured']} candidates measured side by side",
        ]
    )


def optimize(config: Mapping) -> int:
    if (config["expression"] is None) == (config["input"] is None):
        print("error: give one of expr=EXPRESSION or input=FILE", file=sys.stderr)
        return 2
    source = config["expression"] if config["expression"] is not None else config["input"]
    if config["output"] not in ("text", "json"):
        print(f"error: output must be text or json, not {config['output']!r}", file=sys.stderr)
        return 2
    try:
        items = load_input(str(source), config["syntax"])
        policy = actor_policy(config, resolve_checkpoint(config["ckpt"]))
        settings = runner_settings(config)
        meter = meter_from_config(config["cost"])
    except (InputError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    syntax = config["syntax"]
    if syntax == "auto":
        path = Path(str(source))
        text = path.read_text(encoding="utf-8") if path.is_file() else str(source)
        syntax = detect_syntax(text)
    records, failed = [], False
    for item in items:
        if isinstance(item, KernelError):
            print(f"error: {item.error}", file=sys.stderr)
            failed = True
            continue
        result = guided(item.name, item.body, item.ranges, policy, settings, meter=meter)
        record = _record(result, item, syntax)
        records.append(record)
        if config["output"] == "text":
            print(_show(record, result.note), end="\n\n", flush=True)
    if config["output"] == "json":
        print(json.dumps([{key: r[key] for key in JSON_KEYS} for r in records], indent=2))
    return 1 if failed else 0
