"""``s55 audit report``: the auditor's report of a period, as HTML, CSV or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli.app import ForceOpt, OutputOpt, audit_app, open_workflow, print_or_write


@audit_app.command("report")
def audit_report(
    fmt: Annotated[str, typer.Option("--format", metavar="html|csv|json",
                                     help="html (a printable page with a chart), csv (one row "
                                          "per response) or json")],
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="DATE", help="first day of the period (default: 1 April of the "
                                       "current reporting year)")] = None,
    to: Annotated[str | None, typer.Option(
        metavar="DATE", help="last day of the period (default: 31 March ending the "
                             "reporting year of --from)")] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """The auditor's report of a period, from the audit log (HTML, CSV or JSON).

    Every response to a report published in the period (--from/--to select by the
    REPORT's publication date, both days included), with its statutory deadline, the day
    it was published, days early or late, who signed off, the time in each state, every
    return with its reason and the s55(6) copies; then the on-time rate and a chart of
    on-time and late responses per month.

    The default period is the reporting year holding today, 1 April to 31 March: the year
    OPCCs report and are audited by (give one of --from/--to and the other is the start
    or end of its reporting year). On time means published on or before the statutory
    deadline (publication + 55 days). The rate counts published responses and unpublished
    ones already past the deadline (as late); responses not yet due, closed as not
    required, or imported without their publication day are listed but not counted, and
    so are responses to earlier reports still open (in a section of their own).

    The report runs the check of `s55 audit verify` first and states its verdict and the
    chain's head: what it reports is the audit log up to that head.
    """
    from workflow.audit_report.build import build_report
    from workflow.audit_report.model import period
    from workflow.audit_report.render import check_format, render_report
    from workflow.core.clock import SystemClock, london_today

    clock = SystemClock()
    check_format(fmt)
    start, end = period(from_, to, london_today(clock))  # every refusal before the database
    from workflow.assurance.checkpoints import keyring

    wf = open_workflow()
    # The report states the full check of `s55 audit verify`, signatures included.
    report = build_report(wf.db, start, end, clock, keyring(wf.settings))
    text = render_report(report, fmt)
    if print_or_write(text, output, force):
        earlier = (f", and {len(report.earlier)} still open from earlier periods"
                   if report.earlier else "")
        typer.echo(f"wrote {output}: {len(report.responses)} response(s) to reports "
                   f"published {start} to {end}{earlier}")
