"""Schema management through Alembic: the only way tables are created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from workflow.storage.db import Database

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


#: Advisory lock key for schema changes: two `s55 db upgrade` at once must not collide.
_SCHEMA_LOCK_KEY = 5505


def _serialise(conn: Connection) -> None:
    # PostgreSQL: the second upgrader waits here, then finds the work done. SQLite's
    # write lock already serialises (the engine begins with BEGIN IMMEDIATE).
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (creating it on an empty database)."""
    with db.engine.begin() as conn:
        _serialise(conn)
        command.upgrade(_config(conn), revision)


def downgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
        _serialise(conn)
        command.downgrade(_config(conn), revision)


def current(db: Database) -> str | None:
    """The revision the database is at (None when empty)."""
    with db.read_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    script = ScriptDirectory.from_config(_config(None))
    rev = script.get_current_head()
    assert rev is not None
    return rev
