"""The ``s55`` CLI through CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, PCC, snapshot, table_rows
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

ROOT = Path(__file__).resolve().parents[3]
S55 = [sys.executable, "-m", "workflow.cli"]


class TestErrors:
    """Each bad input: exit 1, one exact `Error:` line on stderr, the database unchanged."""

    @pytest.mark.parametrize(("args", "actor", "line"), [
        (["do", "99", "request_force_input"], ADMIN, "Error: no response 99"),
        (["do", "1", "sign_off"], ADMIN,
         "Error: Response 1 cannot be signed off: it is being drafted by the OPCC; now it can "
         "be sent to the force for its comments or closed as not required"),
        (["request-force-input", "1"], FORCE,
         f"Error: {FORCE} may not ask the force for its comments on response 1: needs role "
         "admin, holds force"),
        (["request-force-input", "1"], "who@nowhere.example",
         "Error: no person who@nowhere.example"),
        (["mark-not-required", "1"], ADMIN,
         "Error: Response 1 cannot be closed as not required without a reason (--reason)"),
        (["do", "1", "approve"], ADMIN,
         "Error: unknown trigger 'approve'; triggers: request_force_input, submit_force_input, "
         "sign_off, publish, submit_to_portal, return_to_force, return_to_draft, reopen, "
         "mark_not_required"),
        (["deadline", "1", "2025-02-31", "--reason", "x"], ADMIN,
         "Error: deadline: 2025-02-31 is not a real date"),
        (["deadline", "1", "2024-10-01", "--reason", "x"], ADMIN,
         "Error: deadline: 2024-10-01 is before the report was published (2024-10-10)"),
        (["deadline", "1", "2024-12-20"], ADMIN,
         "Error: Response 1 cannot be given a deadline other than the statutory one without a "
         "reason (--reason)"),
        (["report", "add", "--title", " ", "--published", "2024-10-10"], ADMIN,
         "Error: title: must not be empty"),
        (["report", "add", "--title", "T", "--published", "2024-02-30"], ADMIN,
         "Error: published_on: 2024-02-30 is not a real date"),
        (["report", "add", "--title", "T", "--published", "2024-10-10", "--rec", "1=a",
          "--rec", "1=b"], ADMIN, "Error: recommendation 1 already exists in this report"),
        (["rec", "add", "1", "8", "--text", "By 1 May 2025, again"], ADMIN,
         "Error: recommendation 8 already exists in response 1"),
        (["people", "add", "Bob", "bob-at-example", "--role", "admin"], ADMIN,
         "Error: email: 'bob-at-example' is not an email address (an email address must have "
         "an @-sign)"),
        (["people", "add", "Bob", "bob@x.example\r\nBcc: e@x.example", "--role", "admin"],
         ADMIN, "Error: email: 'bob@x.example\\r\\nBcc: e@x.example' is not an email address "
         "(the part after the @-sign contains invalid characters: ':', '@', SPACE, U+000A, "
         "U+000D)"),
        (["people", "add", "Bob", "bob@x.example", "--role", "boss"], ADMIN,
         "Error: roles.0: Input should be 'admin', 'force', 'pcc', 'chief_executive', 'panel' "
         "or 'auditor'"),
        (["people", "add", "Bob", ADMIN, "--role", "admin"], ADMIN,
         f"Error: person {ADMIN} already exists"),
        (["edit", "1", "pcc_response", "--text", "x", "--expect-version", "7"], PCC,
         "Error: response 1 changed since loaded (loaded version 7, now version 1); "
         "reload it and try again"),
        (["edit", "1", "title", "--text", "x"], ADMIN,
         "Error: field: 'title' is not editable; fields: key_findings, cc_response, "
         "pcc_response, afi_statement"),
        (["list", "--state", "done"], None,
         "Error: --state: 'done' is not a state; states: draft, force_input, pcc_signoff, "
         "forwarded_to_panel, published, portal_submitted, not_required"),
    ])
    def test_refused(self, wf_norfolk: Workflow, run, args: list[str], actor: str | None,  # type: ignore[no-untyped-def]
                     line: str) -> None:
        before = snapshot(wf_norfolk)
        result = run(*args, actor=actor)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == line
        assert snapshot(wf_norfolk) == before

    @pytest.mark.parametrize(("env", "line"), [
        ({"S55_ESCALATION_HOUR": "99"}, "Error: settings do not load: S55_ESCALATION_HOUR: "
         "Input should be less than or equal to 23"),
        ({"S55_HMICFRS_EMAIL": ""}, "Error: settings do not load: S55_HMICFRS_EMAIL: '' is "
         "not one plain address local@domain"),
        ({"S55_MAIL_FROM": "s55@opcc.example\r\nBcc: all@x.example"},
         "Error: settings do not load: S55_MAIL_FROM: 's55@opcc.example\\r\\nBcc: "
         "all@x.example' is not one plain address local@domain"),
    ])
    def test_bad_setting_is_one_line(self, wf_norfolk: Workflow, db_url: str, env: dict[str, str],
                                     line: str) -> None:
        """A bad S55_* variable: one line naming it, before anything is read or written."""
        before = snapshot(wf_norfolk)
        result = CliRunner().invoke(app, ["request-force-input", "1"], env={
            "S55_DATABASE_URL": db_url, "S55_ACTOR": ADMIN, **env})
        assert result.exit_code == 1
        assert result.stderr.strip() == line
        assert snapshot(wf_norfolk) == before

    def test_usage_error_exits_2(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("do", "1", "sign_off", "--no-such-option", actor=ADMIN)
        assert result.exit_code == 2

    def test_no_schema_says_run_init(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        result = CliRunner().invoke(app, ["list"], env={"S55_DATABASE_URL": url})
        assert result.exit_code == 1
        assert result.stderr.strip() == (f"Error: database {url} has no s55 schema; "
                                         "run `s55 init`")


class TestReads:
    def test_list_json(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        result = run("list", "--json")
        assert result.exit_code == 0
        rows = json.loads(result.stdout)
        assert [(r["id"], r["state"], r["deadline"]) for r in rows] == [(1, "draft", "2024-12-04")]
        assert rows[0]["rag"] == "red"  # the deadline is long past in 2026
        # Unswept and long overdue: the weekly overdue rule is what fires next.
        assert rows[0]["next_escalation"]["rule"] == "overdue"

    def test_list_piped_is_one_plain_line_per_response(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        """Piped output (not a terminal): a header and aligned columns, nothing wrapped."""
        lines = run("list").stdout.splitlines()
        assert lines[0].split() == ["id", "report", "state", "deadline", "timing",
                                    "status", "waiting", "on", "next", "escalation"]
        assert len(lines) == 2
        assert lines[1].split()[0] == "1"
        assert "draft" in lines[1]
        assert "2024-12-04" in lines[1]

    def test_show_lists_triggers_the_actor_may_fire(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        admin = json.loads(run("show", "1", "--json", actor=ADMIN).stdout)
        force = json.loads(run("show", "1", "--json", actor=FORCE).stdout)
        assert admin["allowed_triggers"] == ["request_force_input", "mark_not_required"]
        assert force["allowed_triggers"] == []
        assert [r["number"] for r in admin["recommendations"]] == [1, 2, 3, 4, 8]
        assert admin["statutory_deadline"] == "2024-12-04"

    def test_log_shows_who_moved_what_and_why(self, wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
        assert run("request-force-input", "1", "--due", "2030-01-01", actor=ADMIN).exit_code == 1
        assert run("deadline", "1", "2030-06-01", "--reason", "Report republished",
                   actor=ADMIN).exit_code == 0
        assert run("request-force-input", "1", actor=ADMIN).exit_code == 0
        assert run("return-to-draft", "1", "--reason", "Wrong report", actor=ADMIN).exit_code == 0
        moves = [(r["actor"], r["what"], r["change"], r["reason"])
                 for r in table_rows(run("log", "1").stdout) if r["what"] != "mail_queued"]
        assert moves == [
            (ADMIN, "created", "- -> Draft", "-"),
            (ADMIN, "deadline_override", "deadline 2024-12-04 -> 2030-06-01", "Report republished"),
            (ADMIN, "Sent to the force for comments", "Draft -> Force's comments", "-"),
            (ADMIN, "Returned to draft", "Force's comments -> Draft", "Wrong report")]
        events = json.loads(run("log", "1", "--json").stdout)
        assert [e["action"] for e in events if not e["action"].startswith("mail_")] == [
            "created", "deadline_override", "transition", "transition"]

    def test_audit_verify_head_and_export(self, wf_norfolk: Workflow, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        head = json.loads(run("audit", "head", "--json").stdout)
        ok = run("audit", "verify", "--head", head["hash"])
        assert ok.exit_code == 0
        assert "contains the given head" in ok.stdout
        bad = run("audit", "verify", "--head", "f" * 64)
        assert bad.exit_code == 1
        assert "is not in the chain" in bad.stderr
        out = tmp_path / "audit.jsonl"
        assert run("audit", "export", "--output", str(out)).exit_code == 0
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == head["count"]
        assert lines[-1]["hash"] == head["hash"]

    def test_diagram_formats(self, run) -> None:  # type: ignore[no-untyped-def]
        assert run("diagram").stdout.startswith("stateDiagram-v2")
        assert run("diagram", "--format", "dot").stdout.startswith("digraph s55")


def _commands(group, prefix: str = ""):  # type: ignore[no-untyped-def]
    import typer.main

    cmd = typer.main.get_command(group)
    for name, sub in cmd.commands.items():  # type: ignore[attr-defined]
        yield from ([(f"{prefix}{name} {n}", c) for n, c in sub.commands.items()]
                    if hasattr(sub, "commands") else [(f"{prefix}{name}", sub)])


@pytest.mark.parametrize(("name", "command"), list(_commands(app)), ids=lambda x: str(x))
def test_every_command_has_help_and_is_in_the_readme(name: str, command) -> None:  # type: ignore[no-untyped-def]
    assert (command.help or "").strip(), f"{name} has no help"
    assert f"s55 {name}" in (ROOT / "README.md").read_text(), f"README does not mention {name}"


@pytest.mark.slow
def test_two_processes_race_one_transition(wf_norfolk: Workflow, db_url: str,
                                           tmp_path: Path) -> None:
    """Two admins fire at once on version 1: exactly one wins, the other is told it changed."""
    env = {**os.environ, "S55_DATABASE_URL": db_url, "S55_ACTOR": ADMIN,
           "S55_SPOOL_DIR": str(tmp_path / "spool")}
    args = ["request-force-input", "1", "--expect-version", "1"]
    procs = [subprocess.Popen(S55 + args, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    # Serialised (SQLite), the loser loads version 2; concurrent (PostgreSQL), its
    # compare-and-set finds the row moved on.
    assert re.fullmatch(r"Error: response 1 changed since loaded \(loaded version 1, "
                        r"now (version 2|changed)\); reload it and try again", loser.strip()), loser
    from workflow.audit import trail

    assert trail.verify(wf_norfolk.db).ok
    with wf_norfolk.db.read() as s:
        transitions = [e for e in trail.events_for(s, 1) if e.action == "transition"]
    assert len(transitions) == 1


def test_imported_document_shows_its_office_use_ticks(  # type: ignore[no-untyped-def]
        run, db: Database, settings: Settings) -> None:
    """`s55 show` reads the same checklist as the renderer: the imported boxes are ticked."""
    from tests.factories import add_people

    add_people(Workflow(db, settings))
    fixture = ROOT / "tests" / "data" / "norfolk-asb-spotlight-2024.md"
    assert run("import", str(fixture), actor=ADMIN).exit_code == 0
    office = json.loads(run("show", "1", "--json").stdout)["office_use"]
    assert office["forwarded_to_chief_constable"]
    assert office["forwarded_to_panel"]
    assert office["published_on_website"]
    assert office["submitted_on_portal"] is None
