"""The web pages' Jinja2 environment (autoescaped, undefined names are errors) and the
one way a page is turned into a response."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from notifications.hrefs import safe_href
from states.words import state_words, when
from workflow.core.dates import format_date
from workflow.web.embed import embedded

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(enabled_extensions=("html", "j2"),
                                                   default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(longdate=format_date, safe_href=safe_href, embedded=embedded,
                       when=when, state_words=state_words)
    return env


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Template ``name`` rendered with ``context`` as an HTML response."""
    context.setdefault("done", None)
    context.setdefault("error", None)
    # GOV.UK's error pattern: the fields in error (id: message), the summary's links, and
    # the closed sections (``<details>``) to open because they hold one.
    context.setdefault("field_errors", {})
    context.setdefault("problems", [])
    context.setdefault("opened", [])
    context.setdefault("posted", {})
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status)
