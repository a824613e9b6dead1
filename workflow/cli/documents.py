"""Document commands: import a published response, render one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.app import (
    ForceOpt,
    OutputOpt,
    ResponseId,
    acting_as,
    app,
    open_workflow,
    print_or_write,
)
from workflow.cli.content import Again, AgainReason


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(metavar="FILE.md", help="a response in the published "
                                                                 "layout", readable=False)],
    strict: Annotated[bool, typer.Option(help="refuse anything that could not be placed")]
    = False,
    dry_run: Annotated[bool, typer.Option(help="parse and report only; write nothing")] = False,
    published_url: Annotated[str | None, typer.Option(help="where the response was published "
                                                           "(documents rarely say)")] = None,
    published_on: Annotated[str | None, typer.Option(help="the day it was published")] = None,
    again: Again = False, reason: AgainReason = None,
) -> None:
    """Import an existing Section 55 response (Markdown) with everything in it."""
    from workflow.core.checks import parse_date
    from workflow.core.clock import london_today
    from workflow.identity import office
    from workflow.responses import duplicates, importing

    again_reason = duplicates.again_reason(again, reason)
    wf = open_workflow()
    force = wf.db.query(lambda s: office.in_force(s, wf.settings)).force_or_refuse()
    day = parse_date(published_on, "published on") if published_on else None
    if dry_run:
        doc = importing.parse_file(file, force=force, strict=strict,
                                  published_on=day, today=london_today(wf.clock))
        warnings = doc.warnings
        typer.echo(f"{file}: {doc.title} - {len(doc.recommendations)} recommendation(s); "
                   "nothing written (--dry-run)")
    else:
        from workflow.core.checks import check_url

        result = importing.import_document(
            wf.db, file, actor=acting_as(), force=force, strict=strict,
            clock=wf.clock, identifier=wf.identifier,
            published_url=check_url(published_url, "--published-url") if published_url else None,
            published_on=day, again=again_reason)
        warnings = result.warnings
        from states.words import state_words

        typer.echo(f"response {result.response_id}: imported {file.name}; it is "
                   f"{state_words(result.state)}")
    for w in warnings:
        typer.echo(f"warning: {file.name}: {w}", err=True)


@app.command()
def render(
    response_id: ResponseId,
    fmt: Annotated[str, typer.Option("--format", help="md or html")] = "md",
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Render the response as published, in the OPCC's layout (Markdown or HTML)."""
    from workflow.documents.render import render_response

    wf = open_workflow()
    text = render_response(wf.db, response_id, fmt, template_dir=wf.settings.template_dir)
    if print_or_write(text, output, force):
        typer.echo(f"wrote {output}")
