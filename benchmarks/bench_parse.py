"""Parse and print timings over the FPCore corpus.

Run: .venv/bin/python benchmarks/bench_parse.py [--repeats N]

For each corpus file: kernels, tree and DAG nodes, and the best-of-N parse time. Then the
prospero kernel alone (the largest), and print-then-parse round trips of it in all three
syntaxes. Parse times include reading the text into data and interning the DAG; a fresh
parse can find nodes already interned by an earlier repeat, so the first (cold) time is
printed too.
"""

from __future__ import annotations

import argparse

from timing import call_times

from src.data.corpus import corpus_files
from src.expr import (
    Kernel,
    parse_fpcore,
    parse_fpcore_file,
    parse_infix,
    parse_sexpr,
    postorder,
    print_fpcore,
    print_infix,
)


def _timed(fn, repeats: int) -> tuple[float, float, object]:
    times, result = call_times(fn, repeats)
    return times[0], min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats

    print(f"{'file':42} {'kernels':>7} {'tree':>8} {'dag':>7} {'cold ms':>8} {'best ms':>8}")
    total_kernels = 0
    for stem, path in corpus_files().items():
        text = path.read_text()
        cold, best, results = _timed(lambda t=text, p=path: parse_fpcore_file(t, str(p)), repeats)
        kernels = [k for k in results if isinstance(k, Kernel)]
        total_kernels += len(kernels)
        tree = sum(k.body.tree_nodes for k in kernels)
        dag = sum(k.body.dag_nodes for k in kernels)
        print(f"{stem:42} {len(kernels):7} {tree:8} {dag:7} {cold * 1e3:8.1f} {best * 1e3:8.1f}")
    print(f"kernels parsed: {total_kernels}")

    text = corpus_files()["graphics-fidget-prospero"].read_text()
    cold, best, prospero = _timed(lambda: parse_fpcore(text), repeats)
    body = prospero.body
    leaves: dict = {}
    for node in postorder(body):
        leaves[node] = 1 if node.is_leaf else sum(leaves[c] for c in node.args)
    ops = body.tree_nodes - leaves[body]
    print(
        f"\nprospero: {body.tree_nodes} tree nodes ({ops} ops), {body.dag_nodes} DAG nodes, "
        f"depth {body.depth}"
    )
    print(f"prospero parse: cold {cold * 1e3:.0f} ms, best of {repeats} {best * 1e3:.0f} ms")
    for name, show, read in (
        ("sexpr", lambda: body.text, parse_sexpr),
        ("infix", lambda: print_infix(body), parse_infix),
        ("fpcore", lambda: print_fpcore(prospero), parse_fpcore),
    ):
        print_cold, _, shown = _timed(show, repeats)
        _, parse_best, back = _timed(lambda s=shown, r=read: r(s), repeats)
        same = (back.body if isinstance(back, Kernel) else back) is body
        print(
            f"prospero {name:6}: {len(shown):7} chars, print (cold) {print_cold * 1e3:4.0f} ms, "
            f"parse {parse_best * 1e3:6.0f} ms, round trip identical: {same}"
        )


if __name__ == "__main__":
    main()
