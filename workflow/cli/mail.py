"""Mail commands: the outbox and delivery (``workflow.mail.delivery``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from workflow.cli.app import (
    AsJson,
    LimitOpt,
    ResponseOpt,
    acting_as,
    app,
    id_argument,
    number_option,
    open_workflow,
    print_json,
    typer_app,
)

outbox_app = typer_app("The outbox: every message s55 has queued, sent or given up on.")
mail_app = typer_app("Deliver mail now, or test the SMTP settings.")
app.add_typer(outbox_app, name="outbox")
app.add_typer(mail_app, name="mail")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sending, sent or dead")] = None,
    response: Annotated[int | None, ResponseOpt] = None,
    limit: Annotated[int, LimitOpt] = 200,
    as_json: AsJson = False,
) -> None:
    """List queued, sent and dead mail, and say where mail goes (SMTP or spool)."""
    from workflow.cli.table import print_table
    from workflow.mail import outbox_admin

    wf = open_workflow()
    rows = outbox_admin.list_outbox(wf.db, status=status, response_id=response, limit=limit)
    if as_json:
        return print_json({"transport": outbox_admin.transport_description(wf.settings),
                           "counts": outbox_admin.outbox_counts(wf.db),
                           "messages": [r.as_json() for r in rows]})
    counts = outbox_admin.outbox_counts(wf.db)
    typer.echo(f"mail goes to: {outbox_admin.transport_description(wf.settings)}")
    typer.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
    print_table(("id", "status", "tries", "to", "subject", "last error"), [
        [r.id, r.status, r.attempts, r.recipient, r.subject,
         r.last_error if r.status != "sent" else None] for r in rows], right={0, 2})


@outbox_app.command("show")
def outbox_show(outbox_id: Annotated[int, id_argument()],
                as_json: AsJson = False) -> None:
    """Show one message as it will be (or was) sent."""
    from workflow.mail import outbox_admin

    row, rendered = outbox_admin.show_outbox(open_workflow().db, outbox_id)
    if as_json:
        return print_json({**row.as_json(), "message": rendered})
    typer.echo(rendered)


@outbox_app.command("retry")
def outbox_retry(outbox_id: Annotated[int, id_argument()]) -> None:
    """Put a dead or failing message back in the queue now."""
    from workflow.mail import outbox_admin

    wf = open_workflow()
    acting = wf.identify(acting_as())
    row = outbox_admin.retry_outbox(wf.db, outbox_id, clock=wf.clock, actor=acting.email,
                                    by=acting.by)
    typer.echo(f"message {row.id} to {row.recipient}: {row.status}, due now")


def _progress(total: int) -> Any:
    from rich.progress import Progress

    return Progress(transient=True) if total > 50 else None


@mail_app.command("send")
def mail_send(limit: Annotated[int | None, number_option(
        "--limit", 1, help_text="send at most this many")] = None) -> None:
    """Deliver the mail that is due now (SMTP, or the spool folder when none is set)."""
    from workflow.mail import delivery, outbox_admin

    wf = open_workflow()
    total = outbox_admin.due_count(wf.db, wf.clock)
    if limit is not None:
        total = min(total, limit)
    bar = _progress(total)
    if bar is None:
        result = delivery.deliver_pending(wf.db, wf.settings, wf.clock, limit=limit)
    else:
        with bar:
            task = bar.add_task("sending", total=total)
            result = delivery.deliver_pending(wf.db, wf.settings, wf.clock, limit=limit,
                                          progress=lambda n: bar.update(task, completed=n))
    typer.echo(f"sent {result.sent}, retrying {result.retrying}, dead {result.dead} "
               f"via {outbox_admin.transport_description(wf.settings)}")
    for outbox_id, why in result.refused.items():
        typer.echo(f"message {outbox_id} {why}")
    if result.error:
        typer.echo(f"Error: {result.error}", err=True)
        raise typer.Exit(1)


@mail_app.command("test")
def mail_test(address: str) -> None:
    """Send a test message to ADDRESS now, checking the SMTP settings end to end."""
    from workflow.core.checks import check_email
    from workflow.mail import outbox_admin

    address = check_email(address)  # refused at the door: no attempt, no audit event
    wf = open_workflow()
    acting = wf.identify(acting_as())
    typer.echo(outbox_admin.send_test(wf.db, wf.settings, wf.clock, address, actor=acting.email,
                                by=acting.by))
