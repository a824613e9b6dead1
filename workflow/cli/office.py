"""The office's own settings, kept in the database: ``s55 office show`` and ``set``."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli.app import AsJson, acting_as, app, open_workflow, print_json, typer_app
from workflow.core.limits import stated

office_app = typer_app("The office's own settings, kept in the database: the force, its other "
                       "names in HMICFRS's feed, the office's name, the identity mode, "
                       "separation of duties, the working days no reminder repeats a "
                       "request and how long a sign-in link works.")
app.add_typer(office_app, name="office")


@office_app.command("show")
def office_show(as_json: AsJson = False) -> None:
    """The office's settings in force, and who set each and when."""
    from workflow.people import office

    rows = office.show(open_workflow())
    if as_json:
        print_json(rows)
        return
    from workflow.cli.table import print_table

    print_table(("setting", "value", "set by", "set at"),
                [[r["setting"], r["value"],
                  r["set_by"] or ("(default)" if r["default"] else
                                  "-" if r["recorded"] else "(environment)"),
                  r["set_at"] or "-"] for r in rows])


@office_app.command("set")
def office_set(
    setting: Annotated[str, typer.Argument(
        metavar="SETTING", help="force, force-aliases, name, identity, "
        "separation-of-duties, reminder-quiet-days or sign-in-link-days")],
    value: Annotated[str, typer.Argument(
        metavar="VALUE", help="a force or office name; the force's other names, separated by "
        "commas (empty: none); os or claimed; on or off; a number of working days (0 to "
        "10 for the quiet days, 1 to 10 for sign-in links)")],
    reason: Annotated[str | None, typer.Option(
        help=f"why (required; kept in the state log; {stated('reason')})")] = None,
) -> None:
    """Change one of the office's settings (admins): audited with the reason and mailed at
    once to every auditor and the PCC.

    The environment can never loosen these: a process whose S55_IDENTITY or
    S55_SEPARATION_OF_DUTIES asks for a looser check than the database's is refused.
    """
    from workflow.people import office

    changed = office.change(open_workflow(), setting, value, acting_as(), reason)
    told = ", ".join(changed.told) or "nobody (no active auditor or PCC)"
    typer.echo(f"{changed.name}: {changed.was} -> {changed.now}; told {told}")
