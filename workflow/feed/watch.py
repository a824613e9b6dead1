"""``s55 report watch``: each new item of HMICFRS's feed decided once, in one transaction.

An item naming this force (its name or an alias) is registered as a report, with its
response in draft, through the path ``s55 report add`` takes (``content.register``), unless
the duplicate-report rule finds the force answers it already; the admins are mailed about
each one registered. Items naming no force are listed to the admins once, in a digest (a
``feed_digest`` event); items about other forces are ignored. Every item decided is kept
(``feed_item``) so a later run decides only new ones. The first run (no item kept yet)
registers, and lists, only the reports whose 56 days are still running: a feed lists a
year of reports, and the ones long past are no one's work now.

The feed is fetched before the transaction starts: nothing waits on the network while the
database is locked. The whole run is one transaction after the registration lock of the
force, so two runs at once (the daemon and an admin) decide each item once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from states import Role
from states.deadlines import statutory_deadline
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action
from workflow.core.checks import ReportInput, check_publication_date, validate
from workflow.core.clock import london_today
from workflow.core.errors import InvalidInputError
from workflow.feed.match import About, Matcher
from workflow.feed.read import Item, Skipped, read
from workflow.identity.office import in_force
from workflow.mail.outbox import queue_alert
from workflow.responses import content, duplicates
from workflow.responses.service import Workflow, require_role
from workflow.storage.models import AuditEvent
from workflow.storage.tables import FEED_ITEM

#: The actor of what the daemon registers (the account and host are in the event).
SCHEDULER_ACTOR = "s55-scheduler"
_ITEMS: Any = FEED_ITEM


@dataclass(frozen=True)
class Registered:
    """A report registered from the feed."""

    response_id: int
    title: str
    published_on: date
    deadline: date


@dataclass
class WatchReport:
    """What one run decided (items decided on an earlier run are only counted)."""

    source: str
    first_run: bool = False
    registered: list[Registered] = field(default_factory=list)
    #: (title, the response that already answers it)
    already: list[tuple[str, int]] = field(default_factory=list)
    national: list[Item] = field(default_factory=list)
    other_force: int = 0
    expired: int = 0
    seen_before: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def line(self) -> str:
        """One line for the command line and the daemon's log."""
        parts = [f"{len(self.registered)} registered"]
        parts += [f"{len(self.already)} already registered"] if self.already else []
        parts += [f"{len(self.national)} national listed to the admins"] if self.national else []
        parts += [f"{self.other_force} about other forces"] if self.other_force else []
        parts += [f"{self.expired} with their 56 days over (first run)"] if self.expired else []
        parts += [f"{self.seen_before} seen before"] if self.seen_before else []
        parts += [f"{len(self.skipped)} unreadable"] if self.skipped else []
        return f"feed {self.source}: " + ", ".join(parts)


@dataclass(frozen=True)
class _Seen:
    """An item being decided, and whether it was kept before (as another force's)."""

    item: Item
    before: bool


@dataclass(frozen=True)
class _Who:
    actor: str
    by: Provenance


def watch(wf: Workflow, source: str | None, actor: str | None = None, *,
          scheduler: Provenance | None = None) -> WatchReport:
    """Read ``source`` (else ``S55_FEED_URL``) and decide each new item (see the module).

    ``scheduler``: the daemon's provenance (the events' channel and account); without it
    the acting person (``actor``) must be an admin. ``FeedError`` (one line, nothing
    written) for a feed that cannot be read.
    """
    where = source or wf.settings.feed_url
    if not where:
        raise InvalidInputError("FEED", "give the feed's URL or file, or set S55_FEED_URL")
    items, skipped = read(where, max_bytes=wf.settings.feed_max_bytes,
                          timeout=wf.settings.feed_timeout)
    # Oldest first: the registrations' ids then follow the publication order.
    items.sort(key=lambda i: i.published_at)

    def work(s: Session) -> WatchReport:
        report = WatchReport(where, skipped=list(skipped))
        who = _who(wf, s, actor, scheduler)
        office = in_force(s, wf.settings)
        force = office.force_or_refuse()
        duplicates.lock_registrations(s, force)  # one run at a time decides
        report.first_run = s.execute(select(_ITEMS.c.id).limit(1)).first() is None
        kept = _kept(s, items)
        matcher = Matcher(force, office.aliases)
        for item in items:
            about = matcher.about(item)
            was = kept.get(item.key)
            # Another force's item is decided again on each run: the force's aliases may
            # have changed since (then it is treated as seen before: registered only while
            # its 56 days run).
            if was is not None and (was != "other_force" or about is About.OTHER_FORCE):
                report.seen_before += 1
                continue
            kept[item.key] = about.value
            _decide(wf, s, _Seen(item, was is not None), about, force, who, report)
        _digest(wf, s, report, who)
        return report

    return wf.db.run(work)


def _kept(s: Session, items: list[Item]) -> dict[str, str]:
    """The decision kept for each of ``items`` decided before, by key."""
    if not items:
        return {}
    rows = s.execute(select(_ITEMS.c.item_key, _ITEMS.c.decision).where(
        _ITEMS.c.item_key.in_([i.key for i in items])))
    return {key: decision for key, decision in rows}


def _who(wf: Workflow, s: Session, actor: str | None, scheduler: Provenance | None) -> _Who:
    if scheduler is not None:
        return _Who(SCHEDULER_ACTOR, scheduler)
    acting = wf.acting(s, actor)
    require_role(acting.person, {Role.ADMIN}, "register reports from HMICFRS's feed")
    return _Who(acting.email, acting.by)


def _decide(wf: Workflow, s: Session, seen: _Seen, about: About, force: str, who: _Who,
            report: WatchReport) -> None:
    """Decide one new item: registered, already answered, national, or left aside."""
    item = seen.item
    running = statutory_deadline(item.published_on) >= london_today(wf.clock)
    if about is About.OTHER_FORCE:
        report.other_force += 1
        _keep(wf, s, item, "other_force")
    elif (report.first_run or seen.before) and not running:
        report.expired += 1
        _keep(wf, s, item, "expired", again=seen.before)
    elif about is About.NATIONAL:
        report.national.append(item)  # kept with the digest's event
        if seen.before:
            _forget(s, item)
    else:
        if seen.before:
            _forget(s, item)
        _register(wf, s, item, force, who, report)


def _register(wf: Workflow, s: Session, item: Item, force: str, who: _Who,
              report: WatchReport) -> None:
    try:
        check_publication_date(item.published_on, london_today(wf.clock))
        report_in = validate(ReportInput, {"title": item.title,
                                           "published_on": item.published_on,
                                           "link": item.link})
    except InvalidInputError as exc:
        report.skipped.append(Skipped(item.title, str(exc)))
        return  # not kept: a corrected item is read again on the next run
    found = duplicates.existing_response(s, force, report_in.title, report_in.published_on,
                                         report_in.link)
    if found is not None:
        report.already.append((item.title, found.response_id))
        _keep(wf, s, item, "already", response_id=found.response_id)
        return
    response, event = content.register(
        wf, s, report_in, force=force, actor=who.actor, by=who.by,
        extra={"again_of": None, "feed": {"link": item.link, "item": item.key,
                                          "published_at": item.published_at.isoformat()}})
    rid = response.id or 0
    queue_alert(s, settings=wf.settings, now=wf.clock.now(), kind="feed_report",
                roles=[Role.ADMIN], event=event, actor=who.actor, response_id=rid, context={
                    "report_title": item.title, "report_link": item.link,
                    "published_on": item.published_on, "deadline": response.deadline,
                    "force_input_due": content.milestones(wf).force_input_due(
                        response.deadline)})
    _keep(wf, s, item, "registered", response_id=rid, event=event)
    report.registered.append(Registered(rid, item.title, item.published_on,
                                        response.deadline))


def _digest(wf: Workflow, s: Session, report: WatchReport, who: _Who) -> None:
    """The national items of this run, listed to the admins in one message."""
    if not report.national:
        return
    listed = [{"title": i.title, "link": i.link, "published_on": i.published_on,
               "deadline": statutory_deadline(i.published_on)} for i in report.national]
    now = wf.clock.now()
    event = trail.append(s, at=now, actor=who.actor, action=Action.FEED_DIGEST, by=who.by,
                         payload={"feed": report.source, "items": [
                             {"title": i.title, "link": i.link,
                              "published_on": i.published_on.isoformat()}
                             for i in report.national]})
    queue_alert(s, settings=wf.settings, now=now, kind="feed_digest", roles=[Role.ADMIN],
                event=event, actor=who.actor, context={"items": listed})
    for item in report.national:
        _keep(wf, s, item, "national", event=event)


def _forget(s: Session, item: Item) -> None:
    """Drop the row of an item kept as another force's, to be decided anew."""
    s.execute(delete(_ITEMS).where(_ITEMS.c.item_key == item.key))


def _keep(wf: Workflow, s: Session, item: Item, decision: str, *,
          response_id: int | None = None, event: AuditEvent | None = None,
          again: bool = False) -> None:
    if again:
        _forget(s, item)
    s.execute(insert(_ITEMS).values(
        item_key=item.key, title=item.title, link=item.link, published_on=item.published_on,
        decision=decision, response_id=response_id,
        event_id=None if event is None else event.id, seen_at=wf.clock.now()))
