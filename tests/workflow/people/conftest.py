"""Fixtures of the people tests: Norfolk's office on a keyed database that holds its
settings as ``s55 init`` records them (identity claimed, separation of duties on), with
personal links that can be mailed; the command line on the same database; officers at
work in October 2024."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner
from web_support import BASE, web_settings

from tests.factories import norfolk, record_office
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

DURING = "2024-10-14 10:00:00+01:00"


@pytest.fixture(autouse=True)
def _in_october_2024() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def office_wf(keyed_db: Database, settings: Settings) -> Workflow:
    """Norfolk's people and report on a database holding the office's settings; links on."""
    wf = Workflow(keyed_db, web_settings(settings, keyed_db))
    record_office(wf)
    norfolk(wf)
    return wf


@pytest.fixture
def cli(office_wf: Workflow, tmp_path: Path) -> Callable[..., Any]:
    """``cli(*args, actor=..., **env)``: ``s55 ARGS`` in this process on ``office_wf``'s
    database, audit key and base URL."""
    env = {"S55_DATABASE_URL": office_wf.db.url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
           "S55_AUDIT_KEY_FILE": str(office_wf.db.audit_key_file), "S55_BASE_URL": BASE}

    def invoke(*args: str, actor: str | None = None, **extra: str) -> Any:
        return CliRunner().invoke(app, list(args),
                                  env={**env, "S55_ACTOR": actor or "", **extra})

    return invoke
