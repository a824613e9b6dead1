"""Whether a force already answers a report: one rule for `report add` and `import`.

Two registrations are of the same report when they have the same title (ignoring case,
spacing, quote style and a closing full stop) and publication date, or the same link to
the report's own page. A force has one response per report; a second one needs
``--again`` with a reason, which the audit log keeps.

Why a check and not a unique index: the rule is "title and date, *or* link", and
``--again`` must still be able to add a second response, so no one key holds it.
Instead the check runs in the transaction that inserts, after a lock that
serialises registrations of one force: SQLite's ``BEGIN IMMEDIATE`` already holds the
database's write lock; on PostgreSQL a transaction-scoped advisory lock keyed on the
force (READ COMMITTED: the check, a statement after the lock, sees every registration
committed before it).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from workflow.core.errors import DuplicateResponseError, InvalidInputError
from workflow.core.os_account import check_text
from workflow.storage.models import InspectionReport, Response

#: First half of the registration lock's key (the second is the force's); a two-part key
#: never meets the audit chain's one-part key (PostgreSQL keeps the two spaces apart).
_REGISTRATION_LOCK = 755
_LOCK = text("SELECT pg_advisory_xact_lock(:a, :b)")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-"})


def title_key(title: str) -> str:
    """The title as compared: case, spacing, quote style and a closing full stop ignored."""
    return " ".join(title.translate(_QUOTES).split()).casefold().rstrip(" .")


def link_key(link: str) -> str | None:
    """The link as compared (host without ``www.``, no scheme, trailing slash or fragment,
    lower case); None when it names no particular page (empty, or a site's front page,
    as the Norfolk form's https://justiceinspectorates.gov.uk)."""
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.rstrip("/")
    if not path and not parts.query:
        return None
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.hostname.removeprefix('www.')}{path}{query}".lower()


def _force_key(force: str) -> str:
    return force.strip().casefold()


def again_reason(again: bool, reason: str | None) -> str | None:
    """The reason for registering a report again, or None; refuses half of the pair."""
    if again:
        if not reason or not reason.strip():
            raise InvalidInputError("--again", "needs --reason WHY (a second response to one "
                                    "report is audited with its reason)")
        return check_text(reason, "--reason")
    if reason is not None:
        raise InvalidInputError("--reason", "only used with --again")
    return None


@dataclass(frozen=True)
class Existing:
    """A response of the force to the same report."""

    response_id: int
    state: str
    title: str
    published_on: date
    link: str
    same_link: bool  # matched by its link, not by title and date


def lock_registrations(s: Session, force: str) -> None:
    """Serialise registrations of ``force`` until the transaction ends (see the module)."""
    if s.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(_force_key(force).encode("utf-8"))
        s.execute(_LOCK, {"a": _REGISTRATION_LOCK, "b": key - (1 << 32) if key >= 1 << 31
                          else key})


def existing_response(s: Session, force: str, title: str, published_on: date,
                      link: str, *, besides: int | None = None) -> Existing | None:
    """The force's earliest response to the same report (other than ``besides``), if any."""
    lkey = link_key(link)
    report = InspectionReport
    same = [col(report.published_on) == published_on]
    if lkey:
        # Narrowed in SQL by the page's path, compared exactly below.
        path = "/" + lkey.partition("/")[2]
        for char in ("\\", "%", "_"):
            path = path.replace(char, "\\" + char)
        same.append(func.lower(col(report.link)).like(f"%{path}%", escape="\\"))
    rows = s.execute(
        select(col(Response.id), col(Response.force), col(Response.state), col(report.title),
               col(report.published_on), col(report.link))
        .join(report, col(report.id) == col(Response.report_id))
        .where(or_(*same)).order_by(col(Response.id))).all()
    tkey, fkey = title_key(title), _force_key(force)
    for rid, rforce, state, rtitle, rpublished, rlink in rows:
        if _force_key(rforce) != fkey or rid == besides:
            continue
        if rpublished == published_on and title_key(rtitle) == tkey:
            return Existing(rid or 0, state, rtitle, rpublished, rlink, same_link=False)
        if lkey and link_key(rlink) == lkey:
            return Existing(rid or 0, state, rtitle, rpublished, rlink, same_link=True)
    return None


def check_new_response(s: Session, *, force: str, title: str, published_on: date, link: str,
                       again: str | None) -> int | None:
    """Lock, then refuse a second response of ``force`` to this report unless ``again``
    (the reason) is given; returns the existing response's id when registering again.

    Raises:
        DuplicateResponseError: the force already answers this report.
        InvalidInputError: ``again`` given, but there is nothing to repeat.
    """
    lock_registrations(s, force)
    found = existing_response(s, force, title, published_on, link)
    if found is None:
        if again is not None:
            raise InvalidInputError("--again", f"{force.strip()} has no response to {title!r} "
                                    f"(published {published_on}) to repeat; register it "
                                    "without --again")
        return None
    if again is None:
        raise DuplicateResponseError(found.response_id, force.strip(), found.state,
                                     found.title, found.published_on,
                                     found.link if found.same_link else None)
    return found.response_id


def check_edited_report(s: Session, *, response_id: int, force: str, published_on: date,
                        before: tuple[str, str], after: tuple[str, str]) -> None:
    """``report edit`` keeps the rule ``report add`` keeps: a title or link edited into the
    one of another response of the same force to the same report is refused (a response
    registered again on purpose stays beside the one it repeats; ``before``/``after`` are
    the (title, link) pairs).

    Raises:
        DuplicateResponseError: the edit would make this response a second one.
    """
    lock_registrations(s, force)
    found = existing_response(s, force, after[0], published_on, after[1], besides=response_id)
    if found is None:
        return
    was = existing_response(s, force, before[0], published_on, before[1], besides=response_id)
    if was is not None and was.response_id == found.response_id:
        return  # already registered beside it, with --again
    raise DuplicateResponseError(found.response_id, force.strip(), found.state, found.title,
                                 found.published_on, found.link if found.same_link else None,
                                 hint=f"response {response_id} would become a second response "
                                 "to the same report; edit that one or leave this one as it is")
