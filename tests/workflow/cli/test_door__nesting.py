"""Files nested thousands of levels deep are refused in one line, never a
``RecursionError`` traceback, the database unchanged, on both backends: a report file
(TOML or YAML), the escalation policy, an imported Markdown document (block quotes or
lists nested past the depth markdown-it reads, where it used to drop the rest of the
document without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.factories import ADMIN, FORCE
from tests.workflow.cli.conftest import Refused
from workflow.core.nesting import (
    MAX_DEPTH,
    NestingError,
    _parser,
    deeper_than,
    load_toml,
    load_yaml,
    markdown_too_deep,
    too_deep_at,
)
from workflow.documents.render import render_response
from workflow.responses.service import Workflow

DEEP = 2_000
TOO_DEEP = (f"its tables and lists are nested more than {MAX_DEPTH} levels deep (no file "
            "s55 reads needs so many)")
MARKDOWN = ("block quotes or lists are nested too deeply here to be read whole (a list 8 "
            "deep, or block quotes 17 deep, at most)")
NORFOLK = Path(__file__).parents[2] / "data" / "norfolk-asb-spotlight-2024.md"
START = 37  # after the key findings' first paragraph


@pytest.mark.parametrize(("name", "body"), [
    ("arrays.toml", 'title = "T"\npublished_on = 2024-10-10\nx = ' + "[" * DEEP + "]" * DEEP),
    ("tables.toml", 'title = "T"\npublished_on = 2024-10-10\nx = ' + "{a = " * DEEP + "1"
     + "}" * DEEP),
    ("shallower.toml", 'title = "T"\nx = ' + "[" * 40 + "]" * 40),
    ("flow.yaml", "title: T\nx: " + "[" * DEEP + "]" * DEEP),
    ("block.yaml", "title: T\nx:\n" + "".join(" " * i + "- \n" for i in range(1, DEEP))),
    ("mappings.yaml", "title: T\n" + "".join(" " * i + "a:\n" for i in range(DEEP))),
    ("itself.yaml", "title: T\nrecommendations: &r [*r]\n"),
])
def test_a_deep_report_file(refused: Refused, tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    refused(["report", "add", "--file", str(path)], f"Error: {path}: {TOO_DEEP}")


def test_a_deep_escalation_policy(refused: Refused, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("rules = " + "[" * DEEP + "]" * DEEP, encoding="utf-8")
    monkeypatch.setenv("S55_POLICY_FILE", str(path))
    refused(["escalations", "plan", "1"], f"Error: escalation policy {path}: {TOO_DEEP}")


def _document(tmp_path: Path, nested: str) -> Path:
    """The Norfolk response with ``nested`` put into its key findings, from line ``START``."""
    lines = NORFOLK.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "response.md"
    path.write_text("".join([*lines[:START - 2], "\n", nested, "\n", *lines[START - 2:]]),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("nested", "at"), [
    ("> " * 5_000 + "deep\n", 0),
    ("> " * 18 + "deep\n", 0),
    ("".join("  " * i + f"- level {i}\n" for i in range(1_000)), 8),
    ("".join("  " * i + f"- level {i}\n" for i in range(9)), 8),
    ("".join("> " * i + f"- level {i}\n" for i in range(30)), 16),
])
def test_a_deep_document(refused: Refused, tmp_path: Path, nested: str, at: int) -> None:
    """Refused at the line where the nesting gets too deep."""
    path = _document(tmp_path, nested)
    refused(["import", str(path)], f"Error: {path}:{START + at}: {MARKDOWN}")


@pytest.mark.parametrize("nested", ["> " * 17 + "deep\n",
                                    "".join("  " * i + f"- level {i}\n" for i in range(8))])
def test_nesting_within_the_limit_is_read(tmp_path: Path, nested: str) -> None:
    from workflow.documents.parse import parse_document

    text = _document(tmp_path, nested).read_text(encoding="utf-8")
    findings = parse_document(text).key_findings or ""
    assert "deep" in findings or "level 7" in findings
    assert "HMICFRS found that most forces are good at sharing" in findings  # read on


def _nest(depth: int, kind: str) -> str:
    inner = "1"
    for _ in range(depth):
        inner = f"[{inner}]" if kind == "list" else f"{{a = {inner}}}"
    return f"x = {inner}\n"


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(0, 3 * MAX_DEPTH), kind=st.sampled_from(["list", "table"]))
@example(depth=MAX_DEPTH - 1, kind="list")
@example(depth=MAX_DEPTH, kind="list")
@example(depth=DEEP, kind="table")
def test_toml_is_refused_exactly_past_the_limit(depth: int, kind: str) -> None:
    """The document's table is level 1: ``x`` nests ``depth`` more; past ``MAX_DEPTH`` in
    all, one ``NestingError``, whether tomllib got there or not."""
    text = _nest(depth, kind)
    if depth + 1 > MAX_DEPTH:
        with pytest.raises(NestingError):
            load_toml(text)
    else:
        assert not deeper_than(load_toml(text))


def test_yaml_aliases_cost_no_more_than_the_file() -> None:
    """A "billion laughs" of shared lists is walked once per list, not once per path."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    data = load_yaml("\n".join(lines))
    assert not deeper_than(data)


@pytest.mark.parametrize(("args", "what", "actor"), [
    (["edit", "1", "key_findings", "--text", "Found:\n\n" + "> " * 30 + "deep"],
     "key_findings", ADMIN),
    (["rec", "respond", "1", "1", "--text",
      "".join("  " * i + f"- level {i}\n" for i in range(12))], "force_response", FORCE),
    (["report", "add", "--title", "T", "--published", "2024-10-10", "--rec",
      "1=" + "- " * 10 + "x"], "recommendations.0.text", ADMIN),
])
def test_deep_markdown_typed_at_the_command_line(refused: Refused, args: list[str],
                                                  what: str, actor: str) -> None:
    """Text is Markdown: what markdown-it would stop reading is refused where it is typed
    (the HTML document and the PCC's page would have shown it cut short)."""
    line = 3 if what == "key_findings" else 9 if what == "force_response" else 1
    refused(args, f"Error: {what}: line {line}: {MARKDOWN}", actor)


def test_deep_text_already_stored_is_shown_whole(norfolk_wf: Workflow) -> None:
    """Defence in depth: a row written behind s55's back renders every word, as text."""
    from sqlalchemy import text

    deep = "> " * 40 + "the last words"
    with norfolk_wf.db.engine.begin() as conn:
        conn.execute(text("UPDATE response SET key_findings = :t WHERE id = 1"), {"t": deep})
    html = render_response(norfolk_wf.db, 1, "html")
    assert "the last words" in html
    assert "&gt; &gt; &gt;" in html


_MARKERS = st.sampled_from(["> ", ">", "- ", "* ", "1. ", "10) ", "  ", "\t", " ", "+ ",
                            "-\t", "x", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_MARKERS, max_size=14).map("".join), min_size=1, max_size=20))
@example(["  " * i + "- x" for i in range(9)])
@example(["\t" * i + "- x" for i in range(9)])
@example([">" * 18 + "x"])
def test_the_quick_look_never_misses_deep_markdown(lines: list[str]) -> None:
    """``markdown_too_deep`` parses only text with a long run of markers at a line's
    start; it finds what the full parse finds, always."""
    source = "\n".join(line + "x" for line in lines)
    assert markdown_too_deep(source) == too_deep_at(_parser().parse(source))
