"""The evaluation's table of the guide against its targets (``report.targets``), on
records made up so that every figure is known."""

from src.unified import report


def _record(method, name, size, speedup, nodes=100, seconds=1.0, suite="fpcore", ok=True):
    return {
        "suite": suite, "name": name, "input": f"(+ {name} 1)", "size": size, "method": method,
        "budget": 250, "speedup": speedup, "egraph_nodes": nodes, "seconds": seconds, "ok": ok,
    }  # fmt: skip


def _row(table: str, label: str) -> list[str]:
    (line,) = [line for line in table.splitlines() if line.startswith(f"| {label}")]
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_each_figure_is_the_guide_over_its_baseline_on_the_same_cases():
    records = [
        _record("guide", "a", "small", 2.0, nodes=10, seconds=1.0),
        _record("saturation", "a", "small", 2.0, nodes=100, seconds=2.0),
        _record("guide", "b", "medium", 1.0, nodes=30, seconds=1.0, ok=False),
        _record("saturation", "b", "medium", 2.0, nodes=300, seconds=2.0),
        _record("guide", "c", "small", 5.0),  # saturation did not run it: left out
        _record("guide", "d", "huge", 3.0, seconds=4.0, suite="scenes"),
        _record("saturation", "d", "huge", 2.0, seconds=2.0, suite="scenes"),
        _record("random", "d", "huge", 1.5, suite="scenes"),
        _record("untrained", "d", "huge", 2.0, suite="scenes"),
    ]
    table = report.targets(records)
    assert _row(table, "small and medium: speedup") == ["2", f"{2**0.5 / 2:.3f}"]
    assert _row(table, "small and medium: median e-graph nodes") == ["2", "10%"]
    assert _row(table, "small and medium: seconds") == ["2", "0.50"]
    assert _row(table, "large and huge: speedup / saturation's") == ["1", "1.500"]
    assert _row(table, "large and huge: speedup / random's") == ["1", "2.000"]
    assert _row(table, "large and huge: seconds") == ["1", "2.00"]
    assert _row(table, "scenes: speedup / the untrained actor's") == ["1", "1.500"]
    assert "fpcore: speedup / the untrained" not in table  # no untrained record there
    assert "Semantic mismatches by the guide (target: none): 1." in table


def test_no_guide_no_table():
    assert report.targets([_record("saturation", "a", "small", 2.0)]) == ""
