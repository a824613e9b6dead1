"""``workflow.cli.coerce`` runs only on the Typer releases it was tested with: the range it
accepts is the one ``pyproject.toml`` requires, and any other release stops ``s55`` at
start-up with one line naming the installed release and the supported range."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import typer

from workflow.cli.coerce import SUPPORTED_TYPER, typer_problem

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_pyproject_requires_the_range_coerce_accepts() -> None:
    """The dependency pin and the start-up check name the same releases."""
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert [d for d in deps if d.startswith("typer")] == [f"typer{SUPPORTED_TYPER}"]


def test_the_installed_typer_is_supported() -> None:
    assert typer_problem(typer.__version__) is None


@pytest.mark.parametrize("version", ["0.29.0", "0.29.3", "0.29.10", "0.29.4.dev1"])
def test_releases_in_the_range_are_accepted(version: str) -> None:
    assert typer_problem(version) is None


@pytest.mark.parametrize("version", ["0.28.0", "0.30.0", "0.30.0rc1", "1.0.0", "0.3.0"])
def test_releases_outside_the_range_are_named_in_one_line(version: str) -> None:
    assert typer_problem(version) == (
        f"s55 needs Typer >=0.29,<0.30 (its start-up replaces a private part of Typer), but "
        f"Typer {version} is installed: pip install 'typer>=0.29,<0.30'")


def test_an_unsupported_typer_stops_the_command_line_at_start_up(tmp_path: Path) -> None:
    """A real ``s55`` process on a Typer claiming another release: exit status 1, the one
    ``Error:`` line on stderr, nothing on stdout and no database created."""
    db = tmp_path / "s55.db"
    code = ("import sys, typer; typer.__version__ = '0.30.0'\n"
            "from workflow.cli import main\n"
            "sys.argv = ['s55', 'init', '--admin-email', 'a@b.example', '--admin-name', 'A']\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"S55_DATABASE_URL": f"sqlite:///{db}", "PATH": ""}, timeout=120)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == ("Error: s55 needs Typer >=0.29,<0.30 (its start-up replaces a private "
                          "part of Typer), but Typer 0.30.0 is installed: pip install "
                          "'typer>=0.29,<0.30'\n")
    assert not db.exists()
