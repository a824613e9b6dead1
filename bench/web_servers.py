"""The two servers ``bench_web`` measures, each run as its own process:

    python -m bench.web_servers ours|baseline DATABASE_URL PORT [AUDIT_KEY_FILE]

``ours`` is ``s55 serve``'s app (``workflow.web.app.create_app``) under uvicorn, with the
audit key production runs with. ``baseline`` is a bare Starlette app under the same
uvicorn settings: the PCC's page is one raw SQL query rendering the same ``pcc.html``
template, and a save is one bound ``UPDATE`` of the recommendation (and one of the row's
version) in one transaction, on the driver's own cursor. Both open the database through
``workflow.storage.db.Database``, so both commit under the same settings (SQLite WAL,
``synchronous=NORMAL``; PostgreSQL's own ``synchronous_commit``, ``on`` by default).

What the baseline does not do: it checks no link (the response id is in the URL), no
CSRF token, no role, no state and no version; it writes no audit event and no HMAC.

With ``S55_BENCH_PROFILE=FILE`` the server runs under cProfile (the event loop's thread
and every worker thread a request runs in) and writes the merged profile to FILE when it
stops (SIGINT).
"""

from __future__ import annotations

import cProfile
import hashlib
import os
import pstats
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.storage.db import Database

PCC_EMAIL = "pcc@opcc.example"
_PAGE = ("SELECT r.id, r.version, r.state, r.force, r.deadline, r.force_input_due, "
         "r.cc_response, r.pcc_response, p.title, p.link, p.published_on, c.number, "
         "c.text, c.due_date, c.force_response, c.pcc_note FROM response r "
         "JOIN inspection_report p ON p.id = r.report_id "
         "JOIN recommendation c ON c.response_id = r.id WHERE r.id = {rid} "
         "ORDER BY c.number")
_SAVE = ("UPDATE recommendation SET force_response = {v} WHERE response_id = {rid} "
         "AND number = 1", "UPDATE response SET version = version + 1 WHERE id = {rid}")
_DAYS = ("deadline", "force_input_due", "published_on", "due_date")


def settings_for(url: str, key_file: str | None) -> Settings:
    return Settings(database_url=url, identity="claimed", base_url="https://s55.example",
                    audit_key_file=Path(key_file) if key_file else None)


def _day(key: str, value: Any) -> Any:
    """SQLite hands dates back as text: the template wants dates (as ours are)."""
    return date.fromisoformat(value) if isinstance(value, str) and key in _DAYS else value


class Raw:
    """Prebuilt statements on the driver's cursor (sqlite3 or psycopg) of a pooled
    connection of ``db``'s write engine (its connect-time pragmas included)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        mark: Callable[[str], str] = ((lambda n: f":{n}") if db.is_sqlite
                                      else (lambda n: f"%({n})s"))
        self.page_sql = _PAGE.format(rid=mark("rid"))
        self.save_sql = [s.format(v=mark("v"), rid=mark("rid")) for s in _SAVE]

    def page_rows(self, rid: int) -> tuple[list[str], list[Any]]:
        conn = self.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(self.page_sql, {"rid": rid})
            names = [d[0] for d in cur.description]
            rows = list(cur.fetchall())
            cur.close()
            if not self.db.is_sqlite:
                conn.rollback()  # end the read transaction psycopg opened
            return names, rows
        finally:
            conn.close()

    def save(self, rid: int, value: str) -> None:
        # The same in-process writer queue ours takes on SQLite (``Database.writers``).
        with self.db.writers:
            self._save(rid, value)

    def _save(self, rid: int, value: str) -> None:
        conn = self.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            if self.db.is_sqlite:  # autocommit driver mode: BEGIN as ours does
                cur.execute("BEGIN IMMEDIATE")
            for sql in self.save_sql:
                cur.execute(sql, {"v": value, "rid": rid})
            conn.commit() if not self.db.is_sqlite else cur.execute("COMMIT")
            cur.close()
        finally:
            conn.close()


def baseline_app(db: Database, settings: Settings) -> Starlette:
    from workflow.web.context import Web
    from workflow.web.page_data import approver_page
    from workflow.web.pages import environment

    template = environment().get_template("pcc.html")
    raw = Raw(db)
    web = Web(db, settings, SystemClock(), b"k" * 32)
    documents: dict[int, Any] = {}  # the published render, per response (ours caches too)

    def page_of(rid: int) -> str:
        if rid not in documents:
            documents[rid] = approver_page(web, rid, "pcc")["document"]
        names, rows = raw.page_rows(rid)
        first = {k: _day(k, v) for k, v in zip(names, rows[0], strict=True)}
        recs = [{k: _day(k, v) for k, v in zip(names, row, strict=True)} for row in rows]
        r = {**first, "recommendations": recs,
             "fingerprint": hashlib.sha256(repr(rows).encode()).hexdigest(),
             "document": documents[rid]}
        v = {"name": "PCC", "email": PCC_EMAIL, "expires_text": ""}
        return template.render(v=v, r=r, base=f"/b/{rid}", csrf="0" * 64, done=None,
                               error=None, posted={})

    async def page(request: Request) -> Response:
        rid = int(request.path_params["rid"])
        return HTMLResponse(await run_in_threadpool(page_of, rid))

    async def save(request: Request) -> Response:
        rid = int(request.path_params["rid"])
        form = dict(parse_qsl((await request.body()).decode("utf-8", "strict"),
                              strict_parsing=True))
        await run_in_threadpool(raw.save, rid, form["force_response_1"])
        return RedirectResponse(f"/b/{rid}?done=saved", status_code=303)

    return Starlette(routes=[Route("/b/{rid:int}", page),
                             Route("/b/{rid:int}/save", save, methods=["POST"])])


def _profiled(run: Callable[[], None], path: str) -> None:
    """``run()`` under cProfile in this thread and in every worker thread Starlette hands
    a request to (``anyio.to_thread.run_sync``); the profiles merged into ``path``."""
    import anyio.to_thread

    profiles: list[cProfile.Profile] = []
    local = threading.local()
    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def inner(*a: Any) -> Any:
            prof = getattr(local, "prof", None)
            if prof is None:
                prof = local.prof = cProfile.Profile()
                profiles.append(prof)
            prof.enable()
            try:
                return func(*a)
            finally:
                prof.disable()
        return await original(inner, *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    main = cProfile.Profile()
    main.enable()
    try:
        run()
    finally:
        main.disable()
        stats = pstats.Stats(main)
        for prof in profiles:
            stats.add(prof)
        stats.dump_stats(path)


def main(argv: list[str]) -> None:
    side, url, port = argv[0], argv[1], int(argv[2])
    settings = settings_for(url, argv[3] if len(argv) > 3 else None)
    db = Database(url, audit_key_file=settings.audit_key_file)  # as ``s55 serve`` opens it
    if side == "ours":
        from workflow.web.app import create_app

        app = create_app(db, settings, secret=os.urandom(32))
    else:
        app = baseline_app(db, settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False,
                                           server_header=False, lifespan="off"))
    profile = os.environ.get("S55_BENCH_PROFILE")
    try:
        _profiled(server.run, profile) if profile else server.run()
    except KeyboardInterrupt:  # uvicorn raises the SIGINT it stopped on, once stopped
        pass
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
