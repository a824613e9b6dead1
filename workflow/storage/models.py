"""Database tables (SQLModel). Input is validated before it reaches these (fastapi/sqlmodel#52).

Times are stored in UTC and come back timezone-aware on every backend (``UTCDateTime``);
dates (deadlines, due dates) are plain calendar dates in Europe/London.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Text,
    UniqueConstraint,
    true,
)
from sqlmodel import Field, SQLModel

from workflow.storage.types import UTCDateTime


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    default: Any = None if nullable else ...
    return Field(default=default, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def text_column(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


class Person(SQLModel, table=True):
    """Someone who acts in or hears from s55. Never deleted (events name them): disabled."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(sa_column_kwargs={"unique": True}, max_length=254)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_column()
    #: The operating-system account that is this person under S55_IDENTITY=os.
    login: str | None = Field(default=None, max_length=64, unique=True)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class RetiredEmail(SQLModel, table=True):
    """An address a person used before: never given to anyone else."""

    __tablename__ = "retired_email"

    email: str = Field(primary_key=True, max_length=254)
    person_id: int = Field(foreign_key="person.id", index=True)
    retired_at: datetime = utc_column()


class Delegation(SQLModel, table=True):
    """A PCC's arrangement for a deputy to sign off in their place for a period (PRSRA
    2011 s18); the days are Europe/London calendar days, both ends included."""

    __tablename__ = "delegation"

    id: int | None = Field(default=None, primary_key=True)
    pcc_id: int = Field(foreign_key="person.id", index=True)
    deputy_id: int = Field(foreign_key="person.id", index=True)
    starts_on: date
    ends_on: date
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(nullable=True)
    revoke_reason: str | None = text_column()


class InspectionReport(SQLModel, table=True):
    __tablename__ = "inspection_report"
    __table_args__ = (Index("ix_report_title_published", "title", "published_on"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str
    published_on: date
    publication_types: str = ""
    police_forces: str = ""
    link: str = ""
    link_label: str = ""  # the link's text as the OPCC published it
    created_at: datetime = utc_column()


class Response(SQLModel, table=True):
    """One OPCC's Section 55 response to one inspection report."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("report_id", "force", name="uq_response_report_force"),
        Index("ix_response_open_deadline", "state", "deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="inspection_report.id", index=True)
    force: str
    state: str = Field(default="draft", max_length=32)
    version: int = 1
    deadline: date  # s55(5A) last day (publication + 55), unless overridden
    deadline_overridden: bool = False
    stated_deadline: date | None = None  # what an imported document said, if it differed
    force_input_due: date | None = None  # s55(4): set by request_force_input
    signoff_due: date
    key_findings: str | None = text_column()
    cc_response: str | None = text_column()  # the Chief Constable's overall response
    pcc_response: str | None = text_column()
    afi_statement: str | None = text_column()  # e.g. "There are no areas for improvement made."
    recommendations_intro: str | None = text_column()  # "Eight recommendations are made ..."
    published_url: str | None = None
    published_on: date | None = None
    portal_reference: str | None = None
    closed_reason: str | None = text_column()
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendation"
    __table_args__ = (UniqueConstraint("response_id", "number", name="uq_recommendation_number"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    number: int  # exactly as published (Norfolk: 1, 2, 3, 4, 8); never renumbered
    text: str = Field(sa_column=Column(Text, nullable=False))
    due_date: date | None = None
    directed_at: str = "chief constables"
    force_response: str | None = text_column()
    pcc_note: str | None = text_column()  # s55(5B) explanation where the force's is absent


class AreaForImprovement(SQLModel, table=True):
    __tablename__ = "area_for_improvement"
    __table_args__ = (UniqueConstraint("response_id", "number", name="uq_afi_number"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    number: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    force_response: str | None = text_column()


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; the database refuses UPDATE and DELETE (triggers)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int | None = Field(default=None, index=True)
    at: datetime = utc_column()
    actor: str
    action: str = Field(max_length=40)
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = text_column()
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    # Provenance (migration 0003; NULL on events written before it): how the event came
    # in (cli, scheduler, dispatcher, web), the operating-system account and host that
    # wrote it, how the actor is known (os, claimed, system), whom the actor acted for.
    channel: str | None = Field(default=None, max_length=16)
    account: str | None = Field(default=None, max_length=64)
    host: str | None = Field(default=None, max_length=255)
    identity: str | None = Field(default=None, max_length=16)
    on_behalf_of: str | None = Field(default=None, max_length=254)
    # The keyed chain (migration 0006; NULL where no audit key was configured): the id of
    # the key and the HMAC-SHA256 of ``hash`` under it (workflow.keys.audit_key).
    key_id: str | None = Field(default=None, max_length=16)
    mac: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """Mail written in the same transaction as the event that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="audit_event.id", index=True)
    response_id: int | None = Field(default=None, index=True)
    dedupe_key: str = Field(sa_column_kwargs={"unique": True}, max_length=200)
    message_id: str = Field(max_length=250)  # stable, derived from the dedupe key
    kind: str = Field(max_length=60)  # template name, e.g. "request_force_input"
    sender: str
    recipient: str = Field(max_length=254)  # one row per recipient: one refusal spares the rest
    # Stored, not looked up at sending: the message sent is the one queued.
    reply_to: str | None = Field(default=None, max_length=254)
    # The MAIL_QUEUED event that recorded this message's digest (migration 0007): the
    # dispatcher sends only a row that still matches it (workflow.mail.digest.mail_digest).
    queued_event_id: int | None = None
    subject: str
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    claimed_by: str | None = None
    claimed_until: datetime | None = utc_column(nullable=True)
    last_error: str | None = text_column()
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)


class ActionLink(SQLModel, table=True):
    """A personal single-use link mailed to a person: only the SHA-256 of its
    token is stored, never the token. ``kind`` says what it may do (``force``, ``pcc``,
    ``sign_in``); it acts on ``response_id`` while the response stays in ``state``, which it
    was in at ``version`` when the link was issued by audit event ``event_id`` (a later
    transition event of the response supersedes it and says who moved it, and when)."""

    __tablename__ = "action_link"
    __table_args__ = (Index("ix_action_link_person_issued", "person_id", "issued_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    person_id: int = Field(foreign_key="person.id")  # the index above covers look-ups
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True)
    kind: str = Field(max_length=16)  # force | pcc | sign_in
    origin: str = Field(max_length=16)  # mail (asked to act) | resend | sign_in
    state: str | None = Field(default=None, max_length=32)  # the response's, when issued
    version: int | None = None  # the response's version when issued
    event_id: int | None = Field(default=None, foreign_key="audit_event.id")
    issued_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)


class EscalationFiring(SQLModel, table=True):
    """One (response, rule, occurrence) of the escalation policy, fired or superseded.

    The unique constraint is what makes an escalation fire once, whatever the number of
    scheduler processes: the claim is an INSERT ... ON CONFLICT DO NOTHING in the same
    transaction as the audit event and the outbox mail.
    """

    __tablename__ = "escalation_firing"
    __table_args__ = (
        UniqueConstraint("response_id", "rule_id", "occurrence", name="uq_escalation_firing"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id")  # the unique index covers look-ups
    rule_id: str = Field(max_length=60)
    occurrence: int = 0
    due_on: date  # the local day the rule was due
    fired_at: datetime = utc_column()
    status: str = Field(max_length=16)  # fired | superseded
    event_id: int | None = Field(default=None, foreign_key="audit_event.id")


class SchedulerHeartbeat(SQLModel, table=True):
    """One row per daemon process, beaten while it runs, and one per host for ``s55
    escalations sweep`` (worker ``sweep@HOST``, beaten when a sweep ends); ``s55 doctor``
    reads it."""

    __tablename__ = "scheduler_heartbeat"

    worker: str = Field(primary_key=True, max_length=200)
    started_at: datetime = utc_column()
    beat_at: datetime = utc_column(index=True)



# Every open response and every date the escalation planner needs, in a partial index: the
# planner reads the few hundred open rows without touching the 100,000 finished ones (after
# ANALYZE, SQLite would otherwise scan the table for a 5-of-7-states IN list). Its WHERE
# (``OPEN_STATES_SQL``) is written by migration 0002, which is the schema; it is not
# repeated here as ``sqlite_where``/``postgresql_where``, which would make every process
# load SQLAlchemy's PostgreSQL dialect (~20 ms) to build these classes, SQLite or not.
# Autogenerate does not compare an index's WHERE: a migrations test checks that the
# database's index has exactly this one, on both backends.
Index("ix_response_open", "state", "deadline", "published_on", "force_input_due",
      "signoff_due", "id", _table=Response.__table__)  # type: ignore[attr-defined]
