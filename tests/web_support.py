"""Shared set-up of the web tests: the Norfolk response on a real database, the app over
it, and the links taken from the mail s55 queued (as the person would click them)."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from factories import ADMIN, FORCE, PCC, answer_all, as_delivered, norfolk, snapshot
from smtp_server import free_port
from sqlalchemy import text
from starlette.types import ASGIApp
from waiting import wait_until

from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.web.app import create_app

BASE = "https://s55.example"
LINK = re.compile(r"https://s55\.example/l/([A-Za-z0-9_-]{32,64})")
SECRET = b"web-test-secret-" * 2


def tokens(wf: Workflow, to: str) -> list[str]:
    """Every link token in the mail queued to ``to``, oldest first."""
    with wf.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT body_text, body_html, dedupe_key FROM outbox "
                                 "WHERE recipient = :to ORDER BY id"), {"to": to}).all()
    return [t for row in rows for t in LINK.findall(as_delivered(wf.db, row)[0])]


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version on the page"
    return found.group(1)


def fingerprint(html: str) -> str:
    found = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', html)
    assert found, "no fingerprint on the page"
    return found.group(1)


class Client:
    """A synchronous face on ``httpx.AsyncClient`` over the app's ASGI transport (no
    network), keeping cookies between requests like a browser; never follows redirects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.cookies = app, httpx.Cookies()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="https://testserver",
                                         cookies=self.cookies) as client:
                response = await client.request(method, url, **kwargs)
                self.cookies.update(client.cookies)
                return response

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class Env:
    wf: Workflow
    client: Client
    rid: int

    def snap(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.wf)

    def force_token(self) -> str:
        return tokens(self.wf, FORCE)[-1]

    def pcc_token(self) -> str:
        return tokens(self.wf, PCC)[-1]

    def form(self, path: str) -> dict[str, str]:
        """The hidden fields of the page at ``path`` (what a browser would post)."""
        html = self.client.get(path).text
        fields = {"csrf": csrf(html)}
        found = re.search(r'name="version" value="(\d+)"', html)
        if found:
            fields["version"] = found.group(1)
        found = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', html)
        if found:
            fields["fingerprint"] = found.group(1)
        return fields


def web_settings(settings: Settings, db: Any = None) -> Settings:
    key = {"audit_key_file": db.audit_key_file} if db is not None else {}
    return settings.model_copy(update={"base_url": BASE, **key})


def make_env(db: Any, settings: Settings, *, to_pcc: bool = False) -> Env:
    """Norfolk registered and sent to the force (a force link mailed); with ``to_pcc``
    the force has answered and submitted on the command line (a PCC link mailed)."""
    s = web_settings(settings, db)
    wf = Workflow(db, s)
    rid = norfolk(wf)
    wf.fire(rid, "request_force_input", ADMIN)
    if to_pcc:
        answer_all(wf, rid)
        wf.fire(rid, "submit_force_input", FORCE)
        content.edit_text(wf, rid, "pcc_response", "I welcome the report.", PCC)
    app = create_app(db, s, clock=wf.clock, secret=SECRET)
    return Env(wf, Client(app), rid)


#: Debian's Chromium, which every browser test drives (never ``playwright install``).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """``app`` under a real uvicorn on a free loopback port; its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    try:
        wait_until(lambda: server.started, bool, timeout=10, what="uvicorn started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
