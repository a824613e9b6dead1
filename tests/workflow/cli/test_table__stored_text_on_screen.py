"""The log cannot lie on screen: stored text with line breaks, escape sequences or
Rich markup is shown written out, never obeyed, in ``list``, ``show`` and ``log``, piped
and at a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.factories import ADMIN, norfolk
from tests.workflow.cli.test_table__aligned_columns import at_terminal
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

#: What someone with database access (or an older s55) may have stored in a title.
FORGED = "ASB [/][bold]spotlight\n2024-10-14 09:00:00  #99  pcc@x  sign_off\x1b[2J"
SHOWN = r"ASB [/][bold]spotlight\n2024-10-14 09:00:00  #99  pcc@x  sign_off\x1b[2J"


@pytest.fixture
def stored(db: Database, settings: Settings) -> Database:
    rid = norfolk(Workflow(db, settings))
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE inspection_report SET title = :t"), {"t": FORGED})
    assert rid == 1
    return db


def test_piped_list_and_show_write_control_characters_out(stored: Database, run) -> None:  # type: ignore[no-untyped-def]
    listed = run("list", actor=ADMIN).stdout.splitlines()
    assert len(listed) == 2  # the header and one response: no forged second line
    assert SHOWN in listed[1]
    shown = run("show", "1", actor=ADMIN).stdout
    assert f"  report:     {SHOWN}" in shown.splitlines()
    assert "\x1b" not in shown


@pytest.mark.slow
def test_a_terminal_shows_markup_as_text(stored: Database, db_url: str, tmp_path: Path) -> None:
    """``[/]`` crashed ``s55 list`` at a terminal (Rich read it as markup)."""
    lines = at_terminal(["list"], {"S55_DATABASE_URL": db_url,
                                   "S55_SPOOL_DIR": str(tmp_path / "spool")}, columns=400)
    assert any("ASB [/][bold]spotlight\\n2024-10-14" in line for line in lines), lines



def test_control_characters_are_written_out_by_name() -> None:
    """The one function every table, ``show`` and the error boundary print through."""
    from workflow.cli.table import visible

    assert visible("a\nb\r\x00\x1b[2J\u2028\x7f[/] é") == r"a\nb\r\x00\x1b[2J\u2028\x7f[/] é"
