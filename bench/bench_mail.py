"""Benchmark: our dispatcher vs a plain aiosmtplib loop, same messages, same server.

    .venv/bin/python bench/bench_mail.py [--messages 2000] [--database-url URL]
                                         [--record-every N]

Queues N messages in a fresh database (a temporary SQLite file by default), starts an
aiosmtpd server on loopback, then times (1) a bare aiosmtplib loop sending the same
N messages over one connection and (2) ``workflow.mail.deliver_pending`` (claim,
send, mark sent + audit event per message). Target: ours >= 0.8 x baseline msgs/s.
The baseline imports aiosmtplib directly on purpose: it is the yardstick.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notifications.message import Mail, message_bytes  # noqa: E402
from workflow import audit, mail, schema  # noqa: E402
from workflow.audit import Action  # noqa: E402
from workflow.clock import SystemClock  # noqa: E402
from workflow.config import Settings  # noqa: E402
from workflow.db import Database  # noqa: E402
from workflow.models import OutboxMessage, Person  # noqa: E402


class Counting:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def queue(db: Database, settings: Settings, n: int) -> list[Mail]:
    now = datetime.now(UTC)
    with db.write() as s:
        s.add(Person(name="Admin", email="admin@opcc.example", roles=["admin"], created_at=now))
        for start in range(0, n, 500):
            event = audit.append(s, at=now, actor="bench", action=Action.CREATED)
            mail.queue_messages(
                s, settings=settings, now=now, kind="mail_test", event=event, response_id=None,
                actor="bench", context={"opcc_name": "OPCC", "response_id": None,
                                        "actor": "bench", "transport": "x"},
                recipients=[mail.Recipient(f"r{i}", f"r{i}@x.example")
                            for i in range(start, min(n, start + 500))])
    with db.read() as s:
        return [Mail(m.sender, m.recipient, m.subject, m.body_text, m.body_html, m.message_id,
                     m.created_at) for m in s.scalars(select(OutboxMessage))]


async def baseline(port: int, mails: list[Mail]) -> float:
    payloads = [(m.sender, m.recipient, message_bytes(m)) for m in mails]
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    start = time.perf_counter()
    await smtp.connect()
    for sender, rcpt, data in payloads:
        await smtp.sendmail(sender, [rcpt], data)
    await smtp.quit()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--record-every", type=int, default=1,
                    help="S55_MAIL_RECORD_EVERY: accepted messages recorded per transaction")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        schema.upgrade(db)
        port = free_port()
        settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=port,
                            smtp_security="none", spool_dir=Path(tmp) / "spool",
                            mail_record_every=args.record_every)
        mails = queue(db, settings, args.messages)
        handler = Counting()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            base_s = asyncio.run(baseline(port, mails))
            start = time.perf_counter()
            report = mail.deliver_pending(db, settings, SystemClock())
            ours_s = time.perf_counter() - start
        finally:
            controller.stop()
            db.dispose()
    n = len(mails)
    assert report.sent == n, report
    assert handler.count == 2 * n, handler.count
    ours, base = n / ours_s, n / base_s
    print(f"backend  {db.dialect}")
    print(f"messages {n}, recorded {args.record_every} per transaction")
    print(f"ours     {ours:8.1f} msgs/s ({ours_s:.2f} s; claim, send, mark sent + audit each)")
    print(f"baseline {base:8.1f} msgs/s ({base_s:.2f} s; bare aiosmtplib loop, one connection)")
    print(f"ratio    {ours / base:8.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
