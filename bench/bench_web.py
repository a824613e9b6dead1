"""The web pages under load: 20 concurrent clients opening the PCC's page and saving the
force's response, against a bare Starlette app doing the same from raw SQL.

Ours: ``s55 serve``'s app (``workflow.web.app.create_app``): the link checked
(``links.read``), the response loaded, its published render and fingerprint (cached per
response version), the page rendered from ``pcc.html``; a save is the link checked in the
transaction, ``content.edit_many`` (role, state, compare-and-set of the version, a chained
and keyed audit event), commit, a 303.

Baseline: a bare Starlette app on the same engine (so the same SQLite ``synchronous`` and
WAL, or PostgreSQL ``synchronous_commit``): the page is one raw SQL query (response,
report and recommendations joined) rendering the same ``pcc.html`` template with the same
document HTML; a save is one raw ``UPDATE`` of the recommendation and the row's version,
commit, a 303. It checks no link, no role, no state and writes no audit event.

Both apps run under uvicorn on loopback (one server thread each); the clients are httpx
async clients in this process. Rounds alternate (``bench.common.alternate``); the figures
are medians over rounds and the ratio the median of per-round ratios.

    python -m bench.bench_web [--clients 20] [--requests 10] [--rounds 5]
                              [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bench.common import alternate, durability, fresh_database, report
from workflow import audit_keys, content, link_keys
from workflow.config import Settings
from workflow.inputs import ReportInput, validate
from workflow.service import Workflow
from workflow.storage.db import Database
from workflow.web.app import create_app
from workflow.web.pages import environment
from workflow.web.views import approver_page

ADMIN, FORCE, PCC = "admin@opcc.example", "liaison@force.example", "pcc@opcc.example"
PAGE = text("SELECT r.id, r.version, r.state, r.force, r.deadline, r.force_input_due, "
            "r.cc_response, r.pcc_response, p.title, p.link, p.published_on, c.number, "
            "c.text, c.due_date, c.force_response, c.pcc_note FROM response r "
            "JOIN inspection_report p ON p.id = r.report_id "
            "JOIN recommendation c ON c.response_id = r.id WHERE r.id = :rid "
            "ORDER BY c.number")
SAVE = [text("UPDATE recommendation SET force_response = :v WHERE response_id = :rid "
             "AND number = :n"),
        text("UPDATE response SET version = version + 1 WHERE id = :rid")]


def _day(key: str, value: Any) -> Any:
    """SQLite hands dates back as text: the template wants dates (as ours are)."""
    if isinstance(value, str) and key in ("deadline", "force_input_due", "published_on",
                                          "due_date"):
        return date.fromisoformat(value)
    return value


def baseline_app(db: Database, document: Any) -> Starlette:
    template = environment().get_template("pcc.html")

    def page_of(rid: int) -> str:
        with db.engine.connect() as conn:
            rows = conn.execute(PAGE, {"rid": rid}).mappings().all()
        first = {k: _day(k, v) for k, v in rows[0].items()}
        r = {**first, "recommendations": [
            {k: _day(k, row[k]) for k in ("number", "text", "due_date", "force_response",
                                          "pcc_note")} for row in rows]}
        r["fingerprint"] = hashlib.sha256(str(rows).encode()).hexdigest()
        r["document"] = document
        v = {"name": "PCC", "email": PCC, "expires_text": ""}
        return template.render(v=v, r=r, base="/b", csrf="0" * 64, done=None, error=None,
                               posted={})

    async def page(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        return HTMLResponse(await run_in_threadpool(page_of, 1))

    async def save(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await request.form()
        params = {"v": str(form["force_response_1"]), "rid": 2, "n": 1}

        def write() -> None:
            with db.engine.begin() as conn:
                for statement in SAVE:
                    conn.execute(statement, params)

        await run_in_threadpool(write)
        return RedirectResponse("/b?done=saved", status_code=303)

    return Starlette(routes=[Route("/page", page), Route("/save", save, methods=["POST"])])


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def setup(url: str) -> tuple[Database, Settings, str, str]:
    """Two Norfolk-like responses: 1 waiting on the PCC, 2 on the force; their links."""
    key = Path(tempfile.mkdtemp(prefix="s55-bench-web-")) / "audit.key"
    ring = audit_keys.create(key)  # links' tokens derive from the audit key
    db = Database(url, audit_key_file=key)
    settings = Settings(database_url=url, identity="claimed", base_url="https://s55.example",
                        audit_key_file=key)
    wf = Workflow(db, settings)
    content.add_person(wf, {"name": "Admin", "email": ADMIN, "roles": ["admin"]}, None)
    content.add_person(wf, {"name": "Liaison", "email": FORCE, "roles": ["force"]}, ADMIN)
    content.add_person(wf, {"name": "PCC", "email": PCC, "roles": ["pcc"]}, ADMIN)
    for title in ("First report", "Second report"):
        data: dict[str, Any] = {"title": title, "published_on": "10 October 2024",
                                "key_findings": "Findings. " * 40, "recommendations": [
                                    {"number": n, "text": f"By 31 March 2025, act on {n}. " * 4}
                                    for n in (1, 2, 3, 4, 8)]}
        rid = content.add_report(wf, validate(ReportInput, data), ADMIN).id or 0
        wf.fire(rid, "request_force_input", ADMIN)
    for n in (1, 2, 3, 4, 8):
        content.edit_recommendation(wf, 1, n, "force_response", "An answer. " * 30, FORCE)
    wf.fire(1, "submit_force_input", FORCE)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT recipient, body_text, dedupe_key FROM outbox "
                                 "ORDER BY id")).all()
    # the stored mail holds placeholders: fill them in as the dispatcher does when it sends
    bodies = [(to, link_keys.fill(body, ring, key_)) for to, body, key_ in rows]
    found = {to: re.findall(r"/l/([A-Za-z0-9_-]{43})", body)[-1] for to, body in bodies
             if re.search(r"/l/", body)}
    return db, settings, found[PCC], found[FORCE]


async def load(base: str, paths: tuple[str, str], clients: int, requests: int,
               form: dict[str, str]) -> dict[str, float]:
    """``clients`` clients each opening the page then saving, ``requests`` times."""
    page_times: list[float] = []
    save_times: list[float] = []
    conflicts: list[bool] = []

    async def one(c: int, client: httpx.AsyncClient) -> None:
        for i in range(requests):
            start = time.perf_counter()
            r = await client.get(paths[0])
            assert r.status_code == 200, r.status_code
            page_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            r = await client.post(paths[1], data={**form, "force_response_1": f"{c}-{i}"})
            # 409: another client's save won the compare-and-set on the version (PostgreSQL
            # lets both load it); the page says so. Answered, counted apart.
            assert r.status_code in (303, 409), (r.status_code, r.text[:300])
            conflicts.append(r.status_code == 409)
            save_times.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(c, client) for c in range(clients)))
        wall = time.perf_counter() - start
    q = statistics.quantiles
    return {"rps": (len(page_times) + len(save_times)) / wall,
            "page_p50_ms": statistics.median(page_times) * 1000,
            "page_p95_ms": q(page_times, n=20)[18] * 1000,
            "save_p50_ms": statistics.median(save_times) * 1000,
            "save_p95_ms": q(save_times, n=20)[18] * 1000,
            "save_conflicts": float(sum(conflicts))}


def csrf_of(base: str, path: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', httpx.get(base + path).text)
    assert found
    return found.group(1)


def run(backend: str, clients: int, requests: int, rounds: int) -> None:
    with fresh_database(backend) as url:
        db, settings, pcc, force = setup(url)
        print(f"\n{backend}: {durability(db)}; {clients} clients x {requests} (page + save)")
        with db.read() as s:  # noqa: F841 - warm the engine
            pass
        from workflow.web.context import Web

        document = approver_page(Web(db, settings, __import__("workflow.clock").clock
                                     .SystemClock(), b"k" * 32), 1, "pcc")["document"]
        ours_app = create_app(db, settings, secret=b"bench-secret" * 3)
        with serving(ours_app, 18555) as ours, serving(baseline_app(db, document),
                                                       18556) as base:
            form = {"csrf": csrf_of(ours, f"/l/{force}")}

            def side(url: str, paths: tuple[str, str], data: dict[str, str]) -> Any:
                def go() -> dict[str, float]:
                    return asyncio.run(load(url, paths, clients, requests, data))
                return go

            ours_side = side(ours, (f"/l/{pcc}", f"/l/{force}/save"), form)
            base_side = side(base, ("/page", "/save"), {})
            ours_side(), base_side()  # warm-up
            figures = alternate({
                "ours": lambda: {f"ours_{k}": v for k, v in ours_side().items()},
                "baseline": lambda: {f"baseline_{k}": v for k, v in base_side().items()}},
                rounds)
        report(f"web, {backend}: requests/second (page + save)", "req/s", figures,
               ours="ours_rps", baseline="baseline_rps", higher_is_better=True,
               target=">= 0.5")
        for key in ("page_p50_ms", "page_p95_ms", "save_p50_ms", "save_p95_ms",
                    "save_conflicts"):
            print(f"  {key:12} ours {figures.median('ours_' + key):8.1f}   baseline "
                  f"{figures.median('baseline_' + key):8.1f}"
                  + ("   (target: ours < 100 ms)" if key == "page_p95_ms" else ""))
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"),
                        default="both")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.clients, args.requests, args.rounds)


if __name__ == "__main__":
    main()
