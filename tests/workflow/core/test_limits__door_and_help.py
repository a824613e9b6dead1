"""Every free-text input has a length limit, enforced at the door and stated in ``--help``
. The numbers come from the one table, ``workflow.core.limits.LIMITS``: the test reads
each command's ``--help`` for the number, refuses one character over it (one ``Error:``
line, exit 1, every table unchanged) and accepts exactly the limit. On both backends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, snapshot
from workflow.cli import app
from workflow.core.limits import LIMITS, stated
from workflow.responses.service import Workflow

Build = Callable[[str, Path], list[str]]


def _file(text: str, tmp: Path) -> str:
    path = tmp / f"text-{len(text)}.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _report(option: str) -> Build:
    return lambda v, _t: ["report", "add", "--title", "A report", "--published", "2024-10-10",
                          option, v]


#: (command for --help, the option as --help names it, field in LIMITS, the invocation with
#: a value, who runs it, how to make a value of a given length).
CASES: list[tuple[str, str, str, Build, str, Callable[[int], str]]] = [
    ("report add", "--title", "title",
     lambda v, _t: ["report", "add", "--title", v, "--published", "2024-10-10"], ADMIN,
     lambda n: "T" * n),
    ("report add", "--types", "publication_types", _report("--types"), ADMIN, lambda n: "P" * n),
    ("report add", "--forces", "police_forces", _report("--forces"), ADMIN, lambda n: "F" * n),
    ("report add", "--link", "link", _report("--link"), ADMIN,
     lambda n: "https://www.justiceinspectorates.gov.uk/" + "a" * (n - 40)),
    ("report add", "--rec", "text", lambda v, _t: [*_report("--rec")(f"1={v}", _t)], ADMIN,
     lambda n: "R" * n),
    ("edit", "--text", "key_findings",
     lambda v, _t: ["edit", "1", "key_findings", "--text", v], ADMIN, lambda n: "K" * n),
    ("edit", "--file", "key_findings",
     lambda v, t: ["edit", "1", "pcc_response", "--file", _file(v, t)], ADMIN,
     lambda n: "P" * n),
    ("rec add", "--text", "text", lambda v, _t: ["rec", "add", "1", "9", "--text", v], ADMIN,
     lambda n: "x" * n),
    ("rec respond", "--file", "force_response",
     lambda v, t: ["rec", "respond", "1", "1", "--file", _file(v, t)], FORCE,
     lambda n: "y" * n),
    ("mark-not-required", "--reason", "reason",
     lambda v, _t: ["mark-not-required", "1", "--reason", v], ADMIN, lambda n: "w" * n),
    ("deadline", "--reason", "reason",
     lambda v, _t: ["deadline", "1", "2024-12-20", "--reason", v], ADMIN, lambda n: "z" * n),
    ("report edit", "--reason", "reason",
     lambda v, _t: ["report", "edit", "1", "police_forces", "Norfolk", "--reason", v], ADMIN,
     lambda n: "r" * n),
    ("people add", "name", "name",
     lambda v, _t: ["people", "add", v, "new.person@norfolk-pcc.gov.uk", "--role", "panel"],
     ADMIN, lambda n: "N" * n),
]
IDS = [f"{c[0]} {c[1]}" for c in CASES]


def option_help(command: str, option: str) -> str:
    """What ``--help`` says about ``option``, on one line (Rich's box and wrapping gone)."""
    text = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "100"}).output
    lines = [ln.strip(" │╭╮╰╯─") for ln in text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if re.match(rf"(\* )?{option}\b", ln))
    block = [lines[start]]
    for ln in lines[start + 1:]:
        if not ln or ln.startswith(("--", "* ")) or re.match(r"[A-Z_]+\s", ln):
            break
        block.append(ln)
    return " ".join(" ".join(block).split())


@pytest.mark.parametrize(("command", "option", "field"), [c[:3] for c in CASES], ids=IDS)
def test_help_states_the_limit(command: str, option: str, field: str) -> None:
    assert stated(field) in option_help(command, option)
    assert f"{LIMITS[field]:,}" in option_help(command, option)


@pytest.mark.parametrize(("command", "option", "field", "build", "actor", "value"), CASES,
                         ids=IDS)
def test_one_over_is_refused_and_the_limit_accepted(
        wf_norfolk: Workflow, run: Any, tmp_path: Path, command: str, option: str, field: str,
        build: Build, actor: str, value: Callable[[int], str]) -> None:
    limit = LIMITS[field]
    before = snapshot(wf_norfolk)
    result = run(*build(value(limit + 1), tmp_path), actor=actor)
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ")
    assert line.endswith(f"is {limit + 1:,} characters long; {stated(field)}")
    assert snapshot(wf_norfolk) == before
    result = run(*build(value(limit), tmp_path), actor=actor)
    assert result.exit_code == 0, result.output
