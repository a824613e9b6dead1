"""The web pages under load: concurrent clients opening the PCC's page, then saving the
force's response, against a bare Starlette app doing the same from raw SQL.

Each server is its own process on a free loopback port (``bench/web_servers.py`` says
what each side does and what the baseline leaves out); the load generator is this
process: ``--clients`` httpx async clients, each with its own connection, its own PCC
response and link (the page) and its own force response and link (the save), so saves
never race each other. A save our server refuses (any answer but the 303 after a save)
is counted and printed, never dropped.

A round measures one side: first every client opens its page ``--requests`` times (page
throughput, p50, p95), then every client saves ``--requests`` times, each save changing
one answer and sending the version the client last saw, as the page does (save
throughput, p50, p95). Rounds alternate between the sides (``bench.common.alternate``);
figures are medians over rounds, ratios the median of per-round ratios.

    python -m bench.bench_web [--clients 20] [--requests 10] [--rounds 5]
                              [--backend sqlite|postgresql|both] [--profile DIR]

``--profile DIR`` runs our server under cProfile (``S55_BENCH_PROFILE``) and prints where
its time went; figures measured that way are not the benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.common import alternate, durability, fresh_database, report
from bench.web_servers import PCC_EMAIL, settings_for
from workflow.core.checks import ReportInput, validate
from workflow.keys import audit_key, link_tokens
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

ADMIN, FORCE = "admin@opcc.example", "liaison@force.example"
_LINK = re.compile(r"/l/([A-Za-z0-9_-]{43})")
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


@dataclass
class Client:
    """One client's own responses and links, and what it last saw."""

    pcc_id: int
    pcc_token: str
    force_id: int
    force_token: str
    #: The baseline saves into its own response (its version bump would stale ours).
    baseline_force_id: int
    csrf: str = ""
    version: int = 0
    saves: int = 0


@dataclass
class Figures:
    page: list[float] = field(default_factory=list)
    save: list[float] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)


def _report_data(title: str) -> dict[str, Any]:
    return {"title": title, "published_on": "10 October 2024",
            "key_findings": "Findings. " * 40,
            "recommendations": [{"number": n, "text": f"By 31 March 2025, act on {n}. " * 4}
                                for n in (1, 2, 3, 4, 8)]}


def setup(url: str, clients: int, key_file: Path) -> list[Client]:
    """Per client, one response waiting on the PCC and one on the force; their links
    (taken from the queued mail, as the people would)."""
    db = Database(url, audit_key_file=key_file)  # the links derive from the audit key
    wf = Workflow(db, settings_for(url, str(key_file)))
    management.add_person(wf, {"name": "Admin", "email": ADMIN, "roles": ["admin"]}, None)
    management.add_person(wf, {"name": "Liaison", "email": FORCE, "roles": ["force"]}, ADMIN)
    management.add_person(wf, {"name": "PCC", "email": PCC_EMAIL, "roles": ["pcc"]}, ADMIN)
    pairs = []
    for c in range(clients):
        ids = []
        for kind in ("pcc", "force", "baseline"):
            data = validate(ReportInput, _report_data(f"Report {c} for the {kind}"))
            rid = content.add_report(wf, data, ADMIN).id or 0
            wf.fire(rid, "request_force_input", ADMIN)
            ids.append(rid)
        for n in (1, 2, 3, 4, 8):
            content.edit_recommendation(wf, ids[0], n, "force_response", "An answer. " * 30,
                                        FORCE)
        wf.fire(ids[0], "submit_force_input", FORCE)
        pairs.append(ids)
    with db.engine.connect() as conn:
        mail = conn.execute(text("SELECT response_id, recipient, body_text, dedupe_key "
                                 "FROM outbox ORDER BY id")).all()
    db.dispose()
    # The stored mail holds placeholders: fill them in as the dispatcher does when it sends.
    ring = audit_key.load(key_file)
    token = {(rid, to): found[-1] for rid, to, body, dedupe in mail
             if (found := _LINK.findall(link_tokens.fill(body, ring, dedupe)))}
    return [Client(p, token[p, PCC_EMAIL], f, token[f, FORCE], b) for p, f, b in pairs]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(side: str, url: str, key_file: Path, profile: Path | None) -> Iterator[str]:
    """``bench.web_servers`` ``side`` in its own process; its base URL while it runs."""
    port = free_port()
    env = {**os.environ, **({"S55_BENCH_PROFILE": str(profile)} if profile else {})}
    proc = subprocess.Popen([sys.executable, "-m", "bench.web_servers", side, url, str(port),
                             str(key_file)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # up when it answers (a benchmark, not a test: polling is fine here)
            try:
                httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the {side} server did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def _pct(times: list[float], q: int) -> float:
    return statistics.quantiles(times, n=100)[q - 1] * 1000 if len(times) > 1 else 0.0


async def _prepare(base: str, clients: list[Client]) -> None:
    """Each client's CSRF token and version, from its force page (as the browser has)."""
    async with httpx.AsyncClient(base_url=base) as http:
        for c in clients:
            body = (await http.get(f"/l/{c.force_token}")).text
            csrf, version = _CSRF.search(body), _VERSION.search(body)
            assert csrf, body[:300]
            assert version, body[:300]
            c.csrf, c.version = csrf.group(1), int(version.group(1))


async def _client(base: str, c: Client, ours: bool, requests: int, out: Figures,
                  phase: str) -> None:
    page = f"/l/{c.pcc_token}" if ours else f"/b/{c.pcc_id}"
    save = f"/l/{c.force_token}/save" if ours else f"/b/{c.baseline_force_id}/save"
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await http.get("/static/s55.css" if ours else page)  # open the connection
        for _ in range(requests):
            start = time.perf_counter()
            if phase == "page":
                r = await http.get(page)
                assert r.status_code == 200, (r.status_code, r.text[:300])
                out.page.append(time.perf_counter() - start)
                continue
            c.saves += 1
            form = {"csrf": c.csrf, "version": str(c.version),
                    "force_response_1": f"Answer {c.saves} from client {c.force_id}."}
            r = await http.post(save, data=form)
            out.save.append(time.perf_counter() - start)
            if r.status_code == 303:
                c.version += ours  # the baseline saves into its own response
            else:  # refused: counted and reported; the page shows the version to use
                out.refused[r.status_code] = out.refused.get(r.status_code, 0) + 1
                found = _VERSION.search(r.text)
                c.version = int(found.group(1)) if found else c.version


async def _phase(base: str, clients: list[Client], ours: bool, requests: int,
                 out: Figures, phase: str) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(_client(base, c, ours, requests, out, phase) for c in clients))
    return (len(out.page) if phase == "page" else len(out.save)) / (time.perf_counter()
                                                                     - start)


def one_round(base: str, clients: list[Client], ours: bool, requests: int,
              refused: dict[int, int]) -> dict[str, float]:
    out = Figures()
    page_rps = asyncio.run(_phase(base, clients, ours, requests, out, "page"))
    save_rps = asyncio.run(_phase(base, clients, ours, requests, out, "save"))
    for status, n in out.refused.items():
        refused[status] = refused.get(status, 0) + n
    return {"page_rps": page_rps, "page_p50": _pct(out.page, 50),
            "page_p95": _pct(out.page, 95), "save_rps": save_rps,
            "save_p50": _pct(out.save, 50), "save_p95": _pct(out.save, 95),
            "refused": float(sum(out.refused.values()))}


def print_profile(path: Path, lines: int = 30) -> None:
    print(f"\nour server's profile ({path}), by cumulative time:")
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)


def run(backend: str, clients: int, requests: int, rounds: int, profile: Path | None) -> None:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "audit.key"
        audit_key.create(key_file)
        people = setup(url, clients, key_file)
        db = Database(url)
        print(f"\n{backend}: {durability(db)} (both servers open it through Database); "
              f"{clients} clients x {requests} pages, then x {requests} saves")
        db.dispose()
        prof = Path(profile) / f"ours-{backend}.prof" if profile else None
        if profile:
            Path(profile).mkdir(parents=True, exist_ok=True)
        refused: dict[str, dict[int, int]] = {"ours": {}, "baseline": {}}
        with server("ours", url, key_file, prof) as ours, \
                server("baseline", url, key_file, None) as base:
            asyncio.run(_prepare(ours, people))

            def side(name: str, url: str) -> Any:
                def go() -> dict[str, float]:
                    got = one_round(url, people, name == "ours", requests, refused[name])
                    return {f"{name}_{k}": v for k, v in got.items()}
                return go

            sides = {"ours": side("ours", ours), "baseline": side("baseline", base)}
            sides["ours"](), sides["baseline"]()  # warm-up, not counted
            for counted in refused.values():
                counted.clear()
            figures = alternate(sides, rounds)
        for what in ("page", "save"):
            report(f"web, {backend}: {what}s per second ({clients} clients)", "req/s",
                   figures, ours=f"ours_{what}_rps", baseline=f"baseline_{what}_rps",
                   higher_is_better=True, target=">= 0.5")
            for q in ("p50", "p95"):
                key = f"{what}_{q}"
                note = "   (target: ours < 100 ms)" if key == "page_p95" else ""
                print(f"  {q} ms    ours {figures.median('ours_' + key):8.1f}   baseline "
                      f"{figures.median('baseline_' + key):8.1f}{note}")
        for name, by_status in refused.items():
            print(f"  saves refused ({name}): {sum(by_status.values())}"
                  + (f" by status {dict(sorted(by_status.items()))}" if by_status else ""))
        if prof:
            print_profile(prof)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"),
                        default="both")
    parser.add_argument("--profile", type=Path, default=None,
                        help="folder for our server's cProfile output")
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.clients, args.requests, args.rounds, args.profile)


if __name__ == "__main__":
    main()
