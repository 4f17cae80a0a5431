"""``python -m src.expr FILE_OR_EXPR``: parse expressions and report what they are.

For each kernel: its name, variables with ranges, tree nodes, DAG nodes, depth, and the
expression in the chosen syntax. A kernel that fails prints ``error: FILE:LINE:COL: ...``
(to stderr) and the rest go on; the exit status is 1 if any failed. ``--json`` prints one
JSON list instead, with an object per kernel.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from .errors import ParseError
from .fpcore import KernelError, print_fpcore
from .infix import print_infix
from .inputs import SYNTAXES, InputError, load_input
from .kernel import Kernel
from .numbers import format_f32

PRINTERS = {
    "sexpr": lambda k: k.body.text,
    "infix": lambda k: print_infix(k.body),
    "fpcore": print_fpcore,
}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m src.expr",
        description="Parse FPCore, s-expression or infix input and report each expression.",
    )
    parser.add_argument(
        "input",
        metavar="FILE_OR_EXPR",
        help="a file (.fpcore, or one expression per line) or an expression",
    )
    parser.add_argument(
        "--format",
        choices=tuple(PRINTERS),
        default="sexpr",
        help="syntax to print the expressions in (default: sexpr)",
    )
    parser.add_argument(
        "--syntax",
        choices=SYNTAXES,
        default="auto",
        help="syntax of the input (default: auto-detect)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    return parser.parse_args(argv)


def _report(kernel: Kernel, text: str) -> dict:
    return {
        "name": kernel.name,
        "vars": {
            a: [float(format_f32(v)) for v in kernel.ranges[a].as_list()] for a in kernel.args
        },
        "tree_nodes": kernel.body.tree_nodes,
        "dag_nodes": kernel.body.dag_nodes,
        "depth": kernel.body.depth,
        "expr": text,
    }


def _show(report: dict) -> str:
    ranges = (
        ", ".join(
            f"{a} in [{format_f32(lo)}, {format_f32(hi)}]" for a, (lo, hi) in report["vars"].items()
        )
        or "(none)"
    )
    return "\n".join(
        (
            report["name"],
            f"  vars:  {ranges}",
            f"  nodes: tree {report['tree_nodes']}, dag {report['dag_nodes']}, "
            f"depth {report['depth']}",
            "  " + report["expr"].replace("\n", "\n  "),
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        results = load_input(args.input, args.syntax)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    reports: list[dict] = []
    failed = False
    for item in results:
        if isinstance(item, Kernel):
            try:
                report = _report(item, PRINTERS[args.format](item))
            except ValueError as error:
                item = KernelError(item.name, ParseError(str(error), item.loc))
        if isinstance(item, KernelError):
            failed = True
            report = {"name": item.name, "error": str(item.error)}
            if not args.json:
                print(f"error: {item.error}", file=sys.stderr)
                continue
        if args.json:
            reports.append(report)
        else:
            print(_show(report), end="\n\n")
    if args.json:
        print(json.dumps(reports, indent=2))
    return 1 if failed else 0


def run(entry: Callable[[], int] = main) -> None:
    """Console entry: exits with ``entry``'s status; a closed pipe (``| head``) is not an
    error."""
    try:
        sys.exit(entry())
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
