"""Cold start of whole ``s55`` processes, at a terminal and piped, vs ``import sqlmodel``.

Each figure is one fresh ``.venv/bin/s55`` process, timed from spawn to exit with its
output read to the end; the baseline is ``python -c "import sqlmodel"`` (the same
interpreter) spawned the same way in the same round. At a terminal both run on a
pseudo-terminal (the ``pty`` module, 120x40: what ``script -qc`` gives, without the
shell ``script`` would add to both sides); piped, both write to pipes. Rounds alternate
the sides (``bench.common.alternate``) and each line reports the medians and the median
of the per-round ratios.

The commands, on a SQLite database of ``--total`` responses of which ``--open`` are open
(``bench.dataset``; built once per run in a temporary folder, with an admin and a force
liaison): ``--help`` (target <= 0.3); ``list``, ``show`` of an open response, one
transition (``request-force-input`` of a fresh draft each time: load, checks, mail
rendered and queued, audit, commit under SQLite ``synchronous=NORMAL`` in WAL mode) and
``log`` (each <= 1.0); ``import`` of the Norfolk document (a copy with its own title
each time, so that none is a duplicate; <= 1.2). The baseline writes nothing.

Each command is timed two ways (``--via``): run in place (the embedded default: the
process opens the database itself), and through the local service (``s55 serve`` on a
socket in the same folder, started once and warm before the first round; the officer's
``s55`` has nothing but ``S55_SOCKET`` and sends the command there, the service runs it in
a process forked for it and the client prints what comes back; target <= 0.3 for every
command). The same work either way: the same checks, rows, mail and commit durability.

    .venv/bin/python -m bench.bench_commands [--rounds 10] [--total 100000] [--open 500]
                                             [--only list,show] [--via place,service]
"""

from __future__ import annotations

import argparse
import fcntl
import grp
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Rounds, alternate
from bench.dataset import NORFOLK, responses, variant

if TYPE_CHECKING:
    from workflow.storage.db import Database

ADMIN, FORCE = "admin@opcc.example", "liaison@force.example"
BIN = Path(sys.executable).parent
BASELINE = [sys.executable, "-c", "import sqlmodel"]
#: Longer than any cold start; a process past it is a hang, not a figure.
LIMIT_S = 120.0
MODES = ("tty", "piped")
#: Through the local service every command's target (the client loads nothing heavy).
SERVICE_TARGET = 0.3
VIAS = ("place", "service")


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[], list[str]]
    target: float


def run_piped(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    """Seconds from spawn to exit, stdout and stderr pipes read to the end."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=LIMIT_S, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return elapsed


def run_tty(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    """Seconds from spawn to exit on a 120x40 pseudo-terminal, its output read to the end."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = bytearray()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], LIMIT_S)
            if not ready:
                proc.kill()
                raise SystemExit(f"{' '.join(cmd)} hung at a terminal")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every copy of the terminal's other end is closed
                break
            if not chunk:
                break
            out += chunk
        code = proc.wait(timeout=LIMIT_S)
        elapsed = time.perf_counter() - start
    finally:
        os.close(master)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code} at a terminal: "
                         f"{out.decode(errors='replace').strip()[-500:]}")
    return elapsed


RUNNERS = {"tty": run_tty, "piped": run_piped}


def build(folder: Path, total: int, open_count: int) -> tuple[str, int]:
    """The database (``total`` responses, ``open_count`` open, an admin and a liaison,
    one draft moved on so that it has a log); its URL and the moved response's id."""
    from workflow.core.clock import SystemClock, london_today
    from workflow.core.settings import Settings
    from workflow.people.management import add_person
    from workflow.responses.service import Workflow
    from workflow.storage import schema
    from workflow.storage.db import Database

    url = f"sqlite:///{folder / 'big.db'}"
    db = Database(url)
    schema.upgrade(db)
    responses(db, total, open_count, today=london_today(SystemClock()))
    wf = Workflow(db, Settings(database_url=url))
    # The first admin's login is this account (identity os): in place and through the
    # service alike, the commands act as this admin.
    add_person(wf, {"name": "Admin", "email": ADMIN, "roles": ["admin"]}, None)
    add_person(wf, {"name": "Liaison", "email": FORCE, "roles": ["force"]}, ADMIN)
    moved = ids_in(db, "draft")[0]
    wf.fire(moved, "request_force_input", ADMIN)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    return url, moved


def ids_in(db: Database, state: str) -> list[int]:
    with db.read_engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql(
            "SELECT id FROM response WHERE state = ? ORDER BY id", (state,))]


def documents(folder: Path, count: int) -> Iterator[Path]:
    """``count`` copies of the Norfolk document, each with its own title."""
    text = NORFOLK.read_text(encoding="utf-8")
    for i in range(count):
        path = folder / f"norfolk-{i}.md"
        path.write_text(variant(text, i, only_title=True), encoding="utf-8")
        yield path


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("S55_") and k not in ("COLUMNS", "LINES")}
    env.update(S55_DATABASE_URL=url, S55_ACTOR=ADMIN, TERM=env.get("TERM", "xterm-256color"))
    return env


@contextmanager
def service(url: str, folder: Path) -> Iterator[dict[str, str]]:
    """``s55 serve`` on a socket in ``folder`` (warm once it answers); the environment of
    an officer's ``s55`` that reaches it: ``S55_SOCKET`` and nothing else of s55's."""
    (folder / "run").mkdir(mode=0o755, exist_ok=True)
    sock = folder / "run" / "s55.sock"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = {**environment(url), "S55_SOCKET": str(sock),
              "S55_SOCKET_GROUP": grp.getgrgid(os.getgid()).gr_name}
    with open(folder / "serve.log", "wb") as log:
        proc = subprocess.Popen([str(BIN / "s55"), "serve", "--port", str(port)], env=served,
                                cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + LIMIT_S
        while not _answers(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("s55 serve did not start: "
                                 + (folder / "serve.log").read_text(errors="replace"))
            time.sleep(0.1)
        client = {k: v for k, v in environment(url).items() if not k.startswith("S55_")}
        yield {**client, "S55_SOCKET": str(sock)}
    finally:
        proc.terminate()
        proc.wait(timeout=LIMIT_S)


def _answers(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(sock))
        except OSError:
            return False
    return True


def commands(url: str, folder: Path, logged: int, needed: int) -> list[Command]:
    """The commands timed; each call of ``args`` gives the next run's arguments."""
    from workflow.storage.db import Database

    db = Database(url)
    drafts, shown = iter(ids_in(db, "draft")), ids_in(db, "pcc_signoff")[0]
    db.dispose()
    docs = documents(folder, needed)

    def transition() -> list[str]:
        rid = next(drafts, None)
        if rid is None:
            raise SystemExit("no draft response left: use more --open or fewer --rounds")
        return [str(BIN / "s55"), "request-force-input", str(rid)]

    return [
        Command("--help", lambda: [str(BIN / "s55"), "--help"], 0.3),
        Command("list", lambda: [str(BIN / "s55"), "list"], 1.0),
        Command("show", lambda: [str(BIN / "s55"), "show", str(shown)], 1.0),
        Command("transition", transition, 1.0),
        Command("log", lambda: [str(BIN / "s55"), "log", str(logged)], 1.0),
        Command("import", lambda: [str(BIN / "s55"), "import", str(next(docs))], 1.2),
    ]


def measure(command: Command, mode: str, env: dict[str, str], cwd: str,
            rounds: int) -> Rounds:
    """Alternated rounds of one command in one mode against the baseline in that mode."""
    run = RUNNERS[mode]
    run(command.args(), env, cwd), run(BASELINE, env, cwd)  # warm-up: page cache, .pyc
    return alternate({"ours": lambda: run(command.args(), env, cwd),
                      "baseline": lambda: run(BASELINE, env, cwd)}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--only", help="comma-separated command names (default: all)")
    parser.add_argument("--via", default=",".join(VIAS),
                        help="place (the command opens the database), service (through "
                             "the local service), or both (default)")
    args = parser.parse_args()
    if not (BIN / "s55").exists():
        raise SystemExit(f"no {BIN / 's55'}: install s55 into this environment first")
    vias = [v for v in VIAS if v in args.via.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        url, logged = build(folder, args.total, args.open)
        print(f"database: {args.total:,} responses, {args.open} open "
              f"(built in {time.perf_counter() - started:.1f} s); "
              f"baseline: python -c \"import sqlmodel\"; {args.rounds} rounds a line")
        wanted = set(args.only.split(",")) if args.only else None
        print(f"{'command':<12}{'via':<9}{'mode':<7}{'ours s':>9}{'base s':>9}{'ratio':>8}"
              f"{'target':>9}  per round")
        runs = len(MODES) * (args.rounds + 1) * len(vias)
        chosen = [c for c in commands(url, folder, logged, runs)
                  if wanted is None or c.name in wanted]
        for via in vias:
            with _environment_for(via, url, folder) as env:
                for command in chosen:
                    for mode in MODES:
                        _line(command, via, mode, env, tmp, args.rounds)


@contextmanager
def _environment_for(via: str, url: str, folder: Path) -> Iterator[dict[str, str]]:
    if via == "service":
        with service(url, folder) as env:
            yield env
    else:
        yield environment(url)


def _line(command: Command, via: str, mode: str, env: dict[str, str], cwd: str,
          rounds: int) -> None:
    result = measure(command, mode, env, cwd, rounds)
    ratio = result.ratio("ours", "baseline")
    target = SERVICE_TARGET if via == "service" else command.target
    verdict = "met" if ratio <= target else "NOT met"
    print(f"{command.name:<12}{via:<9}{mode:<7}{result.median('ours'):9.3f}"
          f"{result.median('baseline'):9.3f}{ratio:8.2f}{'<= ' + str(target):>9}  "
          f"{', '.join(f'{r:.2f}' for r in result.ratios('ours', 'baseline'))}"
          f"  {verdict}", flush=True)


if __name__ == "__main__":
    main()
