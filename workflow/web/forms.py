"""Reading a posted form strictly: a byte limit, UTF-8 only, and the CSRF token.

Starlette's own form parser (python-multipart) replaces bytes that are not UTF-8 with
U+FFFD, silently; a person's text would be stored changed. Our forms are all
``application/x-www-form-urlencoded`` (no uploads), which the standard library parses
with strict decoding, so a form that is not UTF-8 is refused whole (400) and nothing is
written.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

#: The most a form may hold: five long recommendations' answers fit many times over.
MAX_FORM_BYTES = 256 * 1024
MAX_FIELDS = 400


class FormRefused(Exception):  # noqa: N818 - an HTTP outcome, not an S55Error
    """A form the app will not read; ``status`` and a sentence for the error page."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


class Form(dict[str, str]):
    """The posted fields (the last value of a repeated name wins)."""

    def text(self, name: str) -> str:
        return self.get(name, "")


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> Form:
    """The posted form, or ``FormRefused`` (413 over ``limit``, 400 not UTF-8, 415 not a
    urlencoded form)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormRefused(415, "This page only accepts its own form.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise FormRefused(413, _too_big(limit))
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise FormRefused(413, _too_big(limit))
    except ClientDisconnect:
        raise FormRefused(400, "The form did not arrive whole; nothing was saved.") from None
    try:
        pairs = parse_qsl(bytes(body).decode("ascii"), keep_blank_values=True,
                          encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(400, "The form was not sent as UTF-8 text; nothing was saved.") \
            from None
    return Form(pairs)


def _too_big(limit: int) -> str:
    return (f"The form is larger than {limit // 1024} kB, the most this service accepts; "
            "nothing was saved. Shorten the text and try again.")


def csrf_token(secret: bytes, bound_to: str) -> str:
    """The CSRF token of a page: an HMAC of what it is bound to (a link's hash, a session)."""
    return hmac.new(secret, b"s55 csrf\x1f" + bound_to.encode(), hashlib.sha256).hexdigest()


def check_csrf(secret: bytes, bound_to: str, form: Form) -> None:
    """Refuse (403) a form without the page's own CSRF token."""
    given = form.get("csrf", "")
    if not given or not hmac.compare_digest(given, csrf_token(secret, bound_to)):
        raise FormRefused(403, "This form did not come from the page it belongs to (its "
                               "security token is missing or wrong); nothing was changed. "
                               "Open the link from your email again.")
