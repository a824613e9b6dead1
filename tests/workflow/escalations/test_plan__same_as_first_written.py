"""The planner's fast loop against the planner as it was written first (kept here as the
reference): over generated policies, dates, fired sets and moments, on calendar and on
England and Wales working days, both give the same plan, field for field.

``_plan_rules`` was restructured for speed; nothing it decides may change.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from states import State
from states.escalations import (
    SEVERITIES,
    Anchor,
    Dates,
    Firing,
    Moment,
    Plan,
    Policy,
    Rule,
    _plan_rules,
    plan,
)
from states.lifecycle import FINAL, Role
from states.workdays import EVERY_DAY
from workflow.core.bank_holidays import england_and_wales
from workflow.core.settings import Settings
from workflow.escalations.plan import load_policy

DEFAULT: Policy = load_policy(Settings(policy_file=None))
WORKING = england_and_wales()
OPEN = [s for s in State if s not in FINAL]


def _reference_next(rule: Rule, anchor: date, k: int,
                    done: Container[tuple[str, int]]) -> tuple[date, int] | None:
    while (rule.id, k) in done:
        if rule.repeat_days is None:
            return None
        k += 1
    return rule.day(anchor, k), k


def reference(dates: Dates, policy: Policy, fired: Container[tuple[str, int]],
              moment: Moment) -> Plan:
    """``plan`` as first written: every rule of the state, the long way, Firings built by
    their constructor."""
    last, on, hour = moment.last_due_day, moment.working.on_or_before, moment.hour
    due: list[tuple[Rule, int, date]] = []
    nxt: tuple[date, int] | None = None
    nxt_rule: Rule | None = None
    for rule in policy.by_state[dates.state]:
        anchor = dates.anchor(rule.anchor)
        if anchor is None:
            continue
        base = rule.day(anchor)
        ahead: tuple[date, int] | None
        if on(base) > last:
            ahead = _reference_next(rule, anchor, 0, fired)
        elif rule.repeat_days is None:
            if (rule.id, 0) not in fired:
                due.append((rule, 0, base))
            continue
        else:
            count = (last - base).days // rule.repeat_days + 1 if base <= last else 0
            while on(rule.day(anchor, count)) <= last:
                count += 1
            due.extend((rule, k, rule.day(anchor, k)) for k in range(count)
                       if (rule.id, k) not in fired)
            ahead = _reference_next(rule, anchor, count, fired)
        # The tie rule: the day sent, then the rule's own day, then policy order.
        if ahead is not None and (nxt is None or (on(ahead[0]), ahead[0])
                                  < (on(nxt[0]), nxt[0])):
            nxt, nxt_rule = ahead, rule

    def firing(rule: Rule, k: int, day: date) -> Firing:
        sent = on(day)
        return Firing(rule, k, sent, hour, None if sent == day else day)

    nxt_firing = firing(nxt_rule, nxt[1], nxt[0]) if nxt and nxt_rule else None
    firings = sorted((firing(r, k, day) for r, k, day in due),
                     key=lambda f: (f.rule.rank, f.day, policy.order[f.rule.id]))
    if not firings:
        return Plan(None, (), nxt_firing)
    return Plan(firings[-1], tuple(firings[:-1]), nxt_firing)


_ROLES = st.lists(st.sampled_from(list(Role)), min_size=1, max_size=3, unique=True)


@st.composite
def rules(draw: st.DrawFn, i: int) -> Rule:
    return Rule(id=f"r{i}", offset_days=draw(st.integers(-60, 60)),
                states=frozenset(draw(st.lists(st.sampled_from(OPEN), min_size=1,
                                               max_size=4))),
                roles=tuple(draw(_ROLES)), severity=draw(st.sampled_from(SEVERITIES)),
                kind="escalation_publish", anchor=draw(st.sampled_from(list(Anchor))),
                repeat_days=draw(st.one_of(st.none(), st.integers(1, 10))))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    if draw(st.booleans()):
        return DEFAULT
    count = draw(st.integers(1, 7))
    return Policy(tuple(draw(rules(i)) for i in range(count)))


_DAYS = st.dates(date(2023, 1, 1), date(2026, 12, 31))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Dates, Policy, frozenset[tuple[str, int]], Moment]:
    policy = draw(policies())
    dates = Dates(draw(st.sampled_from(OPEN)), draw(_DAYS),
                  *(draw(st.one_of(st.none(), _DAYS)) for _ in range(3)))
    ids = [r.id for r in policy.rules]
    fired = frozenset(draw(st.lists(st.tuples(st.sampled_from(ids), st.integers(0, 12)),
                                    max_size=12)))
    now = datetime.combine(draw(_DAYS), datetime.min.time(), tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(0, 24 * 60 - 1)))
    moment = Moment.at(now, draw(st.integers(0, 23)),
                       WORKING if draw(st.booleans()) else EVERY_DAY)
    return dates, policy, fired, moment


def _rule(rule_id: str, offset: int) -> Rule:
    return Rule(id=rule_id, offset_days=offset, states=frozenset({State.DRAFT}),
                roles=(Role.ADMIN,), severity="reminder", kind="escalation_publish")


#: Two rules sent on the same Friday: D-16 falls on it, D-15 on the Saturday after (and
#: moves back to it), the D-15 rule first in the policy. The earlier rule day wins.
_SAME_FRIDAY = (Dates(State.DRAFT, date(2024, 3, 24)),
                Policy((_rule("d15", -15), _rule("d16", -16))), frozenset[tuple[str, int]](),
                Moment.at(datetime(2024, 3, 1, 12, tzinfo=UTC), 9, WORKING))


@settings(max_examples=1500, deadline=None)
@given(case=cases())
@example(case=_SAME_FRIDAY)
@pytest.mark.slow
def test_the_planner_decides_as_the_reference(
        case: tuple[Dates, Policy, frozenset[tuple[str, int]], Moment]) -> None:
    dates, policy, fired, moment = case
    expected = reference(dates, policy, fired, moment)
    assert plan(dates, policy, fired, moment) == expected
    assert _plan_rules(dates, policy, fired, moment) == expected


def test_a_tie_goes_to_the_earlier_rule_day() -> None:
    dates, policy, fired, moment = _SAME_FRIDAY
    for planner in (plan, _plan_rules, reference):
        nxt = planner(dates, policy, fired, moment).next
        assert nxt is not None
        assert (nxt.rule.id, nxt.day, nxt.moved_from) == ("d16", date(2024, 3, 8), None)


def test_the_reference_agrees_on_a_day_by_day_history() -> None:
    """Every day of two years, each open state, nothing fired and the first firing of
    every rule fired: the default policy on working days."""
    start = date(2024, 1, 1)
    for offset in range(0, 730, 3):
        deadline = start + timedelta(days=offset)
        for state in OPEN:
            dates = Dates(state, deadline, deadline - timedelta(days=20), None,
                          deadline - timedelta(days=5))
            for fired in (frozenset(), frozenset((r.id, 0) for r in DEFAULT.rules)):
                for back in range(-70, 30, 7):
                    moment = Moment.at(datetime.combine(deadline - timedelta(days=back),
                                                        datetime.min.time(), tzinfo=UTC)
                                       + timedelta(hours=10), 9, WORKING)
                    assert plan(dates, DEFAULT, fired, moment) == reference(
                        dates, DEFAULT, fired, moment)
