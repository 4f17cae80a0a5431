"""``python -m src.cost FILE_OR_EXPR``: compile, check and measure expressions.

For each kernel: compile time, measured ns per element and its spread, static cost, and
the largest relative error of the JIT against the reference evaluator. A kernel that
fails to parse or compile prints ``error: ...`` (to stderr) and the rest go on; so does
one whose JIT disagrees with the reference beyond ``cost.check.rtol``. The exit status
is 1 if any kernel failed. ``--json`` prints one JSON list instead, with an object per
kernel (an infinite relative error is ``null``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from src.expr import Kernel, KernelError
from src.expr.cli import run
from src.expr.inputs import SYNTAXES, InputError, load_input

from .check import CheckSettings, default_check_settings, jit_error
from .measure import CostMeter, default_meter
from .records import Measurement
from .static import StaticCostError, StaticCostModel, default_static_model


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m src.cost",
        description="JIT-compile expressions, check them against the reference evaluator "
        "and measure their cost.",
    )
    parser.add_argument(
        "input",
        metavar="FILE_OR_EXPR",
        help="a file (.fpcore, or one expression per line) or an expression",
    )
    parser.add_argument(
        "--syntax", choices=SYNTAXES, default="auto", help="syntax of the input (default: auto)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    return parser.parse_args(argv)


def _report(
    kernel: Kernel, meter: CostMeter, model: StaticCostModel, check: CheckSettings
) -> tuple[dict, Measurement]:
    """The kernel's report, and the measurement behind it."""
    compiled = meter.jit.compile(kernel.body)
    measurement = meter.measure(kernel.body, kernel.ranges)
    error = jit_error(compiled, kernel.ranges, check)
    report = {
        "name": kernel.name,
        "compile_ms": round(compiled.compile_ms, 3),
        "ns_per_element": measurement.ns_per_element,
        "spread_pct": round(measurement.spread_pct, 2),
        "static_cost": model.cost(kernel.body),
        "max_rel_error": error if math.isfinite(error) else None,
    }
    return report, measurement


def _show(report: dict, measurement: Measurement) -> str:
    error = report["max_rel_error"]
    lines = [
        report["name"],
        f"  compile {report['compile_ms']:.2f} ms, {report['ns_per_element']:.4g} ns/element "
        f"(spread {report['spread_pct']:.1f}%), static cost {report['static_cost']:.4g}, "
        f"max relative error {'inf' if error is None else f'{error:.3g}'}",
    ]
    if measurement.nonfinite:
        lines.append(
            f"  non-finite outputs: {measurement.nonfinite} of {measurement.elements} "
            "sampled inputs"
        )
    if not measurement.quiet:
        lines.append("  measured while the machine stayed busy: the figure may be high")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        items = load_input(args.input, args.syntax)
        model = default_static_model()
    except (InputError, StaticCostError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    meter, check = default_meter(), default_check_settings()
    reports: list[dict] = []
    failed = False
    for item in items:
        if isinstance(item, KernelError):
            failed = True
            report = {"name": item.name, "error": str(item.error)}
            print(f"error: {item.error}", file=sys.stderr)
        else:
            try:
                report, measurement = _report(item, meter, model, check)
            except RuntimeError as error:  # llvmlite reports LLVM failures this way
                failed = True
                report = {"name": item.name, "error": f"compile failed: {error}"}
                print(f"error: {item.name}: compile failed: {error}", file=sys.stderr)
            else:
                error = report["max_rel_error"]
                if error is None or error > check.rtol:
                    failed = True
                    print(
                        f"error: {item.name}: the JIT disagrees with the reference evaluator "
                        f"(max relative error {error} > {check.rtol})",
                        file=sys.stderr,
                    )
                if not args.json:
                    print(_show(report, measurement), end="\n\n")
        reports.append(report)
    if args.json:
        print(json.dumps(reports, indent=2))
    return 1 if failed else 0


def console() -> None:
    run(main)
