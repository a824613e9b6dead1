"""Read commands: the dashboard, one response, its state log, the diagram, the audit chain."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from workflow.cli.app import (
    AsJson,
    ResponseId,
    acting_as,
    app,
    audit_app,
    open_database,
    open_workflow,
    print_json,
)

_RAG_STYLE = {"red": "bold red", "amber": "yellow", "green": "green", "done": "cyan",
              "late": "magenta", "closed": "dim"}


def _waiting(r: dict[str, Any]) -> str:
    stuck = r.get("nobody_can_act")
    return r["waiting_on"] + (f" (STUCK: no active {'/'.join(stuck)})" if stuck else "")


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
    from workflow.clock import SystemClock
    from workflow.dashboard import list_responses
    from workflow.errors import InvalidInputError

    if state is not None and state not in {s.value for s in State}:
        raise InvalidInputError("--state", f"{state!r} is not a state; states: "
                                f"{', '.join(s.value for s in State)}")
    settings, db = open_database()
    rows = list_responses(db, settings, SystemClock(), state=state, overdue=overdue,
                          include_closed=all_)
    if as_json:
        return print_json(rows)
    cells = [[str(r["id"]), r["title"], r["state"],
              r["deadline"] + ("*" if r["deadline_overridden"] else ""), str(r["days_left"]),
              r["rag"], _waiting(r), _escalation(r["next_escalation"])] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(_HEADERS)]
    if sys.stdout.isatty():
        width = shutil.get_terminal_size((120, 24)).columns
        # One line per response: only the title gives way, to what the terminal leaves.
        room = max(width - (sum(widths) - widths[1]) - 3 * len(_HEADERS) - 1, 12)
        for c in cells:
            if len(c[1]) > room:
                c[1] = c[1][: room - 1] + "…"
        widths[1] = min(widths[1], room)
        _print_table(cells, widths, width)
    else:
        # Piped or redirected: whole titles in plain aligned columns, quick to print and
        # to grep (Rich is not even imported).
        for line in [list(_HEADERS), *cells]:
            typer.echo("  ".join(v.rjust(w) if i in (0, 4) else v.ljust(w)
                                 for i, (v, w) in enumerate(zip(line, widths, strict=True)))
                       .rstrip())
    return None


_HEADERS = ("id", "report", "state", "deadline", "days left", "status", "waiting on",
            "next escalation")


def _print_table(cells: list[list[str]], widths: list[int], width: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(cells)} response(s)", title_justify="left")
    for header, w in zip(_HEADERS, widths, strict=True):
        # On a narrow terminal the last two columns wrap rather than fall off the edge.
        wraps = header in ("waiting on", "next escalation")
        table.add_column(header, no_wrap=not wraps, min_width=None if wraps else w,
                         justify="right" if header in ("id", "days left") else "left")
    for c in cells:
        table.add_row(*c[:5], f"[{_RAG_STYLE[c[5]]}]{c[5]}[/]", *c[6:])
    Console(highlight=False, soft_wrap=False, width=width).print(table)


def _show_text(d: dict[str, Any]) -> list[str]:
    lines = [
        f"Response {d['id']} (version {d['version']}) - {d['force']}",
        f"  report:     {d['report']['title']}",
        f"  published:  {d['report']['published_on']}   link: {d['report']['link'] or '-'}",
        f"  state:      {d['state']}   waiting on: {d['waiting_on']}",
        f"  deadline:   {d['deadline']} ({d['days_left']} days left, {d['rag']})"
        + (f"  [overridden; statutory {d['statutory_deadline']}]" if d["deadline_overridden"]
           else "  [s55(5A): publication + 55 days]"),
        f"  force input due: {d['force_input_due'] or '-'}   sign-off due: {d['signoff_due']}",
    ]
    if d["stated_deadline"]:
        lines.append(f"  (the imported document stated {d['stated_deadline']}; s55 keeps the "
                     "statutory date)")
    if d["published_url"]:
        lines.append(f"  published:  {d['published_on']} at {d['published_url']}")
    if d["portal_reference"]:
        lines.append(f"  portal ref: {d['portal_reference']}")
    if d["closed_reason"]:
        lines.append(f"  closed:     {d['closed_reason']}")
    for name in ("key_findings", "cc_response", "pcc_response"):
        words = len((d[name] or "").split())
        lines.append(f"  {name.replace('_', ' ')}: {words} words" if words else
                     f"  {name.replace('_', ' ')}: (empty)")
    lines.append(f"  recommendations ({len(d['recommendations'])}):")
    for r in d["recommendations"]:
        answered = "force responded" if r["force_response"] else "NO FORCE RESPONSE"
        lines.append(f"    {r['number']:>3}. due {r['due_date'] or '-'}  {answered}"
                     + ("  + PCC note" if r["pcc_note"] else ""))
    lines.append(f"  areas for improvement: {len(d['areas_for_improvement'])}")
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
    from workflow.queries import show as show_response

    detail = show_response(open_workflow(), response_id, acting_as())
    if as_json:
        return print_json(detail)
    typer.echo("\n".join(_show_text(detail)))


@app.command()
def log(response_id: ResponseId, as_json: AsJson = False) -> None:
    """The state log of one response: who moved what, when and why."""
    from workflow.queries import log as response_log

    events = response_log(open_workflow(), response_id)
    if as_json:
        return print_json(events)
    from workflow.queries import describe, provenance

    for e in events:
        move = (f"{e['from_state'] or '-'} -> {e['to_state']}" if e["to_state"] else "")
        what = e["trigger"] or e["action"]
        detail = " ".join(x for x in (move, describe(e["action"], e["payload"], e["actor"])) if x)
        reason = f'  reason: "{e["reason"]}"' if e["reason"] else ""
        typer.echo(f"{e['at'][:19].replace('T', ' ')}Z  #{e['id']:<6} {e['actor']:<28} "
                   f"{what:<22} {detail}{reason}  [{provenance(e)}]")


@app.command()
def diagram(fmt: Annotated[str, typer.Option("--format", help="mermaid or dot")] = "mermaid"
            ) -> None:
    """Print the lifecycle diagram, generated from the transition table."""
    from states import machine
    from workflow.errors import InvalidInputError

    render = {"mermaid": machine.mermaid, "dot": machine.dot}.get(fmt)
    if render is None:
        raise InvalidInputError("--format", f"{fmt!r}: use mermaid or dot")
    typer.echo(render(), nl=False)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help="a head hash kept outside the database; "
                                                  "fail unless the chain still contains it")]
    = None,
    as_json: AsJson = False,
) -> None:
    """Check the whole hash chain; name the first broken event."""
    from workflow import audit

    result = audit.verify(open_workflow().db, head)
    if as_json:
        print_json({"ok": result.ok, "events": result.count, "head": result.head,
                    "broken": result.broken.__dict__ if result.broken else None,
                    "head_found": result.head_found})
    elif result.broken:
        typer.echo(f"Error: audit chain broken at event {result.broken.event_id}: "
                   f"{result.broken.problem} ({result.count} events verified before it)", err=True)
    elif result.head_found is False:
        typer.echo(f"Error: head {head} is not in the chain: history was rewritten "
                   f"({result.count} events, head now {result.head})", err=True)
    else:
        typer.echo(f"audit chain OK: {result.count} events, head {result.head}"
                   + (" (contains the given head)" if result.head_found else ""))
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: AsJson = False) -> None:
    """Print the head hash and event count, to keep outside the database."""
    from workflow import audit

    h = audit.head(open_workflow().db)
    if as_json:
        return print_json(h.__dict__)
    typer.echo(f"{h.hash} {h.count} events (last id {h.last_id})")


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option(help="write JSON Lines here (default stdout)")]
    = None,
    response: Annotated[int | None, typer.Option(help="only this response's events")] = None,
) -> None:
    """Export the audit log as JSON Lines (one event a line, with its hashes)."""
    from workflow.queries import export_events

    lines = export_events(open_workflow(), response)
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    with output.open("w", encoding="utf-8") as fh:
        count = sum(fh.write(line + "\n") > 0 for line in lines)
    typer.echo(f"wrote {count} events to {output}")
