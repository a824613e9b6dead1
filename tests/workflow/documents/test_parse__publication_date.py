"""An imported published response takes its publication date from the document where it
states one, and says plainly when it does not. On SQLite and PostgreSQL.

The Norfolk fixture's office-use list says "Response published on the OPCQN website." with
no date; the variants below add one, as an officer filling the form would.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from tests.factories import ADMIN, snapshot
from workflow.documents.model import WarningKind
from workflow.documents.parse import parse_document
from workflow.responses.service import Workflow
from workflow.storage.models import Response

FIXTURE = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
NORFOLK = FIXTURE.read_text(encoding="utf-8")
PUBLISHED_LINE = "- Response published on the OPCQN website."
#: 5 December 2024, 10:00 London: the day after the Section 55 deadline (4 December).
NOW = datetime(2024, 12, 5, 10, 0, tzinfo=UTC)
UNKNOWN = ("line 206: the document does not say on which day the response was published, "
           "so its publication date is unknown: s55 cannot tell whether it was published on "
           "time (by 4 December 2024) and plans no HMICFRS portal reminder; import it with "
           "--published-on DATE to record it")


def with_published_line(line: str) -> str:
    assert PUBLISHED_LINE in NORFOLK
    return NORFOLK.replace(PUBLISHED_LINE, line)


@pytest.fixture
def clock_at_now() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as t:
        yield t


@pytest.fixture
def run(run, clock_at_now: Any):  # type: ignore[no-untyped-def]
    """The conftest ``run``, as the admin."""
    return functools.partial(run, actor=ADMIN)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "response.md"
    path.write_text(text, encoding="utf-8")
    return path


def stored(wf: Workflow) -> list[tuple[int, str, date | None]]:
    with wf.db.read() as s:
        return [(r.id or 0, r.state, r.published_on)
                for r in s.scalars(select(Response).order_by(Response.id))]


class TestTheDocumentSaysWhen:
    @pytest.mark.parametrize("line", [
        "- Response published on the OPCQN website on 3 December 2024.",
        "- Response published on the OPCQN website: 03/12/2024",
        "- Response published on the OPCQN website (3rd Dec 2024).",
        "- Response published on the OPCQN website on Tuesday 3 December 2024.",
        "- Response published at https://www.norfolk-pcc.gov.uk/2024-11-20/asb on the "
        "OPCQN website on 3 December 2024.",
    ])
    def test_read_from_the_office_use_line(self, line: str) -> None:
        doc = parse_document(with_published_line(line))
        assert (doc.response_published, doc.response_published_line) == (date(2024, 12, 3), 206)

    def test_read_from_a_labelled_field(self) -> None:
        text = NORFOLK.replace("### **For Office Use Only:**",
                               "### Response published on:\n\n3 December 2024\n\n"
                               "### **For Office Use Only:**")
        doc = parse_document(text)
        assert (doc.response_published, doc.response_published_line) == (date(2024, 12, 3), 204)

    def test_field_and_office_line_disagreeing_is_reported(self) -> None:
        text = with_published_line(
            "- Response published on the OPCQN website on 2 December 2024.").replace(
            "### **For Office Use Only:**", "### Response published on:\n\n3 December 2024\n\n"
            "### **For Office Use Only:**")
        doc = parse_document(text)
        assert doc.response_published == date(2024, 12, 3)
        assert [(w.line, w.kind, w.message) for w in doc.warnings if "2 December" in w.message
                ] == [(210, WarningKind.AMBIGUOUS, "the office-use list says the response was "
                       "published on 2 December 2024 but line 204 says 3 December 2024; "
                       "3 December 2024 is used")]

    def test_a_date_on_an_unticked_box_is_not_used(self) -> None:
        text = NORFOLK.replace(
            "- Response forwarded to the Chief Constable.",
            "- [x] Response forwarded to the Chief Constable.").replace(
            "- Response forwarded to the Norfolk", "- [x] Response forwarded to the Norfolk"
        ).replace(PUBLISHED_LINE, "- [ ] Response published on the OPCQN website on 3 "
                  "December 2024.").replace("- Response submitted", "- [ ] Response submitted")
        doc = parse_document(text)
        assert doc.response_published is None
        assert [(w.line, w.kind) for w in doc.warnings if "gives a date" in w.message] == [
            (206, WarningKind.AMBIGUOUS)]

    def test_the_fixture_states_none(self) -> None:
        doc = parse_document(NORFOLK)
        assert (doc.response_published, doc.response_published_line) == (None, None)

    def test_import_stores_it_and_plans_the_portal_reminder(self, wf: Workflow, run,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
        """Published 3 Dec 2024 (on time): status done, the portal reminder at P+7."""
        path = write(tmp_path, with_published_line(
            "- Response published on the OPCQN website on 3 December 2024."))
        result = run("import", str(path))
        assert result.exit_code == 0, result.output
        assert "publication date is unknown" not in result.stderr
        assert stored(wf) == [(1, "published", date(2024, 12, 3))]
        [row] = json.loads(run("list", "--json").stdout)
        assert row["rag"] == "done"
        assert row["next_escalation"] == {"rule": "portal-p7", "day": "2024-12-10"}

    def test_given_date_wins_with_a_notice(self, wf: Workflow, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        path = write(tmp_path, with_published_line(
            "- Response published on the OPCQN website on 3 December 2024."))
        result = run("import", str(path), "--published-on", "2024-12-04")
        assert result.exit_code == 0, result.output
        assert ("warning: response.md: line 206: the document says the response was published "
                "on 3 December 2024; --published-on 4 December 2024 is recorded"
                ) in result.stderr.splitlines()
        assert stored(wf) == [(1, "published", date(2024, 12, 4))]


class TestUnknown:
    """The fixture states no day: the import says so, and nothing reads it as overdue."""

    def test_import_says_it_is_unknown(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("import", str(FIXTURE))
        assert result.exit_code == 0, result.output
        assert f"warning: {FIXTURE.name}: {UNKNOWN}" in result.stderr.splitlines()
        assert stored(wf) == [(1, "published", None)]

    def test_dry_run_says_it_too(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("import", str(FIXTURE), "--dry-run")
        assert f"warning: {FIXTURE.name}: {UNKNOWN}" in result.stderr.splitlines()

    def test_given_date_leaves_nothing_unknown(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("import", str(FIXTURE), "--published-on", "3 December 2024")
        assert result.exit_code == 0, result.output
        assert "publication date is unknown" not in result.stderr
        assert stored(wf) == [(1, "published", date(2024, 12, 3))]

    def test_list_and_show_say_it_is_unknown(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        assert run("import", str(FIXTURE)).exit_code == 0
        [row] = json.loads(run("list", "--json").stdout)
        assert row["rag"] == "undated"
        assert json.loads(run("list", "--overdue", "--json").stdout) == []
        shown = run("show", "1").stdout.splitlines()
        assert ("  published:  date unknown (the imported document does not say; s55 cannot "
                "tell whether it was on time)") in shown
        assert json.loads(run("show", "1", "--json").stdout)["published_on"] is None


class TestRefused:
    """A publication date that cannot be right: one `Error:` line, nothing written."""

    @pytest.mark.parametrize(("line", "problem"), [
        ("- Response published on the OPCQN website on 1 October 2024.",
         "206: the response is said to be published on 1 October 2024, before the report "
         "itself (10 October 2024)"),
        ("- Response published on the OPCQN website on 3 January 2025.",
         "206: the response is said to be published on 3 January 2025, after today "
         "(5 December 2024)"),
        ("- Response published on the OPCQN website on 3 Decembr 2024.",
         "206: cannot read '3 Decembr 2024' as the day the response was published; its "
         "publication date is unknown (strict import)"),
    ])
    def test_stated_date(self, wf: Workflow, run, tmp_path: Path, line: str,  # type: ignore[no-untyped-def]
                         problem: str) -> None:
        path = write(tmp_path, with_published_line(line))
        before = snapshot(wf)
        result = run("import", str(path), "--strict")
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == f"Error: {path}:{problem}"
        assert snapshot(wf) == before

    def test_unreadable_date_is_a_warning_when_not_strict(self) -> None:
        doc = parse_document(with_published_line(
            "- Response published on the OPCQN website on 3 Decembr 2024."))
        assert doc.response_published is None
        assert [(w.line, w.kind) for w in doc.warnings if "Decembr" in w.message] == [
            (206, WarningKind.AMBIGUOUS)]

    @pytest.mark.parametrize(("args", "line"), [
        (["--published-on", "2024-10-01"],
         "Error: published on: 1 October 2024 is before the report itself was published "
         "(10 October 2024)"),
        (["--published-on", "2025-01-03"],
         "Error: published on: 3 January 2025 is in the future"),
    ])
    def test_given_date(self, wf: Workflow, run, args: list[str], line: str) -> None:  # type: ignore[no-untyped-def]
        before = snapshot(wf)
        result = run("import", str(FIXTURE), *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == line
        assert snapshot(wf) == before

    def test_given_date_for_a_document_not_published(self, wf: Workflow, run,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
        """A draft (no office-use list) cannot carry a publication date: it would read as
        published on time."""
        text = NORFOLK[:NORFOLK.index("### **For Office Use Only:**")]
        path = write(tmp_path, text)
        before = snapshot(wf)
        result = run("import", str(path), "--published-on", "2024-12-03")
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == (
            "Error: published on: the document does not show the response published (no "
            "'published' box ticked in its office-use list); import it without --published-on")
        assert snapshot(wf) == before
