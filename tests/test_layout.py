"""The package's shape: one concern per module, and no import cycles between them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "colorlib"


def colorlib_imports(path: Path) -> set[str]:
    """The colorlib modules a module imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "colorlib":
            found |= {alias.name for alias in node.names if alias.name != "__version__"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("colorlib."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("colorlib.")}
    return found - {path.stem}


def test_no_module_imports_itself_back_through_others():
    graph = {path.stem: colorlib_imports(path) for path in PACKAGE.glob("*.py")}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in trail:
                cycles.append([*trail[trail.index(imported) :], imported])
            elif imported in graph:
                visit(imported, [*trail, imported])

    for module in graph:
        visit(module, [module])
    assert cycles == [], cycles


def test_the_cycle_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text("from colorlib import b\n")
    assert colorlib_imports(tmp_path / "a.py") == {"b"}


def test_library_modules_neither_exit_nor_parse_arguments():
    for path in PACKAGE.glob("*.py"):
        if path.stem in ("cli", "__main__"):
            continue
        source = path.read_text()
        assert "sys.exit" not in source and "argparse" not in source, path.name
