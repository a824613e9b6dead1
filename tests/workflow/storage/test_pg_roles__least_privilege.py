"""``s55 db roles``: on PostgreSQL the application's login owns nothing and holds
only SELECT and INSERT on the audit log, so it can neither disable the append-only triggers
nor update, delete or truncate events; s55 still does all its work under it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.conftest import PG_ADMIN_URL, _pg_reachable, _with_db
from tests.factories import ADMIN, norfolk, snapshot
from workflow.audit import trail
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage import pg_roles, schema
from workflow.storage.db import Database

S55 = [sys.executable, "-m", "workflow.cli"]


@pytest.fixture
def own_database() -> Iterator[tuple[str, str, str]]:
    """A fresh, migrated database with the Norfolk response, and two role names of its own
    (roles are cluster-wide); all dropped afterwards."""
    if why := _pg_reachable():
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    tag = uuid.uuid4().hex[:8]
    name, owner, app_role = f"s55_roles_{tag}", f"s55o_{tag}", f"s55a_{tag}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(PG_ADMIN_URL, name)
    db = Database(url)
    schema.upgrade(db)
    norfolk(Workflow(db, Settings(database_url=url)))
    db.dispose()
    try:
        yield url, owner, app_role
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (app_role, owner):
                conn.execute(f"DROP ROLE IF EXISTS {role}")


def as_role(url: str, role: str) -> str:
    base, _, rest = url.partition("://")
    return f"{base}://{role}@{rest.split('@', 1)[1]}"


@pytest.mark.postgresql
@pytest.mark.slow
def test_the_application_role_cannot_rewrite_history(own_database: tuple[str, str, str],
                                                     tmp_path: Path) -> None:
    url, owner, app_role = own_database
    applied = CliRunner().invoke(app, ["db", "roles", "--apply", "--owner", owner,
                                       "--app", app_role], env={"S55_DATABASE_URL": url})
    assert applied.exit_code == 0, applied.output
    app_url = as_role(url, app_role)
    with psycopg.connect(app_url.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as conn:
        for sql, refusal in [
            ("ALTER TABLE audit_event DISABLE TRIGGER USER", "must be owner of table"),
            ("UPDATE audit_event SET actor = 'forger' WHERE id = 1", "permission denied"),
            ("DELETE FROM audit_event WHERE id = 1", "permission denied"),
            ("TRUNCATE audit_event CASCADE", "permission denied"),
            ("DROP TABLE audit_event", "must be owner of table"),
            ("CREATE TABLE audit_event_copy (id int)", "permission denied for schema public"),
        ]:
            with pytest.raises(psycopg.Error, match=refusal):
                conn.execute(sql)
    # ... and yet s55 does its work as that role: a transition with its event and its mail.
    env = {**os.environ, "S55_DATABASE_URL": app_url, "S55_ACTOR": ADMIN,
           "S55_SPOOL_DIR": str(tmp_path / "spool")}
    moved = subprocess.run([*S55, "request-force-input", "1"], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert moved.returncode == 0, moved.stderr
    sent = subprocess.run([*S55, "mail", "send"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert sent.returncode == 0, sent.stderr
    db = Database(app_url)
    try:
        assert trail.verify(db).ok
    finally:
        db.dispose()


def test_the_sql_is_printed_and_grants_only_append_on_the_log() -> None:
    result = CliRunner().invoke(app, ["db", "roles", "--owner", "own", "--app", "run"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "GRANT SELECT, INSERT ON audit_event TO run;" in lines
    assert "REVOKE ALL ON audit_event FROM PUBLIC, run;" in lines
    assert not [line for line in lines if "audit_event" in line and "UPDATE" in line]


@pytest.mark.parametrize(("args", "message"), [
    (["--owner", "Robert'); DROP TABLE x;--"], "Error: --owner: \"Robert'); DROP TABLE x;--\" "
     "is not a plain role name (lower-case letters, digits and _, at most 63, not starting "
     "with a digit)"),
    (["--owner", "same", "--app", "same"], "Error: --app: must differ from --owner: the owner "
     "can disable the audit triggers"),
])
def test_bad_role_names_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["db", "roles", *args])
    assert result.exit_code == 1
    assert result.stderr.strip() == message


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_apply_on_sqlite_is_refused_and_changes_nothing(db: Database, settings: Settings) -> None:
    wf = Workflow(db, settings)
    norfolk(wf)
    before = snapshot(wf)
    result = CliRunner().invoke(app, ["db", "roles", "--apply"],
                                env={"S55_DATABASE_URL": db.url})
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: db roles: is for PostgreSQL; a SQLite file is "
                                     "protected by its file permissions (owner-only, chmod 600)")
    assert snapshot(wf) == before
    assert pg_roles.APPEND_ONLY == ("audit_event",)
