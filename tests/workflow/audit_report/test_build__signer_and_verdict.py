"""What the auditor's report states besides the dates: the portal reference, the signed
fingerprint, who signed and in what role (and under which delegation), the responses to
earlier reports still open, the days left to a deadline still to come, and the full check
of the record made with the report (its verdict and the chain's head).

The history is the 2024/25 year of ``test_build__histories_of_the_real_service.py``
beside this file (responses A to E, made
through the real service on both databases); E's report was published in March 2024 and
the response is still a draft.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from states.words import due_in
from tests.factories import PCC, behind_the_triggers
from tests.workflow.audit_report.test_build__histories_of_the_real_service import (
    AS_OF,
    TITLE_C,
    YEAR,
    history,
    report_at,
    utc,
)
from workflow.audit import trail
from workflow.audit_report.build import build_report, sign_off_from
from workflow.audit_report.model import Outcome, SignOff
from workflow.audit_report.render import CSV_COLUMNS, timeliness, to_csv, to_html, to_json
from workflow.core.clock import FixedClock
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent


@pytest.fixture
def wf(db: Database, settings: Settings) -> Workflow:
    return Workflow(db, settings)


@pytest.fixture
def ids(wf: Workflow) -> dict[str, int]:
    return history(wf)


def _sign_off_fingerprint(wf: Workflow, rid: int) -> str:
    with wf.db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.response_id == rid, AuditEvent.trigger == "sign_off")).one()  # type: ignore[arg-type]
    fingerprint: str = json.loads(event.payload)["fingerprint"]
    return fingerprint


def test_the_portal_reference_the_fingerprint_and_the_signer(
        wf: Workflow, ids: dict[str, int]) -> None:
    report = report_at(wf)
    a = next(line for line in report.responses if line.response_id == ids["A"])
    assert a.portal_reference == "HMI-2024-0457"
    assert a.signed_off is not None
    assert a.signed_off.fingerprint == _sign_off_fingerprint(wf, ids["A"])
    assert len(a.signed_off.fingerprint or "") == 64
    assert a.signed_off.signer() == "Giles Orpen-Smellie, Police and Crime Commissioner"
    html = to_html(report)
    for text in ("HMI-2024-0457", a.signed_off.fingerprint,
                 "Giles Orpen-Smellie, Police and Crime Commissioner"):
        assert text in html
    row = next(r for r in _csv(report) if r["response_id"] == str(ids["A"]))
    assert (row["portal_reference"], row["signed_fingerprint"], row["signed_off_as"]) == (
        "HMI-2024-0457", a.signed_off.fingerprint,
        "Giles Orpen-Smellie, Police and Crime Commissioner")
    signed = next(r for r in json.loads(to_json(report))["responses"]
                  if r["response_id"] == ids["A"])["signed_off"]
    assert (signed["role"], signed["fingerprint"]) == (
        "Police and Crime Commissioner", a.signed_off.fingerprint)


def test_a_deputy_signs_for_the_pcc_under_a_delegation() -> None:
    """The delegation and the PCC as a sign-off under one records them (``for``)."""
    event = AuditEvent(id=1, at=utc("2024-11-01 09:00"), actor="deputy@norfolk-pcc.gov.uk",
                       action="transition", trigger="sign_off", payload="{}", prev_hash="",
                       hash="")
    names = {"deputy@norfolk-pcc.gov.uk": "Dee Puty", PCC: "Giles Orpen-Smellie"}
    signed = sign_off_from(event, {"delegation": 3, "for": PCC, "fingerprint": "ab" * 32},
                           names)
    assert (signed.role, signed.fingerprint) == ("Deputy PCC", "ab" * 32)
    assert signed.signer() == (f"Dee Puty, Deputy PCC, for Giles Orpen-Smellie <{PCC}> "
                               "under delegation #3")
    alone = SignOff(at=utc("2024-11-01 09:00"), by=PCC, name=None)
    assert alone.signer() == f"{PCC}, Police and Crime Commissioner"


def test_an_overdue_response_from_an_earlier_year_has_its_own_section(
        wf: Workflow, ids: dict[str, int]) -> None:
    """E (report 15 Mar 2024, deadline 9 May 2024, still a draft) is listed in 2024/25
    as still open from an earlier period, overdue, and not counted; nothing closed from
    an earlier year is listed."""
    report = report_at(wf)
    assert [line.response_id for line in report.earlier] == [ids["E"]]
    [e] = report.earlier
    assert (e.outcome, e.statutory_deadline, e.days_late) == (
        Outcome.OVERDUE, date(2024, 5, 9), 320)
    assert ids["E"] not in [line.response_id for line in report.responses]
    assert report.summary.counted == 2
    html = to_html(report)
    assert '<h2 id="earlier">Still open from earlier periods</h2>' in html
    assert "320 days overdue" in html
    data = json.loads(to_json(report))
    assert [r["response_id"] for r in data["still_open_from_earlier_periods"]] == [ids["E"]]
    assert data["summary"]["counted"] == 2
    rows = _csv(report)
    assert [(r["response_id"], r["listed"]) for r in rows][-1] == (
        str(ids["E"]), "still open from an earlier period")
    # The year after: E still open, and of A to D's year B (published, not yet on the
    # portal) and C (a draft); A is on the portal and D closed.
    later = report_at(wf, "2025-06-01 12:00", date(2025, 4, 1), date(2026, 3, 31))
    assert [line.response_id for line in later.earlier] == [ids["E"], ids["B"], ids["C"]]
    assert [line.outcome for line in later.earlier] == [Outcome.OVERDUE, Outcome.LATE,
                                                        Outcome.OVERDUE]


@pytest.mark.parametrize(("when", "words"), [
    (AS_OF, "due in 50 days"),
    ("2025-05-13 12:00", "due tomorrow"),
    ("2025-05-14 12:00", "due today"),
])
def test_a_deadline_to_come_says_how_many_days(wf: Workflow, ids: dict[str, int],
                                              when: str, words: str) -> None:
    """C (deadline 14 May 2025) is not yet due: the report says when it is."""
    c = next(line for line in report_at(wf, when).responses if line.title == TITLE_C)
    assert c.outcome is Outcome.NOT_YET_DUE
    assert timeliness(c) == words
    assert f"<td>{words}</td>" in to_html(report_at(wf, when))


def test_days_to_a_deadline_in_words() -> None:
    assert [due_in(n) for n in (3, 1, 0, -1, -4)] == [
        "due in 3 days", "due tomorrow", "due today", "1 day overdue", "4 days overdue"]


def test_the_verdict_and_head_of_the_record_when_made(wf: Workflow,
                                                      ids: dict[str, int]) -> None:
    """The report runs ``s55 audit verify``'s check: a whole record is "verified" with
    the head ``trail.verify`` gives; an event changed behind the database's back makes
    the report say NOT VERIFIED and name the event."""
    report = report_at(wf)
    result = trail.verify(wf.db)
    assert report.check is not None
    assert (report.check.ok, report.check.events, report.check.head) == (
        True, result.count, result.head)
    assert report.check.verdict().startswith(f"verified: {result.count} events")
    html = to_html(report)
    assert result.head in html
    assert json.loads(to_json(report))["record_check"]["head"] == result.head
    behind_the_triggers(wf.db, "UPDATE audit_event SET reason = 'rewritten' "
                               "WHERE id = (SELECT MIN(id) FROM audit_event "
                               "WHERE trigger = 'return_to_force')")
    broken = report_at(wf)
    assert broken.check is not None
    assert not broken.check.ok
    assert broken.check.verdict().startswith("NOT VERIFIED: audit chain broken at event ")
    assert "NOT VERIFIED" in to_html(broken)


def test_a_report_made_without_the_check_states_none(wf: Workflow,
                                                     ids: dict[str, int]) -> None:
    unchecked = build_report(wf.db, *YEAR, FixedClock(utc(AS_OF)), check=False)
    assert unchecked.check is None
    assert "Record check" not in to_html(unchecked)
    assert json.loads(to_json(unchecked))["record_check"] is None
    assert {"signed_off_as", "signed_fingerprint", "portal_reference", "days_left",
            "listed"} <= set(CSV_COLUMNS)


def _csv(report: object) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(to_csv(report))))  # type: ignore[arg-type]
