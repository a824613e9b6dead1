"""Tables the CLI prints: a header row, and columns that stay aligned with long
emails. Piped, plain aligned text (Rich not imported); at a terminal, a Rich table."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from tests.factories import ADMIN, norfolk, table_rows
from workflow.core.settings import Settings
from workflow.escalations import sweep
from workflow.people import management
from workflow.responses.service import Workflow
from workflow.storage.db import Database

LONG = "governance.compliance.officer@office-of-the-pcc-for-norfolk.gov.uk"  # 66 characters
LONG_NAME = "Governance and Compliance Officer"


@pytest.fixture
def wf_long_admin(db: Database, settings: Settings) -> Workflow:
    """Norfolk's people and one admin with a long email, who asks the force, takes it back
    with a reason and asks again (mail to the force twice, and to both admins)."""
    workflow = Workflow(db, settings)
    with time_machine.travel("2024-10-14 10:00:00+01:00", tick=False):
        norfolk(workflow)
        management.add_person(workflow, {"name": LONG_NAME, "email": LONG, "roles": ["admin"]},
                           ADMIN)
    with time_machine.travel("2024-10-20 10:00:00+01:00", tick=False):
        workflow.fire(1, "request_force_input", LONG)
        workflow.fire(1, "return_to_draft", LONG, reason="Wrong report attached")
        workflow.fire(1, "request_force_input", LONG)
    return workflow


def _sweep(wf_long_admin: Workflow) -> None:
    """On 3 Dec 2024 the most severe escalation due fires; the ones it overtook are
    recorded as superseded."""
    from workflow.core.clock import FixedClock

    report = sweep.sweep(wf_long_admin.db, wf_long_admin.settings,
                         FixedClock(datetime(2024, 12, 3, 10, tzinfo=UTC)))
    assert [f.rule_id for f in report.fired] == ["publish-d2"]


def test_people_list_piped_is_a_header_and_aligned_columns(wf_long_admin: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """Every column as wide as its widest value, two spaces apart: a long email pushes the
    names along in every row, never into the next column."""
    def row(pid: int, email: str, name: str, roles: str) -> str:
        return f"{pid:>2}  {email:<66}  {name:<33}  active  {roles:<15}  -      -"

    assert run("people", "list").stdout.splitlines() == [
        f"id  {'email':<66}  {'name':<33}  status  {'roles':<15}  login  delegations",
        row(1, "ann.admin@norfolk-pcc.gov.uk", "Ann Admin", "admin"),
        row(6, "audit@norfolk-pcc.gov.uk", "Internal Audit", "auditor"),
        row(4, "ceo@norfolk-pcc.gov.uk", "Chief Executive", "chief_executive"),
        row(7, LONG, LONG_NAME, "admin"),
        row(2, "liaison@norfolk.police.uk", "Force Liaison", "force"),
        row(5, "panel@norfolk.gov.uk", "Police and Crime Panel", "panel"),
        row(3, "pcc@norfolk-pcc.gov.uk", "Giles Orpen-Smellie", "pcc"),
    ]


def test_log_piped_has_a_header_and_the_reason_in_its_own_column(wf_long_admin: Workflow,
                                                                 run) -> None:  # type: ignore[no-untyped-def]
    text = run("log", "1").stdout
    assert re.split(r" {2,}", text.splitlines()[0]) == ["when (London)", "event", "actor",
                                                        "what", "change", "reason", "how"]
    moves = [(r["when (London)"], r["actor"], r["what"], r["change"], r["reason"])
             for r in table_rows(text) if r["what"] != "mail_queued"]
    assert moves == [
        ("14 October 2024 at 10:00", ADMIN, "created", "- -> Draft", "-"),
        ("20 October 2024 at 10:00", LONG, "Sent to the force for comments",
         "Draft -> Force's comments", "-"),
        ("20 October 2024 at 10:00", LONG, "Returned to draft", "Force's comments -> Draft",
         "Wrong report attached"),
        ("20 October 2024 at 10:00", LONG, "Sent to the force for comments",
         "Draft -> Force's comments", "-"),
    ]


def test_escalations_plan_keeps_status_and_severity_apart(wf_long_admin: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """"superseded now" and "warning" are two columns, not "superseded now warning"."""
    with time_machine.travel("2024-12-03 10:00:00+00:00", tick=False):
        text = run("escalations", "plan", "1", "--days", "1").stdout
    assert text.splitlines()[0].split() == ["response", "state", "rule", "fires", "at", "when",
                                            "status", "severity", "to", "moved", "from"]
    assert [(r["response"], r["rule"], r["fires at"], r["when"], r["status"], r["severity"])
            for r in table_rows(text)] == [
        ("1", "force-input-d28", "Wed 06 Nov 2024 09:00", "27 days ago", "superseded now",
         "warning"),
        ("1", "signoff-d14", "Wed 20 Nov 2024 09:00", "13 days ago", "superseded now",
         "escalation"),
        ("1", "publish-d7", "Wed 27 Nov 2024 09:00", "6 days ago", "superseded now",
         "escalation"),
        ("1", "publish-d2", "Mon 02 Dec 2024 09:00", "1 day ago", "due now", "urgent"),
        ("1", "overdue", "Wed 04 Dec 2024 09:00", "in 1 day", "planned", "overdue"),
    ]
    # force-input-d28 copies the admins; d14 and d7 go to the PCC and chief executive only.
    assert [LONG in r["to"] for r in table_rows(text)] == [True, False, False, True, True]


def test_escalations_list_piped(wf_long_admin: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    _sweep(wf_long_admin)
    text = run("escalations", "list").stdout
    assert text.splitlines()[0].split() == ["when", "(London)", "response", "rule", "due",
                                            "status", "detail"]
    rows = sorted((r["due"], r["when (London)"], r["response"], r["rule"], r["status"], r["detail"])
                  for r in table_rows(text))
    assert rows[:3] == [
        ("2024-11-06", "3 December 2024 at 10:00", "1", "force-input-d28", "superseded",
         "superseded by publish-d2"),
        ("2024-11-20", "3 December 2024 at 10:00", "1", "signoff-d14", "superseded",
         "superseded by publish-d2"),
        ("2024-11-27", "3 December 2024 at 10:00", "1", "publish-d7", "superseded",
         "superseded by publish-d2"),
    ]
    assert rows[3][:5] == ("2024-12-02", "3 December 2024 at 10:00", "1", "publish-d2", "fired")
    assert rows[3][5].startswith("to ")
    assert LONG in rows[3][5]


def test_outbox_list_piped(wf_long_admin: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    """The recipient column is as wide as the longest address; the subject starts after it."""
    lines = run("outbox", "list").stdout.splitlines()
    assert lines[1] == "pending: 4  sending: 0  sent: 0  dead: 0"
    rows = table_rows("\n".join(lines[2:]))
    assert [(r["id"], r["status"], r["tries"], r["to"], r["last error"]) for r in rows] == [
        ("4", "pending", "0", "liaison@norfolk.police.uk", "-"),
        ("3", "pending", "0", LONG, "-"),
        ("2", "pending", "0", ADMIN, "-"),
        ("1", "pending", "0", "liaison@norfolk.police.uk", "-")]
    assert all(r["subject"].startswith("[s55 #1] ") for r in rows)


TABLES = [["people", "list"], ["log", "1"], ["escalations", "plan"], ["escalations", "list"],
          ["outbox", "list"], ["list"]]


@pytest.mark.slow
def test_piped_tables_never_import_rich(wf_long_admin: Workflow, db_url: str,
                                        tmp_path: Path) -> None:
    """Plain text is quick to print: Rich is not even imported when stdout is a pipe."""
    code = ("import sys\nfrom workflow.cli import app\n"
            f"for args in {TABLES!r}:\n    app(args, prog_name='s55', standalone_mode=False)\n"
            "print('rich imported' if 'rich' in sys.modules else 'no rich', file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False, env={
                              **os.environ, "S55_DATABASE_URL": db_url,
                              "S55_SPOOL_DIR": str(tmp_path / "spool")})
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "no rich"


def at_terminal(args: list[str], env: dict[str, str], columns: int) -> list[str]:
    """``s55 ARGS`` with its output on a pseudo-terminal ``columns`` wide; the lines it
    showed, colour codes and trailing spaces removed."""
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", *args], stdout=child,
                            stderr=subprocess.PIPE, env={**clean, "TERM": "xterm", **env})
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(parent)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()  # type: ignore[union-attr]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode()).replace("\r\n", "\n")
    return [line.rstrip() for line in text.splitlines()]


@pytest.fixture
def env(wf_long_admin: Workflow, db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool")}


@pytest.mark.slow
def test_people_list_at_a_wide_terminal_is_one_boxed_table(env: dict[str, str]) -> None:
    """Wide enough for everything: each person on one line, every border in line."""
    widths = (2, 66, 33, 6, 15, 5, 11)  # id, email, name, status, roles, login, delegations

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def row(*cells: str) -> str:
        return "│ " + " │ ".join(c.rjust(w) if i == 0 else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " │"

    def person(pid: str, email: str, name: str, roles: str) -> str:
        return row(pid, email, name, "active", roles, "-", "-")

    header = row("id", "email", "name", "status", "roles", "login", "delegations")
    assert at_terminal(["people", "list"], env, columns=180) == [
        line("┏", "┳", "┓", "━"),
        header.replace("│", "┃"),
        line("┡", "╇", "┩", "━"),
        person("1", "ann.admin@norfolk-pcc.gov.uk", "Ann Admin", "admin"),
        person("6", "audit@norfolk-pcc.gov.uk", "Internal Audit", "auditor"),
        person("4", "ceo@norfolk-pcc.gov.uk", "Chief Executive", "chief_executive"),
        person("7", LONG, LONG_NAME, "admin"),
        person("2", "liaison@norfolk.police.uk", "Force Liaison", "force"),
        person("5", "panel@norfolk.gov.uk", "Police and Crime Panel", "panel"),
        person("3", "pcc@norfolk-pcc.gov.uk", "Giles Orpen-Smellie", "pcc"),
        line("└", "┴", "┘", "─"),
    ]


def _borders(line: str) -> list[int]:
    return [i for i, ch in enumerate(line) if ch in "┃│┏┳┓┡╇┩└┴┘"]


@pytest.mark.slow
@pytest.mark.parametrize("args", [["people", "list"], ["log", "1"]])
def test_a_narrow_terminal_folds_long_values_inside_their_column(env: dict[str, str],
                                                                 args: list[str]) -> None:
    """80 columns: the long email folds within its own cell; every border stays in line
    and nothing runs past the edge or is lost."""
    lines = at_terminal(args, env, columns=80)
    assert all(len(line) <= 80 for line in lines)
    assert len({tuple(_borders(line)) for line in lines}) == 1, "\n".join(lines)
    column = 2 if args == ["people", "list"] else 3  # the email's / actor's column
    cut = _borders(lines[0])
    folded = "".join(line[cut[column - 1] + 1:cut[column]].strip() for line in lines[3:-1])
    assert LONG in folded
