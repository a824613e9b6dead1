"""Operating commands: schema migrations, backups and ``s55 doctor``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workflow.cli.app import AsJson, app, open_workflow, print_json, typer_app

if TYPE_CHECKING:
    from workflow.doctor.result import Result
    from workflow.storage.db import Database

db_app = typer_app("The database: schema migrations and backups.")
app.add_typer(db_app, name="db")

BackupFile = Annotated[Path, typer.Argument(metavar="FILE", help="the backup file")]


def _database() -> Database:
    return open_workflow(need_schema=False).db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    from workflow.storage import schema

    db = _database()
    before = schema.current(db)
    schema.upgrade(db)
    after = schema.current(db)
    if before == after:
        typer.echo(f"database {db.safe_url()} already at revision {after} (head)")
    else:
        typer.echo(f"database {db.safe_url()} upgraded from {before or 'empty'}: now at "
                   f"revision {after} (head)")


@db_app.command("current")
def db_current(
    check: Annotated[bool, typer.Option("--check", help="exit 1 unless the schema is at head "
                                                        "(for start-up scripts)")] = False,
    as_json: AsJson = False,
) -> None:
    """Show the database's schema revision and whether it is behind this s55's head."""
    from workflow.doctor.database import schema_state
    from workflow.doctor.result import Status
    from workflow.storage import schema

    db = _database()
    status, what, hint = schema_state(db)
    if as_json:
        print_json({"database": db.safe_url(), "revision": schema.current(db),
                    "head": schema.head(), "status": status.value, "hint": hint})
    elif what == "no s55 schema":
        typer.echo(f"database {db.safe_url()} has no schema yet: run `s55 db upgrade`")
    else:
        typer.echo(f"database {db.safe_url()} {what}" + (f": {hint}" if hint else ""))
    # A schema newer than this code is always an error; behind or empty only with --check.
    if status is Status.FAIL and (check or "unknown" in what):
        raise typer.Exit(1)


@db_app.command("backup")
def db_backup(file: BackupFile) -> None:
    """Copy the SQLite database to FILE while s55 keeps running (PostgreSQL: use pg_dump)."""
    from workflow.assurance import backup

    db = _database()
    made = backup.backup(db, file)
    typer.echo(f"backed up {db.safe_url()} to {made.path} ({made.size} bytes): schema "
               f"revision {made.revision}, {made.events} audit events, head {made.head}")
    typer.echo("keep the head hash apart from the backup; check it with "
               f"`s55 db check-backup {made.path} --head {made.head}`")
    key = db.audit_key_file
    if key is not None and key.resolve().parent == Path(made.path).resolve().parent:
        typer.echo(f"Warning: the audit key {key} is in the backup's folder: keep the "
                   "backup and the key apart (a copy of both could rewrite the record)",
                   err=True)


@db_app.command("check-backup")
def db_check_backup(
    file: BackupFile,
    head: Annotated[str | None, typer.Option(help="a head hash kept when the backup was made")]
    = None,
    as_json: AsJson = False,
) -> None:
    """Restore FILE into a scratch copy; check its schema revision and its audit chain."""
    from workflow.assurance import backup

    result = backup.check_backup(file, head)
    v = result.verification
    if as_json:
        print_json({"file": str(file), "ok": result.ok, "revision": result.revision,
                    "head_revision": result.head_revision, "events": v.count,
                    "audit_head": v.head, "head_found": v.head_found,
                    "problems": result.problems()})
    elif result.ok:
        behind = "" if result.revision == result.head_revision else \
            f", behind head {result.head_revision}: run `s55 db upgrade` after restoring"
        found = " (contains the given head)" if v.head_found else ""
        typer.echo(f"backup {file} OK: schema revision {result.revision}{behind}; audit chain "
                   f"of {v.count} events intact, head {v.head}{found}")
    else:
        typer.echo(f"Error: backup {file}: {'; '.join(result.problems())}", err=True)
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def doctor(as_json: AsJson = False) -> None:
    """Check configuration, database, mail, outbox, audit chain and scheduler; exit 1 on FAIL."""
    import os

    from workflow import doctor as checks
    from workflow.core.clock import SystemClock
    from workflow.core.settings import Settings

    results = checks.diagnose(Settings, os.environ, SystemClock().now)
    if as_json:
        print_json({"ok": not checks.failed(results), "checks": [r.as_json() for r in results]})
    else:
        _print_table(results)
    if checks.failed(results):
        raise typer.Exit(1)


def _print_table(results: list[Result]) -> None:
    from rich.console import Console
    from rich.table import Table

    style = {"OK": "green", "WARN": "yellow", "FAIL": "bold red"}
    table = Table(title="s55 doctor", title_justify="left")
    for col in ("check", "status", "detail", "hint"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(r.check, f"[{style[r.status.value]}]{r.status.value}[/]", r.detail, r.hint)
    Console(highlight=False).print(table)


@db_app.command("roles")
def db_roles(
    owner: Annotated[str, typer.Option(help="the role that owns the schema and runs "
                                            "migrations")] = "s55_owner",
    app_role: Annotated[str, typer.Option("--app", help="the role s55 runs as: SELECT and "
                                                        "INSERT only on the audit log")]
    = "s55_app",
    apply: Annotated[bool, typer.Option("--apply", help="run the SQL on S55_DATABASE_URL "
                                                        "(as a superuser) instead of printing "
                                                        "it")] = False,
) -> None:
    """PostgreSQL: the SQL for an owner role and an application role that cannot rewrite the
    audit log (printed; run with --apply)."""
    from workflow.storage import pg_roles

    if not apply:
        for sql in pg_roles.role_sql(owner, app_role):
            typer.echo(sql + ";")
        return
    db = _database()
    ran = pg_roles.apply(db, owner, app_role)
    typer.echo(f"applied {len(ran)} statements on {db.safe_url()}: {owner} owns the schema, "
               f"{app_role} may only SELECT and INSERT on audit_event; set their passwords "
               "with \\password and run s55 as " + app_role)
