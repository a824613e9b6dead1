"""The Alembic migrations are the schema: they agree with the models and run both ways.

Each test starts from an empty database (a new SQLite file, or a new PostgreSQL
database) and works with whatever the newest revision is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel
from typer.testing import CliRunner

import workflow.storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from workflow.assurance.backup import known_revisions
from workflow.cli import app
from workflow.storage import schema
from workflow.storage.db import Database
from workflow.storage.indexes import OPEN_STATES, OPEN_STATES_SQL

APPEND_ONLY = {
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
    "postgresql": {"audit_event_no_update_delete", "audit_event_no_truncate"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    import psycopg

    admin: str = request.getfixturevalue("pg_url")  # skips (or fails in CI) without a server
    name = f"s55_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty(empty_url: str) -> Iterator[Database]:
    db = Database(empty_url)
    yield db
    db.dispose()


def differences(db: Database) -> list[object]:
    """What autogenerate would write into a new migration (nothing, if they agree)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "render_as_batch": db.is_sqlite})
        return list(compare_metadata(ctx, SQLModel.metadata))


def triggers(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name = 'audit_event'"))
        else:
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                                     "AND tgrelid = 'audit_event'::regclass"))
        return {r[0] for r in rows}


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def insert_event(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (at, actor, action, payload, prev_hash, hash) "
                          "VALUES (CURRENT_TIMESTAMP, 'a', 'created', '{}', :p, :h)"),
                     {"p": "0" * 64, "h": "1" * 64})


def test_models_and_migrations_agree(empty: Database) -> None:
    """Upgraded from empty to head, the database has exactly the models' tables, columns,
    types, indexes and constraints: autogenerate finds nothing to write."""
    schema.upgrade(empty)
    assert schema.current(empty) == schema.head()
    assert tables(empty) == set(SQLModel.metadata.tables)
    assert differences(empty) == []


def test_the_open_responses_index_is_partial_with_the_planners_where(empty: Database) -> None:
    """ix_response_open is partial, its WHERE word for word the planner's (SQLite uses a
    partial index only when the query repeats it). The models do not carry the WHERE and
    autogenerate does not compare it, so this is the check."""
    schema.upgrade(empty)
    with empty.engine.connect() as conn:
        if empty.is_sqlite:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' "
                                    "AND name = 'ix_response_open'")).scalar_one()
            assert sql.endswith(f"WHERE {OPEN_STATES_SQL}"), sql
        else:
            where = conn.execute(text(
                "SELECT pg_get_expr(indpred, indrelid) FROM pg_index "
                "WHERE indexrelid = 'ix_response_open'::regclass")).scalar_one()
            assert where == "((state)::text = ANY ((ARRAY[" + ", ".join(
                f"'{s}'::character varying" for s in OPEN_STATES) + "])::text[]))", where


def test_upgrade_downgrade_upgrade(empty: Database) -> None:
    """Empty -> head -> base leaves no tables; -> head again is the same schema as the
    first time, triggers included."""
    schema.upgrade(empty)
    first = (tables(empty), triggers(empty))
    schema.downgrade(empty, "base")
    assert schema.current(empty) is None
    assert tables(empty) == set()
    schema.upgrade(empty)
    assert (tables(empty), triggers(empty)) == first
    assert differences(empty) == []


def test_every_revision_steps_down_and_up(empty: Database) -> None:
    """Each migration's downgrade undoes its upgrade: stepping down one revision at a time
    and back up reaches the same head."""
    schema.upgrade(empty)
    steps = len(known_revisions())
    for _ in range(steps):
        schema.downgrade(empty, "-1")
    assert schema.current(empty) is None
    for _ in range(steps):
        schema.upgrade(empty, "+1")
    assert schema.current(empty) == schema.head()
    assert differences(empty) == []


def test_audit_triggers_exist_and_refuse_changes(empty: Database) -> None:
    """After upgrade the append-only triggers are there, and they refuse UPDATE and DELETE
    of an audit event in the database itself."""
    schema.upgrade(empty)
    assert APPEND_ONLY[empty.dialect] <= triggers(empty)
    insert_event(empty)
    for statement in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), empty.engine.begin() as conn:
            conn.execute(text(statement))
    with empty.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_event")).scalar_one() == "a"


class TestCommands:
    def test_db_upgrade_and_current(self, empty_url: str) -> None:
        """``s55 db current`` says the database is empty, ``s55 db upgrade`` brings it to
        head, and ``s55 db current`` then says it is at head."""
        runner, env = CliRunner(), {"S55_DATABASE_URL": empty_url}
        before = runner.invoke(app, ["db", "current"], env=env)
        assert before.exit_code == 0, before.output
        assert "no schema" in before.stdout
        up = runner.invoke(app, ["db", "upgrade"], env=env)
        assert up.exit_code == 0, up.output
        assert f"at revision {schema.head()} (head)" in up.stdout
        after = runner.invoke(app, ["db", "current"], env=env)
        assert after.stdout.strip().endswith(f"{schema.head()} (head)")
        again = runner.invoke(app, ["db", "upgrade"], env=env)
        assert again.exit_code == 0
        assert "already at" in again.stdout

    def test_db_current_behind_head(self, empty: Database, empty_url: str) -> None:
        """A database one revision behind is reported as behind, with the command to run."""
        if len(known_revisions()) < 2:
            pytest.skip("only one revision so far")
        schema.upgrade(empty)
        schema.downgrade(empty, "-1")
        out = CliRunner().invoke(app, ["db", "current"], env={"S55_DATABASE_URL": empty_url})
        assert out.exit_code == 0
        assert f"behind head {schema.head()}: run `s55 db upgrade`" in out.stdout
        gate = CliRunner().invoke(app, ["db", "current", "--check"],
                                  env={"S55_DATABASE_URL": empty_url})
        assert gate.exit_code == 1  # what deploy/s55.service runs before starting


UPGRADER = """
import sys
from workflow.storage import schema
from workflow.storage.db import Database
schema.upgrade(Database(sys.argv[1]))
"""


@pytest.mark.slow
def test_concurrent_upgrades_do_not_collide(empty_url: str) -> None:
    """Three `upgrade` processes started at once on an empty database: all succeed, one schema."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", UPGRADER, empty_url],
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    db = Database(empty_url)
    try:
        assert schema.current(db) == schema.head()
        assert differences(db) == []
    finally:
        db.dispose()
