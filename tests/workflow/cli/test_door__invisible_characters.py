"""Invisible and direction-changing characters (a right-to-left override, a zero-width
space, an isolate) are refused in every free-text field the command line takes: one line
naming the field and the character, and the database unchanged, on both backends.

A right-to-left override in a name or a reason made ``s55 log`` show something other than
what was stored; zero-width characters make two names that look alike differ."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories import FORCE, PCC
from tests.workflow.cli.conftest import Refused

RLO = "\u202e"
NAMES = {"\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE", "\u200b": "U+200B ZERO WIDTH SPACE",
         "\u2067": "U+2067 RIGHT-TO-LEFT ISOLATE", "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
         "\u00ad": "U+00AD SOFT HYPHEN", "\u2028": "U+2028 LINE SEPARATOR"}


def hidden(what: str, char: str = RLO) -> str:
    return (f"Error: {what}: contains invisible or direction-changing characters "
            f"({NAMES[char]}), which make text read differently from what is stored; type "
            "it without them")


REPORT = ["report", "add", "--published", "2024-10-10"]


@pytest.mark.parametrize(("args", "what", "actor"), [
    ([*REPORT, "--title", f"Custody{RLO}txt.exe"], "title", None),
    ([*REPORT, "--title", "T", "--types", f"PEEL{RLO}"], "publication_types", None),
    ([*REPORT, "--title", "T", "--forces", f"All{RLO}"], "police_forces", None),
    ([*REPORT, "--title", "T", "--force", f"Nor{RLO}folk"], "force", None),
    ([*REPORT, "--title", "T", "--rec", f"1=By 2025{RLO}"], "recommendations.0.text", None),
    ([*REPORT, "--title", "T", "--afi", f"1=An area{RLO}"], "areas_for_improvement.0.text",
     None),
    ([*REPORT, "--title", "T", "--again", "--reason", f"again{RLO}"], "--reason", None),
    (["report", "edit", "1", "title", f"A{RLO}B", "--reason", "typo"], "title", None),
    (["report", "edit", "1", "publication_types", f"A{RLO}B"], "publication_types", None),
    (["report", "edit", "1", "title", "New title", "--reason", f"typo{RLO}"], "--reason",
     None),
    (["edit", "1", "key_findings", "--text", f"Found{RLO}"], "key_findings", None),
    (["edit", "1", "cc_response", "--text", f"We agree{RLO}"], "cc_response", FORCE),
    (["edit", "1", "pcc_response", "--text", f"I welcome{RLO}"], "pcc_response", PCC),
    (["edit", "1", "afi_statement", "--text", f"None{RLO}"], "afi_statement", None),
    (["edit", "1", "pcc_response", "--text", "x", "--on-behalf-of", PCC, "--reason",
      f"away{RLO}"], "--reason", None),
    (["rec", "add", "1", "9", "--text", f"Forces should{RLO}"], "text", None),
    (["rec", "add", "1", "9", "--text", "x", "--directed-at", f"chiefs{RLO}"], "directed_at",
     None),
    (["rec", "respond", "1", "1", "--text", f"Done{RLO}"], "force_response", FORCE),
    (["rec", "note", "1", "1", "--text", f"Because{RLO}"], "pcc_note", PCC),
    (["deadline", "1", "2024-12-20", "--reason", f"agreed{RLO}"], "--reason", None),
    (["mark-not-required", "1", "--reason", f"duplicate{RLO}"], "--reason", None),
    (["request-force-input", "1", "--reason", f"please{RLO}"], "--reason", None),
    (["people", "add", f"Bob{RLO}", "bob@x.example", "--role", "panel"], "name", None),
    (["people", "add", "Bob", f"bob{RLO}@x.example", "--role", "panel"], "email", None),
    (["people", "edit", PCC, "--name", f"Giles{RLO}", "--reason", "typo"], "name", None),
    (["people", "edit", PCC, "--email", f"pcc@x{RLO}.example", "--reason", "new"], "email",
     None),
    (["people", "edit", PCC, "--name", "Giles", "--reason", f"typo{RLO}"], "--reason", None),
    (["people", "disable", FORCE, "--reason", f"left{RLO}"], "--reason", None),
    (["people", "roles", FORCE, "--add", "panel", "--reason", f"moved{RLO}"], "--reason",
     None),
    (["people", "delegate", PCC, "--to", "ceo@norfolk-pcc.gov.uk", "--from", "2024-10-14",
      "--until", "2024-10-20", "--reason", f"leave{RLO}"], "--reason", PCC),
    (["init", "--force", f"Nor{RLO}folk", "--office", "OPCC"], "--force", None),
    (["init", "--force", "Norfolk", "--office", f"OPCC{RLO}"], "--office", None),
    (["office", "set", "force", f"Nor{RLO}folk", "--reason", "typo"], "--force", None),
    (["office", "set", "name", f"OPCC{RLO}", "--reason", "typo"], "--office", None),
    (["office", "set", "force", "Suffolk", "--reason", f"merger{RLO}"], "--reason", None),
])
def test_a_right_to_left_override_is_refused(refused: Refused, args: list[str], what: str,
                                             actor: str | None) -> None:
    """Every field, one line naming it; nothing written."""
    refused(args, hidden(what), *([actor] if actor else []))


@pytest.mark.parametrize("char", sorted(NAMES))
def test_each_kind_of_invisible_character(refused: Refused, char: str) -> None:
    """Zero-width, isolates, the byte-order mark and the soft hyphen are refused as the
    override is (the line separator is a line break in a one-line field)."""
    if char == "\u2028":
        refused([*REPORT, "--title", f"a{char}b"], "Error: title: contains a control "
                "character or line break (U+2028); it must be one line of text")
    else:
        refused([*REPORT, "--title", f"a{char}b"], hidden("title", char))
    refused(["edit", "1", "key_findings", "--text", f"one\n{char}two"],
            hidden("key_findings", char))


def test_an_area_for_improvement_answer(refused: Refused, run: Any) -> None:
    """``afi respond``: the force's answer to an area for improvement."""
    made = run(*REPORT, "--title", "With an area", "--afi", "1=Improve custody records",
               actor="ann.admin@norfolk-pcc.gov.uk")
    assert made.exit_code == 0, made.output
    refused(["afi", "respond", "2", "1", "--text", f"Done{RLO}"], hidden("force_response"),
            FORCE)


def test_the_claimed_actor(refused: Refused) -> None:
    """``--as`` is refused before anyone is looked up."""
    refused(["show", "1", "--as", f"ann.admin@norfolk-pcc.gov.uk{RLO}"], hidden("--as"))


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_a_report_file(refused: Refused, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"report{suffix}"
    title = f"Custody{RLO}"
    path.write_text(f'title = "{title}"\npublished_on = 2024-10-10\n' if suffix == ".toml"
                    else f"title: {title}\npublished_on: 2024-10-10\n", encoding="utf-8")
    refused(["report", "add", "--file", str(path)], hidden("title"))


def test_an_imported_document_names_the_line(refused: Refused, tmp_path: Path) -> None:
    """A document is refused at the line holding the character, before it is read."""
    source = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].rstrip("\n") + f" {RLO}\n"
    path = tmp_path / "response.md"
    path.write_text("".join(lines), encoding="utf-8")
    refused(["import", str(path)], f"Error: {path}:5: contains invisible or "
            f"direction-changing characters ({NAMES[RLO]}), which make text read differently "
            "from what is stored; type it without them")
