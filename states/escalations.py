"""Escalation rules and their evaluation: a pure function of (response, policy, fired, now).

A rule names a calendar day in Europe/London (an offset in days from a milestone of
the response: the Section 55 deadline by default) and fires at a local hour on that
day, or on the working day before it when it is not a working day (``states.workdays``;
the deadline itself never moves), while the response is in one of the rule's states.
Each (response, rule, occurrence) fires at most once; a repeating rule has occurrences
0, 1, 2, ... ``repeat_days`` apart. Only the roles who can act in the response's state,
or oversee the duty, are told (``Rule.recipients_in``).

The policy file's tables become a ``Policy`` in ``states.policy``.

Catch-up: when several firings of one response are due and unfired (the scheduler was
down, or a response was registered late), only the most severe fires; the others are
superseded. A rule whose states do not include the response's current state is never
due, whatever its date.

No I/O here: "now" is an argument, and so are the working days (``Moment.working``, with
bank holidays looked up by ``workflow``).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

from states.lifecycle import Role, State, can_be_told
from states.workdays import EVERY_DAY, WorkingDays

LONDON = ZoneInfo("Europe/London")

#: Least severe first; catch-up keeps the most severe due firing of a response.
SEVERITIES: tuple[str, ...] = ("reminder", "warning", "escalation", "urgent", "overdue")


class Anchor(StrEnum):
    """The milestone a rule's offset counts from (a date column of the response)."""

    DEADLINE = "deadline"
    PUBLISHED_ON = "published_on"
    FORCE_INPUT_DUE = "force_input_due"
    SIGNOFF_DUE = "signoff_due"


@dataclass(frozen=True)
class Rule:
    """One escalation rule of the policy."""

    id: str
    offset_days: int
    states: frozenset[State]
    roles: tuple[Role, ...]
    severity: str
    kind: str  # the mail template
    anchor: Anchor = Anchor.DEADLINE
    cc: tuple[Role, ...] = ()
    repeat_days: int | None = None
    summary: str = ""
    # Precomputed for the planner's inner loop (it runs for every open response).
    rank: int = field(init=False, repr=False, compare=False)
    offset: timedelta = field(init=False, repr=False, compare=False)
    repeat: timedelta | None = field(init=False, repr=False, compare=False)
    slot: int = field(init=False, repr=False, compare=False)  # the anchor's index in Dates

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", SEVERITIES.index(self.severity))
        object.__setattr__(self, "slot", Dates._fields.index(self.anchor.value))
        object.__setattr__(self, "offset", timedelta(days=self.offset_days))
        object.__setattr__(self, "repeat",
                           timedelta(days=self.repeat_days) if self.repeat_days else None)

    @property
    def recipients(self) -> tuple[Role, ...]:
        """Roles notified, then cc'd, without repeats."""
        return tuple(dict.fromkeys(self.roles + self.cc))

    def recipients_in(self, state: State) -> tuple[tuple[Role, ...], tuple[Role, ...]]:
        """The roles told while the response is in ``state`` (those who can act there, or
        oversee it), and the rule's roles left out because they cannot act there."""
        told = tuple(r for r in self.recipients if can_be_told(r, state))
        return told, tuple(r for r in self.recipients if r not in told)

    def day(self, anchor_day: date, occurrence: int = 0) -> date:
        """The local calendar day of one occurrence."""
        return anchor_day + timedelta(days=self.offset_days + occurrence * (self.repeat_days or 0))

    def describe(self) -> str:
        sign = "+" if self.offset_days >= 0 else "-"
        where = "D" if self.anchor is Anchor.DEADLINE else self.anchor.value
        text = f"{where}{sign}{abs(self.offset_days)}"
        return text + (f", then every {self.repeat_days} days" if self.repeat_days else "")


_Step = tuple[Rule, int, timedelta, tuple[str, int], timedelta | None]


@dataclass(frozen=True)
class Policy:
    """The rules, in file order, indexed by the state they apply in."""

    rules: tuple[Rule, ...]
    by_state: Mapping[State, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)

    order: Mapping[str, int] = field(init=False, repr=False, compare=False)
    #: Per state, the first rule by day when all its rules count from one milestone.
    earliest: Mapping[State, Rule | None] = field(init=False, repr=False, compare=False)
    #: ``earliest`` unpacked for the planner's fast path: (anchor slot, offset,
    #: (rule id, 0), rule), or None.
    fast: Mapping[State, tuple[int, timedelta, tuple[str, int], Rule] | None] = field(
        init=False, repr=False, compare=False)
    #: ``by_state`` unpacked for the planner's loop: (rule, slot, offset, (id, 0), repeat).
    steps: Mapping[State, tuple[_Step, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {s: tuple(r for r in self.rules if s in r.states) for s in State}
        object.__setattr__(self, "by_state", index)
        object.__setattr__(self, "order", {r.id: i for i, r in enumerate(self.rules)})
        earliest = {s: min(rules, key=lambda r: r.offset_days)  # first in file order on ties
                    if rules and len({r.anchor for r in rules}) == 1 else None
                    for s, rules in index.items()}
        object.__setattr__(self, "earliest", earliest)
        object.__setattr__(self, "fast", {s: None if r is None else (r.slot, r.offset, (r.id, 0), r)
                                          for s, r in earliest.items()})
        object.__setattr__(self, "steps", {s: tuple((r, r.slot, r.offset, (r.id, 0), r.repeat)
                                                    for r in rules)
                                           for s, rules in index.items()})

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


class Dates(NamedTuple):
    """What planning needs of one response (a tuple: built for every open response)."""

    state: State
    deadline: date
    published_on: date | None = None
    force_input_due: date | None = None
    signoff_due: date | None = None

    def anchor(self, anchor: Anchor) -> date | None:
        day: date | None = getattr(self, anchor.value)
        return day


class Firing(NamedTuple):
    """One occurrence of one rule for one response: the local day and the UTC instant.

    ``day`` is the day it fires: the rule's day, or the working day before it, in which
    case ``moved_from`` is the rule's day (else None). A tuple, since a plan makes one for
    nearly every open response on every sweep.
    """

    rule: Rule
    occurrence: int
    day: date
    hour: int
    moved_from: date | None

    @property
    def at(self) -> datetime:
        """The UTC instant (computed on demand: most plans only need the day)."""
        return firing_instant(self.day, self.hour)

    @property
    def key(self) -> tuple[str, int]:
        return (self.rule.id, self.occurrence)


@dataclass(frozen=True, slots=True)
class Moment:
    """"Now" as planning sees it: the instant, the hour rules fire, the last due day, and
    the days they fire on (calendar days unless a caller passes working days)."""

    now: datetime
    hour: int
    last_due_day: date  # firings on this day or before are due
    working: WorkingDays = EVERY_DAY

    @classmethod
    def at(cls, now: datetime, hour: int, working: WorkingDays = EVERY_DAY) -> Moment:
        local = now.astimezone(LONDON)
        today = local.date()
        due_today = now >= firing_instant(today, hour)
        return cls(now, hour, today if due_today else today - timedelta(days=1), working)


class Plan(NamedTuple):
    """What to do for one response now, and when to look again."""

    due: Firing | None
    superseded: tuple[Firing, ...]
    next: Firing | None


@lru_cache(maxsize=4096)
def firing_instant(day: date, hour: int) -> datetime:
    """``hour``:00 Europe/London on ``day``, in UTC (09:00 is 08:00Z in BST, 09:00Z in GMT).

    Computed with zoneinfo, not an APScheduler cron trigger (agronholm/apscheduler#1021,
    #1036: cron triggers loop or stall at DST changes in 3.11). An hour that does not exist
    locally (01:xx on the last Sunday of March) resolves to the GMT reading (fold=0).
    """
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


def _next_unfired(rule: Rule, anchor: date, k: int,
                  done: Container[tuple[str, int]]) -> tuple[date, int] | None:
    """The first occurrence from ``k`` not yet fired (fired ones lie ahead only after the
    clock went backwards); None when a one-off rule has none left."""
    while (rule.id, k) in done:
        if rule.repeat is None:
            return None
        k += 1
    return anchor + rule.offset + (rule.repeat or _ZERO) * k, k


_ZERO = timedelta(0)
_T = TypeVar("_T")


class _TupleNew(Protocol):
    def __call__(self, cls: type[_T], values: Iterable[Any], /) -> _T: ...


# ``tuple.__new__(Firing, values)`` builds a NamedTuple without its generated ``__new__``
# (a Python-level call). Typeshed says it returns a plain tuple; it returns an instance of
# the class it is given, which is what the cast states.
_new = cast(_TupleNew, tuple.__new__)


def _firing(rule: Rule, occurrence: int, rule_day: date, hour: int, day: date) -> Firing:
    """A Firing built directly (the NamedTuple constructor costs as much as planning)."""
    return _new(Firing, (rule, occurrence, day, hour, None if day == rule_day else rule_day))


def plan(dates: Dates, policy: Policy, fired: Container[tuple[str, int]],
         moment: Moment) -> Plan:
    """Evaluate every rule for one response.

    ``fired`` holds the (rule id, occurrence) pairs already fired or superseded. The due
    firing is the most severe unfired one (ties: the latest day, then the later rule in
    the policy); every other unfired due firing is superseded. ``next`` is the earliest
    firing after ``moment`` in the current state (it may change if the state does).
    Days are the days firings are sent on (``moment.working``).

    The one tie rule for ``next``: of firings sent on the same day (a Saturday rule and a
    Friday rule both sent on the Friday), the one whose own day is earlier (for rules
    counting from one milestone: the more negative offset), then the first in the
    policy. The fast path below, which takes the state's rule of least offset, makes
    the same choice.
    """
    last = moment.last_due_day
    anchor: date | None
    fast = policy.fast[dates[0]]
    if fast is not None:
        slot, offset, key, first = fast
        # dates[slot]: an anchor's index in the tuple (slot > 0, so never the state).
        anchor = dates[slot]  # type: ignore[assignment]  # mypy: a variable index, any item
        if anchor is not None and (base := anchor + offset) > last and key not in fired \
                and (day := moment.working.on_or_before(base)) > last:
            # Nothing is due before the state's earliest rule, and that rule is next (moving
            # to the working day before keeps days in order): the common case, answered
            # without looking at the other rules.
            return _new(Plan, (None, (), _firing(first, 0, base, moment.hour, day)))
    return _plan_rules(dates, policy, fired, moment)


def _plan_rules(dates: Dates, policy: Policy, fired: Container[tuple[str, int]],
                moment: Moment) -> Plan:
    """``plan`` the long way: every rule of the state.

    Each day's working day is looked up once (``WorkingDays.known``, the days already
    answered, before asking ``on_or_before``) and Firings are built as they are found.
    """
    last, hour = moment.last_due_day, moment.hour
    known, on = moment.working.known, moment.working.on_or_before
    anchor: date | None
    due: list[Firing] = []
    nxt: Firing | None = None
    for rule, slot, offset, key, repeat in policy.steps[dates[0]]:
        anchor = dates[slot]  # type: ignore[assignment]  # mypy: a variable index, any item
        if anchor is None:
            continue
        base = anchor + offset
        if (day := known.get(base) or on(base)) > last:  # not due yet: the usual case
            k = 0
            if key in fired:
                if (ahead := _next_unfired(rule, anchor, 0, fired)) is None:
                    continue
                base, k = ahead
                day = known.get(base) or on(base)
        elif repeat is None:
            if key not in fired:
                due.append(_new(Firing, (rule, 0, day, hour, None if day == base else base)))
            continue
        elif (ahead := _due_repeats(rule, anchor, base, repeat, moment, fired, due)) is None:
            continue
        else:
            base, k = ahead
            day = known.get(base) or on(base)
        # The earliest; on a tie, the earlier rule day, then the first in the policy.
        if nxt is None or day < nxt[2] or (day == nxt[2] and base < (nxt[4] or day)):
            nxt = _new(Firing, (rule, k, day, hour, None if day == base else base))
    return _chosen(due, nxt, policy.order)


def _chosen(due: list[Firing], nxt: Firing | None, order: Mapping[str, int]) -> Plan:
    """The plan: the most severe due firing (ties: the latest day, then the later rule in
    the policy) supersedes the others."""
    if not due:
        return _new(Plan, (None, (), nxt))
    if len(due) > 1:
        due.sort(key=lambda f: (f[0].rank, f[2], order[f[0].id]))
    return _new(Plan, (due[-1], tuple(due[:-1]), nxt))


def _due_repeats(rule: Rule, anchor: date, base: date, repeat: timedelta, moment: Moment,
                 fired: Container[tuple[str, int]], due: list[Firing]
                 ) -> tuple[date, int] | None:
    """Add a repeating rule's unfired due occurrences (its first is due) to ``due``; its
    first unfired occurrence ahead (the rule's day and occurrence)."""
    last, hour = moment.last_due_day, moment.hour
    known, on = moment.working.known, moment.working.on_or_before
    count = (last - base).days // repeat.days + 1 if base <= last else 0
    while on(base + repeat * count) <= last:  # moved back into the due days
        count += 1
    rule_id = rule.id
    for k in range(count):
        if (rule_id, k) not in fired:
            rule_day = base + repeat * k
            sent = known.get(rule_day) or on(rule_day)
            due.append(_new(Firing, (rule, k, sent, hour, None if sent == rule_day else rule_day)))
    return _next_unfired(rule, anchor, count, fired)


def upcoming(dates: Dates, policy: Policy, fired: Iterable[tuple[str, int]], moment: Moment,
             until: date) -> list[Firing]:
    """Every unfired firing of the current state from now to ``until`` (inclusive), by time.

    Firings already due come first (``plan`` says which of them fires); the rest are
    what will fire if the response stays in its state.
    """
    done = frozenset(fired)
    on = moment.working.on_or_before
    last = moment.last_due_day
    out: list[Firing] = []
    for rule in policy.by_state[dates.state]:
        anchor = dates.anchor(rule.anchor)
        if anchor is None:
            continue
        k = 0
        while (day := on(rule_day := rule.day(anchor, k))) <= until:
            if (rule.id, k) not in done:
                # Of a repeating rule's due occurrences only the latest is listed.
                if day > last or not rule.repeat_days or on(rule.day(anchor, k + 1)) > last:
                    out.append(_firing(rule, k, rule_day, moment.hour, day))
            if not rule.repeat_days:
                break
            k += 1
    return sorted(out, key=lambda f: (f.at, f.rule.rank))
