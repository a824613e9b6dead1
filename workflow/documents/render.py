"""Render a response as the published document (Markdown or a standalone HTML page).

Templates are Jinja2 (``workflow/templates/response.{md,html}.j2``); an organisation
overrides them by putting files of the same name in its template folder. The section
order is the Norfolk fixture's. The office-use checklist is filled from the audit log:
``sign_off`` forwarded the response to the Chief Constable and the panel, ``publish``
put it on the website (with its URL), ``submit_to_portal`` sent it to the HMICFRS
portal, and ``checklist`` events record boxes ticked in an imported document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.hrefs import safe_href
from workflow.audit import trail
from workflow.core.dates import format_date
from workflow.core.errors import InvalidInputError, S55Error
from workflow.core.nesting import MAX_NESTING, too_deep_at
from workflow.documents.model import (
    NO_AREAS,
    NO_RECOMMENDATIONS,
    TEXT_VERSION,
    police_forces_shown,
)
from workflow.documents.office import ticked_from_log
from workflow.documents.signoff import signed
from workflow.storage.db import Database
from workflow.storage.loading import load
from workflow.storage.models import (
    AreaForImprovement,
    InspectionReport,
    Recommendation,
    Response,
)
from workflow.storage.tables import PERSON

FORMATS: tuple[str, ...] = ("md", "html")
TEMPLATES = Path(__file__).with_name("templates")

#: Which transition ticks which office-use boxes (see the module docstring).

# Raw HTML in imported text is shown as text, never passed through (html=False).
_MD = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING})
# Links in imported text follow the templates' one rule: http/https only, else text.


def _valid_link(url: str) -> bool:
    return bool(safe_href(url))


_MD.validateLink = _valid_link  # type: ignore[method-assign]  # markdown-it's documented hook


def _image_as_link(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                   env: Any) -> str:
    """``![alt](https://x)`` as a link to the picture, never an ``<img>``: a page that
    showed it would fetch it from the sender's server as the reader opens the page (a web
    beacon saying who read it, and when), and the text is the office's, not a picture."""
    token = tokens[idx]
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env) or "picture")
    opened = sum(+1 if t.type == "link_open" else -1 if t.type == "link_close" else 0
                 for t in tokens[:idx])
    if opened > 0:  # inside a link already: its words only (no link in a link)
        return alt
    return f'<a href="{escapeHtml(str(token.attrs.get("src", "")))}">{alt}</a>'


_MD.add_render_rule("image", _image_as_link)


class TemplateError(S55Error):
    """An organisation's template is missing or broken."""

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"template {name}: {problem}")


@dataclass(frozen=True)
class ResponseView:
    """Everything the templates see."""

    response: Response
    report: InspectionReport
    recommendations: Sequence[Recommendation]
    areas_for_improvement: Sequence[AreaForImprovement]
    checklist: dict[str, bool]  # ChecklistItem value -> done
    link_label: str
    recommendations_intro: str | None
    #: "Signed off by ... on ..., fingerprint ..." once the PCC signed it off (else None).
    signature: str | None = None
    #: The canonical text's version to show (``model.TEXT_VERSION``): a fingerprint recorded
    #: under an older one is checked against the text as that version printed it.
    text_version: int = TEXT_VERSION

    @property
    def force(self) -> str:
        return self.response.force

    # What the document prints under headings that may have nothing of their own (from
    # text version 3: never an empty heading).

    @property
    def police_forces_text(self) -> str:
        forces = self.report.police_forces or ""
        return forces if self.text_version < 3 else police_forces_shown(forces, self.force)

    @property
    def recommendations_text(self) -> str:
        intro = self.recommendations_intro or ""
        if intro or self.recommendations or self.text_version < 3:
            return intro
        return NO_RECOMMENDATIONS

    @property
    def areas_text(self) -> str:
        statement = self.response.afi_statement or ""
        if statement or self.areas_for_improvement or self.text_version < 3:
            return statement
        return NO_AREAS


def load_view(session: Session, response_id: int) -> ResponseView:
    """Load one response and its audit trail for rendering (``NotFoundError`` if absent)."""
    loaded = load(session, response_id)
    events = trail.events_for(session, response_id)
    done = {item.value: at is not None for item, at in ticked_from_log(events).items()}
    people = PERSON.c
    sealed = signed(events, {e: n for e, n in session.execute(select(people.email, people.name))})
    return ResponseView(
        response=loaded.response, report=loaded.report,
        recommendations=loaded.recommendations, areas_for_improvement=loaded.areas,
        checklist=done,
        link_label=loaded.report.link_label,
        recommendations_intro=loaded.response.recommendations_intro,
        signature=sealed["line"] if sealed else None,
    )


def _md_label(text: str) -> str:
    """Link text with the characters that would end or nest it escaped."""
    out = text
    for ch in "\\[]()":
        out = out.replace(ch, "\\" + ch)
    return out


#: What could start Markdown markup in the middle of a line: escaped where a template puts
#: a one-line value into running text (the portal reference).
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]()<>!&|~#])")


def _md_inline(text: str) -> str:
    """``text`` as plain words inside a Markdown line: line breaks made spaces (so nothing
    can start a heading or a list item) and markup characters escaped."""
    return _INLINE_MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def _repeat(text: str) -> str:
    """A recommendation's text as the force's section repeats it: bold when it is a single
    plain paragraph (as Norfolk does), as written otherwise."""
    if text and "\n" not in text and not any(c in text for c in "*_`[]<>"):
        return f"**{text.strip()}**"
    return text


def _markdown(text: str | None, shift: int = 3) -> Markup:
    """Markdown to HTML, its own headings moved below the page's (h2/h3) outline."""
    if not text:
        return Markup("")
    tokens = _MD.parse(text)
    if too_deep_at(tokens) is not None:  # markdown-it stopped reading: show every word
        return Markup(f"<pre>{escape(text)}</pre>")  # noqa: S704 - escaped
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            tok.tag = f"h{min(6, int(tok.tag[1]) + shift)}"
    return Markup(_MD.renderer.render(tokens, _MD.options, {}))  # noqa: S704 - escaped by md


@lru_cache(maxsize=16)
def environment(template_dir: Path | None = None) -> Environment:
    """The Jinja2 environment: the organisation's folder first, then ours.

    Cached so templates compile once per process; Jinja's ``auto_reload`` still picks
    up an edited template file.
    """
    loaders = [FileSystemLoader(str(template_dir))] if template_dir else []
    env = Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(TEMPLATES))]),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(longdate=format_date, md_label=_md_label, md_inline=_md_inline,
                       repeat=_repeat, markdown=_markdown, safe_href=safe_href)
    return env


def render_view(view: ResponseView, fmt: str, *, template_dir: Path | None = None) -> str:
    """The document for an already loaded response; ``fmt`` one of ``FORMATS`` (anything
    else: ``InvalidInputError``)."""
    if fmt not in FORMATS:
        raise InvalidInputError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    name = f"response.{fmt}.j2"
    try:
        template = environment(template_dir).get_template(name)
        return template.render(v=view, r=view.response, report=view.report,
                               done=view.checklist)
    except TemplateNotFound:
        raise TemplateError(name, "not found") from None
    except Exception as exc:  # an org's template can fail in any way; name it, one line
        if isinstance(exc, S55Error):
            raise
        raise TemplateError(name, f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc


def render_response(db: Database, response_id: int, fmt: str = "md", *,
                    template_dir: Path | None = None) -> str:
    """Response ``response_id`` as its published document, in ``md`` or ``html``."""
    with db.read() as session:
        view = load_view(session, response_id)
    return render_view(view, fmt, template_dir=template_dir)
