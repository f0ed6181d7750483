"""The engine boundary and the direction of imports, read from the source (no simulator).

No module outside ``spiking/engines`` names an engine (they are declared in
``engines/registry.py``), and each stage imports only what the architecture
page allows (``docs/architecture.md``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from spiking.engines.registry import ENGINES

SRC = Path(__file__).resolve().parents[1] / "src" / "spiking"


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC), ast.parse(path.read_text(), filename=str(path))


def _docstrings(tree) -> set[int]:
    """ids of the string constants that are docstrings (prose may name a simulator)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def test_no_module_outside_the_engines_names_an_engine():
    """A string that is an engine's name (``"nest"``, ``"brian2"``) appears in no code outside ``engines/``."""
    names = set(ENGINES)
    found = []
    for rel, tree in _modules():
        if rel.parts[0] == "engines":
            continue
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in names and id(node) not in docs:
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert not found, found


def _imports(rel: Path, tree) -> set[str]:
    """The packages of ``spiking`` a module imports (first component after ``spiking``)."""
    out = set()
    depth_of_package = len(rel.parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                base = list(rel.parts[: depth_of_package - up]) if up <= depth_of_package else []
                parts = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("spiking"):
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                out.add(".".join(parts[:2]) if parts[0] == "engines" else parts[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("spiking."):
                    out.add(alias.name.split(".")[1])
    return out


#: What each stage may import from the package (itself and the leaves: errors, machine, engines.registry).
ALLOWED = {
    "config": {"model", "engines.registry"},
    "model": {"config", "engines.registry"},
    "engines": {
        "model",
        "io",
        "izhikevich",
        "learn",
        "engines.registry",
        "engines.base",
        "engines.nest",
        "engines.brian2",
    },
    "io": {"config", "model"},
    "render": {"config", "model", "io", "analysis", "validate"},
    "analysis": {"config", "model", "io"},
    "firstspike": {"io", "learn"},
}


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_imports_run_down_the_pipeline(stage):
    allowed = ALLOWED[stage] | {stage, "errors", "machine", "engines.registry"}
    wrong = []
    for rel, tree in _modules():
        if rel.parts[0] != stage:
            continue
        for target in _imports(rel, tree):
            if target not in allowed and not (stage == "engines" and target.startswith("engines")):
                wrong.append(f"{rel} imports {target}")
    assert not wrong, wrong
