"""Read commands: the dashboard, one response, its state log, the diagram, the audit chain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from workflow.cli.app import (
    AsJson,
    ForceOpt,
    ResponseId,
    ResponseOpt,
    acting_as,
    app,
    audit_app,
    open_reader,
    open_workflow,
    print_json,
)

_RAG_STYLE = {"red": "bold red", "amber": "yellow", "green": "green", "done": "cyan",
              "late": "magenta", "undated": "yellow", "closed": "dim"}


def _waiting(r: dict[str, Any]) -> str:
    stuck = r.get("nobody_can_act")
    waiting: str = r["waiting_on"]
    return waiting + (f" (STUCK: no active {'/'.join(stuck)})" if stuck else "")


def _escalation(upcoming: dict[str, str] | None) -> str:
    return "-" if upcoming is None else f"{upcoming['day']} {upcoming['rule']}"


@app.command("list")
def list_(
    state: Annotated[str | None, typer.Option(help="only responses in this state")] = None,
    overdue: Annotated[bool, typer.Option(help="only unpublished responses past the deadline")]
    = False,
    all_: Annotated[bool, typer.Option("--all", help="include finished and closed ones")] = False,
    as_json: AsJson = False,
) -> None:
    """The dashboard: open responses with deadline, days left and a red/amber/green status."""
    from states import State
    from workflow.core.clock import SystemClock
    from workflow.core.errors import InvalidInputError
    from workflow.reads.dashboard import list_responses

    if state is not None and state not in {s.value for s in State}:
        raise InvalidInputError("--state", f"{state!r} is not a state; states: "
                                f"{', '.join(s.value for s in State)}")
    settings, db = open_reader()
    rows = list_responses(db, settings, SystemClock(), state=state, overdue=overdue,
                          include_closed=all_)
    if as_json:
        return print_json(rows)
    from states.deadlines import outcome_text
    from workflow.cli.table import print_table

    cells = [[str(r["id"]), r["title"], r["state"],
              r["deadline"] + ("*" if r["deadline_overridden"] else ""),
              outcome_text(r["outcome"]), r["rag"], _waiting(r),
              _escalation(r["next_escalation"])] for r in rows]
    # At a terminal one line per response: only the title gives way; on a narrow one
    # the last two columns wrap rather than fall off the edge.
    print_table(("id", "report", "state", "deadline", "timing", "status", "waiting on",
                 "next escalation"), cells, right={0}, title=f"{len(cells)} response(s)",
                gives_way=1, wraps={6, 7}, styles={5: _RAG_STYLE})
    return None


def _standing(d: dict[str, Any]) -> str:
    """``due in 12 days (amber)``; once published or closed the words say it all."""
    from states.deadlines import outcome_text

    words = outcome_text(d["outcome"])
    return f"{words} ({d['rag']})" if d["outcome"]["kind"] in ("due", "overdue") else words


def _deadline_warning(d: dict[str, Any]) -> list[str]:
    """A line when the last lawful day is not a working day and it is still to publish."""
    note = d["deadline_not_working_day"]
    if not note or d["published_on"] is not None or d["closed_reason"]:
        return []
    day, last = (date.fromisoformat(v) for v in (d["deadline"], note["last_working_day"]))
    return [f"  WARNING: the last lawful day, {day:%a %d %b %Y}, is not a working day "
            f"({note['because']}): the last working day before it is {last:%a %d %b %Y} "
            "(the deadline does not move: s55(5A) counts calendar days)"]


def _afterwards(d: dict[str, Any]) -> list[str]:
    """Where and when it was published, the portal reference, why it was closed."""
    lines = []
    at = f" at {d['published_url']}" if d["published_url"] else ""
    if d["published_on"]:
        lines.append(f"  published:  {d['published_on']}{at}")
    elif d["rag"] == "undated":
        lines.append("  published:  date unknown (the imported document does not say; s55 "
                     f"cannot tell whether it was on time){at}")
    if d["portal_reference"]:
        lines.append(f"  portal ref: {d['portal_reference']}")
    if d["closed_reason"]:
        lines.append(f"  closed:     {d['closed_reason']}")
    return lines


def _show_text(d: dict[str, Any]) -> list[str]:
    from states.words import long_date, state_words

    lines = [
        f"Response {d['id']} (version {d['version']}) - {d['force']}",
        f"  report:     {d['report']['title']}",
        f"  published:  {d['report']['published_on']}   link: {d['report']['link'] or '-'}",
        f"  state:      {state_words(d['state'])}   waiting on: {d['waiting_on']}",
        f"  deadline:   {long_date(date.fromisoformat(d['deadline']))}, {_standing(d)}"
        + (f"  [overridden; statutory {d['statutory_deadline']}]" if d["deadline_overridden"]
           else "  [s55(5A): publication + 55 days]"),
        *_deadline_warning(d),
        f"  force input due: {d['force_input_due'] or '-'}   sign-off due: {d['signoff_due']}",
    ]
    if d["stated_deadline"]:
        lines.append(f"  (the imported document stated {d['stated_deadline']}; s55 keeps the "
                     "statutory date)")
    lines += _afterwards(d)
    for name in ("key_findings", "cc_response", "pcc_response"):
        words = len((d[name] or "").split())
        lines.append(f"  {name.replace('_', ' ')}: {words} words" if words else
                     f"  {name.replace('_', ' ')}: (empty)")
    lines.append(f"  recommendations ({len(d['recommendations'])}):")
    for r in d["recommendations"]:
        answered = "force responded" if r["force_response"] else "NO FORCE RESPONSE"
        lines.append(f"    {r['number']:>3}. due {r['due_date'] or '-'}  {answered}"
                     + ("  + PCC note" if r["pcc_note"] else ""))
    lines.append(f"  areas for improvement ({len(d['areas_for_improvement'])}):")
    for a in d["areas_for_improvement"]:
        answered = "force responded" if a["force_response"] else "NO FORCE RESPONSE"
        lines.append(f"    {a['number']:>3}. {answered}")
    if d["signed_off"]:
        lines.append(f"  signature:  {d['signed_off']['line']}")
    if d["nobody_can_act"]:
        lines.append(f"  STUCK:      no active person holds {' or '.join(d['nobody_can_act'])} "
                     "to take the next step (`s55 people list`)")
    if d["allowed_for"]:
        triggers = ", ".join(d["allowed_triggers"]) or "none"
        lines.append(f"  may fire now ({d['allowed_for']}): {triggers}")
    else:
        lines.append("  may fire now: give --as EMAIL to see the triggers that person may fire")
    return lines


@app.command()
def show(response_id: ResponseId, as_json: AsJson = False) -> None:
    """One response: deadlines, content status, and the triggers you may fire now."""
    from workflow.core.clock import SystemClock
    from workflow.core.os_account import os_account
    from workflow.reads import detail

    settings, db = open_reader()
    shown = detail.show(db, SystemClock(), settings.identity, os_account(),
                        response_id, acting_as())
    if as_json:
        return print_json(shown)
    from workflow.cli.table import visible

    typer.echo("\n".join(visible(line) for line in _show_text(shown)))


@app.command()
def log(response_id: ResponseId, as_json: AsJson = False) -> None:
    """The state log of one response: who moved what, when and why."""
    from workflow.reads import detail

    events = detail.log(open_reader()[1], response_id)
    if as_json:
        return print_json(events)
    from states.words import state_name, trigger_past, when
    from workflow.cli.table import print_table
    from workflow.reads.detail import describe, provenance

    def change(e: dict[str, Any]) -> str:
        move = (f"{state_name(e['from_state']) if e['from_state'] else '-'} -> "
                f"{state_name(e['to_state'])}" if e["to_state"] else "")
        return " ".join(x for x in (move, describe(e["action"], e["payload"], e["actor"])) if x)

    # Times in London to the minute for people; --json keeps the stored ISO instants.
    print_table(("when (London)", "event", "actor", "what", "change", "reason", "how"), [
        [when(e["at"]), f"#{e['id']}", e["actor"],
         trigger_past(e["trigger"]) if e["trigger"] else e["action"],
         change(e), e["reason"], provenance(e)] for e in events])


@app.command()
def diagram(fmt: Annotated[str, typer.Option("--format", help="mermaid or dot")] = "mermaid"
            ) -> None:
    """Print the lifecycle diagram, generated from the transition table."""
    from states import machine
    from workflow.core.errors import InvalidInputError

    render = {"mermaid": machine.mermaid, "dot": machine.dot}.get(fmt)
    if render is None:
        raise InvalidInputError("--format", f"{fmt!r}: use mermaid or dot")
    typer.echo(render(), nl=False)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help="a head hash kept outside the database; "
                                                  "fail unless the chain still contains it")]
    = None,
    checkpoints_from: Annotated[Path | None, typer.Option(
        "--checkpoints", help="checkpoints kept outside: the S55_CHECKPOINT_FILE, a folder of "
                              "the mailed .eml files, or an mbox", readable=False)] = None,
    as_json: AsJson = False,
) -> None:
    """Check the hash chain, that every response row equals the replay of its events, and
    that kept heads and checkpoints are still in the chain; name each problem."""
    from workflow.assurance import checkpoints as cps
    from workflow.assurance.full_check import full_check

    kept = cps.check_head_text(head) if head is not None else None
    found = cps.read_sources(checkpoints_from) if checkpoints_from is not None else None
    wf = open_workflow()
    ring = cps.keyring(wf.settings)
    # The same check the auditor's report states (workflow.assurance.full_check).
    check = full_check(wf.db, ring, kept)
    result, differences, done = check.result, check.differences, check.replayed
    proved = cps.prove(wf.db, found, ring) if found is not None else []
    bad = [p for p in proved if p.problem]
    if as_json:
        return _verify_json(result, differences, proved)
    failed = _verify_text(result, kept, ring, differences)
    if done.sent.unchecked:
        typer.echo(f"links: {done.sent.unchecked} issued before links were recorded in the "
                   "log not checked (no audit key here: their tokens derive from it)")
    bad = [p for p in proved if p.problem]
    for p in bad:
        typer.echo(f"Error: {p.describe()}", err=True)
    if found == []:
        typer.echo(f"Error: no checkpoints found in {checkpoints_from}", err=True)
    elif found is not None and not bad:
        typer.echo(f"checkpoints OK: {len(found)} from {checkpoints_from}, each in the chain")
    if failed or bad or found == []:
        raise typer.Exit(1)


def _verify_text(result: Any, kept: str | None, ring: Any, differences: list[Any]) -> bool:
    """Print the chain, signature and replay findings; True when any failed."""
    if result.broken:
        typer.echo(f"Error: audit chain broken at event {result.broken.event_id}: "
                   f"{result.broken.problem} ({result.count} events verified before it)", err=True)
    elif result.head_found is False:
        typer.echo(f"Error: head {kept} is not in the chain: history was rewritten "
                   f"({result.count} events, head now {result.head})", err=True)
    else:
        typer.echo(f"audit chain OK: {result.count} events, head {result.head}"
                   + (" (contains the given head)" if result.head_found else ""))
    if result.signed is None:
        typer.echo("signatures: not checked (no audit key here): the chain above proves "
                   "no event was changed unless someone re-hashed it")
    elif result.broken:
        typer.echo(f"signatures: checked up to the break: {result.signed} events before event "
                   f"{result.broken.event_id} signed with the audit key; none from it on")
    else:
        typer.echo(f"signatures OK: {result.signed} events signed with the audit key"
                   + (f" (events before #{ring.since} predate the key)"
                      if ring and ring.since > 1 else ""))
    for d in differences:
        typer.echo(f"Error: {d.describe()}", err=True)
    if not any(d.response_id is not None for d in differences):
        typer.echo("rows OK: every response equals the replay of its events")
    if not any(d.response_id is None for d in differences):
        typer.echo("people, links and sent mail OK: every person, delegation, personal link "
                   "and sent message agrees with its signed events")
    return not result.ok or bool(differences)


def _verify_json(result: Any, differences: list[Any], proved: list[Any]) -> None:
    print_json({"ok": result.ok and not differences and not any(p.problem for p in proved),
                "events": result.count, "head": result.head,
                "broken": result.broken.__dict__ if result.broken else None,
                "head_found": result.head_found, "signed": result.signed,
                "rows": [{"response": d.response_id, "subject": d.subject or None,
                          "field": d.field, "row": d.row, "log": d.log} for d in differences],
                "checkpoints": [{"count": p.checkpoint.count, "head": p.checkpoint.head,
                                 "at": p.checkpoint.at.isoformat(), "problem": p.problem}
                                for p in proved]})
    if not result.ok or differences or any(p.problem for p in proved):
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: AsJson = False) -> None:
    """Print the head hash and event count, to keep outside the database."""
    from workflow.audit import trail

    h = trail.head(open_workflow().db)
    if as_json:
        return print_json(h.__dict__)
    typer.echo(f"{h.hash} {h.count} events (last id {h.last_id})")


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option(help="write JSON Lines here (default stdout)",
                                                readable=False)] = None,
    response: Annotated[int | None, ResponseOpt] = None,
    force: ForceOpt = False,
) -> None:
    """Export the audit log as JSON Lines (one event a line, with its hashes)."""
    from workflow.reads.detail import export_events

    lines = export_events(open_reader()[1], response)
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    from workflow.core import files

    count = 0

    def counted() -> Iterator[str]:
        nonlocal count
        for line in lines:
            count += 1
            yield line + "\n"

    files.write_text(output, counted(), overwrite=force)
    typer.echo(f"wrote {count} events to {output}")
