"""The one way the CLI prints a table: Rich at a terminal, plain aligned text when piped.

Piped or redirected, a table is for grep, cut and scripts: a header row, then one line per
row, columns two spaces apart and each as wide as its widest value, every value whole
(nothing cut or wrapped), ``-`` for an empty one, no colour, and Rich is not even imported.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

import typer

#: At a terminal each column costs its border and padding besides its text.
_RICH_COLUMN_EXTRA = 3
#: Characters shown by name instead of acted on: a newline in stored text would forge a
#: line of output, an escape sequence would recolour or move the terminal's cursor.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str) -> str:
    """``text`` with every control character (newline, escape, U+2028 …) written out as an
    escape (``\\n``, ``\\x1b``), so stored text can never forge or hide a line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def plain_lines(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                right: Collection[int] = ()) -> list[str]:
    """The header and the rows in aligned columns, two spaces apart, no trailing spaces."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return ["  ".join(v.rjust(w) if i in right else v.ljust(w)
                      for i, (v, w) in enumerate(zip(line, widths, strict=True))).rstrip()
            for line in [list(headers), *rows]]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *,
                right: Collection[int] = (), title: str | None = None,
                gives_way: int | None = None, wraps: Collection[int] = (),
                styles: Mapping[int, Mapping[str, str]] | None = None) -> None:
    """Print ``rows`` under ``headers``: a Rich table at a terminal, plain lines when piped.

    Args:
        right: the columns aligned right (numbers).
        title: a line above the table, at a terminal only.
        gives_way: at a terminal, keep each row on one line by cutting this one column
            short (ending in ``…``); the columns in ``wraps`` may still wrap on a narrow
            terminal. Without it, long values wrap or fold within their own column.
        styles: at a terminal, a Rich style by column and value (``{5: {"red": "bold red"}}``).
    """
    cells = [["-" if v is None or v == "" else visible(str(v)) for v in row] for row in rows]
    if sys.stdout.isatty():
        _print_rich(list(headers), cells, right=right, title=title, gives_way=gives_way,
                    wraps=wraps, styles=styles or {})
    else:
        typer.echo("\n".join(plain_lines(headers, cells, right=right)))


def _print_rich(headers: list[str], cells: list[list[str]], *, right: Collection[int],
                title: str | None, gives_way: int | None, wraps: Collection[int],
                styles: Mapping[int, Mapping[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = shutil.get_terminal_size((120, 24)).columns
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    if gives_way is not None:
        room = max(width - (sum(widths) - widths[gives_way])
                   - _RICH_COLUMN_EXTRA * len(headers) - 1, 12)
        for c in cells:
            if len(c[gives_way]) > room:
                c[gives_way] = c[gives_way][: room - 1] + "…"
        widths[gives_way] = min(widths[gives_way], room)
    table = Table(title=title, title_justify="left")
    for i, (header, w) in enumerate(zip(headers, widths, strict=True)):
        justify: Literal["left", "right"] = "right" if i in right else "left"
        if gives_way is None:
            # An email or a subject longer than its column folds onto the next line of
            # the same cell rather than being cut: every character stays readable.
            table.add_column(header, justify=justify, overflow="fold")
        elif i in wraps:
            table.add_column(header, justify=justify)
        else:
            table.add_column(header, justify=justify, no_wrap=True, min_width=w)
    for c in cells:
        # Text, not markup: a "[" in a title or a reason is printed, not interpreted.
        table.add_row(*(Text(v, style=styles.get(i, {}).get(v, "")) for i, v in enumerate(c)))
    Console(highlight=False, soft_wrap=False, width=width).print(table)
