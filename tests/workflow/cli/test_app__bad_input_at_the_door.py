"""Every input checked at the door: each bad value is one exact ``Error:`` line,
exit 1, and the database unchanged, on both backends."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.factories import ADMIN, PCC, answer_all, snapshot
from workflow.responses.service import Workflow

HUGE = "99999999999999999999"
BIG = "9223372036854775808"  # 2**63: SQLite's OverflowError
RANGE = "(1 to 2147483647)"


def refused(wf_norfolk: Workflow, run, args: list[str], line: str,  # type: ignore[no-untyped-def]
            actor: str | None = ADMIN) -> None:
    before = snapshot(wf_norfolk)
    result = run(*args, actor=actor)
    assert (result.exit_code, result.stderr.strip()) == (1, line), result.output
    assert result.stdout == ""
    assert snapshot(wf_norfolk) == before


@pytest.mark.parametrize(("args", "line"), [
    (["show", HUGE], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["log", BIG], f"Error: ID: {BIG} is out of range {RANGE}"),
    (["log", "--", "-9223372036854775809"],
     f"Error: ID: -9223372036854775809 is out of range {RANGE}"),
    (["render", "0"], f"Error: ID: 0 is out of range {RANGE}"),
    (["show", "٣"], f"Error: ID: '٣' is not a whole number in digits 0-9 {RANGE}"),
    (["show", "1.0"], f"Error: ID: '1.0' is not a whole number in digits 0-9 {RANGE}"),
    (["do", "not-a-number", "sign_off"],
     f"Error: ID: 'not-a-number' is not a whole number in digits 0-9 {RANGE}"),
    (["do", HUGE, "request_force_input"], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["request-force-input", HUGE], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["mark-not-required", "1", "--reason", "x", "--expect-version", BIG],
     f"Error: --expect-version: {BIG} is out of range {RANGE}"),
    (["edit", "1", "pcc_response", "--text", "x", "--expect-version", "0"],
     f"Error: --expect-version: 0 is out of range {RANGE}"),
    (["rec", "add", "1", HUGE, "--text", "x"], f"Error: NUMBER: {HUGE} is out of range {RANGE}"),
    (["rec", "respond", "1", "²", "--text", "x"],
     f"Error: NUMBER: '²' is not a whole number in digits 0-9 {RANGE}"),
    (["deadline", HUGE, "2025-01-01", "--reason", "x"],
     f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["outbox", "list", "--response", HUGE],
     f"Error: --response: {HUGE} is out of range {RANGE}"),
    (["outbox", "list", "--limit", "0"], f"Error: --limit: 0 is out of range {RANGE}"),
    (["outbox", "show", HUGE], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["outbox", "retry", HUGE], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["mail", "send", "--limit", "-1"], f"Error: --limit: -1 is out of range {RANGE}"),
    (["escalations", "list", "--response", BIG],
     f"Error: --response: {BIG} is out of range {RANGE}"),
    (["escalations", "plan", HUGE], f"Error: ID: {HUGE} is out of range {RANGE}"),
    (["escalations", "plan", "--days", "3661"], "Error: --days: 3661 is out of range (0 to 3660)"),
    (["audit", "export", "--response", HUGE], f"Error: --response: {HUGE} is out of range {RANGE}"),
    (["people", "revoke", HUGE, "--reason", "x"],
     f"Error: DELEGATION_ID: {HUGE} is out of range {RANGE}"),
])
def test_ids_and_numbers_are_bounded(wf_norfolk: Workflow, run, args: list[str],  # type: ignore[no-untyped-def]
                                     line: str) -> None:
    """Beyond what the database holds, or not written in ASCII digits: one line naming the
    option and the range (was SQLite's OverflowError, PostgreSQL's "integer out of range")."""
    refused(wf_norfolk, run, args, line)


def test_mail_test_refuses_a_bad_address_before_any_event(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """Was: the attempt audited, then "refusing To header"."""
    refused(wf_norfolk, run, ["mail", "test", "yesterday"],
            "Error: email: 'yesterday' is not an email address (an email address must have an "
            "@-sign)")


@pytest.mark.parametrize(("args", "line"), [
    (["--rec", "²=x"], "Error: --rec: '²' is not a whole number in digits 0-9"),
    (["--rec", "٣=x"], "Error: --rec: '٣' is not a whole number in digits 0-9"),
    (["--rec", "0=x"], "Error: --rec: 0 is out of range (1 to 2147483647)"),
    (["--rec", f"{HUGE}=x"], f"Error: --rec: {HUGE} is out of range (1 to 2147483647)"),
    (["--afi", "1.0=x"], "Error: --afi: '1.0' is not a whole number in digits 0-9"),
    (["--rec", "x"], "Error: --rec: 'x' is not NUMBER=TEXT"),
])
def test_rec_numbers_on_report_add(wf_norfolk: Workflow, run, args: list[str],  # type: ignore[no-untyped-def]
                                   line: str) -> None:
    """``--rec``/``--afi``: positive whole numbers in ASCII digits, like ``rec add`` (was a
    ValueError for "²", and "٣" read as 3)."""
    refused(wf_norfolk, run, ["report", "add", "--title", "T", "--published", "2024-10-10", *args],
            line)


@pytest.mark.parametrize(("number", "line"), [
    ("0", "Error: recommendations.0.number: 0 is out of range (1 to 2147483647)"),
    ("true", "Error: recommendations.0.number: True is not a whole number"),
    ("'٣'", "Error: recommendations.0.number: '٣' is not a whole number in digits 0-9"),
    ("1.0", "Error: recommendations.0.number: 1.0 is not a whole number"),
    (HUGE, f"Error: recommendations.0.number: {HUGE} is out of range (1 to 2147483647)"),
])
def test_rec_numbers_in_a_report_file(wf_norfolk: Workflow, run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      number: str, line: str) -> None:
    """A YAML report file: the same rule (``number: true`` was recommendation 1)."""
    path = tmp_path / "report.yaml"
    path.write_text(f"title: T\npublished_on: 2024-10-10\nrecommendations:\n"
                    f"  - number: {number}\n    text: x\n", encoding="utf-8")
    refused(wf_norfolk, run, ["report", "add", "--file", str(path)], line)


def test_toml_number_too_big_for_the_database(wf_norfolk: Workflow, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.toml"
    path.write_text('title = "T"\npublished_on = 2024-10-10\n[[recommendations]]\n'
                    f'number = {HUGE}\ntext = "x"\n', encoding="utf-8")
    refused(wf_norfolk, run, ["report", "add", "--file", str(path)],
            f"Error: recommendations.0.number: {HUGE} is out of range (1 to 2147483647)")


@pytest.mark.parametrize("command", [["edit", "1", "pcc_response"],
                                     ["rec", "respond", "1", "1"], ["report", "add"]])
@pytest.mark.parametrize(("kind", "problem"), [
    ("fifo", "is not a regular file (a pipe, socket or device); save the text to a file first"),
    ("latin1", "is not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8"),
])
def test_text_files_are_read_safely(wf_norfolk: Workflow, run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                    command: list[str], kind: str, problem: str) -> None:
    """A FIFO is refused without blocking (it hung before); bytes that are not UTF-8 are
    one line (was a UnicodeDecodeError for ``report add --file``)."""
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes("caf\xe9".encode("latin-1"))
    refused(wf_norfolk, run, [*command, "--file", str(path)], f"Error: {path}: {problem}")


def test_an_argument_that_is_not_utf8(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """Bytes that are not UTF-8 reach Python as lone surrogates: refused before any command
    runs (was a UnicodeEncodeError from the database driver)."""
    refused(wf_norfolk, run, ["people", "enable", "\udcff", "--reason", "2"],
            "Error: argument: '\\udcff' is not UTF-8 text")


@pytest.mark.parametrize(("published", "line"), [
    ("0001-01-01", "Error: published_on: 0001-01-01 is before 1 January 2000; no report s55 "
                   "answers is that old (a typing mistake?)"),
    ("1999-12-31", "Error: published_on: 1999-12-31 is before 1 January 2000; no report s55 "
                   "answers is that old (a typing mistake?)"),
    ("2099-01-01", "Error: published_on: 2099-01-01 is more than 31 days after today "
                   "(2026-03-02); a report is registered once published, or under embargo at "
                   "most 31 days before"),
    ("2026-04-03", "Error: published_on: 2026-04-03 is more than 31 days after today "
                   "(2026-03-02); a report is registered once published, or under embargo at "
                   "most 31 days before"),
])
@pytest.mark.parametrize("by_file", [False, True])
def test_publication_dates_are_plausible(wf_norfolk: Workflow, run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         published: str, line: str, by_file: bool) -> None:
    """From 1 January 2000 to 31 days after today, by flags or by file (0001-01-01 and
    2099-01-01 were accepted)."""
    if by_file:
        path = tmp_path / "report.yaml"
        path.write_text(f"title: T\npublished_on: {published}\n", encoding="utf-8")
        args = ["report", "add", "--file", str(path)]
    else:
        args = ["report", "add", "--title", "T", "--published", published]
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False):
        refused(wf_norfolk, run, args, line)


@pytest.mark.parametrize("published", ["2000-01-01", "2026-04-02"])
def test_publication_date_limits_are_inclusive(wf_norfolk: Workflow, run,  # type: ignore[no-untyped-def]
                                               published: str) -> None:
    with time_machine.travel(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False):
        result = run("report", "add", "--title", "T", "--published", published, actor=ADMIN)
    assert result.exit_code == 0, result.output


ONE_LINE = "contains a control character or line break ({}); it must be one line of text"
TEXT = "contains a control character ({}); only text, line breaks and tabs are kept"


@pytest.mark.parametrize(("args", "line"), [
    (["report", "add", "--title", "a\x00b", "--published", "2024-10-10"],
     "Error: title: " + ONE_LINE.format("U+0000")),
    (["report", "add", "--title", "a\x1b[31mb", "--published", "2024-10-10"],
     "Error: title: " + ONE_LINE.format("U+001B")),
    (["report", "add", "--title", "a\r\nb", "--published", "2024-10-10"],
     "Error: title: " + ONE_LINE.format("U+000A, U+000D")),
    (["report", "add", "--title", "a\u2028b", "--published", "2024-10-10"],
     "Error: title: " + ONE_LINE.format("U+2028")),
    (["report", "add", "--title", "T", "--published", "2024-10-10", "--forces", "a\u2029"],
     "Error: police_forces: " + ONE_LINE.format("U+2029")),
    (["report", "add", "--title", "T", "--published", "2024-10-10", "--force", "Nor\tfolk"],
     "Error: force: " + ONE_LINE.format("U+0009")),
    (["report", "add", "--title", "T", "--published", "2024-10-10", "--rec", "1=a\x00b"],
     "Error: recommendations.0.text: " + TEXT.format("U+0000")),
    (["edit", "1", "key_findings", "--text", "a\x00b"],
     "Error: key_findings: " + TEXT.format("U+0000")),
    (["rec", "respond", "1", "1", "--text", "a\x7fb"],
     "Error: force_response: " + TEXT.format("U+007F")),
    (["people", "add", "Bob\x1b", "bob@x.example", "--role", "panel"],
     "Error: name: " + ONE_LINE.format("U+001B")),
])
def test_control_characters_are_refused(wf_norfolk: Workflow, run, args: list[str],  # type: ignore[no-untyped-def]
                                        line: str) -> None:
    """NUL was stored on SQLite and refused on PostgreSQL; ESC, CR/LF and U+2028 in a title
    later broke mail subjects. Refused at entry on both backends."""
    refused(wf_norfolk, run, args, line)


def test_line_breaks_and_tabs_are_text(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    result = run("edit", "1", "key_findings", "--text", "one\r\n\ttwo", actor=ADMIN)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("email", "line"), [
    ("jösé@exämple.example", "Error: email: 'jösé@exämple.example' is not an email address "
     "(internationalized characters before the @-sign are not supported: 'é', 'ö')"),
    ("jose@exämple.example", "Error: email: 'jose@exämple.example' is not an address mail "
     "can be sent to (plain ASCII local@domain)"),
    ("a,b@example.org", "Error: email: 'a,b@example.org' is not an email address (the email "
     "address contains invalid characters before the @-sign: ',')"),
    ("<x@example.org>", "Error: email: '<x@example.org>' is not an email address (a display "
     "name and angle brackets around the email address are not permitted here)"),
    ("Uni <uni@example.org>", "Error: email: 'Uni <uni@example.org>' is not an email address "
     "(a display name and angle brackets around the email address are not permitted here)"),
])
def test_people_add_refuses_an_address_mail_cannot_carry(wf_norfolk: Workflow, run, email: str,  # type: ignore[no-untyped-def]
                                                         line: str) -> None:
    """Accepted before, and then every sign-off failed ("Uni has no valid email address")."""
    refused(wf_norfolk, run, ["people", "add", "Uni", email, "--role", "panel"], line)


def test_people_add_accepts_and_lowers_a_plain_address(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    result = run("people", "add", "Uni", "Uni.Panel@Example.ORG", "--role", "panel",
                 actor=ADMIN)
    assert result.exit_code == 0, result.output
    assert "uni.panel@example.org" in result.stdout


@pytest.mark.parametrize(("extra", "line"), [
    (["--title", "T"], "Error: --file: the report's fields come from the file; --title would "
     "be ignored (put it in the file)"),
    (["--published", "2024-10-10", "--rec", "1=x", "--force", "Suffolk"],
     "Error: --file: the report's fields come from the file; --published, --force, --rec "
     "would be ignored (put them in the file)"),
])
def test_report_add_refuses_options_a_file_would_override(wf_norfolk: Workflow, run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          extra: list[str], line: str) -> None:
    """``--title`` with ``--file`` was silently ignored."""
    path = tmp_path / "report.yaml"
    path.write_text("title: From the file\npublished_on: 2024-11-01\n", encoding="utf-8")
    refused(wf_norfolk, run, ["report", "add", "--file", str(path), *extra], line)


def test_a_reason_given_to_publish_is_kept_in_the_log(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """``publish --reason`` is not ignored: it is the transition's note (documented in
    ``--help`` as "a note for the state log"), so it stays accepted."""
    assert "a note for the state log" in " ".join(run("publish", "--help").stdout.split())
    steps = [("request-force-input", "--due", "2024-11-20"), ("submit-force-input",),
             ("edit", "pcc_response", "--text", "The PCC's response."), ("sign-off",),
             ("publish", "--url", "https://opcc.example/r", "--reason",
              "published late: website outage")]
    actors = {"request-force-input": ADMIN, "submit-force-input": ADMIN, "edit": PCC,
              "sign-off": PCC, "publish": ADMIN}
    with time_machine.travel("2024-11-01 10:00:00+00:00", tick=False):
        answer_all(wf_norfolk, 1)
        for name, *args in steps:
            result = run(name, "1", *args, actor=actors[name])
            assert result.exit_code == 0, (name, result.output)
    assert "published late: website outage" in run("log", "1", actor=ADMIN).stdout
