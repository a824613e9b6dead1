"""Schema management through Alembic: the only way tables are created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workflow.db import Database

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (creating it on an empty database)."""
    with db.engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
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


def revise(db: Database, message: str) -> None:
    """Autogenerate a new migration against ``db`` (developer tool)."""
    with db.engine.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
