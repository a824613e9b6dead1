"""Imports point one way (STYLE.md habit 2); checked by walking every module's AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for pkg in ("states", "workflow", "notifications")
                 for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


#: (who may import it) for each guarded top-level module.
ONLY_IN = {
    "typer": lambda m: m.startswith("workflow/cli/"),
    "apscheduler": lambda m: m == "workflow/scheduler.py",
    "aiosmtplib": lambda m: m == "notifications/transports/smtp.py",
}


@pytest.mark.parametrize("path", MODULES, ids=rel)
def test_imports_point_one_way(path: Path) -> None:
    module = rel(path)
    roots = {name.split(".")[0] for name in imports_of(path)}
    if module.startswith("states/"):
        assert not roots & {"workflow", "notifications", "sqlalchemy", "sqlmodel", "jinja2",
                            "typer", "aiosmtplib", "apscheduler"}, "states/ must stay pure"
    if module.startswith("notifications/"):
        assert "workflow" not in roots, "notifications/ must not import workflow/"
    for lib, allowed in ONLY_IN.items():
        if lib in roots:
            assert allowed(module), f"{module} imports {lib}"


def test_the_guarded_libraries_are_really_used_where_allowed() -> None:
    """Guards against the check above passing because nothing is scanned."""
    users = {lib: [rel(p) for p in MODULES if lib in {n.split('.')[0] for n in imports_of(p)}]
             for lib in ("typer", "aiosmtplib")}
    assert users["typer"]
    assert users["aiosmtplib"]
