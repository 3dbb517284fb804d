"""Imports point inward (docs/architecture.md, "Package roles"): api and engine use services;
services use storage and domain; domain imports nothing of ours outside itself.

Every top-level package and module of `outdial` has a row saying what of ours it may import,
and every form of import is seen: `import outdial.x`, `from outdial.x import y`,
`from outdial import x`, relative imports, imports inside functions and
`importlib.import_module("outdial.x")`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "outdial"
EVERYTHING = None  # the composition root and the entry points wire everything

# What each layer may import of ours, besides itself (docs/architecture.md).
ALLOWED: dict[str, set[str] | None] = {
    "domain": set(),
    "storage": {"domain", "metrics"},
    "services": {"domain", "storage", "clock", "wire", "netguard"},
    "api": {"services", "domain", "storage", "wire", "metrics", "__version__"},
    "engine": {
        "services",
        "storage",
        "domain",
        "telephony",
        "clock",
        "metrics",
        "netguard",
        "signatures",
    },
    "telephony": {"domain", "clock", "settings", "metrics", "netguard"},
    "wire": {"domain", "storage"},  # storage.codec and timeconv only (the read model)
    "supervisor": {"domain"},
    "settings": {"domain", "storage"},
    "cli": {"runtime", "demo", "settings", "domain", "logs", "wire", "priority"},
    "netguard": {"domain"},
    "signatures": set(),
    "clock": set(),
    "metrics": set(),
    "logs": set(),
    "priority": set(),  # the process's CPU priority (--media-priority)
    "runtime": EVERYTHING,
    "demo": EVERYTHING,
    "__main__": {"cli"},
    "__init__": set(),
}


def _names(node: ast.AST, package: tuple[str, ...]) -> list[str]:
    """The dotted `outdial...` names one node imports (`package`: the module's package path
    under outdial, for relative imports)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = ("outdial", *package[: len(package) - node.level + 1])
        else:
            base = ()
        module = ".".join((*base, *([node.module] if node.module else [])))
        # `from outdial import x` and `from . import x` import the modules x themselves
        if module == "outdial" or not node.module:
            return [f"{module}.{alias.name}" for alias in node.names]
        return [module]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, (ast.Name, ast.Attribute))
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def our_imports(source: str, package: tuple[str, ...] = ()) -> set[str]:
    """The top-level package or module of every `outdial.*` import in a module's source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        for name in _names(node, package):
            parts = name.split(".")
            if parts[0] == "outdial" and len(parts) > 1:
                found.add(parts[1])
    return found


def _layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _modules() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts]


def test_every_layer_has_a_row() -> None:
    assert {_layer_of(p) for p in _modules()} <= set(ALLOWED)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_inward(layer: str) -> None:
    modules = [p for p in _modules() if _layer_of(p) == layer]
    assert modules, layer
    allowed = ALLOWED[layer]
    if allowed is EVERYTHING:
        return
    wrong = {}
    for path in modules:
        package = path.relative_to(ROOT).parts[:-1]
        found = our_imports(path.read_text(encoding="utf-8"), package) - {layer} - allowed
        if found:
            wrong[str(path.relative_to(ROOT))] = sorted(found)
    assert wrong == {}


def test_every_import_form_is_seen() -> None:
    source = """
import outdial.storage.repo
from outdial.services import campaigns
from outdial import engine, wire_format as wf
from .. import runtime
from ..settings import Settings
from . import sibling
import importlib

def late():
    from outdial.telephony import sim
    importlib.import_module("outdial.cli")
"""
    found = our_imports(source, ("domain",))  # as if in outdial/domain/x.py
    assert found == {
        "storage",
        "services",
        "engine",
        "wire_format",
        "runtime",
        "settings",
        "domain",
        "telephony",
        "cli",
    }
