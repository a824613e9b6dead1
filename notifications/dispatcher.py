"""Delivering the outbox: claim a batch, send it over one connection, record each result.

The dispatcher never touches the database itself: it talks to an ``OutboxStore``
(implemented by ``workflow.mail.store.SqlOutboxStore``), whose calls run in one worker
thread, in order - except ``record_sent``, one short statement per message, which runs on
the loop.

Never lost, never sent twice:
- a message is claimed (leased to this worker) in a committed statement before it is
  sent, so a second dispatcher skips it;
- "sent" is committed (one cheap statement) while the server answers the next
  message's MAIL FROM, and always before that message's DATA (or before any failure
  is recorded, or the batch ends), so a crash leaves at most the one message in
  flight unrecorded. SMTP has no idempotency key, so that one may be sent again: with
  the same Message-ID.
- every send is audited, one event per message, written together for up to
  ``audit_every`` messages (or ``audit_seconds``) in one transaction. A message
  recorded "sent" but not yet audited stays marked as its worker's; if the worker dies
  in between, the next run's ``recover`` writes the missing events, so no send goes
  unaudited and none is audited twice.
- failures are retried with exponential backoff and jitter, a pure function of
  ``now``; after ``max_attempts`` (or a permanent 5xx refusal) the message is dead
  and the store raises the admin alert.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from notifications.errors import (
    ConnectionLostError,
    DeliveryError,
    HeaderInjectionError,
    TransportError,
)
from notifications.message import Mail, message_bytes
from notifications.transports.base import Alongside, Transport

log = logging.getLogger("s55.mail")
T = TypeVar("T")

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)


def backoff(attempts: int, jitter: float, *, base: timedelta = RETRY_BASE,
            cap: timedelta = RETRY_CAP) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based).

    Exponential (base, 2×base, 4×base, … up to ``cap``) with "equal jitter": half the
    delay is fixed, half is scaled by ``jitter`` in [0, 1), so retries from one outage
    spread out instead of arriving together.
    """
    if attempts < 1:
        raise ValueError("attempts counts from 1")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    delay = min(cap, base * (1 << min(attempts - 1, 30)))
    return delay / 2 + (delay / 2) * jitter


def next_attempt_at(now: datetime, attempts: int, jitter: float) -> datetime:
    """When a message that has failed ``attempts`` times may be tried again."""
    return now + backoff(attempts, jitter)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, detached from any database session."""

    id: int
    kind: str
    mail: Mail
    attempts: int  # attempts made before this claim
    response_id: int | None = None  # carried through for the store's audit events


class OutboxStore(Protocol):
    """The database side of delivery. Every method commits its own transaction."""

    def recover(self, *, worker: str, now: datetime) -> int:
        """Return orphaned claims (a dead dispatcher's) to pending where that is safe."""
        ...

    def claim(self, *, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[OutboxItem]:
        """Lease up to ``limit`` due messages to ``worker``, oldest first."""
        ...

    def record_sent(self, item: OutboxItem, *, worker: str, now: datetime) -> bool:
        """Commit that the server accepted ``item``. Called on the event loop's thread, so
        it must be one short statement. False if this worker no longer held the claim (its
        lease expired and another took it over)."""
        ...

    def audit_sent(self, items: Sequence[OutboxItem], *, worker: str, now: datetime,
                   duplicates: Sequence[OutboxItem] = ()) -> None:
        """One transaction: a MAIL_SENT event per recorded message not audited yet, and
        one per ``duplicate`` (sent although another worker had taken it over)."""
        ...

    def mark_failed(self, item: OutboxItem, *, worker: str, now: datetime, error: str,
                    retry_at: datetime) -> None: ...

    def mark_dead(self, item: OutboxItem, *, worker: str, now: datetime, error: str) -> None:
        """Give up on the message and alert the admins (unless it was an alert)."""
        ...

    def release(self, items: Sequence[OutboxItem], *, worker: str) -> None:
        """Return unattempted claims to pending, untouched."""
        ...

    def close(self) -> None:
        """Release what the run held (called last, in the store's thread)."""
        ...


@dataclass
class DeliveryReport:
    """What one run did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0  # claimed, not attempted (the connection failed)
    error: str | None = None  # why the run stopped early, if it did
    dead_ids: list[int] = field(default_factory=list)
    #: Messages the store refused to hand over (dead without an attempt), with why.
    refused: dict[int, str] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return self.sent + self.retrying + self.dead


class _StopRunError(Exception):
    """The connection is gone for this run; the rest of the batch was released."""


class Dispatcher:
    """Delivers due outbox messages through one transport connection per run."""

    def __init__(
        self,
        store: OutboxStore,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        worker: str,
        max_attempts: int,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=10),
        lease_margin: timedelta = timedelta(minutes=2),
        rng: random.Random | None = None,
        progress: Callable[[int], None] | None = None,
        audit_every: int = 100,
        audit_seconds: float = 2.0,
    ) -> None:
        if lease <= lease_margin:
            raise ValueError("lease must be longer than lease_margin")
        self.store, self.transport, self.clock = store, transport, clock
        self.worker, self.max_attempts, self.batch_size = worker, max_attempts, batch_size
        self.lease, self.lease_margin = lease, lease_margin
        self.rng = rng or random.Random()
        self.progress = progress
        # Audit events of sends are written together, at least this often; "sent" itself
        # is committed per message regardless (see the module docstring).
        self.audit_every, self.audit_seconds = max(1, audit_every), audit_seconds
        self._executor: ThreadPoolExecutor | None = None
        self._report = DeliveryReport()

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def run(self, *, limit: int | None = None) -> DeliveryReport:
        """Deliver until nothing is due (or ``limit`` messages were processed)."""
        self._report = report = DeliveryReport()
        # One thread: store calls stay in order and SQLite sees one writer.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="s55-outbox")
        opened = False
        try:
            await self._db(self.store.recover, worker=self.worker, now=self.clock())
            while limit is None or report.processed < limit:
                want = self.batch_size if limit is None else min(self.batch_size,
                                                                 limit - report.processed)
                now = self.clock()
                batch = await self._db(self.store.claim, worker=self.worker, now=now,
                                       limit=want, lease=self.lease)
                if not batch:
                    break
                if not opened:
                    try:
                        await self.transport.open()
                    except TransportError as exc:
                        await self._release(batch, str(exc))
                        break
                    opened = True
                try:
                    await self._send_batch(batch, now + self.lease - self.lease_margin)
                except _StopRunError:
                    break
        finally:
            await self.transport.close()
            await self._db(self.store.close)
            self._executor.shutdown(wait=True)
            self._executor = None
        return report

    async def _release(self, items: Sequence[OutboxItem], error: str) -> None:
        if items:
            await self._db(self.store.release, items, worker=self.worker)
        self._report.released += len(items)
        self._report.error = error
        log.warning("mail delivery stopped, %d message(s) left pending: %s", len(items), error)

    async def _send_batch(self, batch: Sequence[OutboxItem], lease_end: datetime) -> None:
        rec = _Recorder(self)
        for index, item in enumerate(batch):
            if self.clock() >= lease_end:
                # Another dispatcher may reclaim after the lease: stop before that.
                await rec.flush()
                await self._release(batch[index:], "lease about to expire; batch cut short")
                raise _StopRunError
            try:
                sent = await self._send_one(item, rec.settle)
            except _StopRunError:
                await rec.flush()
                await self._release(batch[index + 1:], self._report.error or "stopped")
                raise
            if sent:
                rec.add(item)
                self._report.sent += 1
                await rec.audit_if_due()
            self._tick()
        await rec.flush()

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self._report.processed)

    async def _send_one(self, item: OutboxItem, settle: Alongside) -> bool:
        """Send one message (reconnecting once if the connection dropped); True if sent.

        ``settle`` commits the previous message's "sent": the transport runs it while
        the server answers MAIL FROM, and every other path runs it before going on.
        """
        try:
            data = message_bytes(item.mail)
        except HeaderInjectionError as exc:
            settle()
            await self._fail(item, str(exc), permanent=True)
            return False
        for reconnect in (True, False):
            try:
                await self.transport.send(item.mail.sender, item.mail.recipient, data, settle)
                return True
            except ConnectionLostError as exc:
                settle()
                if reconnect and await self._reopen():
                    continue  # a dropped connection: reconnect, retry from the first unsent
                await self._fail(item, str(exc), permanent=False)
                self._report.error = str(exc)
                raise _StopRunError from None
            except DeliveryError as exc:
                settle()
                await self._fail(item, str(exc), permanent=exc.permanent)
                return False
            except TransportError as exc:
                settle()
                self._report.error = str(exc)
                await self._release([item], str(exc))
                raise _StopRunError from None
        return False  # pragma: no cover - the loop always returns or raises

    async def _reopen(self) -> bool:
        try:
            await self.transport.open()
        except TransportError as exc:
            self._report.error = str(exc)
            return False
        return True

    async def _fail(self, item: OutboxItem, error: str, *, permanent: bool) -> None:
        attempts = item.attempts + 1
        now = self.clock()
        if permanent or attempts >= self.max_attempts:
            await self._db(self.store.mark_dead, item, worker=self.worker, now=now, error=error)
            self._report.dead += 1
            self._report.dead_ids.append(item.id)
            log.error("mail %s to %s is dead after %d attempt(s): %s", item.id, item.mail.recipient,
                      attempts, error)
        else:
            retry_at = next_attempt_at(now, attempts, self.rng.random())
            await self._db(self.store.mark_failed, item, worker=self.worker, now=now,
                           error=error, retry_at=retry_at)
            self._report.retrying += 1
            log.warning("mail %s to %s failed (attempt %d), retry at %s: %s", item.id,
                        item.mail.recipient, attempts, retry_at.isoformat(), error)


class _Recorder:
    """Records each accepted message's "sent" alongside the next send; audits in groups."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.pending: OutboxItem | None = None  # accepted, "sent" not committed yet
        self.recorded: list[OutboxItem] = []
        self.duplicates: list[OutboxItem] = []
        self.since = 0.0  # monotonic time of the oldest unaudited send

    def add(self, item: OutboxItem) -> None:
        """``item`` was accepted; ``settle`` commits it (at the latest before the next DATA)."""
        assert self.pending is None
        self.pending = item

    def settle(self) -> None:
        """Commit the pending "sent", if any (idempotent).

        Called by the transport while the server answers the next MAIL FROM, and here on
        any other path. It runs on the event loop's thread, not in the store's thread: it
        is one short statement (~0.05-0.2 ms), and a thread hop per message cost more
        than that - the GIL hand-offs slowed every socket send of the conversation.
        """
        item, self.pending = self.pending, None
        if item is None:
            return
        d = self.d
        first = d.store.record_sent(item, worker=d.worker, now=d.clock())
        if not first:  # a lease expired and another dispatcher took the message over
            log.warning("outbox %s was taken over by another dispatcher; sent twice", item.id)
        if not self.recorded and not self.duplicates:
            self.since = time.monotonic()
        (self.recorded if first else self.duplicates).append(item)

    async def audit_if_due(self) -> None:
        unaudited = len(self.recorded) + len(self.duplicates)
        if unaudited >= self.d.audit_every or (
                unaudited and time.monotonic() - self.since >= self.d.audit_seconds):
            await self._audit()

    async def _audit(self) -> None:
        if self.recorded or self.duplicates:
            d = self.d
            recorded, duplicates = self.recorded, self.duplicates
            self.recorded, self.duplicates = [], []
            await d._db(d.store.audit_sent, recorded, worker=d.worker, now=d.clock(),
                        duplicates=duplicates)

    async def flush(self) -> None:
        """Everything recorded and audited (end of a batch, or before stopping)."""
        self.settle()
        await self._audit()
