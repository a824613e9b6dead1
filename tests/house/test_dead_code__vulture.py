"""No dead code in the product: vulture, as ``[tool.vulture]`` in ``pyproject.toml`` runs it
over ``workflow``, ``states`` and ``notifications``, reports nothing; a function nothing
calls would be reported; and every name the whitelist keeps alive is still defined."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("workflow", "states", "notifications")
WHITELIST = ROOT / "tests" / "dead_code_whitelist.py"


def vulture(*paths: str) -> subprocess.CompletedProcess[str]:
    """vulture with the project's configuration, on ``paths`` (none: its configured ones)."""
    return subprocess.run([sys.executable, "-m", "vulture", *paths], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_vulture_reports_nothing_in_the_product() -> None:
    out = vulture()
    assert (out.stdout, out.stderr, out.returncode) == ("", "", 0)


@pytest.mark.slow
def test_the_check_is_at_least_as_strict_as_80_percent() -> None:
    """vulture reports what it is at least ``min_confidence`` sure of, so the configured
    bar (60: unused functions, classes, methods, attributes, variables) also reports all
    it would at 80 (unused imports, unreachable code): a plain run at 80 finds nothing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["vulture"]["min_confidence"] <= 80
    out = vulture(*PRODUCT, str(WHITELIST), "--min-confidence", "80")
    assert (out.stdout, out.stderr, out.returncode) == ("", "", 0)


@pytest.mark.slow
def test_a_function_nothing_calls_is_reported(tmp_path: Path) -> None:
    """Planted beside the product, with the same settings: the dead function is the one
    line reported, and a Typer command (kept by its decorator) is not."""
    planted = tmp_path / "planted.py"
    planted.write_text("import typer\n\napp = typer.Typer()\n\n\n"
                       "def forgotten(x: int) -> int:\n    return x + 1\n\n\n"
                       "@app.command()\ndef hello() -> None:\n    print('hello')\n",
                       encoding="utf-8")
    out = vulture(*PRODUCT, str(WHITELIST), str(planted))
    assert out.returncode == 3  # vulture's "dead code found"
    assert out.stdout.splitlines() == [
        f"{planted}:6: unused function 'forgotten' (60% confidence)"]


def test_every_whitelisted_name_is_still_in_the_product() -> None:
    """A name left on the whitelist after its code went would hide the next dead thing
    of that name."""
    names = [node.attr for node in ast.walk(ast.parse(WHITELIST.read_text(encoding="utf-8")))
             if isinstance(node, ast.Attribute)]
    source = "\n".join(p.read_text(encoding="utf-8") for package in PRODUCT
                       for p in (ROOT / package).rglob("*.py"))
    assert len(names) > 20
    assert [n for n in names if not re.search(rf"\b{re.escape(n)}\b", source)] == []
