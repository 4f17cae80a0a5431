"""What constant folding saves a kernel, measured paired in one process.

Run: .venv/bin/python benchmarks/bench_fold.py

Each row times a form a kernel would run without folding against the form folding gives:
- an op on a constant computed on every element, as kernels were compiled before the JIT
  folded constants (written here with the constant as a variable whose range is that one
  value, since the JIT now folds a literal), against its folded value;
- a division by a constant against the multiplication by its reciprocal that
  ``div-as-mul`` and the e-graph's folding give (the static model priced the reciprocal
  as a division before, so extraction never took it).
Prints each form's ns per element and the paired speedup of the folded form.
"""

from __future__ import annotations

from src.cost.measure import default_meter
from src.expr import VarRange, parse_sexpr
from src.expr.fold import fold_constants

# (what, the form a kernel ran, its constant variables, the form with them written as
# literals: folding that gives the folded form)
CASES = [
    (
        "cos and sin of a constant angle",
        "(+ (* x (cos c)) (* y (sin c)))",
        {"c": VarRange(0.8195, 0.8195)},
        "(+ (* x (cos 0.8195)) (* y (sin 0.8195)))",
    ),
    ("exp of a constant", "(* x (exp c))", {"c": VarRange(0.5, 0.5)}, "(* x (exp 0.5))"),
    ("division by a constant", "(/ (- x 0.5) 1.421)", {}, "(* (- x 0.5) (recip 1.421))"),
]


def main() -> None:
    meter = default_meter()
    ranges = {"x": VarRange(-10.0, 10.0), "y": VarRange(-10.0, 10.0)}
    print("| what | as written (ns/element) | folded (ns/element) | speedup | folded form |")
    print("|---|---|---|---|---|")
    for what, text, constants, literal in CASES:
        after = fold_constants(parse_sexpr(literal)).text
        comparison = meter.compare([parse_sexpr(text), parse_sexpr(after)], ranges | constants)
        before_cost, after_cost = comparison.costs
        print(
            f"| {what} | {before_cost.ns_per_element:.3f} | {after_cost.ns_per_element:.3f} | "
            f"{after_cost.speedup:.2f}x | `{after}` |",
            flush=True,
        )


if __name__ == "__main__":
    main()
