"""``--help`` says everything and offers only what works: whole command
summaries in ``s55 --help``, and each transition command's own options only."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, snapshot
from workflow.cli import app
from workflow.responses.service import Workflow


def _help(*args: str) -> str:
    """``s55 ARGS --help`` as printed 80 columns wide (CliRunner fixes Click's width)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_top_help_gives_each_summary_whole_wrapped_to_the_terminal() -> None:
    """No summary is cut with "…", nor at the full stop of "e.g."."""
    text = _help()
    assert "…" not in text
    assert "..." not in text.replace("[ARGS]...", "")
    commands = text.split("Commands:\n")[1].splitlines()
    mark = next(i for i, line in enumerate(commands) if line.startswith("  mark-not-required"))
    assert commands[mark:mark + 3] == [
        "  mark-not-required    Close the response as not required (e.g. a national",
        "                       report duplicated by a force-specific one) (draft ->",
        "                       not_required; role: admin).",
    ]
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "  init                 Create or upgrade the database schema (and optionally the\n" \
           "                       first admin).\n" in text


def test_a_group_help_is_whole_too() -> None:
    assert _help("escalations").split("Commands:\n")[1] == (
        "  sweep  Fire every escalation due now, once, and exit (for cron; the daemon\n"
        "         does this too).\n"
        "  plan   Which escalations fire when, and to whom, given each response's current\n"
        "         state.\n"
        "  list   What has fired (and what was superseded while the scheduler was down).\n")


#: Each transition command's options, by hand from the lifecycle table in the README (the
#: shared --as comes last on every command; --on-behalf-of is refused for sign_off in words).
#: Options every transition command ends with.
_TAIL = ["--expect-version", "--on-behalf-of", "--as", "--help"]
OPTIONS = {
    "request-force-input": ["--reason", "--due", *_TAIL],
    "submit-force-input": ["--reason", *_TAIL],
    "sign-off": ["--reason", *_TAIL],
    "publish": ["--reason", "--url", "--published-on", *_TAIL],
    "submit-to-portal": ["--reason", "--portal-reference", *_TAIL],
    "return-to-force": ["--reason", "--due", *_TAIL],
    "return-to-draft": ["--reason", *_TAIL],
    "reopen": ["--reason", *_TAIL],
    "mark-not-required": ["--reason", *_TAIL],
    "do": ["--reason", "--due", "--url", "--published-on", "--portal-reference", *_TAIL],
}


@pytest.mark.parametrize(("command", "options"), OPTIONS.items())
def test_each_transition_command_lists_only_its_options(command: str,
                                                        options: list[str]) -> None:
    assert re.findall(r"^  (--[a-z-]+)", _help(command), re.MULTILINE) == options


def test_reason_says_when_it_is_required() -> None:
    assert re.search(r"--reason <str>\s+a note for the state log \(at most 2,000\s+"
                     r"characters\)\n", _help("sign-off"))
    assert re.search(r"--reason <str>\s+why \(required; at most 2,000 characters\)\n",
                     _help("return-to-draft"))
    assert re.search(r"--url <str>\s+where the response is published \(at most 2,000\s+"
                     r"characters\) \(required\)\n", _help("publish"))


@pytest.mark.parametrize("args", [
    ["request-force-input", "1", "--url", "https://www.norfolk-pcc.gov.uk/x"],
    ["request-force-input", "1", "--portal-reference", "HMI-1"],
    ["sign-off", "1", "--due", "2024-11-20"],
])
def test_an_option_the_trigger_does_not_take_is_a_usage_error(wf_norfolk: Workflow, run,  # type: ignore[no-untyped-def]
                                                              args: list[str]) -> None:
    """Refused by the parser (exit 2) before anything is read or written."""
    before = snapshot(wf_norfolk)
    result = run(*args, actor=ADMIN)
    assert result.exit_code == 2
    assert f"No such option: {args[2]}" in result.stderr
    assert snapshot(wf_norfolk) == before


def test_do_still_takes_every_option(wf_norfolk: Workflow, run) -> None:  # type: ignore[no-untyped-def]
    result = run("do", "1", "request_force_input", "--url", "https://x.example", actor=ADMIN)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: ask the force for its comments on response 1: "
                                     "does not take url")
