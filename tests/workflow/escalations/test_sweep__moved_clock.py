"""Escalation sweeps on real databases (SQLite and PostgreSQL) under a moved clock.

Each test checks the firing rows, the audit events and the outbox: one ESCALATION event
and one mail per recipient for each firing, one ESCALATION_SUPERSEDED event for each
skipped one, nothing else.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from states import State
from states.escalations import LONDON, Moment
from tests.factories import (
    ADMIN,
    CHIEF_EXEC,
    FORCE,
    NORFOLK_DEADLINE,
    PCC,
    add_people,
    answer_all,
    norfolk,
    norfolk_report,
    snapshot,
)
from tests.states.test_escalations__day_by_day import EXPECTED
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.escalations.plan import next_escalations
from workflow.escalations.sweep import SweepReport, last_beats, last_heartbeat
from workflow.people import management
from workflow.reads.detail import describe
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import (
    AuditEvent,
    EscalationFiring,
    OutboxMessage,
    Response,
    SchedulerHeartbeat,
)

D = NORFOLK_DEADLINE
EMAIL = {"admin": ADMIN, "force": FORCE, "pcc": PCC, "chief_executive": CHIEF_EXEC}
PUBLISH_URL = "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"
#: How to reach each state from draft: (trigger, actor, params).
PATH: list[tuple[State, str, str, dict[str, Any]]] = [
    (State.FORCE_INPUT, "request_force_input", ADMIN, {}),
    (State.PCC_SIGNOFF, "submit_force_input", FORCE, {}),
    (State.FORWARDED_TO_PANEL, "sign_off", PCC, {}),
    (State.PUBLISHED, "publish", ADMIN, {"url": PUBLISH_URL}),
    (State.PORTAL_SUBMITTED, "submit_to_portal", ADMIN, {"portal_reference": "HMI-1"}),
]


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """``hour:minute`` London time on ``day``."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def traveller() -> Iterator[Any]:
    with time_machine.travel(at(date(2024, 10, 10)), tick=False) as t:
        yield t


@pytest.fixture
def rid(wf_empty: Workflow, traveller: Any) -> int:
    """The Norfolk response, registered on 10 Oct 2024 with every role staffed."""
    rid = norfolk(wf_empty)
    answer_all(wf_empty, rid)
    content.edit_text(wf_empty, rid, "pcc_response", "I welcome this report.", PCC)
    return rid


def move(wf_empty: Workflow, rid: int, state: State) -> None:
    """Fire the happy-path triggers from the current state until it is ``state``."""
    if state is State.NOT_REQUIRED:
        wf_empty.fire(rid, "mark_not_required", ADMIN,
                      reason="national report; force one covers it")
        return
    order = [State.DRAFT, *(dest for dest, *_ in PATH)]
    with wf_empty.db.read() as s:
        current = State(s.get(Response, rid).state)  # type: ignore[union-attr]
    for dest, trigger, actor, params in PATH:
        if order.index(dest) <= order.index(current):
            continue
        if order.index(dest) > order.index(state):
            return
        wf_empty.fire(rid, trigger, actor, params=params)


def sweep(wf_empty: Workflow) -> SweepReport:
    return escalation.sweep(wf_empty.db, wf_empty.settings, wf_empty.clock)


def firings(wf_empty: Workflow) -> list[tuple[str, int, str]]:
    with wf_empty.db.read() as s:
        return [(f.rule_id, f.occurrence, f.status) for f in s.scalars(
            select(EscalationFiring).order_by(EscalationFiring.id))]  # type: ignore[arg-type]


def outbox_for(wf_empty: Workflow, event_id: int) -> list[str]:
    with wf_empty.db.read() as s:
        return sorted(s.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.event_id == event_id)))


def actions(wf_empty: Workflow, *kinds: Action) -> list[AuditEvent]:
    with wf_empty.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(
            AuditEvent.action.in_([str(k) for k in kinds])).order_by(AuditEvent.id)))  # type: ignore[attr-defined,arg-type]


def count(wf_empty: Workflow, model: type) -> int:
    with wf_empty.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("state", list(State), ids=str)
def test_a_response_left_in_each_state_gets_the_policy_table(
        wf_empty: Workflow, rid: int, traveller: Any, state: State) -> None:
    """Swept daily at 10:00 until D+21, a response left in each state gets exactly the
    hand-written table's firings: one ESCALATION event each, mailed to the people who
    hold the rule's roles (cc included), on the rule's day."""
    start = D - timedelta(days=10) if state in (State.PUBLISHED, State.PORTAL_SUBMITTED) \
        else date(2024, 10, 11)
    traveller.move_to(at(start, 8))
    move(wf_empty, rid, state)
    day = start
    while day <= D + timedelta(days=21):
        traveller.move_to(at(day))
        sweep(wf_empty)
        day += timedelta(days=1)
    events = actions(wf_empty, Action.ESCALATION)
    got = []
    for e in events:
        data = json.loads(e.payload)
        got.append((data["rule"], (date.fromisoformat(data["due_on"]) - D).days,
                    outbox_for(wf_empty, e.id or 0), e.at.astimezone(LONDON).date()))
    expected = [(r, offset, sorted({EMAIL[role] for role in roles}), D + timedelta(offset))
                for r, offset, roles in EXPECTED[state]]
    assert got == expected
    assert not actions(wf_empty, Action.ESCALATION_SUPERSEDED)
    assert trail.verify(wf_empty.db).ok


def test_no_firing_after_the_response_moves_on(wf_empty: Workflow, rid: int,
                                               traveller: Any) -> None:
    """Draft reminder at D-42, force reminder at D-28; published at D-20, the response gets
    none of the not-published rules afterwards, only the portal reminder at D-13."""
    fired: list[str] = []
    for day, then in [(D - timedelta(42), State.FORCE_INPUT), (D - timedelta(28), None),
                      (D - timedelta(20), State.PUBLISHED)]:
        traveller.move_to(at(day))
        fired += [f.rule_id for f in sweep(wf_empty).fired]
        if then is not None:
            move(wf_empty, rid, then)
    for n in range(19, -10, -1):
        traveller.move_to(at(D - timedelta(n)))
        fired += [f.rule_id for f in sweep(wf_empty).fired]
    assert fired == ["draft-d42", "force-input-d28", "portal-p7"]
    assert firings(wf_empty) == [("draft-d42", 0, "fired"), ("force-input-d28", 0, "fired"),
                           ("portal-p7", 0, "fired")]


@pytest.mark.parametrize(("down_days", "fires", "skipped"), [
    (10, "publish-d7#0", ["signoff-d14#0"]),
    (20, "overdue#0", ["signoff-d14#0", "publish-d7#0", "publish-d2#0"]),
    (60, "overdue#6", ["signoff-d14#0", "publish-d7#0", "publish-d2#0"]
     + [f"overdue#{k}" for k in range(6)]),
])
def test_catch_up_after_downtime(wf_empty: Workflow, rid: int, traveller: Any, down_days: int,
                                 fires: str, skipped: list[str]) -> None:
    """Down from D-16 for 10, 20 or 60 days: the first sweep back sends one escalation (the
    most severe due one) and records the rest as superseded, each audited; the next sweep
    sends nothing. No flood: the outbox grows by one firing's recipients only."""
    traveller.move_to(at(D - timedelta(16)))
    assert [f.rule_id for f in sweep(wf_empty).fired] == ["draft-d42"]
    mails_before = count(wf_empty, OutboxMessage)
    traveller.move_to(at(D - timedelta(16) + timedelta(down_days), 11))
    report = sweep(wf_empty)
    assert [f"{f.rule_id}#{f.occurrence}" for f in report.fired] == [fires]
    assert sorted(f"{f.rule_id}#{f.occurrence}" for f in report.superseded) == sorted(skipped)
    fired_events = actions(wf_empty, Action.ESCALATION)[1:]
    assert len(fired_events) == 1
    # A draft: the overdue alert goes to all but the force liaison, who was never sent it.
    rule_roles = {"publish-d7": ["pcc", "chief_executive"]}.get(
        fires.split("#")[0], ["admin", "pcc", "chief_executive"])
    assert outbox_for(wf_empty, fired_events[0].id or 0) == sorted(EMAIL[r] for r in rule_roles)
    assert count(wf_empty, OutboxMessage) == mails_before + len(rule_roles)
    superseded = actions(wf_empty, Action.ESCALATION_SUPERSEDED)
    assert len(superseded) == len(skipped)
    # Each names the rule superseded and the one sent instead, as the policy names them.
    for e in superseded:
        payload = json.loads(e.payload)
        assert payload["summary"]
        assert payload["superseded_by_summary"]
        by, summary = payload["superseded_by"], payload["superseded_by_summary"]
        assert f'superseded by {by} "{summary}"' in describe(e.action, payload)
    with wf_empty.db.read() as s:
        rows = s.scalars(select(EscalationFiring).where(
            EscalationFiring.status == "superseded")).all()  # type: ignore[arg-type]
    assert {r.event_id for r in rows} == {e.id for e in superseded}
    traveller.shift(timedelta(hours=1))
    again = sweep(wf_empty)
    assert (again.fired, again.superseded) == ([], [])
    assert trail.verify(wf_empty.db).ok


@pytest.mark.slow
def test_weekly_overdue_until_published(wf_empty: Workflow, rid: int, traveller: Any) -> None:
    """Unpublished past the deadline, the overdue alert goes out weekly (D, D+7, D+14) at
    09:00 London, and stops once the response is published."""
    move(wf_empty, rid, State.FORWARDED_TO_PANEL)
    traveller.move_to(at(D - timedelta(1)))
    assert [f.rule_id for f in sweep(wf_empty).fired] == ["publish-d2"]
    sent = []
    day = D
    while day <= D + timedelta(16):
        for hour in (8, 9, 12):
            traveller.move_to(at(day, hour, 30))
            sent += [(f.rule_id, f.occurrence, day, hour) for f in sweep(wf_empty).fired]
        day += timedelta(days=1)
    assert sent == [("overdue", 0, D, 9), ("overdue", 1, D + timedelta(7), 9),
                    ("overdue", 2, D + timedelta(14), 9)]
    move(wf_empty, rid, State.PUBLISHED)
    traveller.move_to(at(D + timedelta(21)))
    assert [f.rule_id for f in sweep(wf_empty).fired] == []


def test_a_claimed_firing_is_never_sent_twice(wf_empty: Workflow, rid: int, traveller: Any) -> None:
    """Firing the same response again at the same moment claims nothing, and the database
    itself refuses a second row for one (response, rule, occurrence)."""
    traveller.move_to(at(D - timedelta(42)))
    policy = escalation.load_policy(wf_empty.settings)
    moment = Moment.at(wf_empty.clock.now(), 9)
    first = escalation.fire_response(wf_empty.db, wf_empty.settings, policy, rid, moment)
    assert [f.rule_id for f in first] == ["draft-d42"]
    before = snapshot(wf_empty)
    assert escalation.fire_response(wf_empty.db, wf_empty.settings, policy, rid, moment) == []
    assert snapshot(wf_empty) == before
    with pytest.raises(IntegrityError), wf_empty.db.write() as s:
        s.execute(insert(EscalationFiring).values(
            response_id=rid, rule_id="draft-d42", occurrence=0, due_on=D, status="fired",
            fired_at=datetime.now(UTC)))
    assert snapshot(wf_empty) == before


def test_a_failing_mail_fires_nothing_and_is_retried(wf_empty: Workflow, rid: int, traveller: Any,
                                                     settings: Settings, tmp_path: Any) -> None:
    """A template that cannot render rolls the whole firing back (no claim, no event, no
    mail); the sweep reports it, and once the template is fixed the next sweep sends it."""
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "escalation_draft.txt.j2").write_text("{{ no_such_variable }}")
    wf_empty.settings = settings.model_copy(update={"template_dir": broken})
    traveller.move_to(at(D - timedelta(42)))
    before = snapshot(wf_empty)
    report = sweep(wf_empty)
    assert report.fired == []
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"response {rid} rule draft-d42: ")
    assert "'no_such_variable' is undefined" in report.errors[0]
    assert snapshot(wf_empty) == before
    (broken / "escalation_draft.txt.j2").unlink()
    traveller.shift(timedelta(minutes=1))
    assert [f.rule_id for f in sweep(wf_empty).fired] == ["draft-d42"]


def test_unstaffed_roles_fall_back_to_the_admins(wf_empty: Workflow, traveller: Any) -> None:
    """With only an admin on the system, an escalation for the chief executive goes to the
    admin, and the audit event names the role nobody holds."""
    management.add_person(wf_empty, {"name": "Ann Admin", "email": ADMIN, "roles": ["admin"]}, None)
    rid = content.add_report(wf_empty, norfolk_report(), ADMIN).id or 0
    traveller.move_to(at(D - timedelta(14)))
    report = sweep(wf_empty)
    assert [(f.rule_id, f.recipients) for f in report.fired] == [("signoff-d14", (ADMIN,))]
    event = actions(wf_empty, Action.ESCALATION)[0]
    assert json.loads(event.payload)["unstaffed_roles"] == ["chief_executive"]
    assert event.response_id == rid


def upcoming(wf_empty: Workflow, ids: list[int]) -> dict[int, tuple[str, date]]:
    return next_escalations(wf_empty.db, wf_empty.settings, wf_empty.clock, ids)


def test_next_escalations_for_the_dashboard(wf_empty: Workflow, rid: int, traveller: Any) -> None:
    """``next_escalations`` gives each open response its next rule and day (a due, unswept
    one counts), and leaves out finished responses and unknown ids."""
    assert upcoming(wf_empty, [rid, 999]) == {rid: ("draft-d42", D - timedelta(42))}
    traveller.move_to(at(D - timedelta(30)))
    assert upcoming(wf_empty, [rid]) == {rid: ("draft-d42", D - timedelta(42))}
    sweep(wf_empty)
    assert upcoming(wf_empty, [rid]) == {rid: ("signoff-d14", D - timedelta(14))}
    move(wf_empty, rid, State.PORTAL_SUBMITTED)
    assert upcoming(wf_empty, [rid]) == {}
    assert upcoming(wf_empty, []) == {}


def test_heartbeat(wf_empty: Workflow, traveller: Any) -> None:
    """``last_heartbeat`` is None until a scheduler beats, then the latest beat in UTC."""
    assert last_heartbeat(wf_empty.db) is None
    start = datetime(2024, 10, 10, 9, tzinfo=UTC)
    escalation.beat(wf_empty.db, "a", start, start + timedelta(seconds=30))
    escalation.beat(wf_empty.db, "b", start, start + timedelta(seconds=10))
    escalation.beat(wf_empty.db, "a", start, start + timedelta(seconds=60))
    assert last_heartbeat(wf_empty.db) == start + timedelta(seconds=60)
    assert count(wf_empty, SchedulerHeartbeat) == 2


#: How the mail's footer names each role (written out here, not taken from the code).
TOLD_AS = {"admin": "the OPCC governance team", "force": "the force liaison",
           "pcc": "the Police and Crime Commissioner",
           "chief_executive": "the OPCC chief executive"}


@pytest.mark.parametrize(("state", "roles"), [
    (State.DRAFT, ["admin", "pcc", "chief_executive"]),
    (State.FORCE_INPUT, ["admin", "force", "pcc", "chief_executive"]),
    (State.PCC_SIGNOFF, ["admin", "pcc", "chief_executive"]),
])
def test_the_force_hears_only_while_the_response_waits_on_it(
        wf_empty: Workflow, rid: int, traveller: Any, state: State, roles: list[str]) -> None:
    """The deadline-day and D-2 alerts name everyone, but the force liaison can act only in
    force_input: a draft that was never sent to the force, or one with the PCC, mails
    the others only, and the audit event says who was left out and why."""
    traveller.move_to(at(D - timedelta(3), 8))
    move(wf_empty, rid, state)
    fired = {("draft-d42", 0), ("force-input-d28", 0), ("signoff-d14", 0), ("publish-d7", 0)}
    with wf_empty.db.write() as s:  # the earlier reminders went out (not what this test is about)
        for rule, occurrence in fired:
            s.execute(insert(EscalationFiring).values(
                response_id=rid, rule_id=rule, occurrence=occurrence, due_on=D,
                status="fired", fired_at=datetime.now(UTC)))
    for day, rule in [(D - timedelta(2), "publish-d2"), (D, "overdue")]:
        traveller.move_to(at(day))
        assert [f.rule_id for f in sweep(wf_empty).fired] == [rule]
        event = actions(wf_empty, Action.ESCALATION)[-1]
        assert outbox_for(wf_empty, event.id or 0) == sorted(EMAIL[r] for r in roles)
        payload = json.loads(event.payload)
        assert payload["roles"] == roles
        assert payload["roles_not_acting"] == ([] if "force" in roles else ["force"])
        with wf_empty.db.read() as s:
            body = s.scalars(select(OutboxMessage.body_text).where(
                OutboxMessage.event_id == event.id)).first()
        went = (body or "").split("It went to ", 1)[1].split(".\n", 1)[0]
        assert {r for r, words in TOLD_AS.items() if words in went} == set(roles), went
    escalated = {r for e in actions(wf_empty, Action.ESCALATION)
                 for r in outbox_for(wf_empty, e.id or 0)}
    assert (FORCE in escalated) is (state is State.FORCE_INPUT)


def test_a_deadline_on_a_saturday_is_alerted_on_the_friday(
        wf_empty: Workflow, traveller: Any) -> None:
    """Report published Sun 13 Oct 2024: the last lawful day is Sat 7 Dec. The deadline
    alert goes out on Fri 6 Dec at 09:00 and says the day is not a working day (not
    "OVERDUE"); the firing row and audit event keep the rule's day and why it moved;
    nothing goes out on the weekend."""
    add_people(wf_empty)
    rid = content.add_report(wf_empty, norfolk_report(published_on="13 October 2024"),
                             ADMIN).id or 0
    with wf_empty.db.read() as s:
        assert s.get(Response, rid).deadline == date(2024, 12, 7)  # type: ignore[union-attr]
    fired = {("draft-d42", 0), ("signoff-d14", 0), ("publish-d7", 0), ("publish-d2", 0)}
    with wf_empty.db.write() as s:
        for rule, occurrence in fired:
            s.execute(insert(EscalationFiring).values(
                response_id=rid, rule_id=rule, occurrence=occurrence, due_on=D,
                status="fired", fired_at=datetime.now(UTC)))
    traveller.move_to(at(date(2024, 12, 6), 8, 59))
    assert sweep(wf_empty).fired == []
    traveller.move_to(at(date(2024, 12, 6), 9, 0))
    report = sweep(wf_empty)
    assert [(f.rule_id, f.occurrence, f.day) for f in report.fired] == [
        ("overdue", 0, date(2024, 12, 6))]
    for day in (date(2024, 12, 7), date(2024, 12, 8)):
        traveller.move_to(at(day, 12))
        assert sweep(wf_empty).fired == []
    event = actions(wf_empty, Action.ESCALATION)[-1]
    payload = json.loads(event.payload)
    assert (payload["due_on"], payload["rule_day"], payload["moved_because"]) == (
        "2024-12-06", "2024-12-07", "Saturday")
    with wf_empty.db.read() as s:
        row = s.scalars(select(EscalationFiring).where(
            EscalationFiring.event_id == event.id)).one()  # type: ignore[arg-type]
        mail = s.scalars(select(OutboxMessage).where(
            OutboxMessage.event_id == event.id, OutboxMessage.recipient == ADMIN)).one()  # type: ignore[arg-type]
    assert row.due_on == date(2024, 12, 6)
    assert mail.subject == (f"[s55 #{rid}] Deadline approaching: The policing response to "
                            "antisocial behaviour: PEEL spotlight report (statutory deadline "
                            "7 December 2024, due tomorrow)")
    assert ("The last day on which the PCC's comments on the HMICFRS report below may "
            "lawfully be published is 7 December 2024 (s55(5A), Police Act 1996), which is "
            "not a working day (Saturday): today is the last working day before it."
            ) in mail.body_text
    assert "OVERDUE" not in mail.subject + mail.body_text
    assert "Today is the last day" not in mail.body_text


def test_a_sweep_for_cron_records_its_heartbeat(wf_empty: Workflow, traveller: Any) -> None:
    """``sweep(heartbeat=...)`` (what ``s55 escalations sweep`` does) records the run as
    that worker; the daemon's own sweeps pass none and beat separately."""
    traveller.move_to(at(D - timedelta(42)))
    sweep(wf_empty)
    assert last_beats(wf_empty.db) == []
    escalation.sweep(wf_empty.db, wf_empty.settings, wf_empty.clock, heartbeat="sweep@cron-host")
    assert [(b.kind, b.worker, b.at) for b in last_beats(wf_empty.db)] == [
        ("sweep", "sweep@cron-host", at(D - timedelta(42)))]
    escalation.beat(wf_empty.db, "scheduler@host:12", at(D - timedelta(43)), at(D - timedelta(41)))
    assert [(b.kind, b.worker) for b in last_beats(wf_empty.db)] == [
        ("daemon", "scheduler@host:12"), ("sweep", "sweep@cron-host")]
    assert escalation.sweep_worker().startswith("sweep@")


def test_sweep_reads_only_open_responses(wf_empty: Workflow, rid: int, traveller: Any) -> None:
    """Closed responses are not planned at all; the report counts open ones."""
    traveller.move_to(at(D - timedelta(50)))
    assert sweep(wf_empty).open_responses == 1
    move(wf_empty, rid, State.NOT_REQUIRED)
    traveller.move_to(at(D + timedelta(30)))
    report = sweep(wf_empty)
    assert (report.open_responses, report.fired, report.next_at) == (0, [], None)
    assert Counter(s for _, _, s in firings(wf_empty)) == Counter()


def test_the_open_states_are_the_states_not_final() -> None:
    """The partial index's WHERE names exactly the states that are not final (the
    migration tests check that the database's index says the same: a new state needs a
    new migration)."""
    from workflow.storage.tables import OPEN_STATES

    assert set(OPEN_STATES) == {s.value for s in State} - {"portal_submitted", "not_required"}


def test_the_planner_reads_open_rows_through_the_partial_index(tmp_path: Any) -> None:
    """On SQLite with 2,000 responses of which 20 are open, even after ANALYZE (whose
    statistics make a 5-of-7-states IN list look like most of the table, so the plain
    state index loses to a table scan), the planner's read searches the covering partial
    index and the firings' unique index: no table scan."""
    from bench.dataset import responses
    from workflow.escalations.plan import _sql
    from workflow.storage import schema

    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    schema.upgrade(db)
    responses(db, 2000, 20, today=date(2025, 3, 3))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        plan = [row[3] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + _sql(db.read_engine.dialect, None))]
    db.dispose()
    assert plan == [
        "SEARCH response USING COVERING INDEX ix_response_open (state=?)",
        "SEARCH escalation_firing USING COVERING INDEX sqlite_autoindex_escalation_firing_1 "
        "(response_id=?) LEFT-JOIN"]


@pytest.mark.parametrize("kind", sorted({r.kind for r in escalation.load_policy(
    Settings()).rules}))
def test_every_escalation_template_renders_and_escapes(kind: str) -> None:
    """Each rule's template renders its subject, text and HTML from the sweep's context;
    a report title with markup is escaped in HTML and kept as typed in text."""
    from notifications.render import render

    title = "ASB <spotlight> & more"
    context = {"opcc_name": "Norfolk OPCC", "force": "Norfolk", "response_id": 7,
               "recipient_name": "Ann Admin", "report_title": title, "report_link": "",
               "report_published": date(2024, 10, 10), "deadline": D, "days_left": -3,
               "state": "draft", "waiting_on": "OPCC (drafting)", "force_input_due": None,
               "signoff_due": D - timedelta(14), "published_on": None, "published_url": None,
               "rule_id": "r", "summary": "", "severity": "overdue", "urgent": True,
               "occurrence": 0, "due_day": D, "moved_from": None, "moved_because": None,
               "notify_roles": ["admin"], "cc_roles": ["pcc"],
               "superseded": ["publish-d2#0"], "today": D + timedelta(3),
               "recipient_roles": ["admin"], "contact": None}
    out = render(kind, context)
    assert out.subject.startswith("[s55 #7] ")
    assert title in out.subject
    assert title in out.text
    assert "ASB &lt;spotlight&gt; &amp; more" in out.html
    assert "None" not in out.text + out.html
    assert "with a copy to the Police and Crime Commissioner" in out.text
