"""``workflow.reads.detail``: the read-only commands start without the ORM, Pydantic or
Jinja2 (what keeps them fast)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import ADMIN, norfolk
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database


@pytest.fixture
def wf_sent_to_force(db: Database, settings: Settings) -> Workflow:
    """Norfolk's response sent to the force."""
    workflow = Workflow(db, settings)
    norfolk(workflow)
    workflow.fire(1, "request_force_input", ADMIN)
    return workflow


@pytest.mark.slow
@pytest.mark.parametrize("args", [["list"], ["show", "1"], ["log", "1"]])
def test_read_commands_start_without_the_orm(wf_sent_to_force: Workflow, args: list[str]) -> None:
    """Each answers from the real database in a fresh process that never imported
    sqlmodel, the models, pydantic(-settings), Jinja2 or holidays, nor (on SQLite) the
    PostgreSQL dialect."""
    other = ", 'sqlalchemy.dialects.postgresql'" if wf_sent_to_force.db.is_sqlite else ""
    code = ("import sys, runpy\n"
            "sys.argv = ['s55', *sys.argv[1:]]\n"
            "try:\n"
            "    runpy.run_module('workflow.cli', run_name='__main__')\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "heavy = ('sqlmodel', 'workflow.storage.models', 'pydantic', 'pydantic_settings',"
            f" 'jinja2', 'holidays', 'workflow.responses.service'{other})\n"
            "print('LOADED', [m for m in heavy if m in sys.modules])\n")
    env = {**os.environ, "S55_DATABASE_URL": wf_sent_to_force.settings.database_url,
           "S55_ACTOR": ADMIN,
           "S55_IDENTITY": "claimed"}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).parents[3], check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"
    assert "force_input" in out.stdout or args == ["list"]
