"""The ``s55`` command line: thin commands over the ``workflow`` library.

Typer is imported only inside this package. Each module registers its commands on
the one ``app`` when imported here.
"""

from workflow.cli import content, triggers, views  # noqa: F401  (register commands)
from workflow.cli.app import app, main

__all__ = ["app", "main"]
