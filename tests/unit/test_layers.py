"""Imports point inward (docs/architecture.md): api and engine use services; services use
storage and domain; domain imports nothing of ours outside itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "outdial"
FORBIDDEN = {
    "domain": {"storage", "services", "api", "engine", "telephony", "runtime", "cli", "settings"},
    "storage": {"services", "api", "engine", "telephony", "runtime", "cli"},
    "services": {"api", "engine", "telephony", "runtime", "cli"},
    "api": {"engine", "telephony", "runtime", "cli"},
    "telephony": {"services", "storage", "api", "engine", "runtime", "cli"},
}


def our_imports(path: Path) -> set[str]:
    """The top-level package of every `outdial.*` import in a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "outdial" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_inward(layer: str) -> None:
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, layer
    wrong = {
        str(path.relative_to(ROOT)): sorted(our_imports(path) & FORBIDDEN[layer])
        for path in modules
        if "migrations" not in path.parts and our_imports(path) & FORBIDDEN[layer]
    }
    assert wrong == {}
