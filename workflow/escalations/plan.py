"""Escalation planning without the ORM: the policy, what planning reads, the next firings,
and which due firings would only repeat a request just made (``quiet``).

Split from ``workflow.escalations.sweep`` (which fires) so that ``s55 list`` can show each
response's next escalation without building the SQLModel classes or importing Jinja2:
everything here is the policy file, one query on the Core tables and the pure planner in
``states.escalations``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import BindParameter, bindparam, literal, select, true
from sqlalchemy.engine import Dialect

from notifications import BUILTIN_TEMPLATES
from states import State
from states.escalations import Dates, Firing, Moment, Plan, Policy, plan
from states.lifecycle import can_be_told
from states.policy import PolicyRuleError, parse_policy
from states.workdays import WorkingDays
from workflow.core.bank_holidays import england_and_wales
from workflow.core.clock import LONDON, Clock
from workflow.core.errors import ConfigError
from workflow.core.nesting import NestingError, load_toml
from workflow.identity.office import quiet_days
from workflow.storage.db import fetch_on
from workflow.storage.tables import (
    AUDIT_EVENT,
    ESCALATION_FIRING,
    IS_OPEN,
    OUTBOX,
    PERSON,
    RESPONSE,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.core.settings import Settings
    from workflow.storage.db import Database

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")


class PolicyError(ConfigError):
    """The escalation policy file is unreadable or breaks a rule; nothing is fired."""

    def __init__(self, source: Path, problem: str) -> None:
        self.source, self.problem = source, problem
        super().__init__(f"escalation policy {source}: {problem}")


# -- the policy ----------------------------------------------------------------------------

def policy_path(settings: Settings) -> Path:
    return settings.policy_file or DEFAULT_POLICY


def load_policy(settings: Settings) -> Policy:
    """The organisation's policy (``S55_POLICY_FILE``) or the default; checked on load.

    Raises ``PolicyError`` with one line naming the file and the rule.
    """
    path = policy_path(settings)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise PolicyError(path, exc.strerror or str(exc)) from None
    return _load(path, stamp, settings.template_dir)


@lru_cache(maxsize=8)
def _load(path: Path, _stamp: int, template_dir: Path | None) -> Policy:
    try:
        data = load_toml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(path, getattr(exc, "strerror", None) or str(exc)) from None
    except NestingError as exc:
        raise PolicyError(path, str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, f"not valid TOML: {exc}") from None
    try:
        policy = parse_policy(data)
    except PolicyRuleError as exc:
        raise PolicyError(path, str(exc)) from None
    dirs = [d for d in (template_dir, BUILTIN_TEMPLATES) if d is not None]
    for rule in policy.rules:
        for part in ("subject", "txt", "html"):
            if not any((d / f"{rule.kind}.{part}.j2").is_file() for d in dirs):
                raise PolicyError(path, f"rule {rule.id!r}: template {rule.kind!r} has no "
                                        f"{rule.kind}.{part}.j2")
    return policy


def moment_at(settings: Settings, now: datetime) -> Moment:
    """"Now" for planning: rules fire at ``S55_ESCALATION_HOUR`` London time on England
    and Wales working days (a rule's day that is not one moves to the working day before)."""
    return Moment.at(now, settings.escalation_hour, england_and_wales())


# -- reading what planning needs -----------------------------------------------------------

_STATES = {s.value: s for s in State}
_R, _F = RESPONSE.c, ESCALATION_FIRING.c
#: What planning reads of a response, in the order of ``Dates`` (after the id).
DATE_COLUMNS = (_R.id, _R.state, _R.deadline, _R.published_on, _R.force_input_due,
                _R.signoff_due)

# The planner reads every open response on every sweep: one query, built here once and
# compiled once per dialect, run on the driver's cursor so rows come back as plain
# tuples. Its WHERE is the partial index's own (IS_OPEN: SQLite uses a partial index only
# when the query repeats its WHERE), its values written into the text. Each open row is
# joined to its firings through the unique index (response first). On PostgreSQL the join
# is LATERAL with OFFSET 0 (which keeps the planner from flattening it): a plain join, or
# an IN list of ids, is planned as a scan of the whole firing table - 20 years of history
# - once open responses number a few thousand.
_LATERAL = (select(_F.rule_id, _F.occurrence).where(_F.response_id == _R.id)
            .offset(literal(0, literal_execute=True)).lateral("f"))
_READ = {
    "sqlite": select(*DATE_COLUMNS, _F.rule_id, _F.occurrence).select_from(
        RESPONSE.outerjoin(ESCALATION_FIRING, _F.response_id == _R.id)).where(IS_OPEN),
    "postgresql": select(*DATE_COLUMNS, _LATERAL.c.rule_id, _LATERAL.c.occurrence)
    .select_from(RESPONSE.outerjoin(_LATERAL, true())).where(IS_OPEN),
}
# The ids are written into the text as well (the driver's cursor gets no parameters).
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True, literal_execute=True)
#: A stand-in id, compiled in once to find where a call's ids go in the text.
_MARK = -5505
_COMPILED: dict[str, tuple[str, str, str]] = {}


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    return (ids[i:i + size] for i in range(0, len(ids), size))


_NONE_FIRED: frozenset[tuple[str, int]] = frozenset()
_new: Any = tuple.__new__


def _compiled(dialect: Dialect) -> tuple[str, str, str]:
    """The planner's query compiled for ``dialect``, the first time it is asked for: the
    SQL for every open response, and the SQL for the open ones among some ids, split where
    the ids go (SQLAlchemy's rendering of a list costs ~2 µs an id: milliseconds for the
    thousands of open responses a dashboard can list)."""
    found = _COMPILED.get(dialect.name)
    if found is None:
        stmt = _READ[dialect.name]
        every = stmt.compile(dialect=dialect).construct_expanded_state().statement
        some = stmt.where(_R.id.in_(_IDS)).compile(dialect=dialect)
        marked = some.construct_expanded_state({"ids": [_MARK]}).statement
        head, tail = marked.split(str(_MARK))
        found = _COMPILED[dialect.name] = (every, head, tail)
    return found


def _sql(dialect: Dialect, response_ids: Sequence[int] | None) -> str:
    """The planner's query: every open response, or the open ones of ``response_ids``
    (``int()`` makes sure each id is a number before it is written in)."""
    every, head, tail = _compiled(dialect)
    if response_ids is None:
        return every
    return head + (", ".join(str(int(i)) for i in response_ids) or "NULL") + tail


def open_responses(session: Session, response_ids: Sequence[int] | None = None
                   ) -> tuple[dict[int, Dates], dict[int, AbstractSet[tuple[str, int]]]]:
    """Dates and fired (rule, occurrence) pairs of open responses (or of those given).

    One query over the partial index ``ix_response_open`` and the firings' unique index:
    finished responses and their firings are never read, however many there are.
    Responses with no firings share one empty set.
    """
    dialect = session.get_bind().dialect
    return _dates_and_fired(fetch_on(session.connection(), _sql(dialect, response_ids)),
                            dialect.name)


def _dates_and_fired(rows: list[Any], dialect: str
                     ) -> tuple[dict[int, Dates], dict[int, AbstractSet[tuple[str, int]]]]:
    """``open_responses``' answer from its query's rows."""
    dates: dict[int, Dates] = {}
    for rid, dated in _each_response(rows, dialect, dates):
        dates[rid] = dated
    fired: dict[int, AbstractSet[tuple[str, int]]] = dict.fromkeys(dates, _NONE_FIRED)
    fired.update(_fired(rows))
    return dates, fired


def _fired(rows: list[Any]) -> dict[int, set[tuple[str, int]]]:
    """The (rule, occurrence) pairs fired or superseded, for each response that has any."""
    some: dict[int, set[tuple[str, int]]] = {}
    for row in rows:
        if (rule := row[6]) is not None:
            if (pairs := some.get(rid := row[0])) is None:
                some[rid] = pairs = set()
            pairs.add((rule, row[7]))
    return some


def _each_response(rows: list[Any], dialect: str, done: Container[int]
                   ) -> Iterator[tuple[int, Dates]]:
    """Each response of ``rows`` (one row per firing) with its Dates, in row order, skipping
    those already in ``done`` (the caller's answer so far: a response comes once)."""
    # Dates come back as ISO text from SQLite, as dates from psycopg. (Parsing each
    # distinct day once through a dict was measured: no faster than fromisoformat.)
    # Tuples are built directly: Dates(...) costs more than the rest of the row.
    day: Any = date.fromisoformat if dialect == "sqlite" else None
    states = _STATES
    for rid, state, deadline, published_on, force_input_due, signoff_due, _, _ in rows:
        if rid in done:
            continue
        yield rid, _new(Dates, (
            states[state], deadline, published_on, force_input_due, signoff_due
        ) if day is None else (
            states[state], day(deadline), published_on and day(published_on),
            force_input_due and day(force_input_due), signoff_due and day(signoff_due)))


def plans(db: Database, policy: Policy, moment: Moment,
          response_ids: Sequence[int] | None = None) -> dict[int, Plan]:
    """The plan of every open response (or of those given), as of ``moment``. The one
    query runs without a Session (``Database.fetch``).

    Each response's Dates are built from its row, planned and dropped, so what the process
    holds while it plans grows by the plans alone. Python's cyclic collector runs on that
    growth (and a full collection walks every object of the process, ~100,000 once the
    models are loaded): holding every response's Dates as well starts about a third more
    collections for 2,000 open responses. The collector itself is left alone: it belongs
    to the program running this.
    """
    rows = db.fetch(_sql(db.read_engine.dialect, response_ids))
    fired = _fired(rows)
    out: dict[int, Plan] = {}
    for rid, dated in _each_response(rows, db.dialect, out):
        out[rid] = plan(dated, policy, fired.get(rid, _NONE_FIRED), moment)
    return out


def next_escalations(db: Database, settings: Settings, clock: Clock,
                     response_ids: Sequence[int]) -> dict[int, tuple[str, date]]:
    """For the dashboard: each open response's next escalation (rule id, local day).

    A firing already due but not yet swept counts as next (its day is today or past).
    Responses that are finished, or have nothing more to fire in their state, are
    left out.
    """
    if not response_ids:
        return {}
    policy = load_policy(settings)
    moment = moment_at(settings, clock.now())
    out: dict[int, tuple[str, date]] = {}
    for chunk in _chunks(list(response_ids)):
        for rid, p in plans(db, policy, moment, chunk).items():
            firing = p.due or p.next
            if firing is not None:
                out[rid] = (firing.rule.id, firing.day)
    return out


# -- no nagging: a reminder does not repeat a request just made -------------------------------

class Ask(NamedTuple):
    """The mail that asked people to act in a response's current state: the transition
    into it (``request_force_input`` asks the force liaison for comments, ``submit_force_input``
    the PCC for a sign-off), when it was written, and the addresses it went to."""

    trigger: str
    at: datetime
    to: frozenset[str]

    @property
    def day(self) -> date:
        return self.at.astimezone(LONDON).date()


_E, _O, _P = AUDIT_EVENT.c, OUTBOX.c, PERSON.c


def last_ask(session: Session, response_id: int, state: str) -> Ask | None:
    """The transition that moved the response into ``state`` last, with the addresses
    its mail went to (None: no transition led there, as for a response added as a draft)."""
    row = session.execute(
        select(_E.id, _E.trigger, _E.at).where(
            _E.response_id == response_id, _E.to_state == state, _E.trigger.is_not(None))
        .order_by(_E.id.desc()).limit(1)).first()
    if row is None:
        return None
    to = session.scalars(select(_O.recipient).where(_O.event_id == row.id))
    return Ask(row.trigger, row.at, frozenset(a.lower() for a in to))


def after_working_days(working: WorkingDays, day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself for 0)."""
    while count > 0:
        day += timedelta(days=1)
        if working.closed(day) is None:
            count -= 1
    return day


def repeats_ask(firing: Firing, state: State, ask: Ask | None, asked_of: AbstractSet[str],
                days: int, working: WorkingDays) -> bool:
    """Whether ``firing`` would only ask again what ``ask`` asked: the people its rule is
    for (``asked_of``: the addresses of those holding its main roles told in ``state``,
    not its copies) were all mailed the ask, and the firing's day is no more than ``days``
    working days after it (or before it: the ask is the newer news)."""
    return (ask is not None and days > 0 and bool(asked_of) and asked_of <= ask.to
            and firing.day <= after_working_days(working, ask.day, days))


def split_quiet(p: Plan, quiet: Callable[[Firing], bool]) -> tuple[Plan, tuple[Firing, ...]]:
    """``p`` without its due firings that ``quiet`` holds back, and those held back.

    The most severe firing left is due and supersedes the rest, as in ``plan``: holding
    one back never silences a reminder meant for someone else.
    """
    if p.due is None:
        return p, ()
    ranked = [*p.superseded, p.due]  # ``plan``'s order, the due one last
    held = tuple(f for f in ranked if quiet(f))
    if not held:
        return p, ()
    left = [f for f in ranked if f not in held]
    return Plan(left[-1] if left else None, tuple(left[:-1]), p.next), held


_ROLES_READ = select(_P.email, _P.roles).where(_P.active)


class Quiet:
    """Which firings would repeat an ask, read in one session: the office's quiet days and
    who holds which role read once, each response's last ask when first asked about."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.days = quiet_days(session)
        self._people: list[tuple[str, set[str]]] | None = None

    def ask(self, response_id: int, state: State) -> Ask | None:
        """The response's last ask (None as well when the quiet days are 0)."""
        return last_ask(self.session, response_id, state.value) if self.days else None

    def holds(self, firing: Firing, state: State, ask: Ask | None,
              working: WorkingDays) -> bool:
        """Whether ``firing`` only repeats ``ask`` (``repeats_ask``) for the people who
        hold its rule's main roles told in ``state``."""
        if ask is None:
            return False
        if self._people is None:
            self._people = [(email.lower(), set(roles or ()))
                            for email, roles in self.session.execute(_ROLES_READ)]
        roles = {r.value for r in firing.rule.roles if can_be_told(r, state)}
        asked_of = frozenset(email for email, held in self._people if held & roles)
        return repeats_ask(firing, state, ask, asked_of, self.days, working)


def quiet_plan(session: Session, response_id: int, state: State, p: Plan, moment: Moment
               ) -> tuple[Plan, tuple[Firing, ...], Ask | None]:
    """``p`` with the firings that would repeat the response's last ask within the
    office's quiet days held back (``split_quiet``), those held back and the ask."""
    if p.due is None:
        return p, (), None
    quiet = Quiet(session)
    ask = quiet.ask(response_id, state)
    if ask is None:
        return p, (), None
    kept, held = split_quiet(p, lambda f: quiet.holds(f, state, ask, moment.working))
    return kept, held, ask
