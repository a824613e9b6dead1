"""Checks of the database and what it holds: reachable with its schema at this s55's head
revision; the audit log's hash chain intact and every row equal to the replay of its
events; somebody active can take each open response's next step; and stored content can
be mailed and rendered."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from states import State
from states.words import state_words
from workflow.assurance.backup import known_revisions
from workflow.audit import trail
from workflow.core.errors import S55Error
from workflow.doctor.result import Result, Status, _fail, _first_line, _ok, _warn
from workflow.storage import schema
from workflow.storage.db import Database
from workflow.storage.tables import RESPONSE


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


def check_audit(db: Database) -> Result:
    result = trail.verify(db)
    if result.broken:
        return _fail("audit chain", f"broken at event {result.broken.event_id}: "
                     f"{result.broken.problem}", "see `s55 audit verify`; compare with a "
                     "kept head and restore from a verified backup")
    return _ok("audit chain", f"{result.count} events intact, head {result.head[:16]}...",
               "keep the head outside the database (`s55 audit head`)")


def check_replay(db: Database) -> Result:
    from workflow.assurance import replay

    try:
        ring = db.keyring()
    except S55Error:
        ring = None  # the secrets check says what is wrong with the key file
    differences = replay.verify(db, ring)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        return _fail("rows vs log", differences[0].describe() + more,
                     "a row was changed behind s55's back: see `s55 audit verify`")
    return _ok("rows vs log", "every response equals the replay of its events; every person, "
               "delegation, personal link and sent message agrees with its signed events")


def check_people(db: Database, today: date) -> Result:
    """Every open response's next step can be taken by somebody active."""
    from workflow.reads.who_can_act import nobody_can_act

    r = RESPONSE.c
    with db.read() as s:
        stuck = nobody_can_act(s, today)
        rows = s.execute(select(r.id, r.state).where(
            r.state.in_([st.value for st in stuck]))).all() if stuck else []
    if rows:
        detail = "; ".join(f"response {r.id} ({state_words(r.state)}) needs an active "
                           f"{' or '.join(stuck[State(r.state)])}" for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return _fail("people", f"nobody active can take the next step: {detail}{more}",
                     "add or enable a person with that role (`s55 people list`), or "
                     "delegate the PCC's sign-off (`s55 people delegate`)")
    return _ok("people", "every open response's next step has somebody active to take it")


def check_content(db: Database) -> Result:
    """Stored values mail or rendering cannot use (``workflow.reads.unusable_rows``), each
    with its fix."""
    from workflow.reads import unusable_rows

    with db.read() as s:
        found = unusable_rows.find(s)
    if not found:
        return _ok("content", "every open response's report and every active person's "
                   "address can be mailed and rendered")
    more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
    detail = "; ".join(f"{u.what}" for u in found[:5]) + more
    hint = "; ".join(u.fix for u in found[:5])
    if any(u.blocking for u in found):
        return _fail("content", detail, hint)
    return _warn("content", detail, hint)
