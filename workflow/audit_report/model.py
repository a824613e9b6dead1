"""What the auditor's report holds, as plain dataclasses, and the rules that judge it.

Pure: no database, no clock. ``build`` fills these from the audit log; ``render`` prints
them. The rules, in one place:

- The period selects responses by the day their *report* was published (``--from`` and
  ``--to``, both days included); by default the OPCC reporting year holding today, 1 April
  to 31 March, the year of the PCC's annual report and of internal audit's plan.
- A response is on time when it was published on or before its statutory deadline
  (s55(5A): report publication + 55 days), whatever deadline an officer set by override.
- The on-time rate counts the responses that were due: published ones (on time or late)
  and unpublished ones whose deadline has passed (overdue: late already, whatever happens
  next). Not counted, but listed: open ones whose deadline is today or later (not yet
  due), ones closed as not required, and ones imported as published without the day they
  went up (nothing to judge them by).
- Responses to reports published before the period that are still open when the report is
  made are listed in a section of their own ("still open from earlier periods"): not
  counted here (their own period counts them), never out of sight.
- The report states the full check of the record made with it (``s55 audit verify``'s):
  the verdict, the number of events and the chain's head; it reads no event after that
  head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from states import PUBLISHED_STATES, State
from workflow.core.checks import parse_date
from workflow.core.errors import InvalidInputError


class Outcome(StrEnum):
    """The verdict on one response, as of the day the report is made."""

    ON_TIME = "on_time"  # published on or before the statutory deadline
    LATE = "late"  # published after it
    OVERDUE = "overdue"  # not published, deadline passed: late, and counted as late
    NOT_YET_DUE = "not_yet_due"  # not published, deadline today or later: not counted
    NOT_REQUIRED = "not_required"  # closed with a reason: listed, not counted
    DAY_UNKNOWN = "day_unknown"  # imported as published, the day not recorded: not counted

    @property
    def counted(self) -> bool:
        return self in (Outcome.ON_TIME, Outcome.LATE, Outcome.OVERDUE)

    @property
    def late(self) -> bool:
        return self in (Outcome.LATE, Outcome.OVERDUE)


#: The outcomes in words, as the HTML shows them.
OUTCOME_TEXT: Mapping[Outcome, str] = {
    Outcome.ON_TIME: "on time",
    Outcome.LATE: "late",
    Outcome.OVERDUE: "overdue (not published)",
    Outcome.NOT_YET_DUE: "not yet due",
    Outcome.NOT_REQUIRED: "not required",
    Outcome.DAY_UNKNOWN: "published, day not recorded",
}

#: The states a response can spend time in, in lifecycle order (final states hold none).
TIMED_STATES: tuple[str, ...] = (State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF,
                                 State.FORWARDED_TO_PANEL, State.PUBLISHED)


@dataclass(frozen=True)
class SignOff:
    """The ``sign_off`` transition: who signed, and under which delegation if any."""

    at: datetime
    by: str  # the event's actor: the account that signed
    name: str | None  # that person's name, when the person is on file
    delegation: str | None = None  # the delegation's id, when signed under one
    on_behalf_of: str | None = None  # whom the signer stood in for, when the event says
    fingerprint: str | None = None  # SHA-256 of the text as signed (the event's payload)

    @property
    def role(self) -> str:
        """The signer's role in the sign-off: the PCC, or their deputy under a delegation
        (only the PCC signs off, or whoever a running delegation names)."""
        return "Police and Crime Commissioner" if self.delegation is None else "Deputy PCC"

    def signer(self) -> str:
        """"NAME, Police and Crime Commissioner", or "NAME, Deputy PCC, for P under
        delegation #N"."""
        who = f"{self.name or self.by}, {self.role}"
        if self.delegation is None:
            return who
        principal = f" for {self.on_behalf_of}" if self.on_behalf_of else ""
        return f"{who},{principal} under delegation #{self.delegation}"

    def describe(self) -> str:
        """"Name <email>", and "for P under delegation #N" when signed under a delegation."""
        who = f"{self.name} <{self.by}>" if self.name else self.by
        if self.delegation is None:
            return who
        principal = f" for {self.on_behalf_of}" if self.on_behalf_of else ""
        return f"{who}{principal} under delegation #{self.delegation}"


@dataclass(frozen=True)
class Return:
    """A response sent back (``return_to_force``, ``return_to_draft``, or ``reopen`` after
    sign-off) with its reason."""

    at: datetime
    by: str
    trigger: str
    from_state: str
    to_state: str
    reason: str


@dataclass(frozen=True)
class Copy:
    """One s55(6) copy of the published comments (to HMICFRS or the Home Office)."""

    to: str
    queued_at: datetime
    status: str  # sent | pending | dead
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Imported:
    """A response that came in as a published document, not through s55's own steps."""

    at: datetime
    by: str
    source: str  # the file's name
    sha256: str  # the document's fingerprint: SHA-256 of its text as read
    state: str  # the state the document showed


@dataclass(frozen=True)
class ResponseLine:
    """One response of the period, as its audit log tells it."""

    response_id: int
    force: str
    title: str
    report_published: date
    statutory_deadline: date
    deadline: date  # the deadline in force: the statutory one unless overridden
    deadline_override_reason: str | None
    state: str
    published_on: date | None
    published_url: str | None
    outcome: Outcome
    days_early: int | None  # on time: days to spare (0 on the deadline day itself)
    days_late: int | None  # late: days after the deadline; overdue: days so far
    signed_off: SignOff | None
    imported: Imported | None
    time_in_state: Mapping[str, int]  # seconds in each state visited (TIMED_STATES order)
    returns: tuple[Return, ...]
    copies: tuple[Copy, ...]
    closed_reason: str | None
    portal_reference: str | None = None  # the HMICFRS Monitoring Portal's, once submitted
    days_left: int | None = None  # not yet due: days to the statutory deadline (0: today)


@dataclass(frozen=True)
class Month:
    """On-time and late responses to the reports published in one month."""

    first: date  # the month's first day
    on_time: int
    late: int  # late and overdue

    @property
    def label(self) -> str:
        return f"{self.first:%b %Y}"


@dataclass(frozen=True)
class Summary:
    """How many responses of each outcome, and the on-time rate over the counted ones."""

    counts: Mapping[Outcome, int] = field(default_factory=dict)

    def __getitem__(self, outcome: Outcome) -> int:
        return self.counts.get(outcome, 0)

    @property
    def on_time(self) -> int:
        return self[Outcome.ON_TIME]

    @property
    def late(self) -> int:
        """Published late, and overdue (not published, deadline passed)."""
        return self[Outcome.LATE] + self[Outcome.OVERDUE]

    @property
    def counted(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        """On time over counted, from 0 to 1; None when no response was due."""
        return self.on_time / self.counted if self.counted else None


@dataclass(frozen=True)
class RecordCheck:
    """The full check of the record made with the report (``s55 audit verify``'s)."""

    ok: bool
    events: int  # events in the chain as checked
    head: str  # the chain's head hash then
    signed: int | None  # events whose HMAC was checked; None: no audit key given
    problems: tuple[str, ...] = ()  # one line each

    def verdict(self) -> str:
        """One line: "verified: 1,204 events, every row equal to its replay" or why not."""
        if not self.ok:
            return f"NOT VERIFIED: {self.problems[0] if self.problems else 'see s55 audit verify'}"
        signed = ("signatures not checked (no audit key was given)" if self.signed is None
                  else f"{self.signed} signed with the audit key")
        return (f"verified: {self.events} events in an unbroken chain, {signed}, every "
                "response equal to the replay of its events")


@dataclass(frozen=True)
class AuditReport:
    start: date
    end: date
    as_of: datetime  # when the report was made (UTC); "today" is its London date
    today: date
    responses: tuple[ResponseLine, ...]
    months: tuple[Month, ...]
    summary: Summary
    #: Responses to reports published before ``start`` still open at ``as_of``.
    earlier: tuple[ResponseLine, ...] = ()
    check: RecordCheck | None = None  # None: made without the full check


# -- the rules ---------------------------------------------------------------------------

def reporting_year(day: date) -> tuple[date, date]:
    """The OPCC reporting year holding ``day``: 1 April to 31 March."""
    first = day.year if day.month >= 4 else day.year - 1
    return date(first, 4, 1), date(first + 1, 3, 31)


def period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The days ``--from`` and ``--to`` name (both included).

    Neither given: the reporting year holding ``today``. One given: the other is the start
    or end of its reporting year.

    Raises:
        InvalidInputError: a date that cannot be read, or ``--to`` before ``--from``.
    """
    first = parse_date(start, "--from") if start is not None else None
    last = parse_date(end, "--to") if end is not None else None
    if first is None:
        first = reporting_year(last or today)[0]
    if last is None:
        last = reporting_year(first)[1]
    if last < first:
        raise InvalidInputError("--to", f"{last} is before --from {first}")
    return first, last


def judge(state: str, published_on: date | None, deadline: date,
          today: date) -> tuple[Outcome, int | None, int | None]:
    """(outcome, days early, days late) of one response against its statutory deadline."""
    if state == State.NOT_REQUIRED:
        return Outcome.NOT_REQUIRED, None, None
    if published_on is not None:
        # s55(5A): lawful up to the end of the deadline day itself.
        late = (published_on - deadline).days
        if late <= 0:
            return Outcome.ON_TIME, -late, None
        return Outcome.LATE, None, late
    if state in PUBLISHED_STATES:
        return Outcome.DAY_UNKNOWN, None, None
    if today > deadline:
        return Outcome.OVERDUE, None, (today - deadline).days
    return Outcome.NOT_YET_DUE, None, None


def months_between(start: date, end: date) -> list[date]:
    """The first day of every month from ``start``'s to ``end``'s, both included."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def by_month(lines: tuple[ResponseLine, ...], start: date, end: date) -> tuple[Month, ...]:
    """Counted responses per month of their report's publication, every month shown."""
    tally = {m: [0, 0] for m in months_between(start, end)}
    for line in lines:
        if line.outcome.counted:
            tally[line.report_published.replace(day=1)][1 if line.outcome.late else 0] += 1
    return tuple(Month(m, on_time, late) for m, (on_time, late) in tally.items())
