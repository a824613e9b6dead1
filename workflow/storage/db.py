"""Engines, sessions and schema for SQLite (embedded default) and PostgreSQL.

SQLite: WAL, a busy timeout, foreign keys on, and every write transaction opened
with ``BEGIN IMMEDIATE`` so writers queue instead of failing half way (SQLite has no
``FOR UPDATE``; SQLAlchemy silently drops ``with_for_update()`` there).
PostgreSQL: a connection pool (checked before use, so a connection the server dropped
while idle is replaced) and a statement timeout.

``Database.run(fn)`` runs ``fn(session)`` in one write transaction and runs it again, in
a fresh transaction, when PostgreSQL reports a serialization failure or a deadlock, or
the connection is lost before the commit (a restarted server, a terminated backend).
Every write of the engine goes through it, so a user never sees a driver traceback
for a transient fault.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session

from workflow.core.errors import DatabaseError

T = TypeVar("T")
log = logging.getLogger(__name__)

#: SQLSTATEs after which the whole transaction may simply be run again: PostgreSQL
#: rolled it back and says so (serialization_failure, deadlock_detected).
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
#: ``session.info`` key under which a statement that asked for ``txid_current()``
#: leaves the answer for ``Database.run``.
XID_KEY = "s55_xid"
#: ``session.info`` key of the audit keyring that signs the events a write session appends
#: (``workflow.audit.trail``); None when no audit key is configured.
KEYRING_KEY = "s55_audit_keyring"
#: Attempts in all (the first one included) before the error reaches the caller.
RETRY_ATTEMPTS = 6
#: Backoff: a random wait up to base * 2**attempt seconds (full jitter), at most the cap.
RETRY_BASE_S, RETRY_CAP_S = 0.02, 1.0


def _sqlite_engine(url: str, *, immediate: bool, read_only: bool = False) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not read_only:  # setting the journal mode is a write
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode across app crashes
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _read_only_sqlite_url(database: str | None) -> str | None:
    """A URL that opens ``database`` read-only, if this process cannot write it (a backup
    or a copy an auditor verifies where it lies); None when it can be opened as usual.

    A WAL-mode file needs its ``-shm`` beside it, or a folder where it can be made; with
    no ``-wal`` there is nothing beyond the file itself, and ``immutable`` reads it without
    one (SQLite docs, "WAL mode: read-only databases").
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    if not path.is_file() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if has_wal and not shm.exists() and not os.access(path.parent, os.W_OK):
        raise DatabaseError(f"cannot read {path} read-only: its write-ahead log {wal} has no "
                            f"{shm.name} beside it; copy the folder somewhere writable")
    query = "mode=ro" if has_wal else "mode=ro&immutable=1"
    return f"sqlite:///file:{quote(str(path.resolve()))}?{query}&uri=true"


def _postgres_engine(url: str, statement_timeout_ms: int) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,  # a connection the server dropped while pooled is replaced
        pool_recycle=1800,  # below common firewall/NAT idle cut-offs
        connect_args={
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "connect_timeout": 10,  # an unreachable server is an error, not a hang
            "application_name": "s55",  # visible in pg_stat_activity
        },
    )


_SERVER_ENDED = frozenset({"57P01", "57P02", "57P03"})


def connection_lost(exc: DBAPIError) -> bool:
    """The connection went away under ``exc``. SQLAlchemy says so when it recognises the
    disconnect, but not always (it depends on when psycopg marks the connection broken):
    a driver ``OperationalError`` with no SQLSTATE (the client's side of a broken
    connection, "server closed the connection unexpectedly"), a connection exception
    (class 08) or the server ending the session (57P01-03, a terminated backend) say so too.
    """
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.orig, "sqlstate", "?")
    # No SQLSTATE: the client's side; class 08: connection exceptions; 57P01-03: the server
    # is shutting this connection down (a terminated backend: admin_shutdown).
    return state is None or str(state).startswith("08") or state in _SERVER_ENDED


def transient(exc: BaseException) -> bool:
    """True when ``exc`` means "run the transaction again": nothing of it was kept."""
    if not isinstance(exc, DBAPIError):
        return False
    return connection_lost(exc) or getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (full jitter, capped)."""
    return random.uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig or exc).strip()
    return text.splitlines()[0] if text else type(exc.orig).__name__


def _close(session: Session) -> None:
    """Close, rolling back what is open. If the connection is already gone the server has
    rolled the transaction back itself: the error that got us here (a refusal, say)
    must reach the caller, not the failed ROLLBACK that would replace it."""
    try:
        session.close()
    except DBAPIError as exc:
        if not connection_lost(exc):
            raise
        log.info("connection gone while closing a session: %s", _first_line(exc))


def fetch_on(conn: Connection, sql: str) -> list[Any]:
    """Every row of parameterless ``sql``, run on the driver's own cursor: plain tuples, no
    Result objects.

    A driver error is raised as SQLAlchemy's, with the connection invalidated when the
    server is gone, exactly as a statement through SQLAlchemy would be: ``Database.query``
    and ``Database.fetch`` retry a terminated backend only when they can see it was one.
    """
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    except dbapi.Error as exc:
        gone = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, connection_invalidated=gone,
                                  dialect=conn.dialect) from exc
    finally:
        with suppress(dbapi.Error):
            cursor.close()


class Database:
    """One database: a write engine and a read engine over the same URL."""

    def __init__(self, url: str, *, statement_timeout_ms: int = 30_000,
                 audit_key_file: Path | None = None) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseError(f"cannot parse database URL {url!r}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        #: The owner-only key file whose newest key signs every event written here.
        self.audit_key_file = audit_key_file
        self._keyring: Any = None
        self._key_seen: tuple[int, ...] | None = None  # the key file's inode, mtime, size
        #: SQLite: this process's writers queue here for the one write lock, handed on at
        #: once; without it each waits in SQLite's busy handler, which sleeps and polls (up
        #: to 100 ms a try), so under load the lock sits free while writers sleep. Other
        #: processes still wait in BEGIN IMMEDIATE as before. PostgreSQL: not needed.
        self.writers: Any = threading.RLock() if self.dialect == "sqlite" else nullcontext()
        #: True when s55 may only read this database (a SQLite file it cannot write).
        self.read_only = False
        if self.dialect == "sqlite":
            read_only_url = _read_only_sqlite_url(parsed.database)
            if read_only_url:
                self.read_only = True
                self.engine = self.read_engine = _sqlite_engine(
                    read_only_url, immediate=False, read_only=True)
                return
            self.engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        elif self.dialect == "postgresql":
            self.engine = _postgres_engine(url, statement_timeout_ms)
            self.read_engine = self.engine
        else:
            raise DatabaseError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")

    def _signing(self) -> dict[str, Any]:
        """What write sessions carry: the audit keyring, read from its file (a file anyone
        else may read is refused before anything is written) and read again whenever the
        file has changed since: after ``s55 audit rotate-key`` a long-running daemon signs
        with the new key and accepts mail queued under it, without a restart."""
        if self.audit_key_file is not None:
            try:
                st = os.stat(self.audit_key_file)
                seen: tuple[int, ...] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                seen = None  # gone since: keep the keys read (s55 doctor says it is gone)
            if self._keyring is None or (seen is not None and seen != self._key_seen):
                from workflow.keys import audit_key

                self._keyring, self._key_seen = audit_key.load(self.audit_key_file), seen
        return {KEYRING_KEY: self._keyring}

    def keyring(self) -> Any:
        """The audit keyring write sessions carry (``workflow.keys.audit_key.Keyring``;
        None: no audit key configured), for a read that must prove something with it."""
        return self._signing()[KEYRING_KEY]

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise DatabaseError(f"database {self.safe_url()} is read-only for this account: "
                                "reading works, changes are refused")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        self._refuse_if_read_only()
        with self.writers, Session(self.engine, expire_on_commit=False,
                                   info=self._signing()) as session, session.begin():
            yield session

    def run(self, fn: Callable[[Session], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
        """``fn(session)`` in one write transaction, run again on a transient fault.

        Retried (in a fresh transaction, after a jittered backoff): serialization
        failures, deadlocks and lost connections. ``fn`` must only touch the database
        through ``session`` (it may run more than once). A connection lost *during* the
        commit is ambiguous - the server may have kept the transaction - so on
        PostgreSQL we ask it (``txid_status`` of the transaction's id, taken just before
        the commit): committed means done, aborted means run it again. Never twice.

        Raises:
            DatabaseError: the fault persisted for ``attempts`` tries, or the commit's
                outcome cannot be learned.
        """
        self._refuse_if_read_only()
        for attempt in range(1, attempts + 1):
            xid: int | None = None
            committing = False
            session = Session(self.engine, expire_on_commit=False, info=self._signing())
            self.writers.__enter__()
            try:
                session.begin()
                result = fn(session)
                session.flush()  # a failure here is before the commit: safe to retry
                xid = self._xid(session)
                committing = True
                session.commit()
                return result
            except DBAPIError as exc:
                if committing and xid is not None and connection_lost(exc) and \
                        self._committed(xid, exc):
                    return result  # the server kept it before the connection went
                self.give_up_unless_transient(exc, attempt, attempts)
            finally:
                _close(session)
                self.writers.__exit__(None, None, None)
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def query(self, fn: Callable[[Session], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
        """``fn(session)`` in a read transaction, run again on a transient fault."""
        for attempt in range(1, attempts + 1):
            session = Session(self.read_engine, expire_on_commit=False)
            try:
                session.begin()
                return fn(session)  # a read: closing (below) rolls back, nothing to commit
            except DBAPIError as exc:
                self.give_up_unless_transient(exc, attempt, attempts)
            finally:
                _close(session)
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def fetch(self, sql: str, *, attempts: int = RETRY_ATTEMPTS) -> list[Any]:
        """Every row of parameterless ``sql`` (``fetch_on``), read on a pooled connection
        without a Session, and run again on a transient fault as ``query`` runs. One
        statement sees one snapshot on its own; the Session and its BEGIN cost more than
        a small read (the escalation planner reads every open response on every sweep)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.read_engine.connect() as conn:  # closing returns it, rolled back
                    return fetch_on(conn, sql)
            except DBAPIError as exc:
                self.give_up_unless_transient(exc, attempt, attempts)
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def _xid(self, session: Session) -> int | None:
        """PostgreSQL: this transaction's id, to ask after a commit whose reply was lost.

        A statement of ``fn`` may have asked already (``XID_KEY``, see
        ``workflow.audit.trail.head_locked``), saving a round trip under the audit chain's
        lock.
        """
        if self.is_sqlite:
            return None
        known = session.info.pop(XID_KEY, None)
        if known is not None:
            return int(known)
        return int(session.execute(text("SELECT txid_current()")).scalar_one())

    def _committed(self, xid: int, exc: DBAPIError) -> bool:
        """Whether transaction ``xid`` committed (asked on a new connection).

        Raises:
            DatabaseError: the server cannot be asked; the outcome stays unknown.
        """
        try:
            with self.engine.connect() as conn:
                status = conn.execute(text("SELECT txid_status(:x)"), {"x": xid}).scalar()
        except DBAPIError:
            raise DatabaseError(
                "the database connection was lost while committing and the server cannot "
                "be asked whether the change was saved: look before trying again "
                f"({_first_line(exc)})") from exc
        return status == "committed"

    @staticmethod
    def give_up_unless_transient(exc: DBAPIError, attempt: int, attempts: int) -> None:
        if not transient(exc):
            raise exc
        if attempt == attempts:
            raise DatabaseError(f"database busy or unreachable after {attempts} attempts: "
                                f"{_first_line(exc)}") from exc
        log.info("transient database error (attempt %d of %d): %s", attempt, attempts,
                 _first_line(exc))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (does not take SQLite's write lock)."""
        with Session(self.read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def has_schema(self) -> bool:
        try:
            return inspect(self.read_engine).has_table("response")
        except OperationalError as exc:
            raise DatabaseError(f"cannot open database {self.safe_url()}: "
                                f"{_first_line(exc)}") from exc

    def require_schema(self) -> None:
        if not self.has_schema():
            raise DatabaseError(f"database {self.safe_url()} has no s55 schema; run `s55 init`")

    def safe_url(self) -> str:
        """The URL with any password hidden (for messages and logs)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


@contextmanager
def single_instance(db: Database, role: str, holder: str,
                    refused: Callable[[Path, str], Exception]) -> Iterator[None]:
    """On SQLite, hold ``<database>.<role>.lock`` (flock) while running; else nothing.

    SQLite has no ``SKIP LOCKED``, so a dispatcher or scheduler must be alone there. The
    lock file names its holder; the kernel drops the lock when the process dies, so a
    killed one never blocks its successor. ``refused(lock, holder)`` is raised when
    another process holds it.
    """
    path = make_url(db.url).database if db.is_sqlite else None
    if not path or path == ":memory:":
        yield
        return
    lock = Path(path + f".{role}.lock")
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise refused(lock, fh.read().strip() or "unknown") from None
        try:
            fh.truncate(0)
            fh.write(holder)
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
