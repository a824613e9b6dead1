"""The outbox: delivery and the dispatcher lock (the CLI's helpers: ``outbox_admin``).

``deliver_pending`` hands the outbox to the ``notifications`` dispatcher through
``SqlOutboxStore`` (``workflow.mail.store``: claims with their personal links filled in, the
"sent" record, what a crash can cost, and what happens after a failed send: retry, dead,
the admins' alert). On SQLite a lock file next to the database allows one dispatcher at a
time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager

from notifications.dispatcher import DeliveryReport, Dispatcher
from notifications.transports.base import Transport
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel
from workflow.core.clock import Clock
from workflow.core.settings import Settings
from workflow.mail.errors import DispatcherLockedError
from workflow.mail.outbox import MAILER
from workflow.mail.outbox_admin import (
    make_transport,
)
from workflow.mail.store import SqlOutboxStore
from workflow.storage.db import Database, single_instance

__all__ = [
    "adeliver_pending", "deliver_pending", "default_worker", "dispatcher_lock",
    "run_dispatcher"
]

log = logging.getLogger("s55.mail")


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dispatcher_lock(db: Database) -> AbstractContextManager[None]:
    """On SQLite, the one dispatcher's lock (``<database>.dispatcher.lock``); else nothing."""
    return single_instance(db, "dispatcher", default_worker(), DispatcherLockedError)


async def adeliver_pending(db: Database, settings: Settings, clock: Clock, *,
                           worker: str | None = None, limit: int | None = None,
                           progress: Callable[[int], None] | None = None,
                           transport: Transport | None = None,
                           by: Provenance | None = None) -> DeliveryReport:
    """``deliver_pending`` for callers already inside an event loop (the scheduler)."""
    worker = worker or default_worker()
    by = by or Provenance.here(Channel.DISPATCHER)
    with dispatcher_lock(db):
        store = SqlOutboxStore(db, settings, by)
        dispatcher = Dispatcher(store, transport or make_transport(settings),
                                clock=clock.now, worker=worker,
                                max_attempts=settings.mail_max_attempts,
                                batch_size=settings.mail_batch_size, progress=progress)
        report = await dispatcher.run(limit=limit)
    # Refused rows went dead without an attempt: counted as dead, each with why.
    report.refused.update(store.refused)
    report.dead += len(store.refused)
    report.dead_ids.extend(store.refused)
    if report.error and report.released:
        # One event for the outage, not one per waiting message. On the event loop's
        # thread: Database.run's waits between attempts (time.sleep, ~1 s at most in all)
        # would block the loop briefly after a lost connection - acceptable here.
        at = clock.now()
        db.run(lambda s: trail.append(s, at=at, actor=MAILER, action=Action.MAIL_FAILED,
                                      payload={"error": report.error,
                                               "left_pending": report.released,
                                               "worker": worker}, by=by))
    return report


def deliver_pending(db: Database, settings: Settings, clock: Clock, *,
                    worker: str | None = None, limit: int | None = None,
                    progress: Callable[[int], None] | None = None,
                    transport: Transport | None = None,
                    by: Provenance | None = None) -> DeliveryReport:
    """Deliver every due outbox message now (``s55 mail send``); returns what happened.

    ``progress`` is called with the number processed so far (for a progress bar whose
    total is ``due_count``). A connection failure does not raise: the report's
    ``error`` says why and the messages stay pending. Raises ``DispatcherLockedError``
    when another dispatcher runs against the same SQLite file.
    """
    return asyncio.run(adeliver_pending(db, settings, clock, worker=worker, limit=limit,
                                        progress=progress, transport=transport, by=by))


async def run_dispatcher(db: Database, settings: Settings, clock: Clock,
                         stop_event: asyncio.Event, poll_seconds: float = 30.0, *,
                         worker: str | None = None,
                         transport: Transport | None = None,
                         by: Provenance | None = None) -> int:
    """Deliver due mail until ``stop_event`` is set (the scheduler daemon runs this beside
    APScheduler); returns the number of messages processed.

    Each pass delivers at most one batch (``mail_batch_size``), so a stop is noticed
    within one batch even with a long backlog; a full batch is followed straight away by
    the next, anything less by a wait of ``poll_seconds`` that the stop cuts short. A
    pass that fails (database down, another dispatcher holding the SQLite lock) is
    logged and tried again after the wait: the loop only ends when asked to.
    """
    worker = worker or default_worker()
    processed = 0
    while not stop_event.is_set():
        batch = settings.mail_batch_size
        try:
            report = await adeliver_pending(db, settings, clock, worker=worker, limit=batch,
                                            transport=transport, by=by)
        except DispatcherLockedError as exc:
            log.info("mail dispatcher waiting: %s", exc)
            report = DeliveryReport()
        except Exception:  # the daemon's entry point: log, wait, try again
            log.exception("mail delivery pass failed; trying again in %ss", poll_seconds)
            report = DeliveryReport()
        processed += report.processed
        if report.processed >= batch and not report.error:
            continue  # more may be due now
        try:
            await asyncio.wait_for(stop_event.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
    return processed
