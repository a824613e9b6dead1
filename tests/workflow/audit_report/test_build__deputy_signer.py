"""A response the PCC's deputy signed under a delegation, through the real service: the
auditor's report names the deputy, their role, the PCC they signed for and the delegation,
and the fingerprint the sign-off recorded (both databases)."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import pytest
from factories import ADMIN, FORCE, PCC, answer_all
from journey_support import DEPUTY, SIGNING, answer_areas, delegate, frozen_at, register

from workflow.audit_report.build import build_report
from workflow.audit_report.render import to_csv, to_html
from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.documents.signoff import signed
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent

_signing = frozen_at(SIGNING)
SIGNER = (f"Chief Executive, Deputy PCC, for Giles Orpen-Smellie <{PCC}> under "
          "delegation #1")


@pytest.fixture
def wf(db: Database, settings: Settings) -> Workflow:
    w = Workflow(db, settings)
    register(w)
    w.fire(1, "request_force_input", ADMIN)
    answer_all(w, 1)
    answer_areas(w, 1)
    w.fire(1, "submit_force_input", FORCE)
    assert delegate(w, date(2024, 11, 1), date(2024, 11, 30)) == 1
    content.edit_text(w, 1, "pcc_response", "I welcome the report.", DEPUTY)
    w.fire(1, "sign_off", DEPUTY)
    return w


def test_the_deputy_their_role_the_pcc_and_the_delegation(wf: Workflow) -> None:
    report = build_report(wf.db, date(2024, 4, 1), date(2025, 3, 31), SystemClock())
    [line] = report.responses
    assert line.signed_off is not None
    assert (line.signed_off.by, line.signed_off.role, line.signed_off.delegation) == (
        DEPUTY, "Deputy PCC", "1")
    assert line.signed_off.signer() == SIGNER
    with wf.db.read() as s:
        events = list(s.query(AuditEvent).filter(AuditEvent.response_id == 1)
                      .order_by(AuditEvent.id))
    recorded = signed(events)
    assert recorded is not None
    assert line.signed_off.fingerprint == recorded["fingerprint"]
    assert html.escape(SIGNER, quote=False) in to_html(report)
    [row] = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert (row["signed_off_as"], row["signed_off_under_delegation"],
            row["signed_fingerprint"]) == (SIGNER, "1", recorded["fingerprint"])
    assert recorded["for"] == PCC
