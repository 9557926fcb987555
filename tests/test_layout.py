"""The code's layout rules, checked on the source: no module shadows the standard library, and
the layers import only downwards (latinno → parsers → flows/warehouse → cli)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("latinno", "parsers", "flows", "warehouse", "sitemodel", "cli")

# What each base layer must never import (first component of the imported module).
FORBIDDEN: dict[str, frozenset[str]] = {
    "latinno": frozenset({"parsers", "flows", "warehouse", "sitemodel", "cli", "prefect"}),
    "parsers": frozenset(
        {"flows", "warehouse", "sitemodel", "cli", "prefect", "httpx", "duckdb", "pyarrow"}
    ),
}


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, at any depth (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_shares_a_name_with_the_standard_library() -> None:
    # A module named like a stdlib one (flows/http.py) shadows it whenever its folder lands on
    # sys.path, as it does when Prefect loads a flow from a file path: issue 14.
    stdlib = sys.stdlib_module_names
    clashes = []
    for package in (*PACKAGES, "bench", "tests"):
        if package in stdlib:
            clashes.append(package)
        for path in modules(package):
            for part in path.relative_to(REPO / package).with_suffix("").parts:
                if part in stdlib and part != "__init__":
                    clashes.append(str(path.relative_to(REPO)))
    assert clashes == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_base_layers_import_nothing_above_them(package: str) -> None:
    offending = {
        str(path.relative_to(REPO)): sorted(imported(path) & FORBIDDEN[package])
        for path in modules(package)
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_import_scan_sees_nested_imports() -> None:
    # The scan must find imports inside functions: that is where the CLI imports Prefect.
    assert "prefect" in imported(REPO / "cli" / "refresh.py")
