"""The stress run's instruments: an SMTP sink, a backend killer, and the final checks."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from bench.stress import Outcome


def _client_pid(peer_port: int, candidates: list[int]) -> int | None:
    """Which of ``candidates`` owns the TCP socket whose local port is ``peer_port``."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == peer_port:
                inode = parts[9]
    if inode is None:
        return None
    for pid in candidates:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


class _Handler:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.data = 0
        self.kill: tuple[int, int] | None = None  # (from DATA number, pid)
        self.killed: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.data += 1
            n = self.data
        if self.kill and self.killed is None and n >= self.kill[0] and \
                _client_pid(session.peer[1], [self.kill[1]]) == self.kill[1]:
            # Killed while we hold its message unacknowledged: it never learns the
            # outcome, and we do not keep the message (as a real server whose client
            # vanished before the end of DATA).
            os.kill(self.kill[1], signal.SIGKILL)
            self.killed = self.kill[1]
            return "451 4.3.0 the client is gone"
        msg = message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.ids.append(str(msg["Message-ID"]))
        return "250 OK"


class Sink:
    """aiosmtpd on a free loopback port, counting Message-IDs."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def kill_at(self, data_number: int, pid: int) -> None:
        """SIGKILL ``pid`` at its first DATA from number ``data_number`` on."""
        self.handler.kill = (data_number, pid)

    def message_ids(self) -> list[str]:
        with self.handler.lock:
            return list(self.handler.ids)


class BackendKiller(threading.Thread):
    """Terminates a random busy s55 backend (in a statement or a transaction) now and then."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.every = every
        self.halt = threading.Event()
        self.count = 0

    def run(self) -> None:
        rng = random.Random(55)
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.halt.wait(self.every):
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 's55' AND "
                    "state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid() "
                    "AND datname = current_database()")]
                if pids:
                    done = conn.execute("SELECT pg_terminate_backend(%s)",
                                        (rng.choice(pids),)).fetchone()
                    self.count += bool(done and done[0])

    def stop(self) -> int:
        self.halt.set()
        self.join(timeout=30)
        return self.count


def kill_mid_transaction(url: str, pid: int, after: Callable[[], bool],
                         timeout: float = 120.0) -> bool:
    """SIGKILL process ``pid`` while one of its backends is in a statement or a
    transaction, once ``after()`` says it has made enough progress.

    Returns whether it was killed so (False: it finished first, or never was caught).
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():
                return False
            if after():
                ports = [r[0] for r in conn.execute(
                    "SELECT client_port FROM pg_stat_activity WHERE application_name = 's55' "
                    "AND state IN ('active', 'idle in transaction') AND "
                    "datname = current_database() AND pid <> pg_backend_pid()")]
                if any(_client_pid(port, [pid]) == pid for port in ports if port):
                    os.kill(pid, signal.SIGKILL)
                    return True
            time.sleep(0.002)
    return False


# -- after the run ------------------------------------------------------------------------

def _replay(db: Any) -> list[str]:
    """Every response's state and version against the replay of its audit events."""
    from sqlalchemy import select
    from sqlmodel import col

    from workflow.storage.models import AuditEvent, Response

    problems: list[str] = []
    with db.read() as s:
        rows = {r.id: (r.state, r.version) for r in s.execute(
            select(col(Response.id), col(Response.state), col(Response.version)))}
        events = s.execute(select(col(AuditEvent.response_id), col(AuditEvent.action),
                                  col(AuditEvent.from_state), col(AuditEvent.to_state))
                           .where(col(AuditEvent.response_id).is_not(None))
                           .order_by(col(AuditEvent.id))).all()
    state: dict[int, str] = {}
    bumps: Counter[int] = Counter()
    for rid, action, from_state, to_state in events:
        if action == "created":
            state[rid] = to_state
        elif action == "transition":
            if state.get(rid) != from_state:
                problems.append(f"response {rid}: transition from {from_state} while the "
                                f"replay says {state.get(rid)}")
            state[rid] = to_state
            bumps[rid] += 1
        elif action == "edited":
            bumps[rid] += 1
    for rid, (st, version) in rows.items():
        if state.get(rid) != st:
            problems.append(f"response {rid}: state {st}, replay {state.get(rid)}")
        if version != 1 + bumps[rid]:
            problems.append(f"response {rid}: version {version}, replay {1 + bumps[rid]}")
    return problems


def _mail(db: Any, received: Counter[str]) -> list[str]:
    from sqlalchemy import select
    from sqlmodel import col

    from workflow.storage.models import OutboxMessage

    with db.read() as s:
        rows = s.execute(select(col(OutboxMessage.message_id), col(OutboxMessage.status))).all()
    problems = [f"{n} messages {st}" for st, n in Counter(r[1] for r in rows).items()
                if st != "sent"]
    queued = {r[0] for r in rows}
    if set(received) != queued:
        problems.append(f"{len(queued - set(received))} queued messages never arrived, "
                        f"{len(set(received) - queued)} arrived unqueued")
    doubled = {m: n for m, n in received.items() if n > 1}
    if doubled:
        problems.append(f"{len(doubled)} messages arrived more than once: "
                        f"{list(doubled.items())[:3]}")
    return problems


def _escalations(db: Any, outcome: Outcome) -> list[str]:
    from sqlalchemy import func, select
    from sqlmodel import col

    from workflow.storage.models import AuditEvent, EscalationFiring

    with db.read() as s:
        fired = s.execute(select(func.count()).select_from(EscalationFiring)
                          .where(col(EscalationFiring.status) == "fired")).scalar_one()
        events = s.execute(select(func.count()).select_from(AuditEvent)
                           .where(col(AuditEvent.action) == "escalation")).scalar_one()
    claimed = sum(w["fired"] for w in outcome.schedulers)
    problems = [e for w in outcome.schedulers for e in w["errors"]]
    # A scheduler killed mid-run takes its tally with it: what it committed before
    # the kill is in the database, not in any report.
    if fired != events or claimed > fired or (claimed < fired and not outcome.killed_schedulers):
        problems.append(f"escalations: {fired} firing rows, {events} audit events, "
                        f"{claimed} reported fired by the schedulers")
    return problems


def where(trace: str) -> str:
    """The innermost s55 frame and the exception line of a formatted traceback."""
    lines = trace.strip().splitlines()
    root = str(Path(__file__).resolve().parents[1])
    ours = [ln.strip() for ln in lines if ln.strip().startswith(f'File "{root}/')
            and "/.venv/" not in ln]
    error = next((ln for ln in reversed(lines) if ln and not ln.startswith((" ", "("))), "")
    return f"{ours[-1] if ours else '?'}: {error[:160]}"


def unhandled(outcome: Outcome, kinds: tuple[str, ...]) -> list[str]:
    return [f"{kind}: {where(u)}" for kind in kinds for w in getattr(outcome, kind)
            for u in w["unhandled"]]


def check(url: str, outcome: Outcome) -> tuple[list[str], dict[str, int]]:
    """(problems, counts) after a run: an empty list means nothing was lost or doubled."""
    from sqlalchemy import func, select

    from workflow.assurance import replay
    from workflow.audit import trail
    from workflow.storage.db import Database
    from workflow.storage.models import EscalationFiring

    db = Database(url)
    try:
        # The chain, and the full replay riding on its read (``s55 audit verify``'s): every
        # response's state, version, deadlines, content, recommendations and fingerprints.
        done = replay.Replay()
        verification = trail.verify(db, each=done.row)
        problems = [] if verification.ok else [f"audit chain: {verification.broken}"]
        problems += [f"replay: {d.describe()}" for d in replay.differences(db, done)]
        problems += _replay(db) + _mail(db, outcome.received) + _escalations(db, outcome)
        with db.read() as s:
            escalated = s.execute(select(func.count()).select_from(EscalationFiring)
                                  ).scalar_one()
    finally:
        db.dispose()
    problems += outcome.crashed
    for kind in ("writers", "dispatchers", "schedulers"):
        problems += [f"{kind}: {where(u)}" for w in getattr(outcome, kind)
                     for u in w["unhandled"]]
    totals: Counter[str] = Counter()
    for w in outcome.writers:
        totals.update(w["outcomes"])
    counts = {"events": verification.count, "mail": sum(outcome.received.values()),
              "escalations": escalated, "killed": outcome.killed,
              "killed_schedulers": outcome.killed_schedulers,
              "terminated": outcome.terminated, **totals}
    return problems, counts
