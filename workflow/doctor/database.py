"""Checks of the database: reachable, and its schema at this s55's head revision."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from workflow.assurance.backup import known_revisions
from workflow.core.errors import S55Error
from workflow.doctor.result import Result, Status, _fail, _first_line
from workflow.storage import schema
from workflow.storage.db import Database


def schema_state(db: Database) -> tuple[Status, str, str]:
    """(status, what, hint) for the database's revision against this s55's head."""
    current, head = schema.current(db), schema.head()
    if current is None:
        return Status.FAIL, "no s55 schema", "run `s55 db upgrade` (or `s55 init`)"
    if current == head:
        return Status.OK, f"at revision {current} (head)", ""
    if current in known_revisions():
        return (Status.FAIL, f"at revision {current}, behind head {head}",
                "run `s55 db upgrade`")
    return (Status.FAIL, f"at revision {current}, unknown to this s55 (head {head})",
            "a newer s55 upgraded it: upgrade s55 on this machine too")


def check_database(db: Database) -> Result:
    try:
        status, what, hint = schema_state(db)
    except S55Error as exc:
        return _fail("database", _first_line(exc), "check S55_DATABASE_URL and that the "
                     "server is running")
    except SQLAlchemyError as exc:  # driver errors: reported, not raised
        return _fail("database", f"cannot open database {db.safe_url()}: "
                     f"{_first_line(getattr(exc, 'orig', None) or exc)}",
                     "check S55_DATABASE_URL and that the server is running")
    return Result("database", status, f"{db.safe_url()} {what}", hint)
