"""The ``s55`` command line: thin commands over the ``workflow`` library.

Typer is imported only inside this package. Every module here registers its commands
on the one ``app`` when imported; they are found by name, so a new group of commands
is a new module and nothing else.

``app`` (the Typer application, its one error boundary, the options commands share),
``coerce`` (argument coercion without Pydantic for plain types), ``table`` (the one way a
table is printed), and the commands by theme: ``content`` (init, reports, edits),
``triggers`` (one command per lifecycle trigger), ``reading`` (list, show, log, diagram,
the audit chain), ``documents`` (import, render), ``people``, ``mail``, ``escalations``,
``office`` (the office's settings), ``db`` (migrations, backups, doctor), ``audit_report``,
``audit_trust`` (checkpoints, the key) and ``serve`` (the web pages).
"""

import importlib
import pkgutil

from workflow.cli.app import app, main

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("app", "__main__"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["app", "main"]
