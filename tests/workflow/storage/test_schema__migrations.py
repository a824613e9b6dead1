"""The Alembic migrations are the schema: they make exactly the tables described in
``workflow.storage.tables``, and run both ways.

Each test starts from an empty database (a new SQLite file, or a new PostgreSQL
database) and works with whatever the newest revision is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from workflow.assurance.backup import known_revisions
from workflow.cli import app
from workflow.storage import schema
from workflow.storage.db import Database
from workflow.storage.tables import METADATA, PARTIAL_INDEX_WHERE

APPEND_ONLY = {
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
    "postgresql": {"audit_event_no_update_delete", "audit_event_no_truncate"},
}


def _empty_database(request: pytest.FixtureRequest, tmp_path: Path, label: str
                    ) -> Iterator[str]:
    """The URL of a new, empty database on the backend ``request.param`` names; dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / f'{label}.db'}"
        return
    import psycopg

    admin: str = request.getfixturevalue("pg_url")  # skips (or fails in CI) without a server
    name = f"s55_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on each backend."""
    yield from _empty_database(request, tmp_path, "mig")


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
        return list(compare_metadata(ctx, METADATA))


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


def test_autogenerate_finds_nothing_to_write(empty: Database) -> None:
    """Upgraded from empty to head, the database has the described tables, and Alembic's
    autogenerate (what a developer runs to start the next migration) finds no difference."""
    schema.upgrade(empty)
    assert schema.current(empty) == schema.head()
    assert tables(empty) == set(METADATA.tables)
    assert differences(empty) == []


def described_copy(dialect: str) -> MetaData:
    """The description with each partial index's WHERE given to ``dialect``'s DDL (the
    description keeps it in the index's ``info``; see workflow.storage.tables)."""
    copy = MetaData()
    for table in METADATA.sorted_tables:
        ours = table.to_metadata(copy)
        for index in table.indexes:
            where = index.info.get(PARTIAL_INDEX_WHERE)
            if where is not None:
                twin = next(i for i in ours.indexes if i.name == index.name)
                twin.dialect_kwargs[f"{dialect}_where"] = where
    return copy


def _where(index: dict[str, Any]) -> str | None:
    options = index.get("dialect_options", {})
    where = options.get("sqlite_where", options.get("postgresql_where"))
    return None if where is None else str(where)


def _sorted(items: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(items, key=repr)  # names may be None (SQLite's unnamed constraints)


def reflected(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every table of a database as its server reports it: columns (type, nullability,
    server default), primary and foreign keys, unique and check constraints, and indexes
    (with a partial index's WHERE)."""
    seen = inspect(engine)
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(seen.get_table_names()) - {"alembic_version"}):
        out[name] = {
            "columns": {c["name"]: (repr(c["type"]), c["nullable"], c["default"])
                        for c in seen.get_columns(name)},
            "primary key": seen.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": _sorted((f["constrained_columns"], f["referred_table"],
                                     f["referred_columns"]) for f in seen.get_foreign_keys(name)),
            "unique": _sorted((u["name"], u["column_names"])
                              for u in seen.get_unique_constraints(name)),
            "checks": _sorted((c["name"], c["sqltext"]) for c in seen.get_check_constraints(name)),
            "indexes": _sorted((i["name"], i["column_names"], bool(i["unique"]), _where(i))
                               for i in seen.get_indexes(name)),
        }
    return out


@pytest.fixture(params=BACKENDS)
def migrated_and_described(request: pytest.FixtureRequest, tmp_path: Path
                           ) -> Iterator[tuple[Database, Database]]:
    """Two empty databases on one backend: one for the migrations, one for the description."""
    urls = [_empty_database(request, tmp_path, label) for label in ("mig", "desc")]
    dbs = tuple(Database(next(url)) for url in urls)
    yield dbs  # type: ignore[misc]
    for db, url in zip(dbs, urls, strict=True):
        db.dispose()
        next(url, None)


def test_the_migrations_make_exactly_the_described_schema(
        migrated_and_described: tuple[Database, Database]) -> None:
    """An empty database upgraded to head, and an empty database given the description as
    SQLAlchemy writes it (partial indexes' WHEREs included), read back through the server:
    the same tables, columns, types, nullability, server defaults, keys, constraints and
    indexes, down to ix_response_open's WHERE."""
    migrated, described = migrated_and_described
    schema.upgrade(migrated)
    described_copy(described.dialect).create_all(described.engine)
    ours, theirs = reflected(migrated.engine), reflected(described.engine)
    assert set(ours) == set(METADATA.tables)
    for name in METADATA.tables:
        assert ours[name] == theirs[name], name
    where = next(i for i in ours["response"]["indexes"] if i[0] == "ix_response_open")[3]
    assert where is not None
    assert "forwarded_to_panel" in where, where


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


@pytest.mark.slow
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
