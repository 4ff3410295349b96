"""The package's imports point only down the layers of docs/ARCHITECTURE.md (module-level and
function-level imports alike): core < io, runtime < estimators < degrade, tools, perception <
quality < regions, fusion < trajectory < agents < report < bench < api < app < cli. Packages
of the same layer do not import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mosaicir"

#: Rank of every sub-package and top-level module of ``mosaicir``.
LAYERS: dict[str, int] = {
    "core": 0,
    "io": 1, "runtime": 1,
    "estimators": 2,
    "degrade": 3, "tools": 3, "perception": 3,
    "quality": 4,
    "regions": 5, "fusion": 5,
    "trajectory": 6,
    "agents": 7,
    "report": 8,
    "bench": 9,
    "api": 10,
    "app": 11,
    "cli": 12,
    "__main__": 13,
}


def unit_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imports(tree: ast.AST) -> list[tuple[str, int]]:
    """``(module, line)`` of every ``mosaicir`` import outside ``if TYPE_CHECKING:`` blocks."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(name, node.lineno) for name in names if name == "mosaicir" or name.startswith("mosaicir.")]
    return found


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        if unit == "__init__":  # the root: imports only core eagerly (the API is loaded on first use)
            for module, line in imports(ast.parse(path.read_text())):
                if module.split(".")[1:2] != ["core"]:
                    found.append(f"mosaicir/__init__.py:{line} imports {module} (only core)")
            continue
        assert unit in LAYERS, f"{path}: a new package needs a layer in tests/test_layers.py and docs/ARCHITECTURE.md"
        for module, line in imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if len(parts) == 1:  # ``from mosaicir import __version__``: the root holds only core
                continue
            target = parts[1]
            if target == unit:
                continue
            if LAYERS.get(target, 99) >= LAYERS[unit]:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({unit}, layer {LAYERS[unit]}) imports "
                             f"{module} (layer {LAYERS.get(target)})")
    return found


def test_imports_point_only_down():
    assert violations() == []


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    # the check itself: an estimator importing a tool is reported
    fake = tmp_path / "mosaicir"
    (fake / "estimators").mkdir(parents=True)
    (fake / "__init__.py").write_text("from mosaicir.core.names import DEGRADATIONS\n")
    (fake / "estimators" / "bad.py").write_text("def f():\n    from mosaicir.tools.noise import NLMeans\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert violations() == ["mosaicir/estimators/bad.py:2 (estimators, layer 2) imports mosaicir.tools.noise (layer 3)"]


def test_docs_name_every_layer():
    architecture = (PACKAGE.parents[1] / "docs" / "ARCHITECTURE.md").read_text()
    for unit in LAYERS:
        if unit != "__main__":
            assert f"`{unit}`" in architecture, unit


def test_no_degradation_name_is_compared_in_agents():
    # routing is data (``agents/routing.py``: ``ROUTES``), not branches on names: no ``==``,
    # ``!=``, ``in`` or ``not in`` against a degradation's name anywhere in ``agents/``
    from mosaicir.core.names import DEGRADATIONS

    found = []
    for path in sorted((PACKAGE / "agents").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                for operand in operands:
                    for leaf in ast.walk(operand):
                        if isinstance(leaf, ast.Constant) and leaf.value in DEGRADATIONS:
                            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []
