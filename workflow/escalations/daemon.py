"""``s55 run``: the escalation daemon. The only module that imports APScheduler.

APScheduler (3.11) is used as a local alarm clock and nothing more: which escalation fires,
and whether it already has, is decided by the database (``workflow.escalations.sweep``).
Several daemons on one PostgreSQL database are therefore safe; each has its own memory job
store, since job stores must never be shared (agronholm/apscheduler#160, #655).

- Every job: ``misfire_grace_time=None``, ``coalesce=True``, ``max_instances=1``. The
  default grace of 1 s silently drops a late run (agronholm/apscheduler#292, #296); a run
  late because the machine slept must still happen, once.
- Only interval and date triggers. Firing instants are computed by
  ``states.escalations.firing_instant`` (Europe/London via zoneinfo); 3.11 cron triggers
  loop or stall at DST changes (agronholm/apscheduler#1021, #1036).
- Jobs are bound coroutines on a memory store: nothing is pickled
  (agronholm/apscheduler#386, #933 for why a persistent store would break that).
- ``AsyncIOScheduler.start()`` is called inside the running loop
  (agronholm/apscheduler#994, #1029).

At start: a catch-up sweep (only the most severe due rule per response is sent). Then
a sweep every minute (picks up transitions and deadline overrides), one at the planned
next firing, mail delivery every 30 s, a heartbeat row for ``s55 doctor``, and, when
``S55_FEED_URL`` is set, HMICFRS's feed read at start and every ``S55_FEED_POLL_MINUTES``
(hourly by default). SIGTERM or
SIGINT stops new work, lets the running sweep or delivery finish its transaction, and
exits; anything not yet fired is caught up at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from states.escalations import Policy
from workflow.audit.trail import Provenance
from workflow.audit.words import Channel
from workflow.core.clock import Clock
from workflow.core.errors import S55Error
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.escalations.plan import load_policy
from workflow.storage.db import Database, single_instance

log = logging.getLogger("s55.scheduler")

#: Applied to every job (see the module docstring for the issues behind each).
JOB_DEFAULTS: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True,
                                "max_instances": 1}


class SchedulerLockedError(S55Error):
    """A second daemon against one SQLite database."""

    def __init__(self, lock: Path, holder: str) -> None:
        self.lock, self.holder = lock, holder
        super().__init__(f"another s55 scheduler ({holder}) holds {lock}; only one may run "
                         "against a SQLite database (use PostgreSQL for several)")


def default_worker() -> str:
    return f"scheduler@{socket.gethostname()}:{os.getpid()}"


def scheduler_lock(db: Database, worker: str) -> AbstractContextManager[None]:
    """On SQLite, the one daemon's lock (``<database>.scheduler.lock``); else nothing."""
    return single_instance(db, "scheduler", worker, SchedulerLockedError)


class Daemon:
    """Escalation sweeps and mail delivery on one event loop, until told to stop."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, *,
                 policy: Policy | None = None, worker: str | None = None,
                 sweep_every: float = 60.0, mail_every: float = 30.0,
                 beat_every: float = 30.0) -> None:
        # Loaded now so a bad policy stops the daemon before it touches anything.
        self.policy = policy or load_policy(settings)
        self.db, self.settings, self.clock = db, settings, clock
        self.worker = worker or default_worker()
        # The provenance of every event this daemon writes, read once at start.
        self.by = {c: Provenance.here(c) for c in (Channel.SCHEDULER, Channel.DISPATCHER)}
        self.every = {"sweep": sweep_every, "mail": mail_every, "heartbeat": beat_every}
        self.scheduler: AsyncIOScheduler | None = None
        self.sweeps = 0
        self.last_report: escalation.SweepReport | None = None
        self._planned: datetime | None = None
        self._started_at = clock.now()

    # -- jobs ---------------------------------------------------------------------------

    async def sweep(self, why: str) -> None:
        """Fire what is due (in a worker thread: the database calls block), then re-plan."""
        async with self._sweep_lock:
            try:
                report = await asyncio.to_thread(escalation.sweep, self.db, self.settings,
                                                 self.clock, policy=self.policy,
                                                 by=self.by[Channel.SCHEDULER])
            except Exception:  # the daemon outlives a database outage; next sweep retries
                log.exception("%s sweep failed", why)
                return
            self.sweeps += 1
            self.last_report = report
            if report.fired or report.superseded or why != "periodic":
                log.info("%s sweep: %d open responses, fired %d, superseded %d, failed %d",
                         why, report.open_responses, len(report.fired),
                         len(report.superseded), len(report.errors))
            self._plan_next(report)

    def _plan_next(self, report: escalation.SweepReport) -> None:
        """Set the date job for the next firing (the periodic sweep is the safety net)."""
        if self.scheduler is None or report.next_at == self._planned:
            return
        self._planned = report.next_at
        if report.next_at is None:
            log.info("no escalation planned")
            return
        delay = report.next_at - self.clock.now()
        if delay <= timedelta(0):
            return  # already due: the periodic sweep retries it
        # The delay, not the instant: APScheduler waits on the wall clock, while "now"
        # comes from our injected clock (a fixed one under --now).
        run_date = datetime.now(UTC) + delay
        self.scheduler.add_job(self.sweep, DateTrigger(run_date=run_date), args=["planned"],
                               id="next-firing", replace_existing=True)
        rid, rule = report.next_rule or (None, None)
        log.info("next escalation: %s for response %s at %s (in %s)", rule, rid,
                 report.next_at.isoformat(), str(delay).split(".")[0])

    async def deliver(self) -> None:
        """Deliver due mail, a batch at a time so that a stop is never kept waiting long."""
        from workflow.mail.delivery import adeliver_pending
        from workflow.mail.errors import MailError

        async with self._mail_lock:
            try:
                result = await adeliver_pending(self.db, self.settings, self.clock,
                                                worker=self.worker,
                                                limit=self.settings.mail_batch_size,
                                                by=self.by[Channel.DISPATCHER])
            except MailError as exc:  # e.g. `s55 mail send` holds the SQLite dispatcher lock
                log.warning("mail delivery skipped: %s", exc)
                return
            except Exception:
                log.exception("mail delivery failed")
                return
        if result.processed:
            log.info("mail: sent %d, retrying %d, dead %d", result.sent, result.retrying,
                     result.dead)
        if result.error:
            log.warning("mail: %s", result.error)
        elif result.processed >= self.settings.mail_batch_size and self.scheduler:
            self.scheduler.modify_job("mail", next_run_time=datetime.now(UTC))

    async def checkpoint(self) -> None:
        """The day's audit checkpoint (to S55_CHECKPOINT_FILE and every auditor), once a
        London day across every daemon; tried hourly."""
        from workflow.assurance import checkpoints

        try:
            cp = await asyncio.to_thread(checkpoints.daily, self.db, self.settings,
                                         self.clock.now(), escalation.SCHEDULER,
                                         self.by[Channel.SCHEDULER])
        except Exception:
            log.exception("audit checkpoint failed")
            return
        if cp is not None:
            log.info("audit checkpoint: %s", cp.line())

    async def watch_feed(self) -> None:
        """Register the reports HMICFRS's feed lists about this force (``s55 report
        watch``), as the scheduler; a feed that cannot be read is logged, and tried again at
        the next poll."""
        from workflow.feed.watch import watch
        from workflow.responses.service import Workflow

        wf = Workflow(self.db, self.settings, self.clock)
        try:
            report = await asyncio.to_thread(watch, wf, None,
                                             scheduler=self.by[Channel.SCHEDULER])
        except S55Error as exc:
            log.warning("feed: %s", exc)
            return
        except Exception:
            log.exception("feed watch failed")
            return
        log.info("%s", report.line())

    async def heartbeat(self) -> None:
        try:
            await asyncio.to_thread(escalation.beat, self.db, self.worker, self._started_at,
                                    self.clock.now())
        except Exception:
            log.exception("heartbeat failed")

    # -- life cycle ---------------------------------------------------------------------

    def _start_scheduler(self) -> AsyncIOScheduler:
        # Memory job store (the default): never shared between processes
        # (agronholm/apscheduler#160).
        scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
        scheduler.add_job(self.sweep, IntervalTrigger(seconds=self.every["sweep"]),
                          args=["periodic"], id="sweep")
        scheduler.add_job(self.deliver, IntervalTrigger(seconds=self.every["mail"]), id="mail")
        scheduler.add_job(self.heartbeat, IntervalTrigger(seconds=self.every["heartbeat"]),
                          id="heartbeat")
        scheduler.add_job(self.checkpoint, IntervalTrigger(hours=1), id="checkpoint")
        if self.settings.feed_url and self.settings.feed_poll_minutes:
            # Hourly by default (S55_FEED_POLL_MINUTES); the first poll at start.
            scheduler.add_job(self.watch_feed,
                              IntervalTrigger(minutes=self.settings.feed_poll_minutes),
                              id="feed", next_run_time=datetime.now(UTC))
        scheduler.start()  # inside the running loop (agronholm/apscheduler#994)
        return scheduler

    async def run(self, stop: asyncio.Event | None = None, *, ready: asyncio.Event | None = None,
                  install_signals: bool = True) -> None:
        """Run until ``stop`` is set (or SIGTERM/SIGINT). Raises ``SchedulerLockedError``
        when another daemon runs against the same SQLite file."""
        stop = stop or asyncio.Event()
        self._sweep_lock, self._mail_lock = asyncio.Lock(), asyncio.Lock()
        loop = asyncio.get_running_loop()
        with scheduler_lock(self.db, self.worker):
            signals = (signal.SIGTERM, signal.SIGINT) if install_signals else ()
            for sig in signals:
                loop.add_signal_handler(sig, self._stop, stop, sig)
            try:
                log.info("scheduler %s starting on %s (policy: %d rules, hour %02d:00 London)",
                         self.worker, self.db.safe_url(), len(self.policy.rules),
                         self.settings.escalation_hour)
                await self.heartbeat()
                self.scheduler = self._start_scheduler()
                await self.sweep("catch-up")  # misfires are caught up from the database
                self.scheduler.modify_job("mail", next_run_time=datetime.now(UTC))
                if ready is not None:
                    ready.set()
                await stop.wait()
            finally:
                await self._shutdown()
                for sig in signals:
                    loop.remove_signal_handler(sig)
        log.info("scheduler %s stopped", self.worker)

    def _stop(self, stop: asyncio.Event, sig: signal.Signals) -> None:
        log.info("%s received: stopping after the work in hand", sig.name)
        stop.set()

    async def _shutdown(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is None:
            return
        scheduler.pause()  # no new runs
        # Let a running sweep or delivery finish its transaction before the executor
        # cancels what it still holds (AsyncIOExecutor.shutdown cancels its tasks).
        async with self._sweep_lock, self._mail_lock:
            scheduler.shutdown(wait=False)


def run_daemon(db: Database, settings: Settings, clock: Clock, **options: Any) -> None:
    """``s55 run``: block until SIGTERM/SIGINT."""
    asyncio.run(Daemon(db, settings, clock, **options).run())
