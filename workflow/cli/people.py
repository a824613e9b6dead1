"""People commands: add, edit, roles, disable/enable, delegate/revoke, list."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workflow.cli.app import AsJson, acting_as, id_argument, open_workflow, people_app, print_json
from workflow.core.limits import stated

Reason = Annotated[str | None, typer.Option(help="why (required; kept in the state log; "
                                                 f"{stated('reason')})")]
Login = Annotated[str | None, typer.Option(help="their operating-system account "
                                                "(identity os)")]


@people_app.command("add")
def people_add(
    name: Annotated[str, typer.Argument(help=stated("name"))], email: str,
    role: Annotated[list[str], typer.Option("--role", help="repeat for several roles")],
    login: Login = None,
) -> None:
    """Add a person with one or more roles (the first person must be an admin)."""
    from workflow.people import management

    person = management.add_person(open_workflow(), {"name": name, "email": email, "roles": role},
                               acting_as(), login=login)
    typer.echo(f"added {person.name} <{person.email}> ({', '.join(person.roles)})"
               + (f" login {person.login}" if person.login else ""))


@people_app.command("edit")
def people_edit(
    email: str,
    name: Annotated[str | None, typer.Option(help=f"a new name ({stated('name')})")] = None,
    new_email: Annotated[str | None, typer.Option("--email", help="a new address (the old "
                                                                  "one is never reused)")]
    = None,
    login: Annotated[str | None, typer.Option(help="a new operating-system account (\"\" to "
                                                   "unlink)")] = None,
    reason: Reason = None,
) -> None:
    """Change a person's name, address or login (audited with the reason).

    For someone who signs for the office (pcc, force, or a deputy under a delegation), a new
    address or login takes effect only when they confirm it from a link mailed to their
    current address. Every address or login change is mailed to the person and the auditors.
    """
    from workflow.people import identification

    edited = identification.edit_person(open_workflow(), email, acting_as(), reason, name=name,
                                        new_email=new_email, login=login)
    person = edited.person
    typer.echo(f"{person.name} <{person.email}> login {person.login or '-'}: saved")
    if edited.asked is not None:
        typer.echo(f"the new address or login waits for {person.name}'s confirmation: a link "
                   f"was mailed to {edited.asked.mailed_to}")


@people_app.command("roles")
def people_roles(
    email: str,
    add: Annotated[list[str], typer.Option("--add", help="a role to give (repeat)")]
    = [],  # noqa: B006 - Typer's way of a repeatable option
    remove: Annotated[list[str], typer.Option("--remove", help="a role to take away (repeat)")]
    = [],  # noqa: B006
    reason: Reason = None,
) -> None:
    """Give or take away roles (never your own; a change to pcc or force is mailed to
    every auditor and the PCC)."""
    from workflow.people import management

    person = management.change_roles(open_workflow(), email, acting_as(), reason, add=add,
                                 remove=remove)
    typer.echo(f"{person.email} now holds {', '.join(person.roles)}")


def _set_active(active: bool) -> None:
    def command(email: str, reason: Reason = None) -> None:
        from workflow.people import management

        person = management.set_active(open_workflow(), email, acting_as(), reason, active)
        typer.echo(f"{person.email} {'enabled' if active else 'disabled'}")

    command.__doc__ = ("Enable a disabled person again (audited with the reason)." if active
                       else "Disable a person: no more mail, cannot act; never deleted "
                            "(audited with the reason).")
    people_app.command("enable" if active else "disable")(command)


_set_active(False)
_set_active(True)


@people_app.command("delegate")
def people_delegate(
    pcc: Annotated[str, typer.Argument(metavar="PCC_EMAIL")],
    to: Annotated[str, typer.Option("--to", metavar="DEPUTY_EMAIL", help="the deputy")],
    from_: Annotated[str, typer.Option("--from", help="first day (Europe/London)")],
    until: Annotated[str, typer.Option(help="last day, included")],
    reason: Reason = None,
) -> None:
    """Let a deputy act in the PCC's place for a period (PRSRA 2011 s18).

    Only the PCC, acting as themselves, hands over their powers. An admin's call asks the PCC,
    who confirms from a link mailed to them. Never to yourself, never to someone holding
    force. Made, confirmed and ended delegations are mailed to the PCC, the deputy and the
    auditors.
    """
    from workflow.people import delegation

    d = delegation.delegate(open_workflow(), pcc, to, from_, until, acting_as(), reason)
    if isinstance(d, delegation.DelegationView):
        typer.echo(f"delegation #{d.id}: {d.deputy} may sign off for {d.pcc} from "
                   f"{d.starts_on} to {d.ends_on}")
    else:
        typer.echo(f"asked: only the PCC hands over their powers; a link to confirm or decline "
                   f"was mailed to {d.mailed_to}")


@people_app.command("revoke")
def people_revoke(
    delegation_id: Annotated[int, id_argument("DELEGATION_ID")],
    reason: Reason = None,
) -> None:
    """End a delegation now (mailed to the PCC, the deputy and the auditors)."""
    from workflow.people import delegation

    d = delegation.revoke(open_workflow(), delegation_id, acting_as(), reason)
    typer.echo(f"delegation #{d.id} ({d.deputy} for {d.pcc}) revoked")


def _delegations(p: dict[str, Any]) -> str:
    out = []
    for d in p["delegations"]:
        role = f"deputy for {d['pcc']}" if d["deputy"] == p["email"] else f"to {d['deputy']}"
        when = "" if d["in_force"] else " (from " + d["from"] + ")"
        out.append(f"#{d['id']} {role} until {d['until']}{when}")
    return "; ".join(out) or "-"


@people_app.command("list")
def people_list(as_json: AsJson = False) -> None:
    """List people, active and disabled, with roles, login and delegations."""
    from workflow.people import management

    rows = management.people(open_workflow())
    if as_json:
        return print_json(rows)
    from workflow.cli.table import print_table

    print_table(("id", "email", "name", "status", "roles", "login", "delegations"),
                [[p["id"], p["email"], p["name"], "active" if p["active"] else "DISABLED",
                  ", ".join(p["roles"]), p["login"] or "-", _delegations(p)] for p in rows],
                right={0})
    return None
