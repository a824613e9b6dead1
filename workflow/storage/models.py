"""The ORM classes (SQLModel), each declared over its table in ``workflow.storage.tables``.

A class names its table (``__table__``) and maps each of its attributes to that table's
own column (``column``): the ORM adds no column, type, key or index of its own. A column
the table gains is mapped at once (loaded, and given its default on insert); the class
names it (one typed line) only where the ORM code sets it or reads it typed, and a test
holds every such annotation to its column's type, nullability and default. Input is
validated before it reaches these classes (sqlmodel #52).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ColumnDefault
from sqlmodel import Field, SQLModel

from workflow.storage import tables as t


def column(col: Column[Any]) -> Any:
    """The field mapped to ``col``, a column of the class's ``__table__``.

    Its default is the column's: the column's own default where it has one; else None
    where the database allows or fills it (a nullable column, the autoincrement key);
    otherwise the field is required. SQLAlchemy's declarative mapping takes a class
    attribute that is already a column of ``__table__`` as the mapping of that column,
    and sqlmodel hands ``sa_column`` to it unchanged.
    """
    default: Any = ...
    if isinstance(col.default, ColumnDefault) and col.default.is_scalar:
        default = col.default.arg
    elif col.nullable or col is col.table.autoincrement_column:
        default = None
    return Field(default=default, sa_column=col)


_p = t.PERSON.c


class Person(SQLModel, table=True):
    """Someone who acts in or hears from s55. Never deleted (events name them): disabled."""

    __table__ = t.PERSON

    id: int | None = column(_p.id)
    name: str = column(_p.name)
    email: str = column(_p.email)
    roles: list[str] = column(_p.roles)
    created_at: datetime = column(_p.created_at)
    login: str | None = column(_p.login)
    active: bool = column(_p.active)


_re = t.RETIRED_EMAIL.c


class RetiredEmail(SQLModel, table=True):
    """An address a person used before: never given to anyone else."""

    __table__ = t.RETIRED_EMAIL

    email: str = column(_re.email)
    person_id: int = column(_re.person_id)
    retired_at: datetime = column(_re.retired_at)


_d = t.DELEGATION.c


class Delegation(SQLModel, table=True):
    """A PCC's arrangement for a deputy to sign off in their place for a period."""

    __table__ = t.DELEGATION

    id: int | None = column(_d.id)
    pcc_id: int = column(_d.pcc_id)
    deputy_id: int = column(_d.deputy_id)
    starts_on: date = column(_d.starts_on)
    ends_on: date = column(_d.ends_on)
    reason: str = column(_d.reason)
    created_at: datetime = column(_d.created_at)
    revoked_at: datetime | None = column(_d.revoked_at)
    revoke_reason: str | None = column(_d.revoke_reason)


_os = t.OFFICE_SETTING.c


class OfficeSetting(SQLModel, table=True):
    """One of the office's own settings, kept in the database (``value`` is JSON)."""

    __table__ = t.OFFICE_SETTING

    name: str = column(_os.name)
    value: str = column(_os.value)
    event_id: int = column(_os.event_id)
    changed_at: datetime = column(_os.changed_at)


_pc = t.PENDING_CHANGE.c


class PendingChange(SQLModel, table=True):
    """A change waiting for one person's confirmation from a link mailed to them."""

    __table__ = t.PENDING_CHANGE

    id: int | None = column(_pc.id)
    kind: str = column(_pc.kind)
    person_id: int = column(_pc.person_id)
    asked: str = column(_pc.asked)
    asked_by: str = column(_pc.asked_by)
    reason: str = column(_pc.reason)
    asked_at: datetime = column(_pc.asked_at)
    event_id: int = column(_pc.event_id)
    status: str = column(_pc.status)
    decided_at: datetime | None = column(_pc.decided_at)


_ir = t.INSPECTION_REPORT.c


class InspectionReport(SQLModel, table=True):
    """An HMICFRS inspection report, as published."""

    __table__ = t.INSPECTION_REPORT

    id: int | None = column(_ir.id)
    title: str = column(_ir.title)
    published_on: date = column(_ir.published_on)
    publication_types: str = column(_ir.publication_types)
    police_forces: str = column(_ir.police_forces)
    link: str = column(_ir.link)
    link_label: str = column(_ir.link_label)
    created_at: datetime = column(_ir.created_at)


_r = t.RESPONSE.c


class Response(SQLModel, table=True):
    """One OPCC's Section 55 response to one inspection report."""

    __table__ = t.RESPONSE

    id: int | None = column(_r.id)
    report_id: int = column(_r.report_id)
    force: str = column(_r.force)
    state: str = column(_r.state)
    version: int = column(_r.version)
    deadline: date = column(_r.deadline)
    deadline_overridden: bool = column(_r.deadline_overridden)
    stated_deadline: date | None = column(_r.stated_deadline)
    force_input_due: date | None = column(_r.force_input_due)
    signoff_due: date = column(_r.signoff_due)
    key_findings: str | None = column(_r.key_findings)
    cc_response: str | None = column(_r.cc_response)
    pcc_response: str | None = column(_r.pcc_response)
    afi_statement: str | None = column(_r.afi_statement)
    recommendations_intro: str | None = column(_r.recommendations_intro)
    published_url: str | None = column(_r.published_url)
    published_on: date | None = column(_r.published_on)
    portal_reference: str | None = column(_r.portal_reference)
    closed_reason: str | None = column(_r.closed_reason)
    created_at: datetime = column(_r.created_at)
    updated_at: datetime = column(_r.updated_at)


_rec = t.RECOMMENDATION.c


class Recommendation(SQLModel, table=True):
    """A recommendation of the report, with the force's response to it."""

    __table__ = t.RECOMMENDATION

    id: int | None = column(_rec.id)
    response_id: int = column(_rec.response_id)
    number: int = column(_rec.number)
    text: str = column(_rec.text)
    due_date: date | None = column(_rec.due_date)
    directed_at: str = column(_rec.directed_at)
    force_response: str | None = column(_rec.force_response)
    pcc_note: str | None = column(_rec.pcc_note)


_afi = t.AREA_FOR_IMPROVEMENT.c


class AreaForImprovement(SQLModel, table=True):
    """An area for improvement of the report, with the force's response to it."""

    __table__ = t.AREA_FOR_IMPROVEMENT

    id: int | None = column(_afi.id)
    response_id: int = column(_afi.response_id)
    number: int = column(_afi.number)
    text: str = column(_afi.text)
    force_response: str | None = column(_afi.force_response)


_e = t.AUDIT_EVENT.c


class AuditEvent(SQLModel, table=True):
    """Append-only and hash-chained; the database refuses UPDATE and DELETE (triggers)."""

    __table__ = t.AUDIT_EVENT

    id: int | None = column(_e.id)
    response_id: int | None = column(_e.response_id)
    at: datetime = column(_e.at)
    actor: str = column(_e.actor)
    action: str = column(_e.action)
    trigger: str | None = column(_e.trigger)
    from_state: str | None = column(_e.from_state)
    to_state: str | None = column(_e.to_state)
    reason: str | None = column(_e.reason)
    payload: str = column(_e.payload)
    prev_hash: str = column(_e.prev_hash)
    hash: str = column(_e.hash)
    channel: str | None = column(_e.channel)
    account: str | None = column(_e.account)
    host: str | None = column(_e.host)
    identity: str | None = column(_e.identity)
    on_behalf_of: str | None = column(_e.on_behalf_of)
    key_id: str | None = column(_e.key_id)
    mac: str | None = column(_e.mac)


_o = t.OUTBOX.c


class OutboxMessage(SQLModel, table=True):
    """Mail written in the same transaction as the event that caused it."""

    __table__ = t.OUTBOX

    id: int | None = column(_o.id)
    event_id: int = column(_o.event_id)
    response_id: int | None = column(_o.response_id)
    dedupe_key: str = column(_o.dedupe_key)
    message_id: str = column(_o.message_id)
    kind: str = column(_o.kind)
    sender: str = column(_o.sender)
    recipient: str = column(_o.recipient)
    reply_to: str | None = column(_o.reply_to)
    queued_event_id: int | None = column(_o.queued_event_id)
    subject: str = column(_o.subject)
    body_text: str = column(_o.body_text)
    body_html: str = column(_o.body_html)
    status: str = column(_o.status)
    attempts: int = column(_o.attempts)
    next_attempt_at: datetime = column(_o.next_attempt_at)
    claimed_by: str | None = column(_o.claimed_by)
    claimed_until: datetime | None = column(_o.claimed_until)
    last_error: str | None = column(_o.last_error)
    created_at: datetime = column(_o.created_at)
    sent_at: datetime | None = column(_o.sent_at)


_al = t.ACTION_LINK.c


class ActionLink(SQLModel, table=True):
    """A personal single-use link mailed to a person (only its token's hash is stored)."""

    __table__ = t.ACTION_LINK

    id: int | None = column(_al.id)
    token_hash: str = column(_al.token_hash)
    person_id: int = column(_al.person_id)
    response_id: int | None = column(_al.response_id)
    kind: str = column(_al.kind)
    origin: str = column(_al.origin)
    state: str | None = column(_al.state)
    version: int | None = column(_al.version)
    event_id: int | None = column(_al.event_id)
    issued_at: datetime = column(_al.issued_at)
    expires_at: datetime = column(_al.expires_at)
    used_at: datetime | None = column(_al.used_at)
    issue_event_id: int | None = column(_al.issue_event_id)
    outbox_id: int | None = column(_al.outbox_id)
    key_id: str | None = column(_al.key_id)
    nonce: str | None = column(_al.nonce)


_f = t.ESCALATION_FIRING.c


class EscalationFiring(SQLModel, table=True):
    """One (response, rule, occurrence) of the escalation policy, fired or superseded."""

    __table__ = t.ESCALATION_FIRING

    id: int | None = column(_f.id)
    response_id: int = column(_f.response_id)
    rule_id: str = column(_f.rule_id)
    occurrence: int = column(_f.occurrence)
    due_on: date = column(_f.due_on)
    fired_at: datetime = column(_f.fired_at)
    status: str = column(_f.status)
    event_id: int | None = column(_f.event_id)


_h = t.SCHEDULER_HEARTBEAT.c


class SchedulerHeartbeat(SQLModel, table=True):
    """One scheduler process's (or one host's sweeps') last sign of life."""

    __table__ = t.SCHEDULER_HEARTBEAT

    worker: str = column(_h.worker)
    started_at: datetime = column(_h.started_at)
    beat_at: datetime = column(_h.beat_at)


_fi = t.FEED_ITEM.c


class FeedItem(SQLModel, table=True):
    """An item of HMICFRS's publications feed, and what ``s55 report watch`` decided."""

    __table__ = t.FEED_ITEM

    id: int | None = column(_fi.id)
    item_key: str = column(_fi.item_key)
    title: str = column(_fi.title)
    link: str = column(_fi.link)
    published_on: date = column(_fi.published_on)
    decision: str = column(_fi.decision)
    response_id: int | None = column(_fi.response_id)
    event_id: int | None = column(_fi.event_id)
    seen_at: datetime = column(_fi.seen_at)
