"""Checks of what the rows hold: somebody active can take each open response's next
step, and stored content can be mailed and rendered."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from states import State
from states.words import state_words
from workflow.doctor.result import Result, _fail, _ok, _warn
from workflow.storage.db import Database
from workflow.storage.tables import RESPONSE


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
