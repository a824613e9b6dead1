"""Two real daemons (``s55 run``) on one PostgreSQL database, started together.

The claim: each escalation is sent exactly once between them, counted by Message-ID at
a real SMTP server (aiosmtpd), and recorded once (one ESCALATION event per response).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from smtp_server import Server
from sqlalchemy import func, select
from waiting import wait_until

from states import State
from states.escalations import LONDON, Dates, plan
from tests.factories import ADMIN, CHIEF_EXEC, FORCE, PCC, add_people, answer_all, norfolk_report
from workflow.audit import trail
from workflow.audit.words import Action
from workflow.core.settings import Settings
from workflow.escalations.plan import load_policy, moment_at
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, EscalationFiring, OutboxMessage, Response

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2024, 12, 20, 10, 0, tzinfo=LONDON)
EMAIL = {"admin": ADMIN, "force": FORCE, "pcc": PCC, "chief_executive": CHIEF_EXEC}
STATES = [State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF, State.FORWARDED_TO_PANEL]
TRIGGERS = [("request_force_input", ADMIN), ("submit_force_input", FORCE), ("sign_off", PCC)]


def seed(wf: Workflow, n: int) -> dict[int, list[str]]:
    """``n`` responses published on different days, in the four pre-publication states;
    returns who each one's catch-up escalation must reach."""
    expected: dict[int, list[str]] = {}
    policy = load_policy(wf.settings)
    with time_machine.travel(datetime(2024, 11, 1, 9, tzinfo=UTC), tick=False):
        add_people(wf)
        for i in range(n):
            published = date(2024, 8, 20) + timedelta(days=3 * i)
            rid = content.add_report(wf, norfolk_report(title=f"Inspection {i}",
                                                        published_on=published.isoformat()),
                                     ADMIN).id or 0
            answer_all(wf, rid)
            content.edit_text(wf, rid, "pcc_response", "I welcome this report.", PCC)
            for trigger, actor in TRIGGERS[:i % len(STATES)]:
                wf.fire(rid, trigger, actor)
            with wf.db.read() as s:
                row = s.get(Response, rid)
                assert row is not None
                state = State(row.state)
                # As the daemon plans: on working days, telling those who can act.
                p = plan(Dates(state, row.deadline), policy, set(), moment_at(wf.settings, NOW))
            assert p.due is not None, "every response has something to catch up"
            expected[rid] = sorted({EMAIL[r.value] for r in p.due.rule.recipients_in(state)[0]})
    return expected


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)  # the case is PostgreSQL's own
def test_two_daemons_on_postgresql_send_each_escalation_once(
        db: Database, settings: Settings, smtp_server: Server, tmp_path: Path) -> None:
    """Two ``s55 run`` processes started together, the clock set past several rules for
    24 responses: every mail arrives exactly once (by Message-ID), each response has
    exactly one ESCALATION event whose mail reached the rule's roles, and both daemons
    exit 0 on SIGTERM."""
    wf = Workflow(db, settings)
    expected = seed(wf, 24)
    with db.read() as s:  # the transitions' own mail is delivered too
        total = sum(len(v) for v in expected.values()) + s.execute(
            select(func.count()).select_from(OutboxMessage)).scalar_one()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "S55_DATABASE_URL": settings.database_url,
           "S55_SMTP_HOST": smtp_server.host, "S55_SMTP_PORT": str(smtp_server.port),
           "S55_SMTP_SECURITY": "none", "S55_MAIL_BATCH_SIZE": "5"}
    procs = [subprocess.Popen([sys.executable, "-m", "workflow.cli", "run", "--now",
                               NOW.isoformat(), "--mail-every", "0.2"], env=env, cwd=tmp_path,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        # Both have finished their catch-up and emptied the outbox: every row queued is sent
        # (the condition asserted, polled with a deadline; not "the SMTP server has them").
        def statuses() -> dict[str, int]:
            with db.read() as s:
                rows = s.execute(select(OutboxMessage.status, func.count())
                                 .group_by(OutboxMessage.status)).all()  # type: ignore[arg-type]
                return {status: count for status, count in rows}

        assert wait_until(statuses, lambda c: c.get("sent", 0) >= total, timeout=120,
                          what="every mail marked sent") == {"sent": total}
        for p in procs:
            p.send_signal(signal.SIGTERM)
        logs = [p.communicate(timeout=60)[1] for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert [p.returncode for p in procs] == [0, 0], logs
    assert all("catch-up sweep" in log for log in logs), logs
    received = Counter(smtp_server.handler.message_ids())
    assert len(received) == total
    assert max(received.values()) == 1
    got: dict[int, list[str]] = {}
    with db.read() as s:
        for rid, rcpt in s.execute(select(OutboxMessage.response_id, OutboxMessage.recipient)
                                   .where(OutboxMessage.kind.startswith("escalation_"))):  # type: ignore[attr-defined]
            got.setdefault(rid or 0, []).append(rcpt)
        events = Counter(s.scalars(select(AuditEvent.response_id).where(
            AuditEvent.action == str(Action.ESCALATION))))
        fired = s.execute(select(func.count()).select_from(EscalationFiring).where(
            EscalationFiring.status == "fired")).scalar_one()
    assert {k: sorted(v) for k, v in got.items()} == expected
    assert events == Counter(dict.fromkeys(expected, 1))
    assert fired == len(expected)
    assert trail.verify(db).ok
