"""The published document inside a page (the PCC's and the deputy's): its headings moved
below the page's own, and its ids prefixed so none clashes with the page's form.

The document is rendered on its own as a standalone page (``h1`` first, ids such as
``rec-1``); embedded under the page's ``h2`` its ``h1`` becomes an ``h3``, and ``rec-1``
becomes ``doc-rec-1`` wherever an id is named (``id``, ``aria-labelledby``, ``href="#…"``).
"""

from __future__ import annotations

import re

from markupsafe import Markup

#: How far the document's headings move down: its h1 sits under the page's h2.
SHIFT = 2
PREFIX = "doc-"
_HEADING = re.compile(r"<(/?)h([1-6])\b")
_IDS = re.compile(r'\b(id|aria-labelledby|aria-describedby|href)="(#?)([^"]*)"')


def _heading(match: re.Match[str]) -> str:
    return f"<{match.group(1)}h{min(int(match.group(2)) + SHIFT, 6)}"


def _named(match: re.Match[str]) -> str:
    attribute, hash_, value = match.groups()
    if attribute == "href":
        return match.group(0) if not hash_ else f'href="#{PREFIX}{value}"'
    if hash_:
        return match.group(0)
    return f'{attribute}="{" ".join(PREFIX + v for v in value.split())}"'


def embedded(document: Markup | str) -> Markup:
    """``document`` (already escaped HTML) with its headings shifted and its ids prefixed."""
    html = _HEADING.sub(_heading, str(document))
    return Markup(_IDS.sub(_named, html))  # noqa: S704 - rewrites escaped HTML's own tags
