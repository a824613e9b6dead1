"""`s55 audit verify` retries a terminated PostgreSQL backend as every command does.

The backend reading the log is terminated from another connection while verify reads it
(``pg_terminate_backend`` waiting until it is gone: no race, no sleep). Verify opens the
connection again, goes on after the last event it read, and gives the full, right result:
every event checked once, the replay fed each event once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from tests.factories import ADMIN, FORCE, norfolk
from workflow.assurance import replay
from workflow.audit import trail
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

pytestmark = pytest.mark.postgresql
ON_POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
VERIFY_READ = "WHERE audit_event.id >"  # verify's read of the log (VERIFIED_COLUMNS)


@pytest.fixture
def wf_thirty_edits(db: Database, settings: Settings) -> Workflow:
    """Norfolk's response with thirty edits of one answer: enough events to cut the read midway."""
    w = Workflow(db, settings)
    rid = norfolk(w)
    for i in range(30):  # enough events that the read is mid-stream when it is cut
        content.edit_recommendation(w, rid, 1, "force_response", f"Answer {i}.", FORCE)
    return w


class Reader:
    """The backend of verify's reading connection (seen as its statement runs), and a way
    to terminate it from outside."""

    def __init__(self, url: str) -> None:
        self.url, self.pids, self.terminated = url, [], 0

    def seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if VERIFY_READ in statement:
            self.pids.append(conn.connection.dbapi_connection.info.backend_pid)

    def terminate(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as admin:
            # Waits (up to 10 s) until the backend has exited: the next fetch fails.
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)",
                                 (self.pids[-1],)).fetchone() == (True,)
        self.terminated += 1


@pytest.fixture
def reader(db_url: str) -> Iterator[Reader]:
    found = Reader(db_url)
    sa_event.listen(Engine, "after_cursor_execute", found.seen)
    yield found
    sa_event.remove(Engine, "after_cursor_execute", found.seen)


@ON_POSTGRESQL
def test_verify_goes_on_after_its_backend_is_terminated_mid_read(wf_thirty_edits: Workflow,
                                                                 reader: Reader) -> None:
    total = trail.head(wf_thirty_edits.db).count
    fed: list[int] = []

    def each(row: Any) -> None:
        fed.append(row[0])
        if row[0] == 10 and not reader.terminated:  # mid-read: the cursor is open
            reader.terminate()

    result = trail.verify(wf_thirty_edits.db, each=each)
    assert reader.terminated == 1
    assert len(reader.pids) == 2  # read again, on a new connection
    assert reader.pids[0] != reader.pids[1]
    assert result.ok
    assert (result.count, result.head) == (total, trail.head(wf_thirty_edits.db).hash)
    assert fed == sorted(set(fed))  # every event once, in order
    assert len(fed) == total


@ON_POSTGRESQL
def test_the_command_succeeds_with_the_right_result(wf_thirty_edits: Workflow, reader: Reader,
                                                    run: Any) -> None:
    """Through ``s55 audit verify``: its backend terminated as soon as it starts reading
    the log; the command still checks every event and the replay of every response."""
    total = trail.head(wf_thirty_edits.db).count

    def cut(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if VERIFY_READ in statement and not reader.terminated:
            reader.terminate()

    sa_event.listen(Engine, "after_cursor_execute", cut)
    try:
        result = run("audit", "verify", actor=ADMIN)
    finally:
        sa_event.remove(Engine, "after_cursor_execute", cut)
    assert reader.terminated == 1
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {total} events" in result.stdout
    assert "rows OK: every response equals the replay of its events" in result.stdout


@ON_POSTGRESQL
def test_a_tampered_row_is_still_named_after_a_terminated_backend(wf_thirty_edits: Workflow,
                                                                  reader: Reader) -> None:
    with wf_thirty_edits.db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE response SET pcc_response = 'forged' WHERE id = 1")
    done = replay.Replay()

    def each(row: Any) -> None:
        done.row(row)
        if row[0] == 5 and not reader.terminated:
            reader.terminate()

    assert trail.verify(wf_thirty_edits.db, each=each).ok
    assert [d.describe() for d in replay.differences(wf_thirty_edits.db, done)] == [
        "response 1: pcc_response is 'forged' in the row but None by its events"]
