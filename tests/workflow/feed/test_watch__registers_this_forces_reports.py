"""``s55 report watch FEED`` registers each item about this force with its London publication
date (whatever offset the feed writes), mails the admins about each, lists national items
to them once, ignores other forces' and registers nothing twice; every registration is a
``created`` event carrying the item's link, and ``s55 audit verify`` still passes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from audit_support import verify
from feed_support import FEEDS, Entry, atom, rss
from sqlalchemy import select

from tests.factories import ADMIN, norfolk_report, table_rows
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, FeedItem, InspectionReport, OutboxMessage, Response

BST_TITLE = "PEEL 2025: An inspection of Norfolk Constabulary"
GMT_TITLE = "Norfolk: an inspection of police custody suites"
CATEGORY_TITLE = "Joint targeted area inspection of the multi-agency response to children"
NATIONAL_TITLE = "State of Policing: The Annual Assessment of Policing in England and Wales 2025"


def entries(kind: str) -> list[Entry]:
    """The same feed written as RSS (RFC 822 dates) or Atom (RFC 3339 dates)."""
    rfc822 = kind == "rss"
    return [
        # 23:01 UTC on a BST day is 00:01 the next London day: published 11 October.
        Entry(BST_TITLE, "peel-2025-norfolk",
              "Fri, 10 Oct 2025 23:01:00 GMT" if rfc822 else "2025-10-10T23:01:00Z"),
        # 00:30 +0100 on a GMT day is 23:30 the London day before: published 9 November.
        Entry(GMT_TITLE, "custody-norfolk",
              "Mon, 10 Nov 2025 00:30:00 +0100" if rfc822 else "2025-11-10T00:30:00+01:00"),
        # Named only in a category, as the force's full name (case ignored).
        Entry(CATEGORY_TITLE, "jtai-2025-11",
              "Thu, 20 Nov 2025 10:00:00 +0000" if rfc822 else "2025-11-20T10:00:00+00:00",
              categories=["Child protection", "norfolk constabulary"]),
        Entry("PEEL 2025: An inspection of Suffolk Constabulary", "peel-2025-suffolk",
              "Fri, 10 Oct 2025 09:00:00 +0100" if rfc822 else "2025-10-10T09:00:00+01:00"),
        Entry(NATIONAL_TITLE, "state-of-policing-2025",
              "Tue, 25 Nov 2025 00:01:00 +0000" if rfc822 else "2025-11-25T00:01:00Z"),
    ]


def build(kind: str) -> bytes:
    return rss(entries(kind)) if kind == "rss" else atom(entries(kind))


def responses(wf: Workflow) -> list[tuple[str, date, date, str]]:
    with wf.db.read() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(InspectionReport.title, InspectionReport.published_on,  # type: ignore[call-overload]
                   Response.deadline, InspectionReport.link)
            .join(Response, Response.report_id == InspectionReport.id)
            .order_by(Response.id))]


def created_events(wf: Workflow) -> list[AuditEvent]:
    with wf.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(
            AuditEvent.action == "created").order_by(AuditEvent.id)))  # type: ignore[arg-type]


def mail(wf: Workflow) -> list[tuple[str, str, str]]:
    with wf.db.read() as s:
        return [(m.kind, m.recipient, m.subject) for m in s.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_this_forces_items_are_registered_with_their_london_dates(
        kind: str, office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """Three items about Norfolk registered (dates in Europe/London), the admin mailed about
    each and, once, about the national item; Suffolk's ignored; the log verifies."""
    path = write_feed(f"feed.{kind}", build(kind))
    result = cli("report", "watch", path)
    assert result.exit_code == 0, result.output
    assert responses(office) == [
        (BST_TITLE, date(2025, 10, 11), date(2025, 12, 5), f"{FEEDS}peel-2025-norfolk/"),
        (GMT_TITLE, date(2025, 11, 9), date(2026, 1, 3), f"{FEEDS}custody-norfolk/"),
        (CATEGORY_TITLE, date(2025, 11, 20), date(2026, 1, 14), f"{FEEDS}jtai-2025-11/"),
    ]
    assert result.stdout.splitlines()[-1] == (
        f"feed {path}: 3 registered, 1 national listed to the admins, 1 about other forces")
    assert "published 11 October 2025, Section 55 deadline 5 December 2025" in result.stdout

    events = created_events(office)
    assert [(e.actor, e.channel) for e in events] == [(ADMIN, "cli")] * 3
    assert [json.loads(e.payload)["feed"]["link"] for e in events] == [
        r[3] for r in responses(office)]
    assert mail(office) == [
        ("feed_report", ADMIN, f"New HMICFRS report about Norfolk: {BST_TITLE}, published "
                               "11 October 2025, Section 55 deadline 5 December 2025"),
        ("feed_report", ADMIN, f"New HMICFRS report about Norfolk: {GMT_TITLE}, published "
                               "9 November 2025, Section 55 deadline 3 January 2026"),
        ("feed_report", ADMIN, f"New HMICFRS report about Norfolk: {CATEGORY_TITLE}, "
                               "published 20 November 2025, Section 55 deadline 14 January "
                               "2026"),
        ("feed_digest", ADMIN, "HMICFRS published 1 national or thematic report that may "
                               "need a response"),
    ]
    with office.db.read() as s:
        body = s.scalars(select(OutboxMessage.body_text).where(  # type: ignore[call-overload]
            OutboxMessage.kind == "feed_report").order_by(OutboxMessage.id)).first()
        digest = s.scalars(select(OutboxMessage.body_text).where(  # type: ignore[call-overload]
            OutboxMessage.kind == "feed_digest")).one()
    assert "In s55: s55 rec add 1 NUMBER --text ...; then s55 request-force-input 1" in body
    assert NATIONAL_TITLE in digest
    assert f"{FEEDS}state-of-policing-2025/" in digest
    assert "may need a response" in digest
    shown = cli("log", "1")
    assert f"from HMICFRS's feed: {FEEDS}peel-2025-norfolk/" in shown.stdout
    verified = verify(office.db)
    assert verified.exit_code == 0, verified.output


def test_running_twice_registers_and_mails_nothing_new(
        office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """The second run decides nothing again: no response, no event, no mail."""
    path = write_feed("feed.xml", build("rss"))
    assert cli("report", "watch", path).exit_code == 0
    before = (responses(office), len(created_events(office)), mail(office))
    again = cli("report", "watch", path)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"feed {path}: 0 registered, 5 seen before"
    assert (responses(office), len(created_events(office)), mail(office)) == before
    with office.db.read() as s:
        decisions = sorted(s.scalars(select(FeedItem.decision)))  # type: ignore[call-overload]
    assert decisions == ["national", "other_force", "registered", "registered", "registered"]
    assert verify(office.db).exit_code == 0


def test_an_item_registered_by_hand_is_not_registered_again(
        office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """The duplicate-report rule: the same title and London date, or the same page, already
    answered by the force (registered by hand) is kept as such, unmailed."""
    by_title = content.add_report(office, norfolk_report(
        title=BST_TITLE.upper() + ".", published_on="11 October 2025", link="",
        recommendations=[]), ADMIN)
    by_link = content.add_report(office, norfolk_report(
        title="Custody inspection (our own title)", published_on="9 November 2025",
        link="https://justiceinspectorates.gov.uk/hmicfrs/publications/custody-norfolk",
        recommendations=[]), ADMIN)
    path = write_feed("feed.xml", build("rss"))
    result = cli("report", "watch", path)
    assert result.exit_code == 0, result.output
    assert "1 registered, 2 already registered" in result.stdout
    titles = [r[0] for r in responses(office)]
    assert titles == [BST_TITLE.upper() + ".", "Custody inspection (our own title)",
                      CATEGORY_TITLE]
    assert [k for k, _, _ in mail(office)] == ["feed_report", "feed_digest"]
    with office.db.read() as s:
        already = dict(s.execute(select(FeedItem.title, FeedItem.response_id).where(  # type: ignore[call-overload]
            FeedItem.decision == "already")).all())
    assert already == {BST_TITLE: by_title.id, GMT_TITLE: by_link.id}
    assert verify(office.db).exit_code == 0


def test_the_first_run_takes_only_reports_whose_56_days_still_run(
        office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """A report about the force whose deadline has passed is left aside on the first run;
    an item new to a later run is registered whatever its date."""
    old = Entry("PEEL 2023-25: Norfolk Constabulary", "peel-2023-norfolk",
                "Thu, 04 Sep 2025 09:00:00 +0100")  # deadline 29 October 2025: over
    old_national = Entry("An inspection of vetting", "vetting", "Thu, 04 Sep 2025 09:00:00 GMT")
    first = cli("report", "watch", write_feed("one.xml", rss([old, old_national])))
    assert first.exit_code == 0, first.output
    assert "0 registered, 2 with their 56 days over (first run)" in first.stdout
    assert responses(office) == []
    assert mail(office) == []

    late = Entry("Norfolk Constabulary: an inspection of fraud", "fraud-norfolk",
                 "Mon, 01 Sep 2025 09:00:00 +0100")  # new to this run, though over
    later = cli("report", "watch", write_feed("two.xml", rss([old, old_national, late])))
    assert later.exit_code == 0, later.output
    assert "1 registered, 2 seen before" in later.stdout
    assert [r[:3] for r in responses(office)] == [
        ("Norfolk Constabulary: an inspection of fraud", date(2025, 9, 1), date(2025, 10, 26))]
    assert verify(office.db).exit_code == 0


def test_an_alias_makes_an_item_this_forces(
        office: Workflow, cli: Callable[..., Any],
        write_feed: Callable[[str, bytes], str]) -> None:
    """The force recorded by its full name: an item naming only "Norfolk" is another
    force's until an admin records the alias (audited); the next run registers it."""
    changed = cli("office", "set", "force", "Norfolk Constabulary", "--reason", "full name")
    assert changed.exit_code == 0, changed.output
    unset = {r["setting"]: r for r in table_rows(cli("office", "show").stdout)}
    assert (unset["force-aliases"]["value"], unset["force-aliases"]["set by"]) == ("(none)",
                                                                                  "-")
    entry = Entry("Norfolk: an inspection of counter-corruption", "corruption-norfolk",
                  "Wed, 26 Nov 2025 09:00:00 +0000")
    path = write_feed("feed.xml", rss([entry]))
    assert "0 registered, 1 about other forces" in cli("report", "watch", path).stdout
    aliases = cli("office", "set", "force-aliases", "Norfolk, Norfolk Police ",
                  "--reason", "the feed's names")
    assert aliases.exit_code == 0, aliases.output
    assert aliases.stdout.startswith("force-aliases: (not set) -> Norfolk, Norfolk Police;")
    shown = {r["setting"]: r for r in table_rows(cli("office", "show").stdout)}
    assert (shown["force-aliases"]["value"], shown["force-aliases"]["set by"]) == (
        "Norfolk, Norfolk Police", ADMIN)
    result = cli("report", "watch", path)
    assert result.exit_code == 0, result.output
    assert "1 registered" in result.stdout
    assert mail(office)[-1][2] == (
        "New HMICFRS report about Norfolk Constabulary: Norfolk: an inspection of "
        "counter-corruption, published 26 November 2025, Section 55 deadline 20 January 2026")
    assert verify(office.db).exit_code == 0


def test_only_an_admin_watches_the_feed(office: Workflow, cli: Callable[..., Any],
                                        write_feed: Callable[[str, bytes], str]) -> None:
    from tests.factories import FORCE, snapshot

    before = snapshot(office)
    result = cli("report", "watch", write_feed("feed.xml", build("rss")), actor=FORCE)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "register reports from HMICFRS's feed" in result.stderr
    assert snapshot(office) == before


def test_a_feed_at_a_url_is_read_as_a_file_is(office: Workflow, cli: Callable[..., Any],
                                               serve: Callable[..., str]) -> None:
    """The feed served over http on loopback, as S55_FEED_URL: the same registrations."""
    url = serve("/hmicfrs/feed.atom", build("atom"))
    result = cli("report", "watch", S55_FEED_URL=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"feed {url}: 3 registered, 1 national listed to the admins, 1 about other forces")
    assert [r[1] for r in responses(office)] == [date(2025, 10, 11), date(2025, 11, 9),
                                                 date(2025, 11, 20)]


def test_a_link_that_is_not_http_is_dropped(office: Workflow, cli: Callable[..., Any],
                                            write_feed: Callable[[str, bytes], str]) -> None:
    """An item about the force whose link is not http(s) is registered without it: no
    ``javascript:`` reaches a report, a mail or an event."""
    entry = Entry("Norfolk: an inspection of vetting", "vetting-norfolk",
                  "Wed, 26 Nov 2025 09:00:00 +0000", link="javascript:alert(1)")
    result = cli("report", "watch", write_feed("feed.xml", rss([entry])))
    assert result.exit_code == 0, result.output
    assert responses(office) == [("Norfolk: an inspection of vetting", date(2025, 11, 26),
                                  date(2026, 1, 20), "")]
    with office.db.read() as s:
        stored = [*s.scalars(select(OutboxMessage.body_html)),  # type: ignore[call-overload]
                  *s.scalars(select(AuditEvent.payload))]  # type: ignore[call-overload]
    assert not [text for text in stored if "javascript" in (text or "")]
    assert verify(office.db).exit_code == 0
