"""Trust in the audit log beyond the database: checkpoints kept outside, the audit key."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli.app import acting_as, audit_app, open_workflow


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Take a checkpoint of the chain now: appended to S55_CHECKPOINT_FILE and mailed to every
    auditor (the daemon takes one each day)."""
    from workflow.assurance import checkpoints

    wf = open_workflow()
    cp, mailed = checkpoints.record(wf, acting_as())
    typer.echo(cp.line())
    where = [f"appended to {wf.settings.checkpoint_file}"] if wf.settings.checkpoint_file else []
    where.append(f"mailed to {mailed} auditor(s)" if mailed else
                 "no auditor to mail it to (add one: s55 people add NAME EMAIL --role auditor)")
    typer.echo("checkpoint " + "; ".join(where))


@audit_app.command("rotate-key")
def audit_rotate_key(
    yes: Annotated[bool, typer.Option("--yes", help="rotate without asking")] = False,
) -> None:
    """Add a new audit key to the audit key file; new events are signed with it, older events
    keep verifying with the keys before it."""
    from workflow.core.errors import ConfigError
    from workflow.core.settings import load_settings
    from workflow.keys import audit_key

    path = load_settings().audit_key_file
    if path is None:
        raise ConfigError("there is no audit key to rotate: `s55 init` makes one (in the "
                          "account's ~/.config/s55/, or where S55_AUDIT_KEY_FILE names)")
    if not yes:
        typer.confirm(f"Add a new key to {path}? Keep a copy of the file: events signed with "
                      "its keys can only be proved with them", abort=True)
    ring = audit_key.rotate(path)
    typer.echo(f"audit key rotated: new events are signed with key {ring.current}; "
               f"{len(ring.keys)} key(s) in {path}")
