"""The package's shape: folders that name the parts, imports that go one way down the layers, no cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "colorlib"

#: colorlib's parts, bottom layer first. A module may import its own part and the parts below it,
#: never one above (docs/layout.md says what each holds).
LAYERS = (
    "core",
    "color",
    "losses",
    "archs",
    "data",
    "training",
    "colorize",
    "evaluation",
    "reports",
    "workflow",
    "cli",
)
#: The done-when numbers of the layout (issue 16).
MAX_TOP_LEVEL_ENTRIES = 12
MAX_MODULE_LINES = 400


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``colorlib/data/images.py`` -> ``"colorlib.data.images"``; a package's ``__init__`` is the package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def colorlib_imports(path: Path, known: set[str]) -> set[str]:
    """The colorlib modules (among ``known``) a module imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("colorlib"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("colorlib")}
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: the colorlib modules it imports}`` over every module of ``package``."""
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    known = set(paths)
    return {name: colorlib_imports(path, known) - {name} for name, path in paths.items()}


def part(module: str) -> str | None:
    """The top-level part of ``colorlib.PART.x``; None for the package root."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else None


def upward_imports(graph: dict[str, set[str]], layers: tuple[str, ...] = LAYERS) -> list[str]:
    """``"a -> b"`` for every import of a module from a layer above its own."""
    rank = {name: index for index, name in enumerate(layers)}
    found = []
    for module, imported in graph.items():
        for target in imported:
            source_part, target_part = part(module), part(target)
            if target_part is None or source_part == target_part:
                continue
            if source_part is None or rank[target_part] > rank[source_part]:
                found.append(f"{module} -> {target}")
    return sorted(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as the modules along it (a package importing its own submodules is no cycle)."""
    found = []

    def visit(module: str, trail: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in trail:
                found.append([*trail[trail.index(imported) :], imported])
            elif imported in graph and not imported.startswith(module + "."):
                visit(imported, [*trail, imported])

    for module in graph:
        visit(module, [module])
    return found


def test_every_part_has_a_layer():
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(LAYERS)


def test_no_module_imports_from_a_layer_above():
    assert upward_imports(import_graph()) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_top_level_stays_small_and_modules_short():
    entries = [path.name for path in PACKAGE.iterdir() if path.name != "__pycache__"]
    assert len(entries) <= MAX_TOP_LEVEL_ENTRIES, sorted(entries)
    long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


@pytest.fixture
def toy_package(tmp_path: Path) -> Path:
    """colorlib-shaped: ``colorlib/core/base.py`` and ``colorlib/cli/__init__.py``."""
    package = tmp_path / "colorlib"
    for folder in ("core", "cli"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("from colorlib.core import base\n")
    (package / "core" / "base.py").write_text("")
    return package


def test_the_layer_check_fails_on_an_upward_import(toy_package: Path):
    assert upward_imports(import_graph(toy_package), ("core", "cli")) == []
    (toy_package / "core" / "base.py").write_text("def late():\n    from colorlib import cli\n")
    graph = import_graph(toy_package)
    assert upward_imports(graph, ("core", "cli")) == ["colorlib.core.base -> colorlib.cli"]
    assert cycles(graph)[0][0] in ("colorlib.cli", "colorlib.core.base")


def test_the_cycle_check_fails_within_a_layer(toy_package: Path):
    (toy_package / "core" / "other.py").write_text("from colorlib.core.base import x\n")
    (toy_package / "core" / "base.py").write_text("from colorlib.core import other\n")
    assert cycles(import_graph(toy_package)) != []


def test_library_modules_neither_exit_nor_parse_arguments():
    for path in PACKAGE.rglob("*.py"):
        if part(module_name(path)) == "cli":
            continue
        source = path.read_text()
        assert "sys.exit" not in source and "argparse" not in source, path.name


#: Where a test of the loss, the decoder or the variant may stand: the training schemes' own files
#: (issue 38), and Params, which refuses combinations that do not go together.
SCHEME_FILES = ("training/models.py", "training/base_model.py", "core/params.py")
#: A test of the run's loss, decoder or hints: ``params.loss == "gan"``, ``if params.hints``, ...
VARIANT_TEST = re.compile(
    r"\b(?:params|self\.params)\.(?:loss|decoder|gan_from)\s*(?:==|!=|\bin\b|\bnot in\b)"
    r"|\bif\s+(?:not\s+)?(?:params|self\.params)\.(?:hints|hint_spread|init_run|generator_run)\b"
    r"|\b(?:ADVERSARIAL_LOSSES|GAN_LOSS|DDCOLOR_LOSS)\b"
)


def variant_tests(package: Path = PACKAGE) -> list[str]:
    """``"file:line: text"`` of every test of the variant outside the scheme files."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in SCHEME_FILES or relative.endswith("_model.py") or relative == "core/config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if VARIANT_TEST.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_only_the_training_schemes_branch_on_the_loss_decoder_or_variant():
    assert variant_tests() == []


def test_the_variant_check_finds_a_branch(toy_package: Path):
    (toy_package / "core" / "base.py").write_text(
        "def f(params):\n    if params.loss == 'gan':\n        pass\n"
    )
    assert variant_tests(toy_package) == ["core/base.py:2: if params.loss == 'gan':"]
