"""What ``s55 serve`` and ``s55 run`` need to take officers' commands over ``S55_SOCKET``.

``taking_commands`` wraps their work: while it runs, the local service's warm process
(``workflow.local.server``) listens on the socket and runs each command through
``run_command``, this very command line, for the caller the kernel names. ``warm`` is what
that process loads once so that no command loads it again: every module, every command,
the database driver, the compiled templates and the bank holidays.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from workflow.core.settings import Settings


def run_command(argv: list[str]) -> int:
    """``s55 ARGV`` in this process, exactly as the console script runs it; its exit code."""
    from workflow.cli import commands

    try:
        commands()(args=argv, prog_name="s55")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        typer.echo(str(exc.code), err=True)  # as Python shows sys.exit("...")
        return 1
    return 0


def warm(settings: Settings) -> None:
    """Load, once, what commands would each load: a failure here is the command's to report
    when it meets it, in its own words, so each step is tried on its own."""
    for step in (_modules, lambda: _database(settings),
                 lambda: _templates(settings), _calendar, _terminal_table):
        _try(step)


def _try(step: Callable[[], object]) -> None:
    try:
        step()
    except Exception:  # warming only: the command reports it, when it runs
        pass


def _modules() -> None:
    import importlib
    import pkgutil

    import workflow

    for info in pkgutil.walk_packages(workflow.__path__, "workflow."):
        if "migrations" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in ("rich.console", "rich.table", "rich.text", "yaml", "tomllib"):
        importlib.import_module(name)


def _database(settings: Settings) -> None:
    from workflow.storage.db import Database

    Database(settings.database_url).dispose()  # the driver and dialect, no connection


def _templates(settings: Settings) -> None:
    from notifications.render import environment as mail
    from workflow.documents.render import environment as documents

    for env in (mail(settings.template_dir), documents(settings.template_dir)):
        for name in env.list_templates():
            env.get_template(name)


def _terminal_table() -> None:
    """One table drawn as a terminal shows it: Rich fills its caches (styles, colours,
    character widths) on its first table, which would otherwise be every command's first."""
    import io

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="warm", title_justify="left")
    for justify in ("right", "left", "left"):
        table.add_column("column", justify=justify, overflow="fold")
    for style in ("bold red", "yellow", "green", "cyan", "magenta", "dim", ""):
        table.add_row("1", Text("a title … that folds", style=style), Text("draft"))
    for colours in ("standard", "256", "truecolor"):
        Console(file=io.StringIO(), force_terminal=True, color_system=colours,
                width=80, highlight=False, soft_wrap=False).print(table)


def _calendar() -> None:
    from workflow.core.bank_holidays import england_and_wales

    england_and_wales()


@contextmanager
def taking_commands(settings: Settings) -> Iterator[None]:
    """Officers' commands taken on the socket while the body runs (when a socket is set
    or systemd passed one); the socket made here is removed after."""
    from workflow.local import listener, server

    spot = listener.listening(settings.socket, settings.socket_group, os.environ)
    if spot is None:
        yield
        return
    service = server.start(spot, run_command, lambda: warm(settings))
    typer.echo(f"s55 commands taken on {spot.where}"
               + (f" (group {settings.socket_group}, mode 0660)" if spot.path else ""))
    # uvicorn stops on SIGTERM and then raises it again, which would end this process
    # before the socket is removed: a SIGTERM ends it here, through ``finally``.
    before = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
        service.stop()


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(0)
