"""Delivering the outbox: claim a batch, send it over one connection, record each result.

The dispatcher never touches the database itself: it talks to an ``OutboxStore``
(implemented by ``workflow.mail``), whose calls run in one worker thread, in order.

Never lost, never sent twice:
- a message is claimed (leased to this worker) in its own committed transaction
  before it is sent, so a second dispatcher skips it;
- "sent" is committed before the next message's DATA goes out (the ``before_data``
  hook), so the SMTP round trips of message n+1 overlap the commit of message n, yet
  a crash leaves at most the one message in flight unrecorded. SMTP has no
  idempotency key, so that one may be sent again: with the same Message-ID.
- failures are retried with exponential backoff and jitter, a pure function of
  ``now``; after ``max_attempts`` (or a permanent 5xx refusal) the message is dead
  and the store raises the admin alert.
"""

from __future__ import annotations

import asyncio
import logging
import random
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
from notifications.transports.base import Transport

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
    delay = min(cap, base * (2 ** min(attempts - 1, 30)))
    return delay / 2 + (delay / 2) * jitter


def next_attempt_at(now: datetime, attempts: int, jitter: float) -> datetime:
    """When a message that has failed ``attempts`` times may be tried again."""
    return now + backoff(attempts, jitter)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, detached from any database session."""

    id: int
    kind: str
    sender: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    message_id: str
    created_at: datetime
    attempts: int  # attempts made before this claim
    response_id: int | None = None  # carried through for the store's audit events

    def mail(self) -> Mail:
        return Mail(sender=self.sender, recipient=self.recipient, subject=self.subject,
                    body_text=self.body_text, body_html=self.body_html,
                    message_id=self.message_id, date=self.created_at)


class OutboxStore(Protocol):
    """The database side of delivery. Every method commits its own transaction."""

    def recover(self, *, worker: str, now: datetime) -> int:
        """Return orphaned claims (a dead dispatcher's) to pending where that is safe."""
        ...

    def claim(self, *, worker: str, now: datetime, limit: int,
              lease: timedelta) -> list[OutboxItem]:
        """Lease up to ``limit`` due messages to ``worker``, oldest first."""
        ...

    def mark_sent(self, items: Sequence[OutboxItem], *, worker: str, now: datetime) -> None:
        """Record messages the server accepted (one transaction for the group)."""
        ...

    def mark_failed(self, item: OutboxItem, *, worker: str, now: datetime, error: str,
                    retry_at: datetime) -> None: ...

    def mark_dead(self, item: OutboxItem, *, worker: str, now: datetime, error: str) -> None:
        """Give up on the message and alert the admins (unless it was an alert)."""
        ...

    def release(self, items: Sequence[OutboxItem], *, worker: str) -> None:
        """Return unattempted claims to pending, untouched."""
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
        record_every: int = 1,
    ) -> None:
        if lease <= lease_margin:
            raise ValueError("lease must be longer than lease_margin")
        self.store, self.transport, self.clock = store, transport, clock
        self.worker, self.max_attempts, self.batch_size = worker, max_attempts, batch_size
        self.lease, self.lease_margin = lease, lease_margin
        self.rng = rng or random.Random()
        self.progress = progress
        # Accepted messages are recorded in groups of this size. 1 (the default) means a
        # crash can leave at most the one message in flight unrecorded; n trades up to n
        # resends (same Message-ID) after a crash for n-fold fewer transactions.
        self.record_every = max(1, record_every)
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
                sent = await self._send_one(item, rec.flush, rec.wait)
            except _StopRunError:
                await rec.flush()
                await self._release(batch[index + 1:], self._report.error or "stopped")
                raise
            if sent:
                rec.add(item)
                self._report.sent += 1
            self._tick()
        await rec.flush()

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self._report.processed)

    async def _send_one(self, item: OutboxItem, flush: Callable[[], Any],
                        before_data: Callable[[], Any]) -> bool:
        """Send one message (reconnecting once if the connection dropped); True if sent."""
        try:
            data = message_bytes(item.mail())
        except HeaderInjectionError as exc:
            await flush()
            await self._fail(item, str(exc), permanent=True)
            return False
        for reconnect in (True, False):
            try:
                await self.transport.send(item.sender, item.recipient, data, before_data)
                return True
            except ConnectionLostError as exc:
                await flush()
                if reconnect and await self._reopen():
                    continue  # PITFALLS: retry from the first unsent message
                await self._fail(item, str(exc), permanent=False)
                self._report.error = str(exc)
                raise _StopRunError from None
            except DeliveryError as exc:
                await flush()
                await self._fail(item, str(exc), permanent=exc.permanent)
                return False
            except TransportError as exc:
                await flush()
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
            log.error("mail %s to %s is dead after %d attempt(s): %s", item.id, item.recipient,
                      attempts, error)
        else:
            retry_at = next_attempt_at(now, attempts, self.rng.random())
            await self._db(self.store.mark_failed, item, worker=self.worker, now=now,
                           error=error, retry_at=retry_at)
            self._report.retrying += 1
            log.warning("mail %s to %s failed (attempt %d), retry at %s: %s", item.id,
                        item.recipient, attempts, retry_at.isoformat(), error)


class _Recorder:
    """Records accepted messages in groups of ``record_every``, one write in flight."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.group: list[OutboxItem] = []
        self.pending: list[asyncio.Future[None]] = []

    def add(self, item: OutboxItem) -> None:
        self.group.append(item)
        if len(self.group) >= self.d.record_every:
            self._submit()

    def _submit(self) -> None:
        if self.group:
            d = self.d
            self.pending.append(asyncio.ensure_future(d._db(
                d.store.mark_sent, list(self.group), worker=d.worker, now=d.clock())))
            self.group = []

    async def wait(self) -> None:
        """Before the next DATA: the previous group's "sent" is committed."""
        while self.pending:
            await self.pending.pop(0)

    async def flush(self) -> None:
        self._submit()
        await self.wait()
