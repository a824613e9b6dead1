"""Jinja2 rendering of mail: a subject line, a plain-text part and an HTML part per kind.

``StrictUndefined`` makes a missing variable an error (never "None" or an empty
gap in an inbox); HTML templates are autoescaped, text templates are not. An
organisation's folder (``template_dir``) is searched first, so any file here can be
overridden one by one.

Besides its own values, every template sees ``kind`` (added here) and what the workflow adds
to each message: ``today`` (the London date the mail was queued), the reader's
``recipient_name`` and ``recipient_roles``, and ``contact`` (who a reply reaches, or none).
Dates are worded against ``today`` through one filter, ``timing``. The reader's own web
link, when the mail asks them to act, is ``action_url``: absent otherwise, and printed by
the "What we need from you" partial (``_action``) and the link mails (``action_link``,
``sign_in_link``), always through ``safe_href`` in HTML.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateRuntimeError,
    Undefined,
    select_autoescape,
)

from notifications import BUILTIN_TEMPLATES
from notifications.errors import TemplateMissingError, TemplateRenderError
from notifications.hrefs import safe_href
from notifications.message import MAX_SUBJECT
from states.words import days, due_in, due_words, long_date, published_words, when

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
    "reopen",
    "mark_not_required",
    "sign_off_receipt",  # the signer's copy of the text as signed, with its fingerprint
    "sign_off_notice",  # to the PCC, at once, when a deputy signed off in their name
    "mail_dead",
    "mail_test",
    "audit_checkpoint",
    "role_change",  # a privilege change (pcc, force) told to auditors and the PCC
    "action_link",  # a fresh personal link, asked for from an expired or used one
    "sign_in_link",  # a reader's sign-in link, asked for on the sign-in page
    "office_change",  # the office's settings recorded or changed, told to auditors and the PCC
    "delegation_request",  # an admin asks the PCC to confirm a deputy (with the PCC's link)
    "delegation_notice",  # a deputy arrangement made, confirmed or ended
    "identity_change_request",  # a signer asked to confirm a new login or address (link)
    "identity_change",  # a login or address changed, told to the person and the auditors
    "feed_report",  # a report about this force registered from HMICFRS's feed, to admins
    "feed_digest",  # national or thematic reports in the feed, listed to admins once
    # Escalations (workflow/escalations/policy.toml names them per rule).
    "escalation_draft",
    "escalation_force_input",
    "escalation_signoff",
    "escalation_publish",
    "escalation_overdue",
    "escalation_portal",
)
PARTS: tuple[str, ...] = ("subject", "txt", "html")


def days_phrase(days: int) -> str:
    """``due in 3 days`` / ``due tomorrow`` / ``due today`` / ``2 days overdue``
    (``states.words.due_in``)."""
    return due_in(days)


@dataclass(frozen=True)
class Timing:
    """Where a due date stands on a given day: ahead of it, on it, or past it.

    The one way templates word a date against today (``{{ deadline | timing(today) }}``),
    so a sentence can never promise a date that has already passed. Printed, it is the
    phrase of ``states.words.due_in``; ``status`` is ``due``, ``today`` or ``late`` for
    sentences that must change with it.
    """

    due: date
    on: date

    @property
    def days_left(self) -> int:
        """Days from ``on`` to ``due``; negative once the date has passed."""
        return (self.due - self.on).days

    @property
    def status(self) -> str:
        return "due" if self.days_left > 0 else "today" if self.days_left == 0 else "late"

    @property
    def late(self) -> bool:
        return self.days_left < 0

    @property
    def late_by(self) -> str:
        """``3 days``: how long after the date (meaningful once ``late``)."""
        return days(-self.days_left)

    @property
    def early_by(self) -> str:
        """``3 days``: how long before the date (meaningful while ``due``)."""
        return days(self.days_left)

    @property
    def published(self) -> str:
        """``published 3 days early`` / ``on the deadline`` / ``3 days late``: ``on`` as
        the day of publication against ``due``."""
        return published_words(self.due, self.on)

    @property
    def statutory(self) -> str:
        """``statutory deadline 6 January 2027, due in 30 days``: ``due`` named as the
        Section 55 deadline, as every subject line names it."""
        return f"statutory deadline {long_date(self.due)}, {due_in(self.days_left)}"

    def __str__(self) -> str:
        return due_words(self.due, self.on)


def timing(due: date, on: date) -> Timing:
    """The ``timing`` filter: ``due`` as seen on the day ``on`` (usually ``today``)."""
    for value in (due, on):
        if isinstance(value, Undefined):  # StrictUndefined: name the missing variable
            str(value)
        if not isinstance(value, date):
            raise TemplateRuntimeError(f"timing needs two dates, got {due!r} and {on!r}")
    return Timing(due, on)


#: Words for the identifiers mail would otherwise show (roles, states, severities), for
#: readers who have never seen s55.
WORDS: dict[str, str] = {
    # roles
    "admin": "the OPCC governance team",
    "force": "the force liaison",
    "pcc": "the Police and Crime Commissioner",
    "chief_executive": "the OPCC chief executive",
    "panel": "the Police and Crime Panel",
    "auditor": "the auditors",
    # states
    "draft": "being drafted by the OPCC; the force has not yet been asked for its comments",
    "force_input": "waiting for the force's comments",
    "pcc_signoff": "waiting for the Police and Crime Commissioner's sign-off",
    "forwarded_to_panel": "signed off and sent to the Police and Crime Panel; "
                          "waiting to be published",
    "published": "published; waiting to be submitted on the HMICFRS Monitoring Portal",
    "portal_submitted": "published and submitted on the HMICFRS Monitoring Portal",
    "not_required": "closed: no response is required",
    # escalation severities
    "reminder": "a reminder",
    "warning": "a warning",
    "escalation": "an escalation",
    "urgent": "an urgent alert",
    "overdue": "an overdue alert",
}


def in_words(value: str) -> str:
    """The words for a role, state or severity; anything else as it is."""
    return WORDS.get(str(value), str(value))


def _private(folder: Path) -> bool:
    st = os.lstat(folder)
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept between processes: a one-shot command (a transition from
    the command line) otherwise compiles every template it renders, which costs more than
    rendering them. Jinja's own file cache checks each entry against its template's
    source (an edited template is compiled again) and writes entries whole (a temporary
    file renamed). It holds code this process runs, so it is used only in an owner-only
    per-user folder named for this Jinja and Python (``~/.cache/s55``), never when that
    folder or its parent is anyone else's or writable by others; None then (each process
    compiles for itself, as without a cache)."""
    try:
        folder = (Path.home() / ".cache" / "s55" /
                  f"jinja-{jinja2.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (_private(folder.parent) and _private(folder)
                and not os.lstat(folder).st_mode & 0o077):
            return None
    except (OSError, RuntimeError):  # no home, or a folder we cannot make
        return None
    return FileSystemBytecodeCache(str(folder))


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
        bytecode_cache=bytecode_cache(),
    )
    env.filters["long_date"] = long_date
    env.filters["when"] = when
    env.filters["days_phrase"] = days_phrase
    env.filters["timing"] = timing
    env.filters["in_words"] = in_words
    env.filters["safe_href"] = safe_href
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


#: The free-text values a subject may shorten to fit, in the order they give way: the
#: fixed words around them (the ``[s55 #ID]`` prefix, the days-left phrase) never do.
SHORTENABLE: tuple[str, ...] = ("report_title", "dead_subject", "dead_recipient",
                                "person_name", "opcc_name", "force")
ELLIPSIS = "\u2026"


def shorten(value: str, length: int) -> str:
    """``value`` cut to at most ``length`` characters, the cut marked with an ellipsis."""
    if len(value) <= length:
        return value
    return value[:max(length - 1, 0)].rstrip() + ELLIPSIS


def _subject(env: Environment, kind: str, context: Mapping[str, Any]) -> str:
    """The subject line, within ``MAX_SUBJECT`` characters whatever the values' length.

    HMICFRS titles run past 200 characters; rendered whole into a subject they would make
    the message unsendable. So a subject that is too long is rendered again with the
    values of ``SHORTENABLE`` cut (each ending in an ellipsis) by as much as it overflows;
    the body keeps them whole.
    """
    subject = _render(env, kind, "subject", context).strip()
    for key in SHORTENABLE:
        for _ in range(3):  # a value shown twice in a subject overflows twice
            value = context.get(key)
            over = len(subject) - MAX_SUBJECT
            if over <= 0 or not isinstance(value, str) or len(value) <= 1:
                break
            context = {**context, key: shorten(value, len(value) - over)}
            subject = _render(env, kind, "subject", context).strip()
    return subject


def render_subject(kind: str, context: Mapping[str, Any], *,
                   override_dir: Path | None = None) -> str:
    """Only the subject line of ``kind`` (as ``render`` makes it)."""
    return _subject(environment(override_dir), kind, {"kind": kind, **context})


def render(kind: str, context: Mapping[str, Any], *, override_dir: Path | None = None) -> Rendered:
    """Render the three parts of ``kind``; the subject fits ``MAX_SUBJECT`` (``_subject``).

    The subject is only stripped at its ends: a CR/LF inside it (say, from a report
    title) is left for ``message.check_header_text`` to refuse, never silently mended.
    """
    env = environment(override_dir)
    context = {"kind": kind, **context}
    subject = _subject(env, kind, context)
    return Rendered(
        subject=subject,
        text=_render(env, kind, "txt", context),
        html=_render(env, kind, "html", context),
    )
