"""``python -m src.cost.calibrate``: fit the static model's per-op costs on this machine.

For every op, microbenchmark kernels sum ``instances`` distinct applications of it to
scaled inputs (``x * 1.02``, ``x * 1.04``, ...), for two or more instance counts. Each
kernel is measured through the same JIT as everything else, and the per-op costs (and
the cost of loading a variable) are fit to the measurements by least squares weighted
by 1/cost, so that cheap and expensive kernels count alike; a cost the fit would make
negative is pinned to zero. Costs below ``cost_floor`` (for example ``not``, which LLVM
folds into the comparison it negates) are raised to it and reported, so that every op
node costs something and extraction prefers the smaller of two expressions the fit
cannot tell apart. Constants cost nothing (they are immediate operands). The table is
written atomically to ``conf/cost/static/calibrated.yaml``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from src.atomic import write_text_atomic
from src.config import PROJECT_ROOT, conf_group
from src.expr import BOOL, CONST, OPS, Expr, VarRange, apply, const, postorder, var
from src.expr.numbers import to_f32

from .measure import CostMeter
from .static import PRICED

_VARIABLES = ("x", "y", "z")
FITTED = tuple(name for name in PRICED if name != CONST)  # CONST is priced at zero


def _scaled(slot: int, instance: int, instances: int) -> Expr:
    """Input ``slot``'s variable times a multiplier in (1, 1.25] unique to the instance."""
    step = instance * len(_VARIABLES) + slot + 1
    factor = to_f32(1 + step / (4 * len(_VARIABLES) * instances))
    return apply("mul", var(_VARIABLES[slot]), const(factor))


def microbenchmark(op: str, instances: int) -> Expr:
    """The sum of ``instances`` distinct applications of ``op``. Conditions are
    comparisons of scaled inputs, except that ``select`` shares one condition so that
    its own cost can be told apart from the comparison's; a boolean result chooses
    between two inputs with ``select``."""
    spec = OPS[op]
    terms = []
    for k in range(instances):
        args = []
        for slot, sort in enumerate(spec.arg_sorts):
            if sort != BOOL:
                args.append(_scaled(slot, k, instances))
            elif op == "select":
                args.append(apply("lt", var("x"), var("y")))
            else:
                other = var(_VARIABLES[(slot + 1) % len(_VARIABLES)])
                args.append(apply("lt", _scaled(slot, k, instances), other))
        term = apply(op, *args)
        if spec.sort == BOOL:
            term = apply("select", term, var("x"), var("y"))
        terms.append(term)
    return reduce(lambda a, b: apply("add", a, b), terms)


def baselines() -> list[Expr]:
    """Kernels that only load and add their inputs: they pin down the cost of a load."""
    loads = [var(name) for name in _VARIABLES]
    return [reduce(lambda a, b: apply("add", a, b), loads[:n]) for n in (1, 2, 3)]


@dataclass(frozen=True)
class CalibrationSettings:
    instances: tuple[int, ...]
    domain: VarRange
    domains: Mapping[str, VarRange]
    cost_floor: float
    output: Path

    @classmethod
    def from_config(cls, config: DictConfig) -> CalibrationSettings:
        instances = tuple(int(n) for n in config.instances)
        if len(set(instances)) < 2 or min(instances) < 1:
            raise ValueError("cost.calibrate.instances needs two or more distinct counts >= 1")
        return cls(
            instances,
            VarRange(*map(float, config.domain)),
            {op: VarRange(*map(float, r)) for op, r in config.domains.items()},
            float(config.cost_floor),
            PROJECT_ROOT / config.output,
        )

    def ranges(self, op: str) -> dict[str, VarRange]:
        domain = self.domains.get(op, self.domain)
        return {name: domain for name in _VARIABLES}


def _counts(expr: Expr) -> Counter:
    return Counter(node.op for node in postorder(expr) if node.op != CONST)


def fit(kernels: Sequence[Expr], measured: Sequence[float]) -> tuple[dict[str, float], list[str]]:
    """Per-node costs (and an intercept, discarded) minimizing the relative error of
    ``sum(count * cost) + intercept`` against ``measured``. Returns the costs of
    ``FITTED`` and the names of those pinned at zero."""
    counts = [_counts(e) for e in kernels]
    columns = [name for name in FITTED if any(c[name] for c in counts)]
    design = np.array([[1.0] + [c[name] for name in columns] for c in counts])
    target = np.asarray(measured, dtype=np.float64)
    weights = 1.0 / np.maximum(target, np.finfo(np.float64).tiny)
    free = np.ones(len(columns) + 1, dtype=bool)
    while True:
        solution = np.zeros(len(free))
        solution[free] = np.linalg.lstsq(
            design[:, free] * weights[:, None], target * weights, rcond=None
        )[0]
        negative = free[1:] & (solution[1:] < 0)
        if not negative.any():
            break
        free[1:] &= ~negative
    costs = dict(zip(columns, solution[1:].tolist(), strict=True))
    pinned = [name for name, keep in zip(columns, free[1:], strict=True) if not keep]
    return costs, pinned


def _table(
    costs: Mapping[str, float], floored: list[str], meter: CostMeter, residual: float
) -> str:
    lines = [
        "# Static cost model: per-node cost in nanoseconds per element.",
        f"# Written by `python -m src.cost.calibrate` on {time.strftime('%Y-%m-%d')}; re-run it",
        "# to calibrate for another machine. Measured on:",
        f"#   {meter.fingerprint()}",
        f"# Median relative error of the fit over its microbenchmarks: {residual:.1%}.",
    ]
    if floored:
        lines.append(f"# Raised to the cost floor: {', '.join(floored)}.")
    lines.append("ops:")
    lines += [f"  {name}: {costs[name]:.4g}" for name in FITTED]
    lines.append(f"  {CONST}: 0")
    return "\n".join(lines) + "\n"


def calibrate(settings: CalibrationSettings, meter: CostMeter, log=print) -> str:
    """Measure the microbenchmarks, fit, and return the YAML text of the cost table."""
    kernels: list[Expr] = []
    measured: list[float] = []
    for op in OPS:
        for n in settings.instances:
            expr = microbenchmark(op, n)
            kernels.append(expr)
            measured.append(meter.measure(expr, settings.ranges(op)).ns_per_element)
        log(f"  {op:8s} {measured[-1]:9.3f} ns/element with {settings.instances[-1]} instances")
    for expr in baselines():
        kernels.append(expr)
        measured.append(meter.measure(expr, settings.ranges("add")).ns_per_element)
    costs, pinned = fit(kernels, measured)
    if pinned:
        log(f"calibrate: the fit pinned these costs at zero: {', '.join(pinned)}")
    predicted = np.array([sum(costs[op] * k for op, k in _counts(e).items()) for e in kernels])
    actual = np.array(measured)
    residual = float(np.median(np.abs(predicted - actual) / actual))
    floored = [name for name in FITTED if costs[name] < settings.cost_floor]
    if floored:
        log(f"calibrate: raised to the floor of {settings.cost_floor:g}: {', '.join(floored)}")
    costs = {name: max(cost, settings.cost_floor) for name, cost in costs.items()}
    return _table(costs, floored, meter, residual)


def main(argv: list[str] | None = None) -> int:
    config = conf_group("cost").calibrate
    parser = argparse.ArgumentParser(
        prog="python -m src.cost.calibrate",
        description="Fit the static cost model's per-op costs by microbenchmarks.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"where to write the table (default: {config.output})",
    )
    args = parser.parse_args(argv)
    settings = CalibrationSettings.from_config(config)
    output = args.output or settings.output
    if not output.parent.is_dir():
        print(f"error: no such directory: {output.parent}", file=sys.stderr)
        return 1
    print(f"calibrating {len(OPS)} ops ...", file=sys.stderr)
    text = calibrate(settings, CostMeter(), log=lambda line: print(line, file=sys.stderr))
    write_text_atomic(output, text)
    print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
