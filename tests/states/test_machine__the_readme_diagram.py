"""The README's lifecycle diagram is the one ``s55 diagram`` draws from the table."""

from __future__ import annotations

import re
from pathlib import Path

from states.machine import mermaid

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_diagram_of_the_table() -> None:
    """Every transition of the table (``reopen`` included) is in the README's diagram, and
    nothing else is."""
    found = re.search(r"```mermaid\n(stateDiagram-v2\n.*?)```", README.read_text("utf-8"), re.S)
    assert found, "the README has no lifecycle diagram"
    assert found.group(1) == mermaid()
