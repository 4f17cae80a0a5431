"""Imports point down the layers of ../shared/DESIGN.md: each package under src/ imports
only the packages below it (and the shared helpers ``src.config``, ``src.atomic``,
``src.workers``, which import nothing of the project's packages);
``src/selfplay`` never imports ``src/modules``, and ``src/modules`` reads only
``src/expr``, the data schema and the returns. The schema (trajectory payloads) is the
contract between the runner, the data module and the modules, so the runner may use it
too; it imports nothing of the project but ``src.atomic``. The returns (what a
trajectory earned, ``src/data/returns.py``) read the schema alone."""

import ast

import pytest

from src.config import PROJECT_ROOT

SHARED = {"src.config", "src.atomic", "src.workers"}
ALLOWED = {
    "expr": {"src.expr"},
    "cost": {"src.expr", "src.cost"},
    "selfplay": {"src.expr", "src.cost", "src.selfplay", "src.data.schema"},
    "data": {"src.expr", "src.cost", "src.selfplay", "src.data"},
    "modules": {"src.expr", "src.data.schema", "src.data.returns", "src.modules"},
    "unified": {"src"},  # the loop's wiring, above everything
}


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package):
    allowed = ALLOWED[package] | SHARED
    wrong = []
    for path in sorted((PROJECT_ROOT / "src" / package).rglob("*.py")):
        for module in _imports(path):
            inside = module == "src" or module.startswith("src.")
            if inside and not any(module == a or module.startswith(a + ".") for a in allowed):
                wrong.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_every_package_has_a_rule():
    packages = {p.name for p in (PROJECT_ROOT / "src").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_the_schema_is_a_leaf():
    path = PROJECT_ROOT / "src" / "data" / "schema.py"
    inside = [m for m in _imports(path) if m == "src" or m.startswith("src.")]
    assert inside == ["src.atomic"]


def test_the_returns_read_the_schema_alone():
    path = PROJECT_ROOT / "src" / "data" / "returns.py"
    inside = [m for m in _imports(path) if m == "src" or m.startswith("src.")]
    assert set(inside) == {"src.data.schema"}


def test_the_task_pools_import_nothing_of_the_project():
    path = PROJECT_ROOT / "src" / "workers.py"
    assert [m for m in _imports(path) if m == "src" or m.startswith("src.")] == []
