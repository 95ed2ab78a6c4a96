"""The static walk from a run's training function: how often it leaves a module and comes back.

Reads colorlib's source (nothing is imported or run) and follows the calls from one function,
depth first, in the order they are written: a call to a colorlib function named directly, through
an imported module (``runs.run_paths``), on ``self``/``cls``, or a class (its ``__init__``). Each
function is read once; a later call to it still visits its module, without reading it again.
Calls on other objects (``model.fit``) are not followed: their type is not known statically.

It prints the walk's measures:

- **stays**: the runs of consecutive visits to one module, in the walk's order;
- **modules**: how many modules the walk visits;
- **returns**: stays in a module that an earlier stay had already left;
- **climbs**: stays whose module is in a higher layer than the one before (the layers of
  ``tests/test_layout.py``: a walk that goes down the layers climbs only to come back from a call).

Usage::

    python benchmarks/call_walk.py [colorlib.workflow.train.train_run] [--path]
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "colorlib"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_layout import LAYERS, module_name  # noqa: E402


@dataclass
class Module:
    name: str
    functions: dict[str, ast.AST] = field(default_factory=dict)  # "f" or "Class.method"
    classes: set[str] = field(default_factory=set)
    imported: dict[str, str] = field(default_factory=dict)  # local name -> "colorlib.x" or "colorlib.x:f"


def read_package(package: Path = PACKAGE) -> dict[str, Module]:
    """Every module of the package: its functions and methods, and the colorlib names it imports."""
    modules = {}
    for path in package.rglob("*.py"):
        name = module_name(path, package)
        module = Module(name)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("colorlib"):
                for alias in node.names:
                    module.imported[alias.asname or alias.name] = f"{node.module}:{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("colorlib"):
                        module.imported[alias.asname or alias.name] = alias.name
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                module.classes.add(node.name)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        module.functions[f"{node.name}.{item.name}"] = item
        modules[name] = module
    return modules


def resolve(target: str, modules: dict[str, Module]) -> tuple[str, str] | None:
    """``"colorlib.x:f"`` (a function, a class, or a module) -> ``(module, function)``, or None."""
    if ":" not in target:
        return None
    module, name = target.split(":")
    if f"{module}.{name}" in modules:  # `from colorlib.x import submodule`
        return None
    if module not in modules:
        return None
    found = modules[module]
    if name in found.functions:
        return module, name
    if name in found.classes:
        return (module, f"{name}.__init__") if f"{name}.__init__" in found.functions else None
    if name in found.imported:  # re-exported by a package's __init__
        return resolve(found.imported[name], modules)
    return None


def callees(module: Module, function: str, modules: dict[str, Module]) -> list[tuple[str, str]]:
    """The colorlib functions a function calls, in the order they are written."""
    node = module.functions[function]
    owner = function.split(".")[0] if "." in function else None
    found = []
    calls = sorted(
        (call for call in ast.walk(node) if isinstance(call, ast.Call)),
        key=lambda call: (call.lineno, call.col_offset),
    )
    for call in calls:
        target = None
        callee = call.func
        if isinstance(callee, ast.Name):
            if callee.id in module.functions:
                target = (module.name, callee.id)
            elif callee.id in module.classes:
                init = f"{callee.id}.__init__"
                target = (module.name, init) if init in module.functions else None
            elif callee.id in module.imported:
                target = resolve(module.imported[callee.id], modules)
        elif isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Name):
            base = callee.value.id
            if base in ("self", "cls") and owner and f"{owner}.{callee.attr}" in module.functions:
                target = (module.name, f"{owner}.{callee.attr}")
            elif base in module.imported:
                imported = module.imported[base]
                submodule = imported.replace(":", ".") if ":" in imported else imported
                if submodule in modules:
                    target = resolve(f"{submodule}:{callee.attr}", modules)
        if target is not None:
            found.append(target)
    return found


def walk(start: str, modules: dict[str, Module]) -> list[str]:
    """The modules visited, in order, from ``module.path:function`` (each function read once)."""
    module, function = start.rsplit(":", 1) if ":" in start else start.rsplit(".", 1)
    seen, visits = set(), []

    def visit(module: str, function: str) -> None:
        visits.append(module)
        if (module, function) in seen:
            return
        seen.add((module, function))
        for callee in callees(modules[module], function, modules):
            visit(*callee)
            visits.append(module)  # back in the caller

    visit(module, function)
    return visits


def measures(visits: list[str]) -> dict[str, int]:
    stays = [module for index, module in enumerate(visits) if index == 0 or visits[index - 1] != module]
    rank = {name: index for index, name in enumerate(LAYERS)}

    def layer(module: str) -> int:
        parts = module.split(".")
        return rank.get(parts[1], len(LAYERS)) if len(parts) > 1 else len(LAYERS)

    left, returns, climbs = set(), 0, 0
    for index, module in enumerate(stays):
        if module in left:
            returns += 1
        if index:
            left.add(stays[index - 1])
            climbs += layer(module) > layer(stays[index - 1])
    return {"stays": len(stays), "modules": len(set(stays)), "returns": returns, "climbs": climbs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("start", nargs="?", default="colorlib.workflow.train:train_run")
    parser.add_argument("--path", action="store_true", help="print the stays in order")
    args = parser.parse_args()
    modules = read_package()
    visits = walk(args.start, modules)
    numbers = measures(visits)
    print(
        f"{args.start}: {numbers['stays']} stays in {numbers['modules']} modules, "
        f"{numbers['returns']} returns to a module already left, {numbers['climbs']} climbs up a layer"
    )
    if args.path:
        stays = [module for index, module in enumerate(visits) if index == 0 or visits[index - 1] != module]
        print(" -> ".join(name.removeprefix("colorlib.") for name in stays))


if __name__ == "__main__":
    main()
