"""``s55 run`` polls HMICFRS's feed (``S55_FEED_URL``, served here on a loopback port) at
start and hourly by default: what it registers is audited on the ``scheduler`` channel,
as the scheduler, with the item's link; a poll that cannot read the feed registers nothing
and the daemon carries on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from audit_support import verify
from feed_support import FEEDS, Entry, rss
from sqlalchemy import select

from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.escalations.daemon import Daemon
from workflow.feed.watch import SCHEDULER_ACTOR
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent, OutboxMessage

ENTRY = Entry("PEEL 2025: An inspection of Norfolk Constabulary", "peel-2025-norfolk",
              "Fri, 10 Oct 2025 23:01:00 GMT")


def daemon(office: Workflow, url: str, **settings: object) -> Daemon:
    return Daemon(office.db, office.settings.model_copy(update={"feed_url": url, **settings}),
                  SystemClock())


def test_a_poll_registers_as_the_scheduler(office: Workflow, serve: Callable[..., str]) -> None:
    url = serve("/feed.xml", rss([ENTRY]))
    asyncio.run(daemon(office, url).watch_feed())
    asyncio.run(daemon(office, url).watch_feed())  # the next poll: nothing new
    with office.db.read() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "created"))  # type: ignore[arg-type]
        kinds = list(s.scalars(select(OutboxMessage.kind)))  # type: ignore[call-overload]
    assert (event.actor, event.channel, event.identity) == (SCHEDULER_ACTOR, "scheduler",
                                                            "system")
    assert json.loads(event.payload)["feed"]["link"] == f"{FEEDS}peel-2025-norfolk/"
    assert kinds == ["feed_report"]
    assert verify(office.db).exit_code == 0


def test_a_poll_of_a_bad_feed_is_logged_and_writes_nothing(
        office: Workflow, serve: Callable[..., str], caplog: pytest.LogCaptureFixture) -> None:
    from tests.factories import snapshot

    before = snapshot(office)
    url = serve("/feed.xml", b"<html><body>Service unavailable</body></html>")
    asyncio.run(daemon(office, url).watch_feed())
    assert snapshot(office) == before
    assert f"feed: feed {url}: is a web page (HTML), not an RSS or Atom feed; nothing " \
           "registered" in caplog.text


@pytest.mark.parametrize(("minutes", "interval"), [(None, 3600.0), (15, 900.0), (0, None)])
def test_the_feed_is_polled_hourly_by_default(office: Workflow, minutes: int | None,
                                              interval: float | None) -> None:
    """S55_FEED_POLL_MINUTES (0: not polled); the first poll at start."""
    extra = {} if minutes is None else {"feed_poll_minutes": minutes}
    d = daemon(office, "https://hmicfrs.example/feed.xml", **extra)
    assert Settings.model_fields["feed_poll_minutes"].default == 60

    async def jobs() -> float | None:
        scheduler = d._start_scheduler()
        job = scheduler.get_job("feed")
        scheduler.shutdown(wait=False)
        return None if job is None else job.trigger.interval.total_seconds()

    assert asyncio.run(jobs()) == interval
