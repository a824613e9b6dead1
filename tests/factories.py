"""Building blocks for tests: the Norfolk report as published, its people, DB snapshots.

Values here are written by hand from tests/data/norfolk-asb-spotlight-2024.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import text

from workflow.core.checks import ReportInput, validate
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.tables import METADATA

ADMIN = "ann.admin@norfolk-pcc.gov.uk"
FORCE = "liaison@norfolk.police.uk"
PCC = "pcc@norfolk-pcc.gov.uk"
CHIEF_EXEC = "ceo@norfolk-pcc.gov.uk"
PANEL = "panel@norfolk.gov.uk"
AUDITOR = "audit@norfolk-pcc.gov.uk"

PEOPLE = [
    ("Ann Admin", ADMIN, ["admin"]),
    ("Force Liaison", FORCE, ["force"]),
    ("Giles Orpen-Smellie", PCC, ["pcc"]),
    ("Chief Executive", CHIEF_EXEC, ["chief_executive"]),
    ("Police and Crime Panel", PANEL, ["panel"]),
    ("Internal Audit", AUDITOR, ["auditor"]),
]

NORFOLK_PUBLISHED = date(2024, 10, 10)
NORFOLK_DEADLINE = date(2024, 12, 4)  # s55(5A): 10 Oct 2024 + 55 days (the form says 5 Dec)
NORFOLK_RECS = {  # number as published -> due date in its text
    1: date(2025, 3, 31),
    2: date(2025, 9, 30),
    3: date(2025, 3, 31),
    4: date(2024, 12, 31),
    8: date(2025, 9, 30),
}


def add_people(wf: Workflow) -> None:
    for i, (name, email, roles) in enumerate(PEOPLE):
        management.add_person(wf, {"name": name, "email": email, "roles": roles},
                           None if i == 0 else ADMIN)


def norfolk_report(**overrides: Any) -> ReportInput:
    data: dict[str, Any] = {
        "title": "The policing response to antisocial behaviour: PEEL spotlight report",
        "published_on": "10 October 2024",
        "publication_types": "Anti-social behaviour, PEEL and spotlight",
        "police_forces": "All local forces in England and Wales",
        "link": "https://justiceinspectorates.gov.uk",
        "key_findings": "HMICFRS found that most forces need to improve how they identify "
                        "and record antisocial behaviour.",
        "recommendations": [
            {"number": n, "text": f"By {due:%d %B %Y}, forces should act on item {n}.",
             "due_date": due.isoformat()}
            for n, due in NORFOLK_RECS.items()
        ],
        "afi_statement": "There are no areas for improvement made.",
    }
    data.update(overrides)
    return validate(ReportInput, data)


def norfolk(wf: Workflow) -> int:
    """People plus the Norfolk report registered; the new response's id."""
    add_people(wf)
    return content.add_report(wf, norfolk_report(), ADMIN).id or 0


def answer_all(wf: Workflow, rid: int) -> None:
    for n in NORFOLK_RECS:
        content.edit_recommendation(wf, rid, n, "force_response", f"The force's answer to {n}.",
                                    FORCE)


def snapshot(wf: Workflow) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order: equal snapshots mean nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with wf.db.engine.connect() as conn:
        for table in sorted(METADATA.tables):
            out[table] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
    return out


def table_rows(text: str) -> list[dict[str, str]]:
    """A plain table as printed when piped, read back by its header's column positions.

    Columns start where their header starts (the first may be right-aligned), so a value
    that spilled into the next column, or a column that drifted, shows up as a wrong cell.
    """
    header, *lines = text.splitlines()
    starts: list[int] = []
    names: list[str] = []
    for part in re.finditer(r"\S+(?: \S+)*", header):
        starts.append(part.start())
        names.append(part.group())
    starts[0] = 0
    bounds = [*starts[1:], None]
    return [{name: line[a:b].strip() for name, a, b in zip(names, starts, bounds, strict=True)}
            for line in lines]


def as_delivered(db: Any, row: Any) -> tuple[str, str]:
    """An outbox row's text and HTML bodies as the dispatcher sends them: each personal
    link's placeholder filled in with its token (``workflow.keys.link_tokens``, the dispatcher's
    own function, under the database's audit key)."""
    from workflow.keys import audit_key, link_tokens

    ring = audit_key.load(db.audit_key_file) if db.audit_key_file else None
    return (link_tokens.fill(row.body_text, ring, row.dedupe_key),
            link_tokens.fill(row.body_html or "", ring, row.dedupe_key))


def behind_the_triggers(db: Any, sql: str) -> None:
    """Alter the audit table the way only someone with DDL rights could: its append-only
    triggers dropped (SQLite) or disabled (PostgreSQL) around ``sql``."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
            conn.execute(text(sql))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))


def record_office(wf: Workflow, identity: str = "claimed", separation: bool = True) -> None:
    """The office's settings recorded as ``s55 init`` records them (Norfolk's), through
    its own function: the databases the migrations build hold none."""
    from workflow.people import office

    office.record_initial(wf, {"force": "Norfolk",
                               "office": "Office of the Police and Crime Commissioner for "
                                         "Norfolk",
                               "identity": identity, "separation_of_duties": separation})


def sign_off_payload(wf: Workflow) -> dict[str, Any]:
    """The payload of the one ``sign_off`` event."""
    import json

    from sqlalchemy import select

    from workflow.storage.models import AuditEvent

    with wf.db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.trigger == "sign_off")).one()  # type: ignore[arg-type]
    payload: dict[str, Any] = json.loads(event.payload)
    return payload
