"""Commands that set up s55 and change a response's content."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from states.words import long_date
from workflow.cli.app import (
    ExpectVersion,
    FileOpt,
    OnBehalfOf,
    RecFileOpt,
    RecNumber,
    RecTextOpt,
    ResponseId,
    TextOpt,
    acting_as,
    afi_app,
    app,
    open_workflow,
    read_text,
    rec_app,
    report_app,
)
from workflow.core.limits import stated

if TYPE_CHECKING:
    from workflow.core.checks import RecommendationInput

#: Why, when an admin acts for someone else (--on-behalf-of).
WhyOpt = Annotated[str | None, typer.Option("--reason", help="why (needed with "
                                              f"--on-behalf-of; {stated('reason')})")]

# -- set-up -------------------------------------------------------------------------------


@app.command()
def init(
    admin_email: Annotated[str | None, typer.Option(help="add this first admin")] = None,
    admin_name: Annotated[str | None, typer.Option(help="the first admin's name")] = None,
    admin_login: Annotated[str | None, typer.Option(
        help="the first admin's operating-system account (identity os; default: the "
             "account running this)")] = None,
    force: Annotated[str | None, typer.Option(
        "--force", metavar="NAME", help="the police force this office oversees (required the "
        f"first time, or S55_FORCE; {stated('force')})")] = None,
    office: Annotated[str | None, typer.Option(
        "--office", metavar="NAME", help="the office's name, as mail and documents show it "
        f"(required the first time, or S55_OPCC_NAME; {stated('office')})")] = None,
    identity: Annotated[str | None, typer.Option(
        "--identity", metavar="os|claimed", help="how s55 knows who acts: os (each "
        "officer's own account) or claimed (--as on trust: demos, one officer); the first "
        "time only, or S55_IDENTITY; default os")] = None,
) -> None:
    """Create or upgrade the database schema (and optionally the first admin).

    The first time, it records the office's settings in the database (a signed event):
    the force and the office's name (--force, --office, or S55_FORCE and S55_OPCC_NAME),
    the identity mode (--identity, or S55_IDENTITY; os by default) and separation of
    duties (on unless S55_SEPARATION_OF_DUTIES=false). On a database that already holds
    them it changes none of them: an admin does, with `s55 office set`.
    """
    from workflow.identity import office as settings_of
    from workflow.people import management
    from workflow.people import office as office_settings
    from workflow.storage import schema

    first_admin: dict[str, object] = {"name": admin_name or admin_email, "email": admin_email,
                                      "roles": ["admin"]}
    if admin_email:
        management.check_new_person(first_admin)  # refused before anything is written
    wf = open_workflow(need_schema=False)
    held = office_settings.held(wf.db)
    if held:
        settings_of.check_not_looser(held, wf.settings.identity,
                                     wf.settings.separation_of_duties)
        office_settings.check_agrees(held, force=force, name=office, identity=identity)
    else:
        values = office_settings.initial(wf.settings, force=force, name=office,
                                         identity=identity)
    schema.upgrade(wf.db)
    typer.echo(f"database {wf.db.safe_url()} at schema {schema.current(wf.db)}")
    _make_audit_key(wf)
    if wf.settings.web_secret_file is not None:
        from workflow.keys import web_secret

        if web_secret.create(wf.settings.web_secret_file):
            typer.echo(f"web secret created in {wf.settings.web_secret_file} (owner-only)")
    if not held:
        office_settings.record_initial(wf, values)
    _print_office(wf)
    if admin_email:
        person = management.add_person(wf, first_admin, None, login=admin_login)
        typer.echo(f"added admin {person.email}"
                   + (f" (login {person.login})" if person.login else ""))


def _make_audit_key(wf: Any) -> None:
    """The audit key where S55_AUDIT_KEY_FILE names it, else in the account's config folder
    (never overwritten: an existing key signs on); this run's own events are signed with it."""
    import os

    from workflow.core.key_path import default_audit_key_file

    key_file = wf.settings.audit_key_file or default_audit_key_file(os.environ)
    if os.path.lexists(key_file):
        return
    from workflow.audit import trail
    from workflow.keys import audit_key

    ring = audit_key.create(key_file, since=(trail.head(wf.db).last_id or 0) + 1)
    wf.settings.audit_key_file = wf.db.audit_key_file = key_file
    typer.echo(f"audit key {ring.current} created in {key_file} (owner-only): every event "
               f"from #{ring.since} is signed; back the file up apart from the database")


def _print_office(wf: Any) -> None:
    """The office's settings in force, one line each (as ``s55 office show``)."""
    from workflow.people import office as office_settings

    for row in office_settings.show(wf):
        typer.echo(f"{row['setting']}: {row['value']}" + (
            "" if row["recorded"] else " (the default)" if row["default"]
            else " (not recorded: from the environment)"))


# -- reports and content ------------------------------------------------------------------

#: A second response of this force to a report it already answers (rare; audited).
Again = Annotated[bool, typer.Option("--again", help="register a second response of this "
                                     "force to a report it already answers (needs --reason)")]
AgainReason = Annotated[str | None, typer.Option("--reason", help="why, with --again "
                                                 f"(kept in the audit log; {stated('reason')})")]


def _numbered(items: list[str], what: str) -> list[dict[str, Any]]:
    from workflow.core.checks import published_number
    from workflow.core.errors import InvalidInputError

    out = []
    for item in items:
        number, sep, text = item.partition("=")
        if not sep:
            raise InvalidInputError(what, f"{item!r} is not NUMBER=TEXT")
        out.append({"number": published_number(number, what), "text": text})
    return out


def _due_notes(recs: Iterable[RecommendationInput]) -> None:
    """Say how an approximate due date ("By March 2025,") was read."""
    for r in recs:
        if r.due_note:
            typer.echo(f"warning: recommendation {r.number}: {r.due_note}", err=True)


@report_app.command("add")
def report_add(
    file: Annotated[Path | None, typer.Option(help="a TOML or YAML file with every field",
                                              readable=False)] = None,
    title: Annotated[str | None, typer.Option(help=stated("title"))] = None,
    published: Annotated[str | None, typer.Option(help="date HMICFRS published it")] = None,
    types: Annotated[str, typer.Option(help="publication types "
                                            f"({stated('publication_types')})")] = "",
    forces: Annotated[str, typer.Option(help="police forces covered "
                                             f"({stated('police_forces')})")] = "",
    link: Annotated[str, typer.Option(help=f"link to the report ({stated('link')})")] = "",
    force: Annotated[str | None, typer.Option(help="the force responding (S55_FORCE; "
                                                   f"{stated('force')})")] = None,
    rec: Annotated[list[str], typer.Option(help="NUMBER=TEXT, as published (the text "
                                                f"{stated('text')})")] = [],  # noqa: B006
    afi: Annotated[list[str], typer.Option(help=f"NUMBER=TEXT (the text "
                                                f"{stated('text')})")] = [],  # noqa: B006
    again: Again = False, reason: AgainReason = None,
) -> None:
    """Register an inspection report and open its Section 55 response in draft.

    Either every field from ``--file`` or every field as an option: an option given with
    ``--file`` would be ignored, so it is refused.
    """
    from workflow.core import checks
    from workflow.core.errors import InvalidInputError
    from workflow.responses import content, duplicates

    again_reason = duplicates.again_reason(again, reason)
    if file is not None:
        given = [flag for flag, value in (
            ("--title", title), ("--published", published), ("--types", types or None),
            ("--forces", forces or None), ("--link", link or None), ("--force", force),
            ("--rec", rec or None), ("--afi", afi or None)) if value is not None]
        if given:
            raise InvalidInputError("--file", f"the report's fields come from the file; "
                                    f"{', '.join(given)} would be ignored (put "
                                    f"{'it' if len(given) == 1 else 'them'} in the file)")
        report = checks.load_report_file(file)
    else:
        report = checks.validate(checks.ReportInput, {
            "title": title, "published_on": published, "publication_types": types,
            "police_forces": forces, "link": link, "force": force,
            "recommendations": _numbered(rec, "--rec"),
            "areas_for_improvement": _numbered(afi, "--afi"),
        })
    response = content.add_report(open_workflow(), report, acting_as(), again=again_reason)
    typer.echo(f"response {response.id}: {report.title} - Section 55 deadline "
               f"{long_date(response.deadline)}")
    _due_notes(report.recommendations)


@report_app.command("edit")
def report_edit(
    response_id: ResponseId,
    field: Annotated[str, typer.Argument(help="title, link, publication_types, police_forces")],
    value: Annotated[str, typer.Argument(help="the new value, checked as report add checks it "
                                              "(an empty link or type clears it; title, types, "
                                              f"forces {stated('title')}, link "
                                              f"{stated('link')})")],
    expect_version: Annotated[int | None, typer.Option(help="refuse if the response "
                                                          "changed since this version")] = None,
    reason: Annotated[str | None, typer.Option(help="why (kept in the audit log; "
                                                    f"{stated('reason')})")] = None,
) -> None:
    """Correct the report's title, link, publication types or forces while its response is
    open (admins; audited)."""
    from workflow.responses import content

    row = content.edit_report(open_workflow(), response_id, field, value, acting_as(),
                              expected_version=expect_version, reason=reason)
    typer.echo(f"response {row.id}: report {field} saved (version {row.version})")


@report_app.command("watch")
def report_watch(
    feed: Annotated[str | None, typer.Argument(
        metavar="FEED", help="the feed's http(s) URL or a file (default: S55_FEED_URL)")] = None,
) -> None:
    """Register the reports about this force from HMICFRS's publications feed (admins).

    Reads the feed (RSS 2.0 or Atom). Each new item naming the force or one of its aliases
    (`s55 office set force-aliases`) in its title or categories is registered with its
    London publication date, unless the force answers it already, and the admins are
    mailed; national and thematic items are listed to them once; other forces' are
    ignored. The first run registers only the reports whose 56 days are still running.
    """
    from workflow.feed.watch import watch

    report = watch(open_workflow(), feed, acting_as())
    for done in report.registered:
        typer.echo(f"response {done.response_id}: {done.title} - published "
                   f"{long_date(done.published_on)}, Section 55 deadline "
                   f"{long_date(done.deadline)}")
    for skipped in report.skipped:
        typer.echo(f"warning: feed item {skipped.title!r} skipped: {skipped.why}", err=True)
    typer.echo(report.line())


@app.command()
def edit(
    response_id: ResponseId,
    field: Annotated[str, typer.Argument(help="key_findings, cc_response, pcc_response, "
                                              "afi_statement")],
    text: TextOpt = None, file: FileOpt = None,
    expect_version: ExpectVersion = None,
    on_behalf_of: OnBehalfOf = None, reason: WhyOpt = None,
) -> None:
    """Replace one text section of a response."""
    from workflow.responses import content

    row = content.edit_text(open_workflow(), response_id, field, read_text(text, file),
                            acting_as(), expected_version=expect_version,
                            on_behalf_of=on_behalf_of, reason=reason)
    typer.echo(f"response {row.id}: {field} saved (version {row.version})")


@rec_app.command("add")
def rec_add(
    response_id: ResponseId, number: RecNumber, text: RecTextOpt = None,
    file: RecFileOpt = None, due: Annotated[str | None, typer.Option()] = None,
    directed_at: Annotated[str, typer.Option(help=stated("directed_at"))] = "chief constables",
) -> None:
    """Add a recommendation with its number exactly as published."""
    from workflow.core.checks import RecommendationInput, validate
    from workflow.responses import content

    rec_in = validate(RecommendationInput, {"number": number, "text": read_text(text, file),
                                            "due_date": due, "directed_at": directed_at})
    rec = content.add_recommendation(open_workflow(), response_id, rec_in, acting_as())
    typer.echo(f"response {response_id}: recommendation {rec.number} added")
    _due_notes([rec_in])


def _rec_setter(field: str, doc: str) -> None:
    def command(response_id: ResponseId, number: RecNumber, text: TextOpt = None,
                file: FileOpt = None, on_behalf_of: OnBehalfOf = None,
                reason: WhyOpt = None) -> None:
        from workflow.responses import content

        content.edit_recommendation(open_workflow(), response_id, number, field,
                                    read_text(text, file), acting_as(),
                                    on_behalf_of=on_behalf_of, reason=reason)
        typer.echo(f"response {response_id}: recommendation {number} {field} saved")

    command.__doc__ = doc
    rec_app.command("respond" if field == "force_response" else "note")(command)


_rec_setter("force_response", "Record the force's response to one recommendation.")
_rec_setter("pcc_note", "Record the PCC's s55(5B) explanation for one recommendation.")


@afi_app.command("respond")
def afi_respond(response_id: ResponseId, number: RecNumber, text: TextOpt = None,
                file: FileOpt = None, expect_version: ExpectVersion = None,
                on_behalf_of: OnBehalfOf = None, reason: WhyOpt = None) -> None:
    """Record the force's response to one area for improvement."""
    from workflow.responses import content

    row = content.edit_area(open_workflow(), response_id, number, "force_response",
                            read_text(text, file), acting_as(),
                            expected_version=expect_version, on_behalf_of=on_behalf_of,
                            reason=reason)
    typer.echo(f"response {response_id}: area for improvement {row.number} force_response "
               "saved")


@app.command()
def deadline(
    response_id: ResponseId, date: str,
    reason: Annotated[str | None, typer.Option(help=f"why (required; {stated('reason')})")]
    = None,
) -> None:
    """Override the Section 55 deadline (audited; needs a reason)."""
    from workflow.responses import content

    change = content.override_deadline(open_workflow(), response_id, date, reason, acting_as())
    typer.echo(f"response {change.response_id}: deadline {change.old} -> {change.new} "
               f"(statutory {change.statutory})")
