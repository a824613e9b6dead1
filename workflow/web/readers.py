"""Reading without changing: a sign-in link mailed on request to an auditor, a panel member
or an admin, a signed session cookie for a working day, and two read-only pages (the open
responses; one response with its state log and the audit chain's verdict).

No page here changes a response: the only POSTs ask for a link, sign in and sign out.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.core.clock import LONDON
from workflow.core.errors import NotFoundError, S55Error
from workflow.web import access
from workflow.web.context import Web, client_address, web
from workflow.web.forms import FormRefused, check_csrf, csrf_token, read_form
from workflow.web.pages import page

COOKIE = "s55_session"
#: A working day: a session signed in at 8 in the morning ends by 6 in the evening.
SESSION_SECONDS = 10 * 3600
_SALT = "s55 reader session"


def _serializer(w: Web) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(w.secret, salt=_SALT)


def _reader(request: Request) -> tuple[Web, dict[str, Any] | None]:
    """The signed-in reader (still active and still a reader), or None."""
    w, cookie = web(request), request.cookies.get(COOKIE)
    if not cookie:
        return w, None
    try:
        data = _serializer(w).loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return w, None
    person = access.reader(w, int(data.get("p", 0)))
    if person is None:
        return w, None
    return w, {"email": person.email, "name": person.name,
               "csrf": csrf_token(w.secret, "session\x1f" + cookie)}


def _sign_in_first() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


async def sign_in_form(request: Request) -> Response:
    w = web(request)
    return page("sign_in.html", title="Sign in to read", csrf=csrf_token(w.secret, "sign-in"),
                sent=request.query_params.get("sent") == "1", error=None)


async def request_link(request: Request) -> Response:
    """``POST /sign-in``: mail a sign-in link if the address is a reader's (the answer is
    the same either way, so the page tells nobody who is a reader). The fourth ask for one
    address within an hour is refused, saying when to try again, for any address alike."""
    w = web(request)
    try:
        form = await read_form(request)
        check_csrf(w.secret, "sign-in", form)
    except FormRefused as refused:
        return page("message.html", refused.status, title="Nothing was sent",
                    lines=[refused.message], back="/sign-in", back_label="Back to sign-in")
    again = w.asks.ask(form.text("email"), w.clock.now())
    if again is not None:
        return page("sign_in.html", 429, title="Sign in to read",
                    csrf=csrf_token(w.secret, "sign-in"), sent=False,
                    error=f"Too many sign-in links were asked for this address in the last "
                    f"hour. Try again after {again.astimezone(LONDON):%H:%M} (UK time).")
    try:
        await run_in_threadpool(access.request_sign_in, w, form.text("email"))
    except S55Error as exc:
        return page("sign_in.html", 429, title="Sign in to read",
                    csrf=csrf_token(w.secret, "sign-in"), sent=False, error=str(exc))
    return RedirectResponse("/sign-in?sent=1", status_code=303)


async def sign_in(request: Request) -> Response:
    """``POST /l/{token}/sign-in`` from the page a sign-in link opens (``GET /l/{token}``
    only shows a button): use the link up and set the session cookie."""
    w, token = web(request), request.path_params["token"]
    view = await run_in_threadpool(access.look, w, token)
    if view is None:
        w.limit.failed(client_address(request))
        return page("message.html", 404, title="This link is not known",
                    lines=["Ask for a new sign-in link."], back="/sign-in",
                    back_label="Ask for a sign-in link")
    if view.status != "live":
        return page("message.html", 410, title=view.status_title, lines=[view.status_text],
                    back="/sign-in", back_label="Ask for a new sign-in link")
    try:
        check_csrf(w.secret, view.token_hash, await read_form(request))
        person_id = await run_in_threadpool(access.sign_in, w, token)
    except FormRefused as refused:
        return page("message.html", refused.status, title="Not signed in",
                    lines=[refused.message], back="/sign-in", back_label="Sign in")
    except S55Error as exc:
        return page("message.html", 409, title="Not signed in", lines=[str(exc)],
                    back="/sign-in", back_label="Ask for a new sign-in link")
    response = RedirectResponse("/responses", status_code=303)
    response.set_cookie(COOKIE, _serializer(w).dumps({"p": person_id}),
                        max_age=SESSION_SECONDS, secure=True, httponly=True,
                        samesite="strict", path="/")
    return response


async def sign_out(request: Request) -> Response:
    w, reader = _reader(request)
    if reader is not None:
        try:
            check_csrf(w.secret, "session\x1f" + request.cookies.get(COOKIE, ""),
                       await read_form(request))
        except FormRefused as refused:
            return page("message.html", refused.status, title="Still signed in",
                        lines=[refused.message], back="/responses",
                        back_label="Back to the responses")
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


#: The lists a reader may ask for (``?show=``), in words.
SHOWN = {"open": "Open responses", "closed": "Closed responses", "all": "All responses"}
_FIRST_YEAR, _LAST_YEAR = 1996, 2200


class _BadQuery(Exception):  # noqa: N818 - a 400 page, not an S55Error
    pass


def _filters(request: Request) -> tuple[str, int | None]:
    """``?show=open|closed|all`` and ``?year=YYYY`` (the deadline's year; empty: every
    year), or ``_BadQuery``."""
    show = request.query_params.get("show", "open") or "open"
    raw = request.query_params.get("year", "").strip()
    if show not in SHOWN:
        raise _BadQuery("Choose open, closed or all responses.")
    if raw and not (raw.isdigit() and len(raw) == 4 and _FIRST_YEAR <= int(raw) <= _LAST_YEAR):
        raise _BadQuery(f"Choose a year between {_FIRST_YEAR} and {_LAST_YEAR}.")
    return show, int(raw) if raw else None


async def responses(request: Request) -> Response:
    """``GET /responses``: open, closed or all responses (``show``), of one deadline year
    or all (``year``), soonest deadline first."""
    w, reader = _reader(request)
    if reader is None:
        return _sign_in_first()
    try:
        show, year = _filters(request)
    except _BadQuery as bad:
        return page("message.html", 400, title="That list does not exist",
                    lines=[str(bad)], back="/responses", back_label="The open responses",
                    signed_in=reader)
    every = await run_in_threadpool(access.listed_responses, w, show)
    years = sorted({int(row["deadline"][:4]) for row in every}, reverse=True)
    rows = [row for row in every if year is None or row["deadline"].startswith(f"{year}-")]
    heading = SHOWN[show] + (f" with a deadline in {year}" if year else "")
    return page("responses.html", title=heading, heading=heading, rows=rows, show=show,
                year=year, years=years, choices=list(SHOWN.items()), signed_in=reader,
                notice=None)


async def one_response(request: Request) -> Response:
    """``GET /responses/{id}``: one response, its state log and the audit verdict."""
    w, reader = _reader(request)
    if reader is None:
        return _sign_in_first()
    raw = request.path_params["id"]
    try:
        if not raw.isdigit() or len(raw) > 9:
            raise NotFoundError("response", raw)
        detail = await run_in_threadpool(access.response_detail, w, int(raw))
    except NotFoundError:
        return page("message.html", 404, title="No such response", lines=[
            f"There is no response {raw}."], back="/responses", back_label="The open responses",
            signed_in=reader)
    return page("response.html", title=f"Response {raw}: {detail['report']['title']}",
                d=detail, signed_in=reader)
