"""Checks of the audit log: the hash chain is intact, and every response equals the
replay of its events."""

from __future__ import annotations

from workflow.audit import trail
from workflow.core.errors import S55Error
from workflow.doctor.result import Result, _fail, _ok
from workflow.storage.db import Database


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
