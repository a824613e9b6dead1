"""Two runs at once (the daemon's poll and an admin's ``s55 report watch``) decide each item
once: the second waits for the first's registration lock, then finds every item kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from audit_support import verify
from feed_support import Entry, rss
from sqlalchemy import func, select

from tests.factories import ADMIN
from workflow.audit.trail import Provenance
from workflow.audit.words import Channel
from workflow.feed.watch import WatchReport, watch
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage, Response

ENTRIES = [Entry(f"Norfolk: an inspection of area {n}", f"area-{n}",
                 f"Wed, {10 + n} Nov 2025 09:00:00 +0000") for n in range(8)] + [
    Entry("State of Policing 2025", "state-of-policing-2025", "Tue, 25 Nov 2025 00:01:00 GMT")]


def test_two_runs_at_once_register_each_item_once(
        office: Workflow, write_feed: Callable[[str, bytes], str]) -> None:
    path = write_feed("feed.xml", rss(ENTRIES))
    start = threading.Barrier(2)
    reports: list[WatchReport] = []
    errors: list[BaseException] = []

    def run(scheduler: Provenance | None) -> None:
        db = Database(office.db.url, audit_key_file=office.db.audit_key_file)
        try:
            start.wait(timeout=10)
            reports.append(watch(Workflow(db, office.settings), path, ADMIN,
                                 scheduler=scheduler))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(by,))
               for by in (None, Provenance.here(Channel.SCHEDULER))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(len(r.registered) for r in reports) == [0, 8]
    assert sorted(r.seen_before for r in reports) == [0, 9]
    with office.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 8
        kinds: list[Any] = list(s.scalars(select(OutboxMessage.kind)))  # type: ignore[call-overload]
    assert sorted(kinds) == ["feed_digest"] + ["feed_report"] * 8
    assert verify(office.db).exit_code == 0
