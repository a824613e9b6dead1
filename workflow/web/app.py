"""The Starlette application: routes, error pages and the security headers.

Built by ``create_app`` around one ``Database`` and ``Settings`` (the same the command
line uses); ``s55 serve`` runs it under uvicorn.
"""

from __future__ import annotations

import logging
import secrets

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from workflow.core.clock import Clock, SystemClock
from workflow.core.settings import Settings
from workflow.storage.db import Database
from workflow.web import approvers, readers
from workflow.web.context import Web
from workflow.web.guard import FailureLimit, SecurityHeaders
from workflow.web.logs import without_tokens
from workflow.web.pages import STATIC, page

log = logging.getLogger(__name__)
TOKEN = "{token:str}"


async def home(request: Request) -> Response:
    return page("message.html", title="Section 55 responses", lines=[
        "Section 55 responses: this service opens from the personal link in your email.",
        "Auditors, panel members and admins can sign in to read."],
        back="/sign-in", back_label="Sign in to read")


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    if status == 405:
        return page("message.html", 405, title="Use the page to do this",
                    lines=["This address only takes its page's own form; opening it does "
                           "nothing."])
    return page("message.html", status if status >= 400 else 404, title="Page not found",
                lines=["There is no page at this address. If you typed it, check it; if it "
                       "came from an email, open the link from the email again."])


async def server_error(request: Request, exc: Exception) -> Response:
    """A plain page that says nothing of the fault (it is logged for the operator)."""
    log.exception("error serving %s %s", request.method, without_tokens(request.url.path),
                  exc_info=exc)
    return HTMLResponse(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Sorry - "
        "s55</title><link rel=\"stylesheet\" href=\"/static/s55.css\"></head><body><main>"
        "<h1>Sorry, something went wrong</h1><p>Nothing you did caused this, and nothing was "
        "changed. Try again in a few minutes.</p></main></body></html>", status_code=500)


def routes() -> list[Route | Mount]:
    return [
        Route("/", home, methods=["GET", "HEAD"]),
        Route(f"/l/{TOKEN}", approvers.show, methods=["GET", "HEAD"]),
        Route(f"/l/{TOKEN}/resend", approvers.resend, methods=["POST"]),
        Route(f"/l/{TOKEN}/sign-in", readers.sign_in, methods=["POST"]),
        Route(f"/l/{TOKEN}/{{action:str}}", approvers.action, methods=["POST"]),
        Route(f"/l/{TOKEN}/{{action:str}}", approvers.not_allowed, methods=["GET", "HEAD"]),
        Route("/sign-in", readers.sign_in_form, methods=["GET", "HEAD"]),
        Route("/sign-in", readers.request_link, methods=["POST"]),
        Route("/sign-out", readers.sign_out, methods=["POST"]),
        Route("/responses", readers.responses, methods=["GET", "HEAD"]),
        Route("/responses/{id:str}", readers.one_response, methods=["GET", "HEAD"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]


def create_app(db: Database, settings: Settings, *, clock: Clock | None = None,
               secret: bytes | None = None, limit: FailureLimit | None = None) -> Starlette:
    """The web app over ``db``. ``secret`` signs sessions and CSRF tokens (random when not
    given: they then last as long as this process)."""
    app = Starlette(routes=routes(), exception_handlers={
        404: not_found, 405: not_found, 500: server_error, Exception: server_error})
    app.state.web = Web(db=db, settings=settings, clock=clock or SystemClock(),
                        secret=secret or secrets.token_bytes(32),
                        limit=limit or FailureLimit())
    app.add_middleware(SecurityHeaders)
    return app
