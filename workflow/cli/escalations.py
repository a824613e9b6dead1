"""Escalation commands: ``s55 run`` (the daemon) and ``s55 escalations plan/list/sweep``."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workflow.cli.app import (
    AsJson,
    LimitOpt,
    ResponseOpt,
    app,
    id_argument,
    number_option,
    open_workflow,
    print_json,
    typer_app,
)

if TYPE_CHECKING:
    from workflow.core.clock import Clock
    from workflow.responses.service import Workflow

escalations_app = typer_app("Escalations ahead of the Section 55 deadline: what will fire, "
                            "what has fired, and a sweep that fires what is due now.")
app.add_typer(escalations_app, name="escalations")

# Hidden: time-machine cannot cross a process boundary, so process tests set the clock here.
NowOpt = Annotated[str | None, typer.Option("--now", hidden=True,
                                            help="act as if it were this ISO instant")]


def _clock(wf: Workflow, now: str | None) -> Clock:
    from workflow.core.clock import FixedClock
    from workflow.core.errors import InvalidInputError

    if now is None:
        return wf.clock
    try:
        at = datetime.fromisoformat(now)
    except ValueError:
        raise InvalidInputError("--now", f"{now!r} is not an ISO date and time") from None
    if at.tzinfo is None:
        raise InvalidInputError("--now", f"{now!r} needs a UTC offset, e.g. +00:00")
    wf.clock = FixedClock(at)
    return wf.clock


def _log_to_stderr() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s "
                        "%(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # max_instances=1 turns a run that would overlap the previous one into a skip, which
    # APScheduler logs as a warning every time: expected here, so not shown.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


@app.command("run")
def run(
    now: NowOpt = None,
    sweep_every: Annotated[float, typer.Option(hidden=True, help="seconds")] = 60.0,
    mail_every: Annotated[float, typer.Option(hidden=True, help="seconds")] = 30.0,
) -> None:
    """Run the scheduler: escalations at their time, and mail delivery, until stopped.

    Catches up at start (only the most severe due escalation of each response is sent),
    logs what it plans and fires, and stops cleanly on SIGTERM or Ctrl-C. With S55_SOCKET
    set, it takes officers' commands on it too.
    """
    from workflow.cli.local_service import taking_commands
    from workflow.core.settings import load_settings
    from workflow.escalations.daemon import run_daemon

    with taking_commands(load_settings()):  # before the database is opened
        wf = open_workflow()
        clock = _clock(wf, now)
        _log_to_stderr()
        run_daemon(wf.db, wf.settings, clock, sweep_every=sweep_every,
                   mail_every=mail_every)


@escalations_app.command("sweep")
def sweep(now: NowOpt = None, as_json: AsJson = False,
          verbose: Annotated[bool, typer.Option(
              "--verbose", help="also list each escalation superseded")] = False) -> None:
    """Fire every escalation due now, once, and exit (for cron; the daemon does this too).

    Prints one summary line, then one line per escalation sent; those superseded (by a
    more severe one, or by the mail that just asked the same people) only with --verbose.
    """
    from workflow.escalations import sweep as escalation

    wf = open_workflow()
    # Beats as sweep@HOST, so that `s55 doctor` sees a scheduler run from cron.
    report = escalation.sweep(wf.db, wf.settings, _clock(wf, now),
                              heartbeat=escalation.sweep_worker())
    if as_json:
        return print_json({
            "open_responses": report.open_responses,
            "fired": [_fired(f) for f in report.fired],
            "superseded": [_fired(f) for f in report.superseded],
            "errors": report.errors,
            "next_at": report.next_at.isoformat() if report.next_at else None})
    typer.echo(escalation.summary(report))
    for f in report.fired:
        typer.echo(f"response {f.response_id}: {f.rule_id} (due {f.day}) to "
                   f"{', '.join(f.recipients) or 'nobody'}")
    for f in report.superseded if verbose else ():
        typer.echo(f"response {f.response_id}: {f.rule_id} (due {f.day}) superseded")
    for error in report.errors:
        typer.echo(f"Error: {error}", err=True)
    if report.errors:
        raise typer.Exit(1)


def _fired(f: Any) -> dict[str, Any]:
    return {"response_id": f.response_id, "rule": f.rule_id, "occurrence": f.occurrence,
            "due_on": f.day.isoformat(), "status": f.status, "recipients": list(f.recipients)}


@escalations_app.command("plan")
def plan(
    response_id: Annotated[int | None, id_argument(
        "[ID]", "one response (default: all open)")] = None,
    days: Annotated[int, number_option(
        "--days", 0, 3660, help_text="look this many days ahead")] = 60,
    now: NowOpt = None,
    as_json: AsJson = False,
) -> None:
    """Which escalations fire when, and to whom, given each response's current state.

    Sends nothing. A transition changes the plan (e.g. publishing stops the overdue alerts).
    A rule's day that is not a working day (England and Wales) moves to the working day
    before it; such a row says from which day, and why.
    """
    from workflow.cli.table import print_table
    from workflow.core.clock import LONDON, london_today
    from workflow.escalations.listing import day_label, plan_ahead

    wf = open_workflow()
    clock = _clock(wf, now)
    rows = plan_ahead(wf, response_id, days)
    if as_json:
        return print_json(rows)
    if not rows:
        typer.echo(f"no escalation in the next {days} days")
        return
    today = london_today(clock)
    cells = []
    for r in rows:
        at = datetime.fromisoformat(r["at"]).astimezone(LONDON)
        who = ", ".join(r["recipients"]) or "nobody"
        if r["unstaffed"]:
            who += f" (nobody holds {', '.join(r['unstaffed'])})"
        moved = ""
        if r["moved_from"]:
            moved = (f"{date.fromisoformat(r['moved_from']):%a %d %b %Y} (not a working day: "
                     f"{r['moved_because']})")
        cells.append([r["response_id"], r["state"], r["rule"], f"{at:%a %d %b %Y %H:%M}",
                      day_label(at.date(), today), r["status"], r["severity"], who, moved])
    print_table(("response", "state", "rule", "fires at", "when", "status", "severity", "to",
                 "moved from"), cells, right={0})


@escalations_app.command("list")
def list_(
    response: Annotated[int | None, ResponseOpt] = None,
    limit: Annotated[int, LimitOpt] = 200,
    as_json: AsJson = False,
) -> None:
    """What has fired (and what was superseded while the scheduler was down)."""
    from workflow.cli.table import print_table
    from workflow.escalations.listing import list_firings

    rows = list_firings(open_workflow(), response, limit)
    if as_json:
        return print_json(rows)
    if not rows:
        typer.echo("no escalation has fired")
        return None
    from states.words import when

    print_table(("when (London)", "response", "rule", "due", "status", "detail"), [
        [when(r["fired_at"]), r["response_id"], r["rule"], r["due_on"],
         r["status"], (f"to {', '.join(r['recipients'])}" if r["status"] == "fired"
                       else f"superseded by {r['by']}")]
        for r in rows], right={1})
    return None
