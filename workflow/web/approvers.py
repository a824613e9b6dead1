"""The force liaison's and the PCC's pages, opened from the personal link in their mail.

``GET``/``HEAD /l/{token}`` only shows (mail scanners open every link); each action is a
``POST`` carrying the page's CSRF token (bound to the link) and the version the page
showed, and is one call into the library as the link's person, channel ``web``. A save
keeps the link; submitting, signing off or returning uses it up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workflow.core.clock import london_today
from workflow.core.errors import InvalidInputError, S55Error, StaleVersionError
from workflow.web import access, problems
from workflow.web.access import Opened
from workflow.web.context import Web, client_address, web
from workflow.web.forms import Form, FormRefused, check_csrf, csrf_token, read_form
from workflow.web.pages import page

#: What each kind of link's page edits: response text fields, recommendation fields
#: (posted as ``FIELD_NUMBER``) and area for improvement fields (``area_FIELD_NUMBER``).
EDITS = {"force": (("cc_response",), ("force_response",), ("force_response",)),
         "pcc": (("pcc_response",), ("pcc_note",), ()),
         "deputy": (("pcc_response",), ("pcc_note",), ()), "confirm": ((), (), ())}
AREA = "area_"
DONE = {"saved": "Your changes are saved. You can come back to this page with the same "
                 "link until the response moves on.",
        "resent": "A fresh link is on its way to your email address.",
        "submitted": "The force's comments are submitted: the Police and Crime "
                     "Commissioner has been told.",
        "signed": "You signed off the response: it goes to the Police and Crime Panel and "
                  "the Chief Constable, and a receipt with the text as signed and its "
                  "fingerprint is on its way to your email address.",
        "returned": "The response was sent back, with your reason.",
        "delegated": "Your deputy may now act in your place for the days you gave. You, "
                     "your deputy and the auditors have been told by email.",
        "confirmed": "You confirmed the change: it is made, and everyone concerned has been "
                     "told by email.",
        "declined": "You declined: nothing was changed."}


async def _link(request: Request) -> tuple[Web, str, Opened | Response]:
    """The link named in the path, or the page to show instead (unknown: 404; too many
    failed look-ups from this address: 429)."""
    w, token = web(request), request.path_params["token"]
    address = client_address(request)
    if w.limit.blocked(address):
        return w, token, page("message.html", 429, title="Too many attempts",
                              lines=["Too many links that do not exist were tried from your "
                                     "address. Wait a few minutes, then open the link from "
                                     "your email again."])
    view = await run_in_threadpool(access.look, w, token)
    if view is None:
        w.limit.failed(address)
        return w, token, page("message.html", 404, title="This link is not known",
                              lines=["Check that you copied the whole link from your email; "
                                     "links are long. If you clicked it, ask the OPCC for a "
                                     "new one."])
    return w, token, view


async def show(request: Request) -> Response:
    """The page a link opens: the form for a live link, else what happened to it."""
    w, token, view = await _link(request)
    if isinstance(view, Response):
        return view
    if view.status != "live":
        return page("link_status.html", 410, v=view, csrf=csrf_token(w.secret, view.token_hash),
                    action=f"/l/{token}/resend", done=DONE.get(request.query_params.get("done",
                                                                                          "")))
    if view.kind == "sign_in":
        return page("sign_in_confirm.html", title="Sign in", v=view,
                    csrf=csrf_token(w.secret, view.token_hash), action=f"/l/{token}/sign-in")
    if view.kind == "confirm":
        return await run_in_threadpool(_confirm_page, w, token, view, None)
    return await run_in_threadpool(_form_page, w, token, view,
                                   DONE.get(request.query_params.get("done", "")), None, None)


def _form_page(w: Web, token: str, view: Opened, done: str | None, error: str | None,
               posted: Form | None, status: int = 200, action: str = "",
               refusal: Exception | None = None) -> Response:
    """The force's or the PCC's page, with ``posted`` text kept when ``action`` was
    refused (its fields in error marked and linked from the error summary)."""
    if view.kind == "confirm":
        return _confirm_page(w, token, view, error, status)
    data = access.response_page(w, view)
    deputies = access.deputies(w, view) if view.kind == "pcc" else []
    marked = problems.marked(action, refusal, posted or {}, data) if refusal else None
    return page(f"{view.kind}.html", status, v=view, r=data, base=f"/l/{token}",
                csrf=csrf_token(w.secret, view.token_hash), done=done, error=error,
                posted=posted or {}, deputies=deputies, example_date=_example_date(w),
                **(marked.context() if marked else {}))


def _example_date(w: Web) -> str:
    """A date four weeks ahead (a delegation's first or last day), as the en-GB date box
    shows dates (dd/mm/yyyy)."""
    return f"{london_today(w.clock) + timedelta(days=28):%d/%m/%Y}"


def _confirm_page(w: Web, token: str, view: Opened, error: str | None,
                  status: int = 200) -> Response:
    """What a ``confirm`` link asks, with its two buttons; what became of it otherwise."""
    try:
        asked = access.asking(w, token)
    except S55Error as exc:
        return page("link_status.html", 410, v=view, csrf="", action="", done=None,
                    error=str(exc))
    return page("confirm.html", status, v=view, a=asked, base=f"/l/{token}",
                csrf=csrf_token(w.secret, view.token_hash), error=error)


async def _posted(request: Request) -> tuple[Web, str, Opened, Form] | Response:
    """A POST's link, checked CSRF and form; or the page refusing it."""
    w, token, view = await _link(request)
    if isinstance(view, Response):
        return view
    try:
        form = await read_form(request)
        check_csrf(w.secret, view.token_hash, form)
    except FormRefused as refused:
        return page("message.html", refused.status, title="Nothing was changed",
                    lines=[refused.message], back=f"/l/{token}",
                    back_label="Back to the page from your email")
    return w, token, view, form


Numbered = dict[int, dict[str, str]]


def _edits(view: Opened, form: Form) -> tuple[dict[str, str], Numbered, Numbered]:
    """The page's own fields in the posted form: texts, recommendations' and areas'."""
    texts_of, recs_of, areas_of = EDITS[view.kind]
    texts = {f: form[f] for f in texts_of if f in form}
    recs: Numbered = {}
    areas: Numbered = {}
    for name, value in form.items():
        field, _, number = name.rpartition("_")
        if not (number.isdigit() and len(number) < 10):
            continue
        if field.startswith(AREA) and field.removeprefix(AREA) in areas_of:
            areas.setdefault(int(number), {})[field.removeprefix(AREA)] = value
        elif field in recs_of:
            recs.setdefault(int(number), {})[field] = value
    return texts, recs, areas


def _version(form: Form) -> int | None:
    raw = form.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _save(w: Web, token: str, view: Opened, form: Form) -> None:
    texts, recs, areas = _edits(view, form)
    access.save(w, token, view, texts, recs, _version(form), areas=areas)


#: The page's words for the fields a refusal names (the command line names its options).
FIELD_WORDS = {"cc_response": "The Chief Constable's response",
               "force_response": "The force's response", "pcc_response": "The PCC's response",
               "pcc_note": "The PCC's note", "--reason": "The reason"}


def _words(exc: S55Error) -> str:
    """The refusal as the page says it: a field in words, never an option or a column."""
    if isinstance(exc, InvalidInputError):
        field = FIELD_WORDS.get(exc.what, exc.what.lstrip("-").replace("_", " ").capitalize())
        return f"{field}: {exc.problem}"
    return str(exc)


def _refused(w: Web, token: str, exc: S55Error, form: Form, action: str = "") -> Response:
    """The page again, saying why nothing happened, with the text as it was posted; a
    link that has just been used or superseded shows what became of it."""
    view = access.look(w, token)
    if view is None or view.status != "live":
        return page("link_status.html", 409, v=view, csrf=csrf_token(w.secret, view.token_hash)
                    if view else "", action=f"/l/{token}/resend", done=None,
                    error=str(exc))
    message = _words(exc)
    if isinstance(exc, StaleVersionError):
        message = ("Someone else changed this response after you opened this page, so "
                   "nothing was saved. Your text is kept below: check the page, then save "
                   "again.")
    return _form_page(w, token, view, None, message, form, 409, action, exc)


async def _act(request: Request, work: Any, name: str = "") -> Response:
    """Run ``work(w, token, view, form)`` (action ``name``) in a thread; redirect on
    success, else explain."""
    checked = await _posted(request)
    if isinstance(checked, Response):
        return checked
    w, token, view, form = checked
    if view.status != "live":
        return page("link_status.html", 409, v=view, csrf=csrf_token(w.secret, view.token_hash),
                    action=f"/l/{token}/resend", done=None, error=None)

    def attempt() -> Response:
        try:
            done = work(w, token, view, form)
        except S55Error as exc:
            return _refused(w, token, exc, form, name)
        return RedirectResponse(f"/l/{quote(token)}{done}", status_code=303)

    return await run_in_threadpool(attempt)


def _do_save(w: Web, token: str, view: Opened, form: Form) -> str:
    _save(w, token, view, form)
    return "?done=saved"


def _do_submit(w: Web, token: str, view: Opened, form: Form) -> str:
    _save(w, token, view, form)
    access.fire(w, token, "submit_force_input")
    return "?done=submitted"


def _do_sign_off(w: Web, token: str, view: Opened, form: Form) -> str:
    texts, recs, _areas = _edits(view, form)
    shown = form.get("fingerprint", "")
    access.check_signable(w, view, texts, recs, shown, _version(form))
    # Checked again inside the sign-off's own transaction: the text signed is the one shown.
    access.fire(w, token, "sign_off", expected_version=_version(form),
                expected_fingerprint=shown)
    return "?done=signed"


def _do_return_to_force(w: Web, token: str, view: Opened, form: Form) -> str:
    access.fire(w, token, "return_to_force", reason=form.text("reason"),
                params={"force_input_due": form.text("force_input_due").strip() or None},
                expected_version=_version(form))
    return "?done=returned"


def _do_return_to_draft(w: Web, token: str, view: Opened, form: Form) -> str:
    access.fire(w, token, "return_to_draft", reason=form.text("reason"),
                expected_version=_version(form))
    return "?done=returned"


def _do_delegate(w: Web, token: str, view: Opened, form: Form) -> str:
    access.delegate(w, token, form.text("deputy"), form.text("from"), form.text("until"),
                    form.text("reason"))
    return "?done=delegated"


def _do_confirm(w: Web, token: str, view: Opened, form: Form) -> str:
    access.confirm(w, token)
    return "?done=confirmed"


def _do_decline(w: Web, token: str, view: Opened, form: Form) -> str:
    access.decline(w, token)
    return "?done=declined"


ACTIONS = {"save": _do_save, "submit": _do_submit, "sign-off": _do_sign_off,
           "return-to-force": _do_return_to_force, "return-to-draft": _do_return_to_draft,
           "delegate": _do_delegate, "confirm": _do_confirm, "decline": _do_decline}
#: Which kind of link may take which action (the service checks roles again).
ALLOWED = {"force": {"save", "submit"},
           "pcc": {"save", "sign-off", "return-to-force", "return-to-draft", "delegate"},
           "deputy": {"save", "sign-off"}, "confirm": {"confirm", "decline"}}


async def action(request: Request) -> Response:
    """``POST /l/{token}/{action}``."""
    name = request.path_params["action"]
    work = ACTIONS.get(name)
    if work is None:
        return page("message.html", 404, title="Page not found",
                    lines=["There is no such page."])

    def guarded(w: Web, token: str, view: Opened, form: Form) -> str:
        if name not in ALLOWED.get(view.kind, set()):
            raise access.LinkActionError(view, name)
        result: str = work(w, token, view, form)
        return result

    return await _act(request, guarded, name)


async def resend(request: Request) -> Response:
    """``POST /l/{token}/resend``: mail a fresh link to the same person (rate-limited)."""
    checked = await _posted(request)
    if isinstance(checked, Response):
        return checked
    w, token, view, _form = checked
    try:
        await run_in_threadpool(access.resend, w, token)
    except S55Error as exc:
        return page("link_status.html", 429 if getattr(exc, "retry_after", None) else 409, v=view,
                    csrf=csrf_token(w.secret, view.token_hash), action=f"/l/{token}/resend",
                    done=None, error=str(exc))
    return RedirectResponse(f"/l/{quote(token)}?done=resent", status_code=303)


async def not_allowed(request: Request) -> Response:
    """``GET``/``HEAD`` of an action URL: changes nothing, points back to the page."""
    token = request.path_params["token"]
    return page("message.html", 405, title="Use the page to do this",
                lines=["This address only takes the page's own form; opening it does "
                       "nothing."], back=f"/l/{token}", back_label="Open the page")
