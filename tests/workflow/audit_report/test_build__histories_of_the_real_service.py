"""The auditor's report (``s55 audit report``) over histories made by the real service.

Four responses are taken through s55 on chosen days (time-machine), on both databases; the
figures below (days early or late, time in each state, the rate) are worked out by hand
from those days. CSV and JSON are parsed back; the HTML is read by headless Chromium.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, PCC, add_people, answer_all, norfolk_report, snapshot
from tests.workflow.documents.test_render__html_in_chromium import FIXTURE, Outline, dump_dom
from workflow.audit_report.build import build_report, sign_off_from
from workflow.audit_report.chart import bar_chart
from workflow.audit_report.model import Month, Outcome, judge, period, reporting_year
from workflow.audit_report.render import CSV_COLUMNS, to_csv, to_html, to_json
from workflow.cli import app
from workflow.core.clock import FixedClock
from workflow.mail import delivery
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import AuditEvent

# Slow: every test builds several responses' histories through the real service (seconds each).
pytestmark = pytest.mark.slow

DAY = 86_400
HOUR = 3_600
URL_A = "https://www.norfolk-pcc.gov.uk/s55/asb-spotlight"
TITLE_A = "The policing response to antisocial behaviour: PEEL spotlight report"
TITLE_B = "Race disparity in police criminal justice decisions"
TITLE_C = "An inspection of vetting, misconduct, and misogyny in the police service"
TITLE_D = "State of Policing: The Annual Assessment of Policing in England and Wales"
RETURN_A = "Recommendation 4 needs a date for the new ASB training"
RETURN_B = "Start again: the force's figures were for the wrong year"
CLOSED_D = "National report: the force-specific PEEL report covers it"
#: The s55(6) addresses when none are configured (workflow.core.settings defaults).
HMICFRS, HOME_OFFICE = "s55-comments@hmicfrs.invalid", "s55-comments@homeoffice.invalid"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def on(when: str) -> Iterator[None]:
    """The clock stopped at ``when`` (UTC)."""
    with time_machine.travel(utc(when), tick=False):
        yield


def fire(wf_empty: Workflow, rid: int, when: str, trigger: str, actor: str, **kw: Any) -> None:
    with on(when):
        wf_empty.fire(rid, trigger, actor, **kw)


def register(wf_empty: Workflow, when: str, title: str, published: str, **more: Any) -> int:
    with on(when):
        rid = content.add_report(wf_empty, norfolk_report(title=title, published_on=published,
                                                    recommendations=[],
                                                    cc_response="The force welcomes it.",
                                                    **more), ADMIN).id
        content.edit_text(wf_empty, rid or 0, "pcc_response", "I welcome this report.", PCC)
    return rid or 0


def history(wf_empty: Workflow) -> dict[str, int]:
    """The year 2024/25 of a small OPCC, through the real service (ids by letter).

    A: report 10 Oct 2024 (deadline 4 Dec); returned to the force once; published 4 Nov,
       30 days early; both s55(6) copies delivered on 4 Nov at 10:00; portal on 11 Nov.
    B: report 1 Nov 2024 (deadline 26 Dec); returned to draft once; published 2 Jan 2025,
       7 days late; its s55(6) copies never delivered.
    C: report 20 Mar 2025 (deadline 14 May 2025); still in draft.
    D: report 1 Dec 2024; closed as not required.
    E: report 15 Mar 2024, the year before, still a draft: listed in 2024/25 as still open
       from an earlier period, not counted.
    """
    with on("2024-10-14 08:00"):
        add_people(wf_empty)
    with on("2024-10-14 09:00"):
        a = content.add_report(wf_empty, norfolk_report(), ADMIN).id or 0
        answer_all(wf_empty, a)
        content.edit_text(wf_empty, a, "pcc_response", "I welcome this report.", PCC)
    fire(wf_empty, a, "2024-10-16 09:00", "request_force_input", ADMIN)
    fire(wf_empty, a, "2024-10-21 09:00", "submit_force_input", FORCE)
    # The governance officer sends it back on the PCC's word (a PCC who returns it may not
    # sign off the resubmitted comments: separation of duties).
    fire(wf_empty, a, "2024-10-22 09:00", "return_to_force", ADMIN, reason=RETURN_A)
    fire(wf_empty, a, "2024-10-25 09:00", "submit_force_input", FORCE)
    fire(wf_empty, a, "2024-11-01 09:00", "sign_off", PCC)
    fire(wf_empty, a, "2024-11-04 09:00", "publish", ADMIN, params={"url": URL_A})
    delivery.deliver_pending(wf_empty.db, wf_empty.settings, FixedClock(utc("2024-11-04 10:00")))
    fire(wf_empty, a, "2024-11-11 09:00", "submit_to_portal", ADMIN,
         params={"portal_reference": "HMI-2024-0457"})

    b = register(wf_empty, "2024-11-05 09:00", TITLE_B, "2024-11-01")
    fire(wf_empty, b, "2024-11-06 09:00", "request_force_input", ADMIN)
    fire(wf_empty, b, "2024-11-07 09:00", "submit_force_input", FORCE)
    fire(wf_empty, b, "2024-11-08 09:00", "return_to_draft", ADMIN, reason=RETURN_B)
    fire(wf_empty, b, "2024-11-12 09:00", "request_force_input", ADMIN)
    fire(wf_empty, b, "2024-11-13 09:00", "submit_force_input", FORCE)
    fire(wf_empty, b, "2024-11-14 09:00", "sign_off", PCC)
    fire(wf_empty, b, "2025-01-02 09:00", "publish", ADMIN, params={"url": URL_A + "-b"})

    c = register(wf_empty, "2025-03-21 09:00", TITLE_C, "2025-03-20")
    d = register(wf_empty, "2024-12-02 09:00", TITLE_D, "2024-12-01")
    fire(wf_empty, d, "2024-12-03 09:00", "mark_not_required", ADMIN, reason=CLOSED_D)
    e = register(wf_empty, "2024-10-14 09:00", "Last year's report", "2024-03-15")
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


@pytest.fixture
def ids(wf_empty: Workflow) -> dict[str, int]:
    return history(wf_empty)


#: When the report is made in most tests: 25 March 2025 at noon (GMT), in 2024/25.
AS_OF = "2025-03-25 12:00"
YEAR = (date(2024, 4, 1), date(2025, 3, 31))


def report_at(wf_empty: Workflow, when: str = AS_OF, start: date = YEAR[0], end: date = YEAR[1]):  # type: ignore[no-untyped-def]
    return build_report(wf_empty.db, start, end, FixedClock(utc(when)))


class TestFigures:
    def test_each_response_as_its_log_tells_it(self, wf_empty: Workflow,
                                               ids: dict[str, int]) -> None:
        """Dates, verdicts, days early or late, sign-off, returns, copies and the time in
        each state, each as worked out by hand from the days of the history."""
        report = report_at(wf_empty)
        lines = {line.response_id: line for line in report.responses}
        # Oldest report first; E (report of March 2024) is not in 2024/25.
        assert [x.response_id for x in report.responses] == [ids[k] for k in "ABDC"]

        a = lines[ids["A"]]
        assert (a.title, a.report_published, a.statutory_deadline, a.published_on) == (
            TITLE_A, date(2024, 10, 10), date(2024, 12, 4), date(2024, 11, 4))
        assert (a.outcome, a.days_early, a.days_late, a.state) == (
            Outcome.ON_TIME, 30, None, "portal_submitted")
        assert a.published_url == URL_A
        assert a.signed_off is not None
        assert (a.signed_off.by, a.signed_off.at, a.signed_off.delegation) == (
            PCC, utc("2024-11-01 09:00"), None)
        assert a.signed_off.describe() == f"Giles Orpen-Smellie <{PCC}>"
        assert dict(a.time_in_state) == {"draft": 2 * DAY, "force_input": 8 * DAY,
                                         "pcc_signoff": 8 * DAY, "forwarded_to_panel": 3 * DAY,
                                         "published": 7 * DAY}
        assert [(r.at, r.by, r.trigger, r.from_state, r.to_state, r.reason) for r in a.returns] \
            == [(utc("2024-10-22 09:00"), ADMIN, "return_to_force", "pcc_signoff", "force_input",
                 RETURN_A)]
        assert [(c.to, c.status, c.sent_at) for c in a.copies] == [
            (HMICFRS, "sent", utc("2024-11-04 10:00")),
            (HOME_OFFICE, "sent", utc("2024-11-04 10:00"))]
        assert a.imported is None

        b = lines[ids["B"]]
        assert (b.statutory_deadline, b.published_on, b.outcome, b.days_early, b.days_late) == (
            date(2024, 12, 26), date(2025, 1, 2), Outcome.LATE, None, 7)
        # Published 2 Jan 09:00 to 25 Mar 12:00: 29 + 28 + 25 days, and 3 hours.
        assert dict(b.time_in_state) == {"draft": 5 * DAY, "force_input": 2 * DAY,
                                         "pcc_signoff": 2 * DAY,
                                         "forwarded_to_panel": 49 * DAY,
                                         "published": 82 * DAY + 3 * HOUR}
        assert [(r.trigger, r.reason, r.by) for r in b.returns] == [
            ("return_to_draft", RETURN_B, ADMIN)]
        assert [(c.to, c.status, c.sent_at) for c in b.copies] == [
            (HMICFRS, "pending", None), (HOME_OFFICE, "pending", None)]

        c = lines[ids["C"]]
        assert (c.statutory_deadline, c.outcome, c.days_early, c.days_late, c.signed_off) == (
            date(2025, 5, 14), Outcome.NOT_YET_DUE, None, None, None)
        assert dict(c.time_in_state) == {"draft": 4 * DAY + 3 * HOUR}

        d = lines[ids["D"]]
        assert (d.outcome, d.closed_reason, d.state) == (Outcome.NOT_REQUIRED, CLOSED_D,
                                                         "not_required")
        assert dict(d.time_in_state) == {"draft": 1 * DAY}

    def test_the_rate_and_the_months(self, wf_empty: Workflow, ids: dict[str, int]) -> None:
        """1 of the 2 due responses on time; C (not yet due) and D (not required) are listed
        but not counted; the months run April to March with A in October, B in November."""
        report = report_at(wf_empty)
        s = report.summary
        assert (s.on_time, s.late, s.counted, s.rate) == (1, 1, 2, 0.5)
        assert (s[Outcome.NOT_YET_DUE], s[Outcome.NOT_REQUIRED]) == (1, 1)
        assert [m.first for m in report.months] == [date(2024, m, 1) for m in range(4, 13)] + [
            date(2025, m, 1) for m in (1, 2, 3)]
        assert {m.label: (m.on_time, m.late) for m in report.months if m.on_time or m.late} == {
            "Oct 2024": (1, 0), "Nov 2024": (0, 1)}

    def test_an_unpublished_response_past_its_deadline_counts_as_late(
            self, wf_empty: Workflow, ids: dict[str, int]) -> None:
        """On 1 June 2025, C (deadline 14 May) is 18 days overdue and counted late: 1 of 3."""
        report = report_at(wf_empty, "2025-06-01 12:00")
        c = next(x for x in report.responses if x.response_id == ids["C"])
        assert (c.outcome, c.days_late) == (Outcome.OVERDUE, 18)
        assert (report.summary.on_time, report.summary.counted) == (1, 3)
        assert report.months[-1] == Month(date(2025, 3, 1), 0, 1)

    def test_the_period_selects_by_report_publication_both_days_included(
            self, wf_empty: Workflow, ids: dict[str, int]) -> None:
        """From 1 Nov to 1 Nov 2024: only B (its report came out that day), although A was
        published and B worked on in November."""
        report = report_at(wf_empty, start=date(2024, 11, 1), end=date(2024, 11, 1))
        assert [x.response_id for x in report.responses] == [ids["B"]]
        assert [m.label for m in report.months] == ["Nov 2024"]


class TestPeriod:
    @pytest.mark.parametrize(("day", "year"), [
        (date(2025, 3, 31), (date(2024, 4, 1), date(2025, 3, 31))),
        (date(2025, 4, 1), (date(2025, 4, 1), date(2026, 3, 31))),
        (date(2025, 1, 1), (date(2024, 4, 1), date(2025, 3, 31))),
    ])
    def test_the_reporting_year_runs_from_april_to_march(self, day: date,
                                                         year: tuple[date, date]) -> None:
        assert reporting_year(day) == year

    @pytest.mark.parametrize(("start", "end", "expected"), [
        (None, None, (date(2024, 4, 1), date(2025, 3, 31))),
        ("2024-06-01", None, (date(2024, 6, 1), date(2025, 3, 31))),
        (None, "2024-02-01", (date(2023, 4, 1), date(2024, 2, 1))),
        ("1 October 2024", "31/10/2024", (date(2024, 10, 1), date(2024, 10, 31))),
    ])
    def test_a_missing_end_comes_from_the_reporting_year(
            self, start: str | None, end: str | None, expected: tuple[date, date]) -> None:
        assert period(start, end, today=date(2025, 3, 25)) == expected


@pytest.mark.parametrize(("state", "published", "today", "verdict"), [
    ("published", date(2024, 12, 4), date(2025, 1, 1), (Outcome.ON_TIME, 0, None)),
    ("published", date(2024, 12, 5), date(2025, 1, 1), (Outcome.LATE, None, 1)),
    ("portal_submitted", date(2024, 10, 10), date(2025, 1, 1), (Outcome.ON_TIME, 55, None)),
    ("forwarded_to_panel", None, date(2024, 12, 4), (Outcome.NOT_YET_DUE, None, None)),
    ("forwarded_to_panel", None, date(2024, 12, 5), (Outcome.OVERDUE, None, 1)),
    ("published", None, date(2025, 1, 1), (Outcome.DAY_UNKNOWN, None, None)),
    ("not_required", None, date(2025, 1, 1), (Outcome.NOT_REQUIRED, None, None)),
])
def test_the_deadline_day_itself_is_on_time(state: str, published: date | None, today: date,
                                            verdict: tuple[Outcome, int | None, int | None]
                                            ) -> None:
    """Deadline 4 Dec 2024 (s55(5A)): published that day is on time with 0 days to spare,
    the day after is 1 day late; unpublished, it becomes overdue on 5 Dec."""
    assert judge(state, published, date(2024, 12, 4), today) == verdict


def test_a_delegated_sign_off_names_the_delegation() -> None:
    """A sign_off event carrying a delegation (as the identity work will write it) reads
    "D for P under delegation #N"; the same event without one names only the signer."""
    event = AuditEvent(id=1, at=utc("2024-11-01 09:00"), actor="deputy@norfolk-pcc.gov.uk",
                       action="transition", trigger="sign_off", payload="{}", prev_hash="",
                       hash="")
    names = {"deputy@norfolk-pcc.gov.uk": "Deputy PCC", PCC: "Giles Orpen-Smellie"}
    delegated = sign_off_from(event, {"delegation": 7, "on_behalf_of": PCC}, names)
    assert delegated.describe() == (f"Deputy PCC <deputy@norfolk-pcc.gov.uk> for Giles "
                                    f"Orpen-Smellie <{PCC}> under delegation #7")
    assert sign_off_from(event, {}, names).describe() == "Deputy PCC <deputy@norfolk-pcc.gov.uk>"


def test_the_chart_scale_has_whole_steps() -> None:
    """Largest count 7: ticks 0, 2, 4, 6, 8; a bar of 4 is half the plot's height."""
    chart = bar_chart([Month(date(2024, 10, 1), 4, 7)])
    assert [t.value for t in chart.ticks] == [0, 2, 4, 6, 8]
    on_time = chart.bars[0]
    assert (on_time.kind, on_time.value, on_time.height) == ("on_time", 4, 100)


class TestRenderings:
    def test_csv_has_a_header_and_one_row_per_response(self, wf_empty: Workflow,
                                                       ids: dict[str, int]) -> None:
        rows = list(csv.DictReader(io.StringIO(to_csv(report_at(wf_empty)))))
        # E, last year's and still a draft, comes last: still open from an earlier period.
        assert [int(r["response_id"]) for r in rows] == [ids[k] for k in "ABDCE"]
        assert [r["listed"] for r in rows] == ["in period"] * 4 + [
            "still open from an earlier period"]
        a, b = rows[0], rows[1]
        assert list(a) == list(CSV_COLUMNS)
        assert {k: a[k] for k in ("report_published", "statutory_deadline", "published_on",
                                  "outcome", "counted", "days_early", "days_late",
                                  "signed_off_by", "signed_off_under_delegation")} == {
            "report_published": "2024-10-10", "statutory_deadline": "2024-12-04",
            "published_on": "2024-11-04", "outcome": "on_time", "counted": "yes",
            "days_early": "30", "days_late": "", "signed_off_by": f"Giles Orpen-Smellie <{PCC}>",
            "signed_off_under_delegation": ""}
        assert [a[f"days_in_{s}"] for s in ("draft", "force_input", "pcc_signoff",
                                             "forwarded_to_panel", "published")] == [
            "2.00", "8.00", "8.00", "3.00", "7.00"]
        assert a["returns"] == f"2024-10-22T09:00:00+00:00 {ADMIN} return_to_force: {RETURN_A}"
        assert a["s55_6_copies"] == (f"{HMICFRS} sent 2024-11-04T10:00:00+00:00 | "
                                     f"{HOME_OFFICE} sent 2024-11-04T10:00:00+00:00")
        assert (b["outcome"], b["days_late"], b["days_early"]) == ("late", "7", "")
        assert (rows[2]["outcome"], rows[2]["counted"], rows[2]["closed_reason"]) == (
            "not_required", "no", CLOSED_D)

    def test_json_parses_back_with_every_figure(self, wf_empty: Workflow,
                                                ids: dict[str, int]) -> None:
        data = json.loads(to_json(report_at(wf_empty)))
        assert data["period"] == {"from": "2024-04-01", "to": "2025-03-31",
                                  "selected_by": "report publication date"}
        assert data["summary"] == {"responses": 4, "on_time": 1, "late": 1, "overdue": 0,
                                   "not_yet_due": 1, "not_required": 1, "day_unknown": 0,
                                   "counted": 2, "on_time_rate": 0.5}
        assert data["months"][6] == {"month": "2024-10", "on_time": 1, "late": 0}
        a = data["responses"][0]
        assert (a["response_id"], a["days_early"], a["signed_off"]["by"],
                a["signed_off"]["delegation"], a["imported"]) == (ids["A"], 30, PCC, None, None)
        assert a["time_in_state_seconds"] == {"draft": 172800, "force_input": 691200,
                                              "pcc_signoff": 691200,
                                              "forwarded_to_panel": 259200,
                                              "published": 604800}
        assert a["returns"][0]["reason"] == RETURN_A
        assert [c["status"] for c in a["s55_6_copies"]] == ["sent", "sent"]
        c = data["responses"][3]
        assert c["time_in_state_seconds"]["force_input"] == 0  # every key, every response
        assert set(c) == set(a)

    def test_html_escapes_stored_text_and_csv_defuses_formulas(self, wf_empty: Workflow) -> None:
        """A title holding markup shows as text; one starting with = is not a formula."""
        with on("2024-10-14 08:00"):
            add_people(wf_empty)
        register(wf_empty, "2024-10-14 09:00", '<script>alert("x")</script> & <b>bold</b>',
                 "2024-10-10")
        register(wf_empty, "2024-10-14 09:00", '=HYPERLINK("http://evil.example","pay")',
                 "2024-10-11")
        report = report_at(wf_empty)
        page = to_html(report)
        assert "<script" not in page
        assert "<b>bold" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" \
            in page
        titles = [r["report_title"] for r in csv.DictReader(io.StringIO(to_csv(report)))]
        assert titles[1] == "'=HYPERLINK(\"http://evil.example\",\"pay\")"


class Page(Outline):
    """The outline, plus the text of every table row and the SVG's parts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.svg: list[tuple[str, dict[str, str | None]]] = []
        self.svg_text: list[str] = []
        self._cells: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_svg = False
        self.words: list[str] = []  # all the page's text, for whole-sentence checks

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if tag == "svg":
            self._in_svg = True
        if self._in_svg:
            self.svg.append((tag, dict(attrs)))
        if tag == "tr":
            self._cells = []
        elif tag in ("td", "th") and self._cells is not None:
            self._cell = []

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        self.words.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_svg and data.strip():
            self.svg_text.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        if tag == "svg":
            self._in_svg = False
        elif tag in ("td", "th") and self._cell is not None and self._cells is not None:
            self._cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._cells is not None:
            self.rows.append(self._cells)
            self._cells = None


@pytest.mark.slow
def test_chromium_reads_the_headings_rows_and_chart(wf_empty: Workflow, ids: dict[str, int],
                                                    tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(to_html(report_at(wf_empty)), encoding="utf-8")
    page = Page()
    page.feed(dump_dom(page_file))
    assert page.lang == "en-GB"
    assert [t for tag, t in page.headings if tag in ("h1", "h2")] == [
        "Section 55 responses: auditor's report", "Responses", "Each response",
        "Still open from earlier periods", "On-time rate"]
    assert [t for tag, t in page.headings if tag == "h3"] == [
        f"Response {ids[k]}: {title}" for k, title in
        (("A", TITLE_A), ("B", TITLE_B), ("D", TITLE_D), ("C", TITLE_C))]
    assert page.rows[1:5] == [
        [str(ids["A"]), TITLE_A, "10 October 2024", "4 December 2024", "4 November 2024",
         "published 30 days early", "on time",
         "Giles Orpen-Smellie, Police and Crime Commissioner"],
        [str(ids["B"]), TITLE_B, "1 November 2024", "26 December 2024", "2 January 2025",
         "published 7 days late", "late", "Giles Orpen-Smellie, Police and Crime Commissioner"],
        [str(ids["D"]), TITLE_D, "1 December 2024", "25 January 2025", "", "",
         "not required", ""],
        [str(ids["C"]), TITLE_C, "20 March 2025", "14 May 2025", "", "due in 50 days",
         "not yet due", ""],
    ]
    months = [r for r in page.rows if r and r[0].endswith(("2024", "2025")) and len(r) == 3]
    assert months[6:8] == [["Oct 2024", "1", "0"], ["Nov 2024", "0", "1"]]
    svg = dict(page.svg[0][1])
    # the chart is a picture of the month table, which is the accessible form of its figures
    assert (svg["aria-hidden"], svg["focusable"]) == ("true", "false")
    bars = [a for tag, a in page.svg if tag == "rect" and "bar" in (a.get("class") or "")]
    assert [b["class"] for b in bars] == ["bar on_time", "bar late"]
    assert "Oct 2024: 1 on time" in page.svg_text
    assert "Nov 2024: 1 late" in page.svg_text
    assert not [tag for tag, _ in page.svg if tag == "script"]
    assert "On-time rate 50.0% (1 of 2 on time) Responses listed 4" in page.text


# -- the command -------------------------------------------------------------------------

@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool")}

    def invoke(*args: str, actor: str = ""):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env={**env, "S55_ACTOR": actor})

    return invoke


def test_an_imported_response_is_marked_with_its_fingerprint(wf_empty: Workflow, run,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    """Imported as published on 2 Dec 2024 (2 days early): marked imported, with the SHA-256
    of the document, and not as signed in s55; no s55(6) copies went through s55."""
    with on("2024-12-10 09:00"):
        add_people(wf_empty)
        assert run("import", str(FIXTURE), "--published-on", "2024-12-02", actor=ADMIN
                   ).exit_code == 0
    with on("2024-12-20 09:00"):
        result = run("audit", "report", "--format", "json", "--from", "2024-10-01",
                     "--to", "2024-10-31")
        page = run("audit", "report", "--format", "html", "--from", "2024-10-01",
                   "--to", "2024-10-31").stdout
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)["responses"][0]
    fingerprint = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert line["imported"]["sha256"] == fingerprint
    assert (line["imported"]["source"], line["imported"]["by"], line["signed_off"]) == (
        FIXTURE.name, ADMIN, None)
    assert (line["outcome"], line["days_early"], line["published_on"]) == (
        "on_time", 2, "2024-12-02")
    assert line["s55_6_copies"] == []
    assert line["time_in_state_seconds"]["published"] == 10 * DAY  # since the import
    assert f"imported, not signed in s55 (document SHA-256 {fingerprint})" in page
    assert "not sent through s55 (imported)" in page


def test_output_is_written_whole_and_never_over_a_file(wf_empty: Workflow, ids: dict[str, int], run,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    with on(AS_OF):
        first = run("audit", "report", "--format", "csv", "--output", str(out))
        again = run("audit", "report", "--format", "csv", "--output", str(out))
        forced = run("audit", "report", "--format", "csv", "--output", str(out), "--force")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == (f"wrote {out}: 4 response(s) to reports published "
                                    "2024-04-01 to 2025-03-31, and 1 still open from "
                                    "earlier periods")
    assert len(list(csv.DictReader(out.open(newline="")))) == 5
    assert again.exit_code == 1
    assert again.stderr.strip() == f"Error: {out}: already exists; give --force to replace it"
    assert forced.exit_code == 0


@pytest.mark.parametrize(("args", "line"), [
    (["--from", "2024-02-30"], "Error: --from: 2024-02-30 is not a real date"),
    (["--to", "next week"], "Error: --to: cannot read 'next week' as a date (use YYYY-MM-DD)"),
    (["--from", "2025-01-01", "--to", "2024-12-31"],
     "Error: --to: 2024-12-31 is before --from 2025-01-01"),
])
def test_bad_dates_are_one_line_and_write_nothing(wf_empty: Workflow, ids: dict[str, int], run,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path, args: list[str],
                                                  line: str) -> None:
    out, before = tmp_path / "report.html", snapshot(wf_empty)
    result = run("audit", "report", "--format", "html", *args, "--output", str(out))
    assert (result.exit_code, result.stderr.strip()) == (1, line)
    assert not out.exists()
    assert snapshot(wf_empty) == before


def test_an_unknown_format_is_one_line_and_writes_nothing(wf_empty: Workflow, ids: dict[str, int],  # type: ignore[no-untyped-def]
                                                          run, tmp_path: Path) -> None:
    out, before = tmp_path / "report.pdf", snapshot(wf_empty)
    result = run("audit", "report", "--format", "pdf", "--output", str(out))
    assert (result.exit_code, result.stderr.strip()) == (
        1, "Error: --format: 'pdf' is not one of html, csv, json")
    assert not out.exists()
    assert snapshot(wf_empty) == before
