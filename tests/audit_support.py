"""What the tests of the log's authority share: ``s55 audit verify`` run on a database, and
a statement run behind s55's back (as someone with write access to the database would)."""

from __future__ import annotations

from typing import Any

from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from workflow.cli import app
from workflow.storage.db import Database


def verify(db: Database, *args: str, keyed: bool = True) -> Result:
    """``s55 audit verify ARGS`` on ``db``, with its audit key (if it has one) or without."""
    key = str(db.audit_key_file) if keyed and db.audit_key_file else None
    return CliRunner().invoke(app, ["audit", "verify", *args], env={
        "S55_DATABASE_URL": db.url, "S55_IDENTITY": "claimed", "S55_ACTOR": "",
        "S55_AUDIT_KEY_FILE": key})


def sql(db: Database, statement: str, **params: Any) -> Any:
    """Run ``statement`` on ``db`` directly, committed; its first value, if it returns rows."""
    with db.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return result.scalar() if result.returns_rows else None
