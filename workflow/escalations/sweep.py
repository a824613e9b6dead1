"""Escalations against the database: load the policy, plan open responses, fire what is due.

Planning is ``states.escalations.plan`` (pure) over rows read here. Firing is one write
transaction per response: lock the row, plan again on what is committed, claim the due
firing with ``INSERT ... ON CONFLICT DO NOTHING`` on (response, rule, occurrence), then the
audit event and the outbox mail. A second scheduler (another process, another host) finds
the claim taken and does nothing, so each escalation is sent once (the database decides,
never APScheduler: job stores are not shared, agronholm/apscheduler#160, #655).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from states import State
from states.escalations import (
    Dates,
    Firing,
    Moment,
    Policy,
    plan,
)
from states.lifecycle import WAITING_ON
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel
from workflow.core.bank_holidays import not_working
from workflow.core.clock import LONDON, Clock
from workflow.core.errors import S55Error
from workflow.core.settings import Settings
from workflow.escalations.plan import (
    DATE_COLUMNS,
    Ask,
    load_policy,
    moment_at,
    plans,
    quiet_plan,
)
from workflow.storage.db import Database
from workflow.storage.models import (
    InspectionReport,
    Person,
    Response,
    SchedulerHeartbeat,
)
from workflow.storage.tables import (
    ESCALATION_FIRING,
    OPEN_STATES,
    RESPONSE,
    SCHEDULER_HEARTBEAT,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("s55.escalation")
SCHEDULER = "s55-scheduler"  # the actor of escalation audit events
_R, _F = RESPONSE.c, ESCALATION_FIRING.c


def _dates(row: Any) -> Dates:
    """From a typed SQLAlchemy row (dates already parsed)."""
    return Dates(State(row[1]), row[2], row[3], row[4], row[5])



# -- firing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fired:
    """One firing written by a sweep (status ``fired`` or ``superseded``)."""

    response_id: int
    rule_id: str
    occurrence: int
    day: date
    status: str
    recipients: tuple[str, ...] = ()


@dataclass
class SweepReport:
    """What one sweep did, and when the next firing is due (None: nothing planned)."""

    fired: list[Fired] = field(default_factory=list)
    superseded: list[Fired] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    open_responses: int = 0
    next_at: datetime | None = None
    next_rule: tuple[int, str] | None = None


def summary(report: SweepReport) -> str:
    """One line for cron's mail: what a sweep checked, sent and held back."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    return (f"{n(report.open_responses, 'response', 'responses')} checked, "
            f"{n(len(report.fired), 'reminder', 'reminders')} sent, "
            f"{len(report.superseded)} superseded")


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # loaded once, then cached

    return sqlite_insert


def _claim(session: Session, rid: int, firing: Firing, status: str, now: datetime) -> int | None:
    """Insert the firing unless (response, rule, occurrence) exists; its id, or None."""
    stmt = _insert(session)(ESCALATION_FIRING).values(
        response_id=rid, rule_id=firing.rule.id, occurrence=firing.occurrence,
        due_on=firing.day, fired_at=now, status=status,
    ).on_conflict_do_nothing(index_elements=["response_id", "rule_id", "occurrence"])
    return session.execute(stmt.returning(_F.id)).scalar_one_or_none()


def staffed_roles(session: Session) -> set[str]:
    """Roles held by at least one person (a small table, read once a transaction)."""
    column: Any = Person.roles
    return {role for roles in session.scalars(select(column)) for role in roles or ()}


def _context(row: Response, report: InspectionReport, firing: Firing, today: date,
             superseded: Sequence[Firing]) -> dict[str, Any]:
    rule = firing.rule
    told = set(rule.recipients_in(State(row.state))[0])
    return {
        "force": row.force, "report_title": report.title, "report_link": report.link,
        "report_published": report.published_on, "deadline": row.deadline,
        "state": row.state,
        "waiting_on": WAITING_ON[State(row.state)], "force_input_due": row.force_input_due,
        "signoff_due": row.signoff_due, "published_on": row.published_on,
        "published_url": row.published_url, "rule_id": rule.id, "summary": rule.summary,
        "severity": rule.severity, "urgent": rule.severity in ("urgent", "overdue"),
        "occurrence": firing.occurrence, "due_day": firing.day,
        # Set when the rule's day was not a working day and this is the working day before.
        "moved_from": firing.moved_from,
        "moved_because": firing.moved_from and not_working(firing.moved_from),
        # The roles told in this state (the force liaison is not, of a draft it never saw).
        "notify_roles": [r.value for r in rule.roles if r in told],
        "cc_roles": [r.value for r in rule.cc if r in told],
        "superseded": [f.rule.id for f in superseded],
    }


def _recipient_roles(firing: Firing, state: State, staffed: set[str]
                     ) -> tuple[list[str], list[str], list[str]]:
    """The rule's roles told in ``state`` that someone holds (falls back to admin), those
    nobody holds, and those left out because they cannot act in ``state``."""
    told, left_out = firing.rule.recipients_in(state)
    wanted = [r.value for r in told]
    roles = [r for r in wanted if r in staffed]
    missing = [r for r in wanted if r not in staffed]
    if not roles and "admin" in staffed:
        roles = ["admin"]  # somebody must hear of it; the audit event names who was missing
    return roles, missing, [r.value for r in left_out]


def _moved(firing: Firing) -> dict[str, str]:
    """For the audit event: the rule's day, and why it fired on the working day before."""
    if firing.moved_from is None:
        return {}
    return {"rule_day": firing.moved_from.isoformat(),
            "moved_because": not_working(firing.moved_from) or ""}


def _supersede(session: Session, rid: int, firings: Sequence[tuple[Firing, int]],
               superseded_by: str, state: str, now: datetime, by: Provenance,
               **more: Any) -> list[Fired]:
    """One ``escalation_superseded`` event for each claimed firing: the rule held back
    (``rule``, with the policy's ``summary`` of it) and what it gave way to
    (``superseded_by``: a rule, with ``superseded_by_summary``, or the trigger whose mail
    asked the same people, with ``asked_at``)."""
    out = []
    for firing, fid in firings:
        ev = trail.append(session, at=now, actor=SCHEDULER, action=Action.ESCALATION_SUPERSEDED,
                          response_id=rid, payload={
                              "rule": firing.rule.id, "summary": firing.rule.summary,
                              "occurrence": firing.occurrence,
                              "due_on": firing.day.isoformat(), "superseded_by": superseded_by,
                              "state": state, **more}, by=by)
        session.execute(update(ESCALATION_FIRING).where(_F.id == fid).values(event_id=ev.id))
        out.append(Fired(rid, firing.rule.id, firing.occurrence, firing.day, "superseded"))
    return out


def _hold_back(session: Session, rid: int, held: Sequence[Firing], ask: Ask, state: str,
               now: datetime, by: Provenance) -> list[Fired]:
    """Record ``held`` as superseded by the mail that asked the same people (``ask``)."""
    claimed = [(f, i) for f in held if (i := _claim(session, rid, f, "superseded", now))]
    return _supersede(session, rid, claimed, ask.trigger, state, now, by,
                      asked_at=ask.at.isoformat())


def _fire_one(session: Session, settings: Settings, rid: int, due: Firing,
              superseded: Sequence[Firing], now: datetime, by: Provenance) -> list[Fired]:
    """Claim and send ``due``, record ``superseded``; [] if another scheduler got there."""
    from workflow.links import action_links  # with the notifications stack it issues links for
    from workflow.mail.compose import prepare_alert  # the notifications stack
    from workflow.mail.outbox import write_prepared

    claim = _claim(session, rid, due, "fired", now)
    if claim is None:
        return []
    others = [(f, i) for f in superseded if (i := _claim(session, rid, f, "superseded", now))]
    row = session.get(Response, rid)
    assert row is not None  # locked by the caller
    report = session.get(InspectionReport, row.report_id)
    assert report is not None  # foreign key
    roles, missing, cannot_act = _recipient_roles(due, State(row.state), staffed_roles(session))
    # Rendered before the append, which takes the chain lock held to the commit.
    # A reminder to someone who must act carries their own link.
    issuer = action_links.issuer(session, settings, now, rid, row.state, row.version)
    prepared = prepare_alert(
        session, settings=settings, now=now, kind=due.rule.kind, actor=SCHEDULER,
        context=_context(row, report, due, now.astimezone(LONDON).date(), [f for f, _ in others]),
        roles=roles, response_id=rid, links=issuer) if roles else None
    event = trail.append(session, at=now, actor=SCHEDULER, action=Action.ESCALATION,
                         response_id=rid, payload={
                             "rule": due.rule.id, "summary": due.rule.summary,
                             "occurrence": due.occurrence,
                             "due_on": due.day.isoformat(), "severity": due.rule.severity,
                             "state": row.state, "roles": roles, "unstaffed_roles": missing,
                             "roles_not_acting": cannot_act,
                             "superseded": [f"{f.rule.id}#{f.occurrence}" for f, _ in others],
                             **_moved(due)},
                         by=by)
    mails = write_prepared(session, prepared, event) if prepared else []
    session.execute(update(ESCALATION_FIRING).where(_F.id == claim).values(event_id=event.id))
    return [Fired(rid, due.rule.id, due.occurrence, due.day, "fired",
                  tuple(m.recipient for m in mails)),
            *_supersede(session, rid, others, due.rule.id, row.state, now, by,
                        superseded_by_summary=due.rule.summary)]


def fire_response(db: Database, settings: Settings, policy: Policy, rid: int,
                  moment: Moment, by: Provenance | None = None) -> list[Fired]:
    """One transaction: lock the response, plan on committed data, fire what is due.

    Planning again under the row lock means a response that moved on since the sweep
    read it fires nothing (a rule whose state no longer applies never fires). A due
    firing that would only repeat, within the office's quiet days, the mail that asked
    the same people for the same thing is recorded as superseded by that mail
    (``workflow.escalations.plan.quiet_plan``).
    """

    def work(s: Session) -> list[Fired]:
        # FOR UPDATE: a transition of this response waits for us, and we for it
        # (SQLite has no FOR UPDATE; BEGIN IMMEDIATE already serialises writers).
        row = s.execute(select(*DATE_COLUMNS).where(_R.id == rid).with_for_update()).first()
        if row is None or row.state not in OPEN_STATES:
            return []
        fired = {(r, o) for r, o in s.execute(select(_F.rule_id, _F.occurrence).where(
            _F.response_id == rid))}
        provenance = by or Provenance.here(Channel.SCHEDULER)
        current, held, ask = quiet_plan(s, rid, State(row.state),
                                        plan(_dates(row), policy, fired, moment), moment)
        # Fired first: its mail is rendered before any event takes the chain's lock.
        out = [] if current.due is None else _fire_one(
            s, settings, rid, current.due, current.superseded, moment.now, provenance)
        if held and ask is not None:
            out += _hold_back(s, rid, held, ask, row.state, moment.now, provenance)
        return out

    return db.run(work)


def sweep(db: Database, settings: Settings, clock: Clock, *, policy: Policy | None = None,
          now: datetime | None = None, heartbeat: str | None = None,
          by: Provenance | None = None) -> SweepReport:
    """Fire every escalation due now, once; the catch-up after downtime is the same call.

    Per response only the most severe due firing is sent and the others are recorded as
    superseded. A response whose firing fails (say, a template error) is logged and left
    for the next sweep; the others still fire. With ``heartbeat`` (a worker name from
    ``sweep_worker``: ``s55 escalations sweep`` run by cron), the finished sweep is recorded
    for ``s55 doctor``; the daemon beats on its own and passes none. ``by``: the scheduler's
    provenance (this process by default).
    """
    by = by or Provenance.here(Channel.SCHEDULER)
    policy = policy or load_policy(settings)
    started = now or clock.now()
    report = _sweep(db, settings, policy, moment_at(settings, started), by)
    if heartbeat is not None:
        beat(db, heartbeat, started, clock.now() if now is None else now)
    return report


def _sweep(db: Database, settings: Settings, policy: Policy, moment: Moment,
           by: Provenance) -> SweepReport:
    """``sweep`` as of ``moment``: plan every open response, fire each due one."""
    planned = plans(db, policy, moment)
    report = SweepReport(open_responses=len(planned))
    for rid, p in planned.items():
        if p.due is not None:
            try:
                done = fire_response(db, settings, policy, rid, moment, by)
            except S55Error as exc:
                log.error("escalation %s of response %s failed: %s", p.due.rule.id, rid, exc)
                report.errors.append(f"response {rid} rule {p.due.rule.id}: {exc}")
                continue
            for f in done:
                (report.fired if f.status == "fired" else report.superseded).append(f)
            _log(rid, done)
        if p.next is not None and (report.next_at is None or p.next.at < report.next_at):
            report.next_at, report.next_rule = p.next.at, (rid, p.next.rule.id)
    return report


def _log(rid: int, done: Sequence[Fired]) -> None:
    skipped = ", ".join(f"{f.rule_id}#{f.occurrence}" for f in done if f.status != "fired")
    for f in done:
        if f.status == "fired":
            log.info("response %s: fired %s#%s (due %s) to %s%s", rid, f.rule_id,
                     f.occurrence, f.day, ", ".join(f.recipients) or "nobody",
                     f"; superseded {skipped}" if skipped else "")
            return
    if skipped:
        log.info("response %s: superseded %s", rid, skipped)


# -- the scheduler's heartbeat (read by ``s55 doctor``) ------------------------------------

#: A sweep run on its own (``s55 escalations sweep``, from cron) beats as ``sweep@HOST``:
#: one row per host, its ``beat_at`` the end of the last sweep. Any other worker name is
#: a daemon (``s55 run``, ``scheduler@HOST:PID``), beating every 30 s while it runs.
SWEEP_PREFIX = "sweep@"


def sweep_worker() -> str:
    """The heartbeat name of ``s55 escalations sweep`` on this host."""
    return f"{SWEEP_PREFIX}{socket.gethostname()}"


@dataclass(frozen=True)
class Beat:
    """The last heartbeat of one worker."""

    worker: str
    at: datetime

    @property
    def kind(self) -> str:
        """``sweep`` (``s55 escalations sweep``) or ``daemon`` (``s55 run``)."""
        return "sweep" if self.worker.startswith(SWEEP_PREFIX) else "daemon"


def beat(db: Database, worker: str, started_at: datetime, now: datetime) -> None:
    """Record that ``worker`` is alive at ``now``."""

    def work(s: Session) -> None:
        stmt = _insert(s)(SchedulerHeartbeat).values(worker=worker, started_at=started_at,
                                                      beat_at=now)
        s.execute(stmt.on_conflict_do_update(index_elements=["worker"],
                                             set_={"started_at": started_at, "beat_at": now}))

    db.run(work)


def last_heartbeat(db: Database) -> datetime | None:
    """When any scheduler last beat (None: no scheduler has ever run)."""
    return db.query(lambda s: s.execute(
        select(func.max(SchedulerHeartbeat.beat_at))).scalar_one_or_none())


def last_beats(db: Database) -> list[Beat]:
    """The latest daemon beat and the latest sweep (those that ever ran), newest first."""
    hb = SCHEDULER_HEARTBEAT
    sweeps = hb.c.worker.startswith(SWEEP_PREFIX, autoescape=True)
    newest = select(hb.c.worker, hb.c.beat_at).order_by(hb.c.beat_at.desc()).limit(1)

    def work(s: Session) -> list[Beat]:
        rows = [s.execute(newest.where(where)).first() for where in (sweeps, ~sweeps)]
        return sorted((Beat(r[0], r[1]) for r in rows if r is not None),
                      key=lambda b: b.at, reverse=True)

    return db.query(work)
