"""Jinja2 rendering of mail: a subject line, a plain-text part and an HTML part per kind.

``StrictUndefined`` makes a missing variable an error (never "None" or an empty
gap in an inbox); HTML templates are autoescaped, text templates are not. An
organisation's folder (``template_dir``) is searched first, so any file here can be
overridden one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from notifications import BUILTIN_TEMPLATES
from notifications.errors import TemplateMissingError, TemplateRenderError

BUILTIN_DIR = BUILTIN_TEMPLATES

#: Every kind of message s55 sends; each has ``<kind>.subject.j2``, ``.txt.j2``, ``.html.j2``.
KINDS: tuple[str, ...] = (
    "request_force_input",
    "submit_force_input",
    "return_to_force",
    "return_to_draft",
    "sign_off",
    "publish",
    "publish_copy",
    "submit_to_portal",
    "mark_not_required",
    "mail_dead",
    "mail_test",
    "role_change",  # a privilege change (pcc, force) told to auditors and the PCC
    # Escalations (workflow/escalations/policy.toml names them per rule).
    "escalation_draft",
    "escalation_force_input",
    "escalation_signoff",
    "escalation_publish",
    "escalation_overdue",
    "escalation_portal",
)
PARTS: tuple[str, ...] = ("subject", "txt", "html")


def long_date(value: date) -> str:
    """``4 December 2024``: how OPCC documents write dates."""
    return f"{value.day} {value:%B %Y}"


def days_phrase(days: int) -> str:
    """``3 days left`` / ``1 day left`` / ``due today`` / ``2 days overdue``."""
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    if days == 0:
        return "due today"
    return f"{-days} day{'s' if days != -1 else ''} overdue"


@lru_cache(maxsize=8)
def environment(override_dir: Path | None = None) -> Environment:
    """The Jinja2 environment: overrides first, then the built-in templates."""
    loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
    env = Environment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(BUILTIN_DIR))]),
        undefined=StrictUndefined,
        # Autoescape by file name: "x.html.j2" is HTML; ".txt.j2"/".subject.j2" are not.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["days_phrase"] = days_phrase
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_name(kind: str, part: str) -> str:
    return f"{kind}.{part}.j2"


def _render(env: Environment, kind: str, part: str, context: Mapping[str, Any]) -> str:
    name = template_name(kind, part)
    try:
        template = env.get_template(name)
    except TemplateNotFound as exc:
        raise TemplateMissingError(kind, name) from exc
    try:
        return template.render(context)
    except TemplateError as exc:
        raise TemplateRenderError(kind, name, str(exc)) from exc


def render(kind: str, context: Mapping[str, Any], *, override_dir: Path | None = None) -> Rendered:
    """Render the three parts of ``kind``.

    The subject is only stripped at its ends: a CR/LF inside it (say, from a report
    title) is left for ``message.check_header_text`` to refuse, never silently mended.
    """
    env = environment(override_dir)
    subject = _render(env, kind, "subject", context).strip()
    return Rendered(
        subject=subject,
        text=_render(env, kind, "txt", context),
        html=_render(env, kind, "html", context),
    )
