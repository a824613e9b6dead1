"""The pure planner (states.escalations) under the default policy, day by day.

The expected firings are written by hand from workflow/escalations/policy.toml; the planner is run
as the scheduler runs it (a sweep at some instant, firing what is due, marking it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from states import State
from states.escalations import (
    LONDON,
    Dates,
    Firing,
    Moment,
    Policy,
    firing_instant,
    plan,
    upcoming,
)
from workflow.core.bank_holidays import england_and_wales
from workflow.core.settings import Settings
from workflow.escalations.plan import load_policy

POLICY: Policy = load_policy(Settings(policy_file=None))
WORKING = england_and_wales()
D = date(2024, 12, 4)  # Norfolk: 10 Oct 2024 + 55 days (a Wednesday)
#: Everyone the "not yet published" rules name; the force liaison only hears while the
#: response waits on the force (force_input): in other states the force cannot act.
ALL = ("admin", "force", "pcc", "chief_executive")
OPCC = ("admin", "pcc", "chief_executive")
Row = tuple[str, int, tuple[str, ...]]


def not_published(everyone: tuple[str, ...]) -> list[Row]:
    return [("signoff-d14", -14, ("chief_executive",)), ("publish-d7", -7, ("pcc",
            "chief_executive")), ("publish-d2", -2, everyone)]


def overdue(everyone: tuple[str, ...]) -> list[Row]:
    # D, D+7, D+14, then D+21 is Christmas Day (Wed 25 Dec 2024): Tue 24 Dec, D+20.
    return [("overdue", days, everyone) for days in (0, 7, 14, 20)]


#: (rule, day relative to D, roles mailed) for a response left in each state until D+21.
EXPECTED: dict[State, list[Row]] = {
    State.DRAFT: [("draft-d42", -42, ("admin",)), *not_published(OPCC), *overdue(OPCC)],
    State.FORCE_INPUT: [("force-input-d28", -28, ("force", "admin")), *not_published(ALL),
                        *overdue(ALL)],
    State.PCC_SIGNOFF: [*not_published(OPCC), *overdue(OPCC)],
    State.FORWARDED_TO_PANEL: not_published(OPCC)[1:] + overdue(OPCC),
    # Published 10 days before the deadline (Sun 24 Nov 2024): the portal reminder a week
    # later falls on Sun 1 Dec, so it goes out on Fri 29 Nov (D-5).
    State.PUBLISHED: [("portal-p7", -5, ("admin",))],
    State.PORTAL_SUBMITTED: [],
    State.NOT_REQUIRED: [],
}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def dates_for(state: State, deadline: date = D) -> Dates:
    published = deadline - timedelta(days=10) if state in (State.PUBLISHED,
                                                           State.PORTAL_SUBMITTED) else None
    return Dates(state, deadline, published_on=published)


def run_daily(dates: Dates, start: date, end: date, *, at_hour: int = 9, minute: int = 30,
              fired: set[tuple[str, int]] | None = None) -> list[tuple[Firing, datetime]]:
    """Sweep once a day at ``at_hour:minute`` local on England and Wales working days, as
    the scheduler plans; what fired, and when."""
    fired = set() if fired is None else fired
    out = []
    day = start
    while day <= end:
        now = local(day, at_hour, minute)
        p = plan(dates, POLICY, fired, Moment.at(now, 9, WORKING))
        if p.due is not None:
            assert not p.superseded, "a daily sweep never has to catch up"
            fired.add(p.due.key)
            out.append((p.due, now))
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize("state", list(State), ids=str)
def test_default_policy_against_a_response_left_in_each_state(state: State) -> None:
    """Left in one state from D-60 to D+21, a response gets exactly the firings in the
    hand-written table: rule, day and the roles told in that state (notify then cc), each
    at 09:00 London."""
    got = run_daily(dates_for(state), D - timedelta(days=60), D + timedelta(days=21))
    assert [(f.rule.id, (f.day - D).days, tuple(r.value for r in f.rule.recipients_in(state)[0]))
            for f, _ in got] == EXPECTED[state]
    for f, _ in got:
        assert f.at.astimezone(LONDON).hour == 9
        assert f.at.astimezone(LONDON).minute == 0
    overdue = [f.occurrence for f, _ in got if f.rule.id == "overdue"]
    assert overdue == ([0, 1, 2, 3] if overdue else [])


def test_nothing_fires_before_the_hour_on_the_day() -> None:
    """At 08:59 London on D-42 the draft reminder is not due; at 09:00 it is."""
    dates = dates_for(State.DRAFT)
    day = D - timedelta(days=42)
    assert plan(dates, POLICY, set(), Moment.at(local(day, 8, 59), 9)).due is None
    due = plan(dates, POLICY, set(), Moment.at(local(day, 9, 0), 9)).due
    assert due is not None
    assert due.rule.id == "draft-d42"


def test_next_firing_is_the_earliest_unfired_one_in_the_current_state() -> None:
    """Before anything is due, ``next`` names the first rule of the state at its instant."""
    p = plan(dates_for(State.FORCE_INPUT), POLICY, set(), Moment.at(local(D - timedelta(50),
                                                                         12), 9))
    assert p.due is None
    assert p.next is not None
    assert (p.next.rule.id, p.next.day, p.next.at) == (
        "force-input-d28", D - timedelta(28), local(D - timedelta(28), 9))


def test_no_firing_after_the_response_moves_on() -> None:
    """A draft that goes to the force on D-43 never gets the draft reminder, and once
    published gets none of the not-published rules, only the portal reminder."""
    fired: set[tuple[str, int]] = set()
    draft, force = dates_for(State.DRAFT), dates_for(State.FORCE_INPUT)
    assert run_daily(draft, D - timedelta(60), D - timedelta(43), fired=fired) == []
    got = run_daily(force, D - timedelta(42), D - timedelta(20), fired=fired)
    assert [f.rule.id for f, _ in got] == ["force-input-d28"]
    published = Dates(State.PUBLISHED, D, published_on=D - timedelta(19))
    got = run_daily(published, D - timedelta(19), D + timedelta(30), fired=fired)
    assert [(f.rule.id, f.day) for f, _ in got] == [("portal-p7", D - timedelta(12))]


@pytest.mark.parametrize(("down_days", "fires", "superseded", "then"), [
    (10, ("publish-d7", 0), [("signoff-d14", 0)], ("publish-d2", 0)),
    (20, ("overdue", 0), [("signoff-d14", 0), ("publish-d7", 0), ("publish-d2", 0)],
     ("overdue", 1)),
    (60, ("overdue", 6), [("signoff-d14", 0), ("publish-d7", 0), ("publish-d2", 0)]
     + [("overdue", k) for k in range(6)], ("overdue", 7)),
])
def test_catch_up_after_downtime_sends_only_the_most_severe(
        down_days: int, fires: tuple[str, int], superseded: list[tuple[str, int]],
        then: tuple[str, int]) -> None:
    """A draft last swept at D-16 and swept again after 10, 20 or 60 days fires one firing
    (the most severe; for weekly ones the latest) and supersedes every other due one."""
    last = D - timedelta(days=16)
    now = local(last + timedelta(days=down_days), 10)
    fired = {("draft-d42", 0)}
    p = plan(dates_for(State.DRAFT), POLICY, fired, Moment.at(now, 9))
    assert p.due is not None
    assert p.due.key == fires
    assert sorted(f.key for f in p.superseded) == sorted(superseded)
    fired |= {p.due.key} | {f.key for f in p.superseded}
    again = plan(dates_for(State.DRAFT), POLICY, fired, Moment.at(now + timedelta(hours=1), 9))
    assert again.due is None, "nothing floods after the catch-up"
    assert not again.superseded
    assert again.next is not None
    assert again.next.key == then


def test_overdue_repeats_weekly_until_published() -> None:
    """The overdue alert fires on D, D+7, D+14 ... while unpublished, never after; an
    occurrence on a bank holiday goes out on the working day before."""
    dates = dates_for(State.PCC_SIGNOFF)
    fired = {("signoff-d14", 0), ("publish-d7", 0), ("publish-d2", 0)}
    got = run_daily(dates, D - timedelta(1), D + timedelta(35), fired=fired)
    assert [(f.occurrence, f.day, f.moved_from) for f, _ in got] == [
        (0, date(2024, 12, 4), None), (1, date(2024, 12, 11), None),
        (2, date(2024, 12, 18), None),
        (3, date(2024, 12, 24), date(2024, 12, 25)),  # Christmas Day: Tuesday 24th
        (4, date(2024, 12, 31), date(2025, 1, 1)),  # New Year's Day: Tuesday 31st
        (5, date(2025, 1, 8), None)]
    published = Dates(State.PUBLISHED, D, published_on=D + timedelta(36))
    later = run_daily(published, D + timedelta(36), D + timedelta(60), fired=fired)
    assert [f.rule.id for f, _ in later] == ["portal-p7"]


class TestSummerTime:
    """Firing instants stay at 09:00 London across the last Sundays of March and October."""

    @pytest.mark.parametrize(("day", "utc_hour"), [
        (date(2025, 3, 29), 9), (date(2025, 3, 30), 8), (date(2025, 3, 31), 8),  # GMT -> BST
        (date(2025, 10, 25), 8), (date(2025, 10, 26), 9), (date(2025, 10, 27), 9),  # BST -> GMT
    ])
    def test_instant_is_nine_local(self, day: date, utc_hour: int) -> None:
        """09:00 London is 08:00 UTC in summer time and 09:00 UTC in winter."""
        at = firing_instant(day, 9)
        assert (at.tzinfo, at.hour, at.astimezone(LONDON).hour) == (UTC, utc_hour, 9)

    @pytest.mark.parametrize("deadline", [date(2025, 3, 24), date(2025, 10, 20)])
    def test_weekly_overdue_across_the_change(self, deadline: date) -> None:
        """The weekly overdue alert keeps its local hour when the clocks change between
        two occurrences, and is not due an hour early or late in UTC terms."""
        dates = Dates(State.FORWARDED_TO_PANEL, deadline)
        fired = {("publish-d7", 0), ("publish-d2", 0)}
        got = run_daily(dates, deadline, deadline + timedelta(14), fired=fired, minute=0)
        assert [f.at.astimezone(LONDON).hour for f, _ in got] == [9, 9, 9]
        assert [f.at for f, _ in got] == [now for _, now in got]
        second = deadline + timedelta(7)
        assert plan(dates, POLICY, fired | {("overdue", 0)},
                    Moment.at(local(second, 8, 59), 9)).due is None

    def test_due_on_the_sunday_the_clocks_go_forward(self) -> None:
        """On 30 March 2025 a firing is due from 08:00 UTC (09:00 BST), not 09:00 UTC."""
        dates = Dates(State.DRAFT, date(2025, 3, 30) + timedelta(42))
        assert plan(dates, POLICY, set(), Moment.at(datetime(2025, 3, 30, 7, 59, tzinfo=UTC),
                                                    9)).due is None
        due = plan(dates, POLICY, set(), Moment.at(datetime(2025, 3, 30, 8, 0, tzinfo=UTC),
                                                   9)).due
        assert due is not None
        assert due.rule.id == "draft-d42"


def test_upcoming_lists_what_will_fire_in_the_window() -> None:
    """``upcoming`` lists the current state's unfired firings to a day, in time order,
    with only the latest of a repeating rule's missed occurrences."""
    got = upcoming(dates_for(State.PCC_SIGNOFF), POLICY, {("signoff-d14", 0)},
                   Moment.at(local(D - timedelta(10), 12), 9), D + timedelta(8))
    assert [(f.rule.id, f.occurrence, (f.day - D).days) for f in got] == [
        ("publish-d7", 0, -7), ("publish-d2", 0, -2), ("overdue", 0, 0), ("overdue", 1, 7)]
    late = upcoming(dates_for(State.PCC_SIGNOFF), POLICY, set(),
                    Moment.at(local(D + timedelta(15), 12), 9), D + timedelta(15))
    assert [f.key for f in late if f.rule.id == "overdue"] == [("overdue", 2)]


_states = st.sampled_from([s for s in State])


Sent = tuple[str, int, date, date | None]  # rule, occurrence, day sent, the rule's day if moved


def sweep_daily(dates: Dates, start: date, end: date) -> tuple[list[Sent], list[Sent]]:
    """Sweep every day at 09:30 London as the scheduler does (working days of England and
    Wales): what was sent, and what was superseded, with days."""
    fired: set[tuple[str, int]] = set()
    sent: list[Sent] = []
    superseded: list[Sent] = []
    day = start
    while day <= end:
        p = plan(dates, POLICY, fired, Moment.at(local(day, 9, 30), 9, WORKING))
        if p.due is not None:
            for f, into in [(p.due, sent), *((x, superseded) for x in p.superseded)]:
                fired.add(f.key)
                into.append((f.rule.id, f.occurrence, f.day, f.moved_from))
                assert f.day == day, "sent on its day, by a daily sweep"
        day += timedelta(days=1)
    return sent, superseded


class TestWorkingDays:
    """Escalations go out on working days in England and Wales: a rule's day that is a
    Saturday, a Sunday or a bank holiday moves to the working day before it. The
    deadline itself never moves (s55(5A) counts calendar days). Days written by hand."""

    def test_a_deadline_on_christmas_day_2024(self) -> None:
        """Report published Thu 31 Oct 2024: D = Wed 25 Dec 2024. The deadline-day alert
        goes out on Tue 24 Dec; the first weekly one (New Year's Day) on Tue 31 Dec."""
        deadline = date(2024, 10, 31) + timedelta(days=55)
        assert deadline == date(2024, 12, 25)
        sent, superseded = sweep_daily(Dates(State.PCC_SIGNOFF, deadline),
                                       date(2024, 11, 1), date(2025, 1, 10))
        assert sent == [
            ("signoff-d14", 0, date(2024, 12, 11), None),
            ("publish-d7", 0, date(2024, 12, 18), None),
            ("publish-d2", 0, date(2024, 12, 23), None),
            ("overdue", 0, date(2024, 12, 24), date(2024, 12, 25)),
            ("overdue", 1, date(2024, 12, 31), date(2025, 1, 1)),
            ("overdue", 2, date(2025, 1, 8), None),
        ]
        assert superseded == []

    def test_a_deadline_on_easter_monday(self) -> None:
        """D = Mon 21 Apr 2025 (Easter Monday; Good Friday is 18 Apr): D-2 (Sat 19 Apr) and
        D both fall back to Thu 17 Apr, where one mail goes out, the most severe (the
        deadline alert); the D-2 reminder is recorded as superseded, not sent as well."""
        sent, superseded = sweep_daily(Dates(State.FORWARDED_TO_PANEL, date(2025, 4, 21)),
                                       date(2025, 4, 1), date(2025, 4, 30))
        assert sent == [
            ("publish-d7", 0, date(2025, 4, 14), None),
            ("overdue", 0, date(2025, 4, 17), date(2025, 4, 21)),
            ("overdue", 1, date(2025, 4, 28), None),
        ]
        assert superseded == [("publish-d2", 0, date(2025, 4, 17), date(2025, 4, 19))]

    def test_a_deadline_on_a_saturday(self) -> None:
        """D = Sat 7 Dec 2024: every rule falling on a Saturday goes out on the Friday
        before, including the weekly overdue alerts; Thu 5 Dec (D-2) stays."""
        sent, superseded = sweep_daily(Dates(State.DRAFT, date(2024, 12, 7)),
                                       date(2024, 10, 1), date(2024, 12, 31))
        assert sent == [
            ("draft-d42", 0, date(2024, 10, 25), date(2024, 10, 26)),
            ("signoff-d14", 0, date(2024, 11, 22), date(2024, 11, 23)),
            ("publish-d7", 0, date(2024, 11, 29), date(2024, 11, 30)),
            ("publish-d2", 0, date(2024, 12, 5), None),
            ("overdue", 0, date(2024, 12, 6), date(2024, 12, 7)),
            ("overdue", 1, date(2024, 12, 13), date(2024, 12, 14)),
            ("overdue", 2, date(2024, 12, 20), date(2024, 12, 21)),
            ("overdue", 3, date(2024, 12, 27), date(2024, 12, 28)),
        ]
        assert superseded == []

    def test_next_names_the_working_day(self) -> None:
        """Planning ahead gives the day it will be sent, with the rule's day it moved from,
        for the dashboard and ``s55 escalations plan``."""
        dates = Dates(State.DRAFT, date(2024, 12, 7))
        p = plan(dates, POLICY, set(), Moment.at(local(date(2024, 10, 1), 12), 9, WORKING))
        assert p.next is not None
        assert (p.next.rule.id, p.next.day, p.next.moved_from) == (
            "draft-d42", date(2024, 10, 25), date(2024, 10, 26))
        assert p.next.at == local(date(2024, 10, 25), 9)
        fired = {("draft-d42", 0), ("signoff-d14", 0)}
        ahead = upcoming(dates, POLICY, fired, Moment.at(local(date(2024, 12, 1), 12), 9,
                                                         WORKING), date(2024, 12, 14))
        assert [(f.key, f.day) for f in ahead] == [
            (("publish-d7", 0), date(2024, 11, 29)), (("publish-d2", 0), date(2024, 12, 5)),
            (("overdue", 0), date(2024, 12, 6)), (("overdue", 1), date(2024, 12, 13))]

    def test_without_working_days_nothing_moves(self) -> None:
        """The planner's default is calendar days: only a caller that passes working days
        moves anything (the scheduler always does, through ``moment_at``)."""
        p = plan(Dates(State.DRAFT, date(2024, 12, 7)), POLICY, set(),
                 Moment.at(local(date(2024, 10, 1), 12), 9))
        assert p.next is not None
        assert (p.next.day, p.next.moved_from) == (date(2024, 10, 26), None)


@settings(max_examples=200, deadline=None)
@given(deadline=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
       steps=st.lists(st.tuples(st.integers(1, 400), _states), min_size=1, max_size=25))
@pytest.mark.slow
def test_any_sequence_of_sweeps_fires_each_firing_once(
        deadline: date, steps: list[tuple[int, State]]) -> None:
    """Whatever the sweep times and state changes: at most one firing per response per
    sweep, no (rule, occurrence) twice, only rules of the current state, never early, and
    only on working days (a moved one at most four days before its rule's day)."""
    fired: set[tuple[str, int]] = set()
    now = local(deadline - timedelta(days=70), 0)
    for hours, state in steps:
        now += timedelta(hours=hours * 7)
        published = deadline - timedelta(days=3) if state in (State.PUBLISHED,
                                                              State.PORTAL_SUBMITTED) else None
        p = plan(Dates(state, deadline, published_on=published), POLICY, fired,
                 Moment.at(now, 9, WORKING))
        keys = ([p.due.key] if p.due else []) + [f.key for f in p.superseded]
        assert len(keys) == len(set(keys))
        assert not set(keys) & fired
        for f in ([p.due] if p.due else []) + list(p.superseded):
            assert state in f.rule.states
            assert f.at <= now
        if p.next is not None:
            assert p.next.at > now
            assert state in p.next.rule.states
        for f in ([p.due] if p.due else []) + list(p.superseded) + [p.next] * bool(p.next):
            assert f is not None
            assert WORKING.closed(f.day) is None, "sent on a working day"
            if f.moved_from is not None:  # from a closed day, to the working day before
                assert WORKING.closed(f.moved_from) is not None
                assert 0 < (f.moved_from - f.day).days <= 4
        fired.update(keys)
