"""The daemon (workflow.escalations.daemon): the real APScheduler started briefly, the SQLite lock,
SIGTERM. The clock is fixed (``--now`` / ``FixedClock``); nothing here waits on time
passing, only on the daemon reporting what it did.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from smtp_server import Server
from sqlalchemy import func, select

from states.escalations import LONDON, firing_instant
from tests.factories import CHIEF_EXEC, NORFOLK_DEADLINE, PCC, norfolk
from workflow.audit import trail
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.escalations.daemon import Daemon, scheduler_lock
from workflow.escalations.plan import PolicyError
from workflow.escalations.sweep import last_heartbeat
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import EscalationFiring, OutboxMessage

ROOT = Path(__file__).resolve().parents[3]
D = NORFOLK_DEADLINE
NOW = datetime(2024, 11, 28, 10, 0, tzinfo=LONDON)  # D-6: publish-d7 is due


@pytest.fixture
def wf_published_day(db: Database, settings: Settings) -> Workflow:
    """Norfolk's people and report, imported on the day the report was published."""
    wf_published_day = Workflow(db, settings)
    with time_machine.travel(datetime(2024, 10, 10, 10, tzinfo=UTC), tick=False):
        norfolk(wf_published_day)
    return wf_published_day


def smtp_settings(settings: Settings, server: Server) -> Settings:
    return settings.model_copy(update={"smtp_host": server.host, "smtp_port": server.port,
                                       "smtp_security": "none"})


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_real_scheduler_catches_up_delivers_and_stops(wf_published_day: Workflow,
                                                          settings: Settings,
                                                         smtp_server: Server) -> None:
    """Started at D-6 with nothing fired, the daemon's catch-up sweep sends publish-d7 to
    the PCC and chief executive (the two older rules superseded), its mail job delivers
    both over SMTP, every job is an interval or date trigger with no misfire grace,
    coalesced, one instance, the next firing is planned for D-2 09:00 London, and a
    stop ends it with no thread left behind."""
    delivered = threading.Event()
    smtp_server.handler.on_data = lambda n: delivered.set() if n == 2 else None  # type: ignore[func-returns-value]
    daemon = Daemon(wf_published_day.db, smtp_settings(settings, smtp_server), FixedClock(NOW),
                    worker="t1")
    seen: dict[str, Any] = {}

    async def main() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(daemon.run(stop, ready=ready, install_signals=False))
        await asyncio.wait_for(ready.wait(), 60)
        assert daemon.scheduler is not None
        seen["jobs"] = {j.id: (type(j.trigger).__name__, j.misfire_grace_time, j.coalesce,
                               j.max_instances, j.next_run_time)
                        for j in daemon.scheduler.get_jobs()}
        seen["wall"] = datetime.now(UTC)
        assert await asyncio.to_thread(delivered.wait, 60)
        stop.set()
        await asyncio.wait_for(task, 60)

    asyncio.run(main())
    jobs = seen["jobs"]
    assert set(jobs) == {"sweep", "mail", "heartbeat", "checkpoint", "next-firing"}
    assert {v[0] for v in jobs.values()} <= {"IntervalTrigger", "DateTrigger"}
    assert jobs["next-firing"][0] == "DateTrigger"
    assert all(v[1:4] == (None, True, 1) for v in jobs.values())
    planned = firing_instant(D - timedelta(days=2), 9)
    wait = jobs["next-firing"][4] - seen["wall"]
    assert abs(wait - (planned - NOW)) < timedelta(minutes=1)
    assert daemon.last_report is not None
    assert [f.rule_id for f in daemon.last_report.fired] == ["publish-d7"]
    assert sorted(r.recipients[0] for r in smtp_server.handler.received) == sorted(
        [CHIEF_EXEC, PCC])
    with wf_published_day.db.read() as s:
        statuses = sorted(s.scalars(select(EscalationFiring.status)))
    assert statuses == ["fired", "superseded", "superseded"]
    assert daemon.scheduler is None
    assert last_heartbeat(wf_published_day.db) == NOW
    assert trail.verify(wf_published_day.db).ok


def test_a_bad_policy_stops_the_daemon_before_it_starts(wf_published_day: Workflow,
                                                        settings: Settings,
                                                        tmp_path: Path) -> None:
    """The policy is loaded in the constructor: a bad one raises before any lock, job or
    row exists."""
    path = tmp_path / "policy.toml"
    path.write_text("[[rule]]\nid = 'x'\n")
    with pytest.raises(PolicyError, match="rule 'x': missing 'offset_days'"):
        Daemon(wf_published_day.db, settings.model_copy(update={"policy_file": path}),
               FixedClock(NOW))
    assert count(wf_published_day.db, EscalationFiring) == 0
    assert last_heartbeat(wf_published_day.db) is None


def _env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "S55_DATABASE_URL": settings.database_url,
            "S55_SPOOL_DIR": str(tmp_path / "spool"), **extra}


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "workflow.cli", "run", "--now",
                             NOW.isoformat(), *args], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class LogReader:
    """Collects a daemon's stderr lines on a thread, so a test can wait with a deadline
    (a daemon that never logs the line must fail the test, not hang it)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, needle: str, timeout: float = 60.0) -> list[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {needle!r} within {timeout} s: "
                                     f"{''.join(self.seen)[-3000:]}") from None
            if line is None:
                raise AssertionError(f"daemon exited before {needle!r}: {''.join(self.seen)}")
            self.seen.append(line)
            if needle in line:
                return self.seen

    def rest(self) -> str:
        """Everything after the daemon exits (call once it is stopped)."""
        self.thread.join(timeout=60)
        while (line := self.lines.get_nowait() if not self.lines.empty() else None):
            self.seen.append(line)
        return "".join(self.seen)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_daemon_stops_cleanly_on_a_signal(wf_published_day: Workflow, settings: Settings,
                                              tmp_path: Path,
                                              sig: signal.Signals) -> None:
    """``s55 run`` catches up, then on SIGTERM/SIGINT finishes the work in hand and exits 0;
    the escalation it fired is recorded once and its mail spooled."""
    proc = _run(_env(settings, tmp_path), tmp_path, "--mail-every", "0.2")
    reader = LogReader(proc)
    try:
        log = reader.wait_for("mail: sent 2")
        assert any("catch-up sweep: 1 open responses, fired 1, superseded 2" in line
                   for line in log)
        assert any("next escalation: publish-d2 for response 1 at 2024-12-02T09:00:00+00:00"
                   in line for line in log)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        err = reader.rest()
    assert proc.returncode == 0, err
    assert f"{sig.name} received: stopping after the work in hand" in err
    assert "stopped" in err.splitlines()[-1]
    assert count(wf_published_day.db, EscalationFiring) == 3
    assert count(wf_published_day.db, OutboxMessage) == 2
    assert len(list((tmp_path / "spool").rglob("*.eml"))) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the case is SQLite's own
@pytest.mark.slow
def test_a_second_daemon_on_sqlite_is_refused(wf_published_day: Workflow, settings: Settings,
                                              tmp_path: Path) -> None:
    """While one daemon holds the SQLite lock file, ``s55 run`` exits 1 with one line
    naming the holder and the lock, and fires nothing."""
    lock = Path(str(wf_published_day.db.url).removeprefix("sqlite:///") + ".scheduler.lock")
    with scheduler_lock(wf_published_day.db, "first-daemon"):
        proc = _run(_env(settings, tmp_path), tmp_path)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err == (f"Error: another s55 scheduler (first-daemon) holds {lock}; only one may "
                   "run against a SQLite database (use PostgreSQL for several)\n")
    assert count(wf_published_day.db, EscalationFiring) == 0


@pytest.mark.slow
def test_sweep_cli_fires_once_and_reports(wf_published_day: Workflow, settings: Settings,
                                          tmp_path: Path) -> None:
    """``s55 escalations sweep --now`` fires what is due and prints a summary line and the
    one sent (not the two superseded); run again at the same moment it fires nothing."""
    env = _env(settings, tmp_path)
    cmd = [sys.executable, "-m", "workflow.cli", "escalations", "sweep", "--now",
           NOW.isoformat()]
    first = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "1 response checked, 1 reminder sent, 2 superseded",
        f"response 1: publish-d7 (due {D - timedelta(7)}) to {PCC}, {CHIEF_EXEC}"]
    again = subprocess.run([*cmd, "--verbose"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert again.stdout.splitlines() == ["1 response checked, 0 reminders sent, 0 superseded"]


@pytest.mark.slow
def test_plan_and_list_cli(wf_published_day: Workflow, settings: Settings, tmp_path: Path) -> None:
    """``plan --json`` lists the due firing, the ones a sweep would supersede and the
    coming ones, with recipients, and sends nothing;
    ``list --json`` shows the fired and superseded ones after a sweep."""
    env = _env(settings, tmp_path)
    base = [sys.executable, "-m", "workflow.cli", "escalations"]
    plan = subprocess.run([*base, "plan", "1", "--days", "10", "--json", "--now",
                           NOW.isoformat()], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    rows = json.loads(plan.stdout)
    assert [(r["rule"], r["occurrence"], r["day"], r["status"]) for r in rows] == [
        ("draft-d42", 0, str(D - timedelta(42)), "superseded now"),
        ("signoff-d14", 0, str(D - timedelta(14)), "superseded now"),
        ("publish-d7", 0, str(D - timedelta(7)), "due now"),
        ("publish-d2", 0, str(D - timedelta(2)), "planned"),
        ("overdue", 0, str(D), "planned"),
    ]
    assert rows[2]["recipients"] == [PCC, CHIEF_EXEC]
    assert count(wf_published_day.db, EscalationFiring) == 0
    subprocess.run([*base, "sweep", "--now", NOW.isoformat()], env=env, cwd=tmp_path,
                   check=True, capture_output=True, timeout=60)
    listed = subprocess.run([*base, "list", "--json"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    fired = json.loads(listed.stdout)
    assert sorted((r["rule"], r["status"]) for r in fired) == [
        ("draft-d42", "superseded"), ("publish-d7", "fired"), ("signoff-d14", "superseded")]
    assert next(r for r in fired if r["status"] == "fired")["recipients"] == [PCC, CHIEF_EXEC]
    assert date.fromisoformat(fired[0]["due_on"]) <= D
