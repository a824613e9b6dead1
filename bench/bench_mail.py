"""Benchmark: our dispatcher vs a plain aiosmtplib loop, same messages, same server.

    .venv/bin/python -m bench.bench_mail [--messages 2000] [--backend sqlite|postgresql]
                                         [--rounds 3]

Queues N messages in a fresh database (a temporary SQLite file, or a new database on the
local PostgreSQL with its default durable commits), starts an aiosmtpd server in a *separate
process* (so neither side shares its GIL with the server), then times, in rounds that
alternate which side goes first (``bench.common.alternate``):

1. a bare aiosmtplib loop over one connection: for each message build its bytes with
   ``message_bytes`` and ``sendmail`` it;
2. ``workflow.mail.delivery.deliver_pending``: claim, build the same bytes from the row, send,
   commit "sent" before the next message's DATA, and audit each send.

Both sides build every message inside the timer, send the same N messages of the same
size to the same server, and our side starts every round from the same queued outbox.
Our commits run under s55's engine settings (SQLite WAL with ``synchronous=NORMAL``;
PostgreSQL's ``synchronous_commit``, printed); the baseline writes nothing. The medians
of each side and the median of the per-round ratios are reported.
Target: ours >= 0.8 x baseline msgs/s.
The baseline imports aiosmtplib directly on purpose: it is the yardstick.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import aiosmtplib
from sqlalchemy import delete, select, update
from sqlmodel import col

from bench.common import alternate, durability, fresh_database, report
from notifications.message import Mail, message_bytes
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.mail import delivery
from workflow.mail import outbox as mail
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage, Person


def serve(port: int, control: Connection) -> None:
    """The SMTP server process: count DATA commands until told to stop, then report."""
    from aiosmtpd.controller import Controller

    class Counting:
        count = 0

        async def handle_DATA(self, server: object, session: object,  # noqa: N802
                              envelope: object) -> str:
            self.count += 1
            return "250 OK"

    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    while control.recv() == "count":
        control.send(handler.count)
    controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def queue(db: Database, settings: Settings, n: int) -> list[Mail]:
    now = datetime.now(UTC)
    with db.write() as s:
        s.execute(delete(OutboxMessage))
        admin = select(Person).where(col(Person.email) == "admin@opcc.example")
        if s.scalars(admin).first() is None:
            s.add(Person(name="Admin", email="admin@opcc.example", roles=["admin"],
                         created_at=now))
        for start in range(0, n, 500):
            event = trail.append(s, at=now, actor="bench", action=Action.CREATED,
                                 by=trail.Provenance.here("cli"))
            mail.queue_messages(
                s, settings=settings, now=now, kind="mail_test", event=event, response_id=None,
                actor="bench", context={"opcc_name": "OPCC", "response_id": None,
                                        "actor": "bench", "transport": "x"},
                recipients=[mail.Recipient(f"r{i}", f"r{i}@x.example")
                            for i in range(start, min(n, start + 500))])
    with db.read() as s:
        return [Mail(m.sender, m.recipient, m.subject, m.body_text, m.body_html, m.message_id,
                     m.created_at) for m in s.scalars(select(OutboxMessage))]


def requeue(db: Database) -> None:
    """Back to the state ``queue`` left (the audit log keeps growing, as in production)."""
    with db.write() as s:
        s.execute(update(OutboxMessage).values(status="pending", attempts=0, sent_at=None,
                                               claimed_by=None, claimed_until=None))


async def baseline(port: int, mails: list[Mail]) -> float:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    start = time.perf_counter()
    await smtp.connect()
    for m in mails:
        await smtp.sendmail(m.sender, [m.recipient], message_bytes(m))
    await smtp.quit()
    return time.perf_counter() - start


def ours(db: Database, settings: Settings, n: int) -> float:
    requeue(db)  # untimed: every round starts from the same queued outbox
    start = time.perf_counter()
    report = delivery.deliver_pending(db, settings, SystemClock())
    elapsed = time.perf_counter() - start
    assert (report.sent, report.error) == (n, None), report
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.backend) as url:
        db = Database(url)
        port = free_port()
        settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=port,
                            smtp_security="none", spool_dir=Path(tmp) / "spool")
        mails = queue(db, settings, args.messages)
        n = len(mails)
        size = sum(len(message_bytes(m)) for m in mails) / n
        parent, child = ctx.Pipe()
        server = ctx.Process(target=serve, args=(port, child), daemon=True)
        server.start()
        assert parent.recv() == "ready"
        try:
            # Warm-up, untimed: modules imported, the server's first connection made.
            ours(db, settings, n), asyncio.run(baseline(port, mails))
            rounds = alternate({
                "ours": lambda: n / ours(db, settings, n),
                "baseline": lambda: n / asyncio.run(baseline(port, mails)),
            }, args.rounds)
            parent.send("count")
            received = parent.recv()
            settled = durability(db)
        finally:
            parent.send("stop")
            server.join(timeout=10)
            db.dispose()
    assert received == 2 * n * (args.rounds + 1), received
    print(f"{n} messages of ~{size:.0f} bytes; SMTP server in its own process; {settled}")
    report("mail delivery: ours (claim, build, send, record + audit) vs build + bare "
           "aiosmtplib on one connection", "msgs/s", rounds, higher_is_better=True,
           target=">= 0.8")


if __name__ == "__main__":
    main()
