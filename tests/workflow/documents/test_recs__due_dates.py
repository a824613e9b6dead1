"""A recommendation's due date is read from its text the same way on every entry path:
`report add --file`, `report add --rec`, `rec add` and `import`.

Expected dates are written by hand from the texts (HMICFRS writes "By 31 March 2025, ...").
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import ADMIN, NORFOLK_RECS, norfolk_report, snapshot
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.models import Recommendation

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "norfolk" / "report.toml"

#: Recommendation texts and the due date each states, read by a person.
TEXTS: list[tuple[str, date | None]] = [
    ("By 31 March 2025, forces should review their processes.", date(2025, 3, 31)),
    ("By 30 September 2025, forces should make sure personnel are trained.",
     date(2025, 9, 30)),
    ("By 1st May 2026, chief constables should act.", date(2026, 5, 1)),
    ("By the end of March 2025, forces should review their processes.", date(2025, 3, 31)),
    ("**By 31 December 2024, forces should:**", date(2024, 12, 31)),
    ("By 31 December 2024 forces should publish their plans.", date(2024, 12, 31)),
    ("Forces should review their processes for recording antisocial behaviour.", None),
    ("By working with partners, forces should share data.", None),
]

#: A minimal document in the published layout with one recommendation (import path).
DOCUMENT = """## Norfolk's Police and Crime Commissioner (PCC) response to inspections published \
by His Majesty's Inspectorate of Constabulary and Fire & Rescue Services (HMICFRS)

### Inspection Title:

A report with one recommendation

### Published on:

10 October 2024

## Recommendations

### Recommendation 1

{text}
"""


@pytest.fixture
def run(run):  # type: ignore[no-untyped-def]
    """The conftest ``run``, as the admin."""
    return functools.partial(run, actor=ADMIN)


def stored_due_dates(wf: Workflow) -> list[tuple[int, int, date | None]]:
    with wf.db.read() as s:
        rows = s.scalars(select(Recommendation).order_by(Recommendation.response_id,
                                                         Recommendation.number))
        return [(r.response_id, r.number, r.due_date) for r in rows]


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TestEveryEntryPath:
    """The same text gives the same due date whichever way it comes in."""

    def test_report_file_reads_the_example(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """`report add --file examples/norfolk/report.toml` stores each recommendation's date
        (the file gives none of them separately)."""
        result = run("report", "add", "--file", str(EXAMPLE))
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, n, due) for n, due in NORFOLK_RECS.items()]

    @pytest.mark.parametrize(("text", "due"), TEXTS)
    def test_report_file(self, wf: Workflow, run, tmp_path: Path, text: str,  # type: ignore[no-untyped-def]
                         due: date | None) -> None:
        path = tmp_path / "report.toml"
        path.write_text(f'title = "T"\npublished_on = "2024-10-10"\n\n[[recommendations]]\n'
                        f"number = 1\ntext = {toml_string(text)}\n", encoding="utf-8")
        result = run("report", "add", "--file", str(path))
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 1, due)]

    @pytest.mark.parametrize(("text", "due"), TEXTS)
    def test_report_rec_option(self, wf: Workflow, run, text: str,  # type: ignore[no-untyped-def]
                               due: date | None) -> None:
        result = run("report", "add", "--title", "T", "--published", "2024-10-10",
                     "--rec", f"1={text}")
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 1, due)]

    @pytest.mark.parametrize(("text", "due"), TEXTS)
    def test_rec_add(self, wf: Workflow, run, text: str, due: date | None) -> None:  # type: ignore[no-untyped-def]
        assert run("report", "add", "--title", "T", "--published", "2024-10-10").exit_code == 0
        result = run("rec", "add", "1", "5", "--text", text)
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 5, due)]

    @pytest.mark.parametrize(("text", "due"), TEXTS)
    def test_import(self, wf: Workflow, run, tmp_path: Path, text: str,  # type: ignore[no-untyped-def]
                    due: date | None) -> None:
        path = tmp_path / "response.md"
        path.write_text(DOCUMENT.format(text=text), encoding="utf-8")
        result = run("import", str(path))
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 1, due)]


class TestReadings:
    """A date named only by its month is read as the month's last day, and said so."""

    def test_month_only_through_rec_option(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("report", "add", "--title", "T", "--published", "2024-10-10",
                     "--rec", "8=By September 2025, forces should give training.")
        assert result.exit_code == 0, result.output
        assert result.stderr.strip() == ("warning: recommendation 8: due date 'September 2025' "
                                         "read as 30 September 2025, the month's last day")
        assert stored_due_dates(wf) == [(1, 8, date(2025, 9, 30))]

    def test_month_only_through_rec_add(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        assert run("report", "add", "--title", "T", "--published", "2024-10-10").exit_code == 0
        result = run("rec", "add", "1", "2", "--text", "By March 2025, forces should act.")
        assert result.exit_code == 0, result.output
        assert result.stderr.strip() == ("warning: recommendation 2: due date 'March 2025' "
                                         "read as 31 March 2025, the month's last day")
        assert stored_due_dates(wf) == [(1, 2, date(2025, 3, 31))]

    def test_a_given_date_that_agrees_is_kept(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """`--due` naming the same day as the text is no conflict."""
        assert run("report", "add", "--title", "T", "--published", "2024-10-10").exit_code == 0
        result = run("rec", "add", "1", "2", "--text", "By 31 March 2025, act.",
                     "--due", "31 March 2025")
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 2, date(2025, 3, 31))]

    def test_a_given_date_where_the_text_has_none(self, wf: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        assert run("report", "add", "--title", "T", "--published", "2024-10-10").exit_code == 0
        result = run("rec", "add", "1", "2", "--text", "Forces should act.", "--due",
                     "2025-06-30")
        assert result.exit_code == 0, result.output
        assert stored_due_dates(wf) == [(1, 2, date(2025, 6, 30))]


class TestRefused:
    """A date the text states but that cannot be read, or that a given date contradicts:
    one `Error:` line, nothing written."""

    @pytest.mark.parametrize(("args", "line"), [
        (["report", "add", "--title", "T", "--published", "2024-10-10",
          "--rec", "3=By 31 Smarch 2025, forces should act."],
         "Error: recommendation 3: cannot read '31 Smarch 2025' as a due date "
         "(expected e.g. 'By 31 March 2025,')"),
        (["rec", "add", "1", "9", "--text", "By 31 Smarch 2025, forces should act."],
         "Error: recommendation 9: cannot read '31 Smarch 2025' as a due date "
         "(expected e.g. 'By 31 March 2025,')"),
        (["rec", "add", "1", "9", "--text", "By 31 March 2025, forces should act.",
          "--due", "2025-04-30"],
         "Error: recommendation 9: due date 2025-04-30 is not the date its text gives "
         "(31 March 2025); leave the due date out to take the text's"),
        (["rec", "add", "1", "9", "--text", "By September 2025, forces should act.",
          "--due", "2025-10-31"],
         "Error: recommendation 9: due date 2025-10-31 is not the date its text gives "
         "(September 2025); leave the due date out to take the text's"),
    ])
    def test_refused(self, wf: Workflow, run, args: list[str], line: str) -> None:  # type: ignore[no-untyped-def]
        assert content.add_report(wf, norfolk_report(), ADMIN).id == 1
        before = snapshot(wf)
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == line
        assert snapshot(wf) == before

    def test_refused_in_a_file(self, wf: Workflow, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "report.toml"
        path.write_text('title = "T"\npublished_on = "2024-10-10"\n\n[[recommendations]]\n'
                        'number = 4\ndue_date = "2025-04-30"\n'
                        'text = "By 31 March 2025, forces should act."\n', encoding="utf-8")
        before = snapshot(wf)
        result = run("report", "add", "--file", str(path))
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == (
            "Error: recommendation 4: due date 2025-04-30 is not the date its text gives "
            "(31 March 2025); leave the due date out to take the text's")
        assert snapshot(wf) == before

