"""The one rule for links s55 prints as ``href``: ``http``/``https`` only.

A report's link is typed by a person; ``javascript:alert(...)``, ``data:`` or ``file:`` in
an ``href`` would run or open something in a reader's mail client or browser. Every shipped
template writes ``href="{{ url | safe_href }}"`` inside ``{% if url | safe_href %}``, so
anything else is shown as text and never linked (a test checks every template). Pure: mail,
documents and the audit report all register it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Within one page (the audit report's table of contents): a plain fragment.
_FRAGMENT = re.compile(r"#[A-Za-z0-9_.:-]+")
#: Whitespace and controls (C0, DEL, C1, the Unicode separators): browsers drop some of
#: them inside a scheme ("java\tscript:"), so a link holding any is not a link.
_UNSAFE = re.compile("[\\s\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_href(value: object) -> str:
    """``value`` when it is an ``http``/``https`` URL with a host (or a ``#fragment``),
    else ``""``: a template links only what this returns."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if _FRAGMENT.fullmatch(url):
        return url
    if not url or _UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url
