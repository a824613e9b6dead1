"""Database settings as the server sees them, and transient faults retried by ``Database.run``.

SQLite: WAL, busy timeout and foreign keys read back through ``Database``'s own
connections. PostgreSQL: the pool, the statement timeout, and real serialization
failures, deadlocks and terminated backends (``pg_terminate_backend`` from another
connection) - retried transparently, or reported as one ``Error:`` line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from waiting import wait_until

from workflow.audit import trail
from workflow.core.errors import DatabaseError, NotFoundError
from workflow.core.settings import Settings
from workflow.storage.db import XID_KEY, Database, backoff, transient
from workflow.storage.models import AuditEvent, Person, Recommendation

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2024, 11, 1, 9, 0, tzinfo=UTC)

only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def psycopg_url(db: Database) -> str:
    return db.url.replace("postgresql+psycopg://", "postgresql://")


def terminate(db: Database, pid: int) -> None:
    """Kill one backend from a separate connection, as an operator or a failover would."""
    with psycopg.connect(psycopg_url(db), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def add_people(db: Database, *names: str) -> list[int]:
    with db.write() as s:
        people = [Person(name=n, email=f"{n}@opcc.example", roles=["admin"], created_at=NOW)
                  for n in names]
        s.add_all(people)
        s.flush()
        return [p.id or 0 for p in people]


def names(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Person.name).order_by(Person.id)))  # type: ignore[arg-type]


# -- SQLite --------------------------------------------------------------------------------


@only_sqlite
class TestSqliteSettings:
    @pytest.mark.parametrize("engine", ["engine", "read_engine"])
    def test_pragmas_are_on_for_every_connection(self, db: Database, engine: str) -> None:
        """Both engines' connections run in WAL mode with a 30 s busy timeout, foreign
        keys enforced and synchronous=NORMAL (1)."""
        with getattr(db, engine).connect() as conn:
            pragma = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                      for p in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
        assert pragma == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1,
                          "synchronous": 1}

    def test_foreign_keys_are_enforced(self, db: Database) -> None:
        """A recommendation pointing at a missing response is refused by SQLite itself."""
        with db.write() as s:
            s.add(Recommendation(response_id=999, number=1, text="x"))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                s.flush()
            s.rollback()

    def test_writers_queue_instead_of_failing(self, db: Database) -> None:
        """A second writer waits for the first one's BEGIN IMMEDIATE lock, then commits."""
        started, order = threading.Event(), []

        def second() -> None:
            started.wait()
            add_people(db, "second")
            order.append("second")

        t = threading.Thread(target=second)
        t.start()
        with db.write() as s:
            s.add(Person(name="first", email="first@opcc.example", roles=[], created_at=NOW))
            s.flush()
            started.set()
            t.join(timeout=0.3)  # the second writer is blocked on our lock meanwhile
            order.append("first")
        t.join(timeout=30)
        assert order == ["first", "second"]
        assert names(db) == ["first", "second"]


# -- PostgreSQL settings ------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
class TestPostgresSettings:
    def test_statement_timeout_is_the_configured_one(self, db_url: str) -> None:
        """``SHOW statement_timeout`` on a pooled connection gives the configured value,
        and a longer statement is cancelled."""
        db = Database(db_url, statement_timeout_ms=1234)
        try:
            with db.read() as s:
                assert s.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
            with pytest.raises(OperationalError, match="statement timeout"), db.read() as s:
                s.execute(text("SELECT pg_sleep(3)"))
        finally:
            db.dispose()

    def test_pool_replaces_a_connection_the_server_dropped(self, db: Database) -> None:
        """Connections are pooled (the same backend serves the next transaction), and one
        terminated while idle in the pool is replaced by the pre-ping, not handed out."""
        assert isinstance(db.engine.pool, QueuePool)
        with db.read() as s:
            first = backend_pid(s)
        with db.read() as s:
            assert backend_pid(s) == first
        terminate(db, first)
        with db.read() as s:
            assert backend_pid(s) != first
            assert s.execute(text("SELECT 1")).scalar() == 1

    def test_application_name_is_s55(self, db: Database) -> None:
        """Our sessions are named in pg_stat_activity (operators find and kill them by it)."""
        with db.read() as s:
            assert s.execute(text("SHOW application_name")).scalar() == "s55"


# -- Database.run ------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
class TestRetry:
    def test_backend_terminated_mid_transaction_is_retried(self, db: Database) -> None:
        """The backend is killed after the first attempt wrote: that attempt is rolled
        back by the server, the second one commits; the row exists once."""
        attempts: list[int] = []

        def work(s: Session) -> str:
            pid = backend_pid(s)
            attempts.append(pid)
            s.add(Person(name="once", email="once@opcc.example", roles=[], created_at=NOW))
            s.flush()
            if len(attempts) == 1:
                terminate(db, pid)
            s.execute(text("SELECT 1"))  # the first attempt fails here
            return "done"

        assert db.run(work) == "done"
        assert len(attempts) == 2
        assert attempts[0] != attempts[1]
        assert names(db) == ["once"]

    @pytest.mark.parametrize("isolation", ["deadlock", "serialization"])
    def test_concurrent_conflicts_are_retried(self, db: Database, isolation: str) -> None:
        """Two transactions that really deadlock (locking two rows in opposite orders), or
        really conflict under SERIALIZABLE, both end up committed: the loser is retried."""
        a, b = add_people(db, "a", "b")
        barrier = threading.Barrier(2, timeout=20)
        attempts: list[str] = []
        errors: list[BaseException] = []

        def work(first: int, second: int, tag: str) -> Callable[[Session], None]:
            def fn(s: Session) -> None:
                attempts.append(tag)
                if isolation == "serialization":
                    s.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
                    s.execute(text("SELECT count(*) FROM person")).scalar()
                s.execute(text("UPDATE person SET name = name || :t WHERE id = :i"),
                          {"t": tag, "i": first})
                if attempts.count(tag) == 1:
                    barrier.wait()  # both hold their first row before either goes on
                s.execute(text("UPDATE person SET name = name || :t WHERE id = :i"),
                          {"t": tag, "i": second})
            return fn

        def thread(first: int, second: int, tag: str) -> None:
            try:
                db.run(work(first, second, tag))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=thread, args=(a, b, "1")),
                   threading.Thread(target=thread, args=(b, a, "2"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert len(attempts) == 3  # one of the two ran twice
        assert sorted(names(db)) == ["a12", "b12"] or sorted(names(db)) == ["a21", "b21"]

    def test_other_errors_are_not_retried(self, db: Database) -> None:
        """A constraint violation or one of our own errors reaches the caller after one
        attempt, and nothing of it is kept."""
        add_people(db, "taken")
        for exc_type, fn in (
            (IntegrityError, lambda s: (s.add(Person(name="dup", email="taken@opcc.example",
                                                     roles=[], created_at=NOW)), s.flush())),
            (NotFoundError, lambda s: (s.add(Person(name="x", email="x@opcc.example",
                                                    roles=[], created_at=NOW)), s.flush(),
                                       (_ for _ in ()).throw(NotFoundError("response", 7)))),
        ):
            calls: list[int] = []
            with pytest.raises(exc_type):
                db.run(lambda s, fn=fn, calls=calls: (calls.append(1), fn(s)))
            assert calls == [1]
        assert names(db) == ["taken"]

    def test_a_refusal_survives_its_dead_connection(self, db: Database) -> None:
        """A refusal raised after the backend died reaches the caller as itself, not as the
        failed ROLLBACK of the closing session (the server already rolled back)."""

        def work(s: Session) -> None:
            terminate(db, backend_pid(s))
            raise NotFoundError("response", 7)

        with pytest.raises(NotFoundError, match="no response 7"):
            db.run(work)
        with pytest.raises(NotFoundError, match="no response 7"):
            db.query(work)

    def test_a_fault_that_persists_is_one_clear_error(self, db: Database) -> None:
        """When every attempt loses its connection, the caller gets one DatabaseError
        naming the number of attempts, not a driver exception."""

        def always_killed(s: Session) -> None:
            terminate(db, backend_pid(s))
            s.execute(text("SELECT 1"))

        with pytest.raises(DatabaseError, match=r"^database busy or unreachable after 3 "
                                                r"attempts: .*terminat"):
            db.run(always_killed, attempts=3)

    def test_connection_lost_during_commit_asks_the_server(self, db: Database) -> None:
        """Lost while committing, the outcome is asked of the server (txid_status): here
        the backend died before the COMMIT landed, so it was aborted and is run again -
        the row exists exactly once."""
        calls: list[int] = []

        def kill_before_commit(session: Session) -> None:
            terminate(db, backend_pid(session))

        def work(s: Session) -> None:
            calls.append(1)
            s.add(Person(name="maybe", email="maybe@opcc.example", roles=[], created_at=NOW))
            s.flush()
            if len(calls) == 1:
                event.listen(s, "before_commit", kill_before_commit, once=True)

        db.run(work)
        assert calls == [1, 1]
        assert names(db) == ["maybe"]

    def test_lost_commit_of_an_audited_change_is_asked_by_its_own_id(
            self, db: Database) -> None:
        """A transaction that appended to the audit chain learned its id with the chain
        lock (no extra round trip under it); lost at the commit, that id is what the
        server is asked about. The backend died before the COMMIT: run again, and the
        chain holds the event exactly once and verifies."""
        calls: list[int] = []
        seen: list[tuple[int, int]] = []

        def kill_before_commit(session: Session) -> None:
            terminate(db, backend_pid(session))

        def work(s: Session) -> None:
            calls.append(1)
            trail.append(s, at=NOW, actor="t@opcc.example", action=trail.Action.EDITED,
                         reason="once", by=trail.Provenance.here("cli"))
            own = int(s.execute(text("SELECT txid_current()")).scalar_one())
            seen.append((int(s.info[XID_KEY]), own))
            if len(calls) == 1:
                event.listen(s, "before_commit", kill_before_commit, once=True)

        db.run(work)
        assert calls == [1, 1]
        assert all(recorded == own for recorded, own in seen)
        with db.read() as s:
            reasons = s.scalars(select(AuditEvent.reason)).all()
        assert reasons == ["once"]
        assert trail.verify(db).ok

    def test_commit_outcome_is_read_from_the_server(self, db: Database) -> None:
        """``txid_status`` tells a committed transaction from a rolled-back one."""
        with db.write() as s:
            kept = db._xid(s)
        with db.write() as s:
            dropped = db._xid(s)
            s.rollback()
        err = OperationalError("COMMIT", {}, Exception("gone"))
        assert kept is not None
        assert dropped is not None
        assert db._committed(kept, err) is True
        assert db._committed(dropped, err) is False

    def test_query_retries_a_terminated_read(self, db: Database) -> None:
        """A read whose backend is terminated mid-transaction is run again."""
        calls: list[int] = []

        def read(s: Session) -> int:
            calls.append(1)
            if len(calls) == 1:
                terminate(db, backend_pid(s))
            return int(s.execute(text("SELECT count(*) FROM person")).scalar_one())

        assert db.query(read) == 0
        assert calls == [1, 1]


def test_transient_classification_and_backoff() -> None:
    """Only driver errors are transient; the backoff is jittered and capped at 1 s."""
    assert not transient(ValueError("x"))
    assert not transient(NotFoundError("response", 1))
    waits = [backoff(n) for n in range(1, 12) for _ in range(20)]
    assert max(waits) <= 1.0
    assert len(set(waits)) > 100


# -- the CLI: a backend terminated under a real s55 process ------------------------------


@contextmanager
def row_locked(db: Database, response_id: int) -> Iterator[psycopg.Connection]:
    """Hold response ``response_id``'s row lock in a separate transaction."""
    with psycopg.connect(psycopg_url(db)) as conn:
        conn.execute("SELECT 1 FROM response WHERE id = %s FOR UPDATE", (response_id,))
        yield conn
        conn.rollback()


def waiting_s55_backend(db: Database, deadline: float) -> int:
    """The pid of an s55 backend blocked on a lock (poll until it shows up)."""
    with psycopg.connect(psycopg_url(db), autocommit=True) as conn:
        row = wait_until(
            lambda: conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                 "'s55' AND wait_event_type = 'Lock'").fetchone(),
            lambda r: r is not None, timeout=max(0.0, deadline - time.monotonic()),
            what="an s55 backend blocked on the row lock")
    return int(row[0])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
@pytest.mark.slow
def test_cli_transition_survives_its_backend_being_terminated(db: Database, db_url: str,
                                                              tmp_path: Path) -> None:
    """``s55 request-force-input`` whose backend is terminated mid-transaction (while it
    waits on a row lock) retries transparently: exit 0, no traceback, one transition."""
    from tests.factories import ADMIN, norfolk
    from workflow.audit import trail
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow

    wf = Workflow(db, Settings(database_url=db_url, spool_dir=tmp_path / "spool"))
    rid = norfolk(wf)
    env = {**os.environ, "S55_DATABASE_URL": db_url, "S55_ACTOR": ADMIN,
           "S55_SPOOL_DIR": str(tmp_path / "spool"), "PYTHONPATH": str(ROOT)}
    with row_locked(db, rid):
        proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "request-force-input",
                                 str(rid)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        killed = waiting_s55_backend(db, time.monotonic() + 60)
        terminate(db, killed)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Error" not in err
    with db.read() as s:
        transitions = [e for e in trail.events_for(s, rid) if e.action == "transition"]
    assert [e.to_state for e in transitions] == ["force_input"]
    assert trail.verify(db).ok


@pytest.mark.slow
def test_cli_unreachable_database_is_one_error_line(tmp_path: Path) -> None:
    """A PostgreSQL URL nobody answers on gives one ``Error:`` line and exit 1."""
    env = {**os.environ, "S55_DATABASE_URL": "postgresql://s55@127.0.0.1:9/s55",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "workflow.cli", "list"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("Error: cannot open database postgresql://s55@127.0.0.1:9/s55")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
def test_the_planners_raw_read_is_retried_after_its_backend_is_terminated(
        db: Database, settings: Settings) -> None:
    """The escalation planner reads on the driver's own cursor; a backend terminated under it
    is still seen as a lost connection and the read runs again (it used to escape as a raw
    psycopg error and stop a scheduler's sweep)."""
    from tests.factories import norfolk
    from workflow.escalations.plan import open_responses
    from workflow.responses.service import Workflow

    rid = norfolk(Workflow(db, settings))
    attempts: list[int] = []

    def read(s: Session) -> object:
        attempts.append(1)
        if len(attempts) == 1:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
            with psycopg.connect(psycopg_url(db), autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return open_responses(s)

    dates, _ = db.query(read)  # type: ignore[misc]
    assert len(attempts) == 2
    assert list(dates) == [rid]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
def test_a_fetch_without_a_session_is_retried_after_its_backend_is_terminated(
        db: Database) -> None:
    """``Database.fetch`` (the planner's read, no Session) runs again on a fresh connection
    when its backend is terminated under its statement; a statement that fails for good is
    refused at once, not retried."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE SEQUENCE once")
    rows = db.fetch("SELECT CASE WHEN nextval('once') = 1 "
                    "THEN pg_terminate_backend(pg_backend_pid()) END, 7")
    assert rows == [(None, 7)]
    assert db.fetch("SELECT last_value FROM once") == [(2,)]  # two attempts, no more
    with pytest.raises(DBAPIError, match="no_such_table"):
        db.fetch("SELECT * FROM no_such_table")
    assert db.fetch("SELECT last_value FROM once") == [(2,)]


def test_a_connection_broken_on_the_clients_side_is_transient() -> None:
    """psycopg reports a connection that died mid-reply ("server closed the connection
    unexpectedly") as an OperationalError with no SQLSTATE, which SQLAlchemy does not always
    mark invalidated; every server-reported error has a SQLSTATE. Only the former is run
    again (test_stress saw it escape a dispatcher)."""
    import sqlite3

    broken = psycopg.OperationalError("consuming input failed: server closed the connection "
                                      "unexpectedly")
    assert broken.sqlstate is None
    assert transient(OperationalError("SELECT 1", None, broken))
    assert transient(OperationalError("SELECT 1", None, psycopg.errors.AdminShutdown()))
    assert not transient(OperationalError("SELECT 1", None, psycopg.errors.QueryCanceled()))
    assert not transient(OperationalError("SELECT 1", None,
                                          sqlite3.OperationalError("no such table: x")))
