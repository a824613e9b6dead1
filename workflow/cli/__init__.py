"""The ``s55`` command line: thin commands over the ``workflow`` library.

Typer is imported only inside this package. ``app`` holds the one Typer application, its
error boundary and the options commands share; every other module registers its commands
on it when imported, and they are found by name, so a new group of commands is a new
module and nothing else: ``content`` (init, reports, recommendations, edits), ``triggers``
(one command per trigger, and ``do``), ``documents`` (import, render), ``reading`` (list,
show, log, diagram, audit verify/head/export), ``people``, ``db`` (migrations, backups,
doctor), ``escalations`` (run, sweep, plan), ``mail`` (outbox, mail send/test),
``audit_trust`` (checkpoints, the audit key), ``audit_report``, ``serve`` (the web pages),
and ``local_service`` (what ``serve`` and ``run`` need to take commands over
``S55_SOCKET``). ``coerce`` reads values without Pydantic; ``table`` prints tables.

``app`` (the Typer application, its one error boundary, the options commands share),
``coerce`` (argument coercion without Pydantic for plain types), ``table`` (the one way a
table is printed), and the commands by theme: ``content`` (init, reports, edits),
``triggers`` (one command per lifecycle trigger), ``reading`` (list, show, log, diagram,
the audit chain), ``documents`` (import, render), ``people``, ``mail``, ``escalations``,
``office`` (the office's settings), ``local_service`` (what ``serve`` and ``run`` need to
take commands over ``S55_SOCKET``), ``db`` (migrations, backups, doctor), ``audit_report``,
``audit_trust`` (checkpoints, the key) and ``serve`` (the web pages).

``main`` is the console entry point. With ``S55_SOCKET`` set it hands the command to the
local service (``workflow.local.client``) before Typer or any command is loaded; otherwise,
and for the service's own commands, it loads the commands (``commands()``) and runs them
here. ``from workflow.cli import app`` loads them too.
"""

from __future__ import annotations

import os
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.cli.app import _App


def commands() -> _App:
    """The Typer application with every command module registered on it."""
    import importlib
    import pkgutil

    from workflow.cli.app import app

    for module in pkgutil.iter_modules(__path__):
        if module.name not in ("app", "__main__"):
            importlib.import_module(f"{__name__}.{module.name}")
    return app


def main() -> None:
    """Console entry point: through the local service when ``S55_SOCKET`` is set."""
    if os.environ.get("S55_SOCKET"):
        from workflow.local.client import forward

        code = forward(sys.argv[1:])
        if code is not None:
            sys.exit(code)
    commands()(prog_name="s55")


class _Package(types.ModuleType):
    """This package, whose ``app`` is the Typer application with every command, loaded when
    first asked for: never the module ``app`` of the same name, which the import system
    would otherwise put in its place once it is imported."""

    @property
    def app(self) -> _App:
        return commands()

    @app.setter
    def app(self, module: object) -> None:
        pass  # the import system naming the submodule: the application stays the answer


sys.modules[__name__].__class__ = _Package

__all__ = ["app", "commands", "main"]
