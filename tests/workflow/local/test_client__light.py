"""The client is light, and with a socket set it never opens the database itself.

With the service running, the ``s55`` an officer runs for ``list``, ``show``, ``log``, a
transition and ``import`` loads no SQLAlchemy, Pydantic, Jinja2, Rich, Typer or Click,
piped or at a terminal (the service sends even a Rich table as text): read from the
interpreter's own record of what it imported (``-X importtime``). With a socket set and
nobody listening on it, a command says so in one line and exits 1, even with a database
it could open in its environment, which stays as it was.
"""

from __future__ import annotations

import grp
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from local_office import Office, in_place, make_office, through
from s55_processes import base_environment, s55, s55_at_terminal, start
from sqlalchemy import text

from workflow.core.os_account import os_account
from workflow.storage.db import Database

pytestmark = pytest.mark.slow

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "pydantic_settings", "jinja2", "rich", "typer",
         "click", "psycopg", "holidays")
NORFOLK = Path(__file__).resolve().parents[2] / "data" / "norfolk-asb-spotlight-2024.md"


def loaded(stderr: str) -> set[str]:
    """The top-level packages ``-X importtime`` says this process imported."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in stderr.splitlines() if line.startswith("import time:")
            and "|" in line} - {"imported package"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Office, Path, Path]]:
    folder = tmp_path_factory.mktemp("light")
    office = make_office(f"sqlite:///{folder / 's55.db'}", folder,
                         {"ann.admin@norfolk-pcc.gov.uk": os_account()},
                         published_on=(date.today() - timedelta(days=5)).isoformat())
    (folder / "run").mkdir(mode=0o755)
    sock = folder / "run" / "s55.sock"
    service = start(base_environment(**office.settings, S55_SOCKET=str(sock),
                                     S55_SOCKET_GROUP=grp.getgrgid(os.getgid()).gr_name),
                    folder / "serve.log")
    text_ = NORFOLK.read_text("utf-8")
    for i in range(2):
        (folder / f"norfolk-{i}.md").write_text(
            text_.replace("PEEL spotlight report\n", f"PEEL spotlight report ({i})\n", 1),
            "utf-8")
    try:
        yield office, sock, folder
    finally:
        assert "Traceback" not in service.stop()


def _a_transition(office: Office) -> list[str]:
    """A transition the admin may fire now: to the force from draft, or back again."""
    db = Database(office.url)
    try:
        with db.engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM response WHERE id = :r"),
                                 {"r": office.rid}).scalar_one()
    finally:
        db.dispose()
    due = (date.today() + timedelta(days=20)).isoformat()
    return (["request-force-input", str(office.rid), "--due", due]
            if state == "draft" else ["return-to-draft", str(office.rid), "--reason", "Redraft"])


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_the_client_loads_nothing_heavy(served: tuple[Office, Path, Path],
                                        terminal: bool) -> None:
    office, sock, folder = served
    rid, n = str(office.rid), int(terminal)
    env = through(sock, PYTHONPROFILEIMPORTTIME="1")
    for args in (["list"], ["show", rid], ["log", rid], _a_transition(office),
                 ["import", f"norfolk-{n}.md"]):
        if terminal:
            code, shown = s55_at_terminal(args, env, folder)
            said = shown.decode("utf-8", "replace").replace("\r\n", "\n")
        else:
            done = s55(args, env, folder)
            code, said = done.code, done.err
        assert code == 0, (args, said)
        found = loaded(said)
        assert "workflow" in found, args  # the record is there ...
        assert sorted(found & set(HEAVY)) == [], args  # ... and holds nothing heavy


def test_with_nobody_listening_nothing_runs_in_place(served: tuple[Office, Path, Path]
                                                     ) -> None:
    """The officer's environment even names the database (which this account could open):
    the command is still refused in one line saying how to start the service, and the
    database is unchanged; ``s55 --help`` still helps."""
    office, _, folder = served
    nowhere = folder / "run" / "nobody.sock"
    db = Database(office.url)

    def state() -> tuple[object, ...]:
        with db.engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one(),
                    conn.execute(text("SELECT version, key_findings FROM response WHERE "
                                      "id = :r"), {"r": office.rid}).one())

    before = state()
    try:
        env = {**in_place(office), "S55_SOCKET": str(nowhere)}
        for args in (["edit", str(office.rid), "key_findings", "--text", "In place?"],
                     ["list"]):
            done = s55(args, env, folder)
            assert (done.code, done.out) == (1, ""), args
            assert done.err == (f"Error: no s55 service is listening on {nowhere} "
                                "(S55_SOCKET): start it on the server (systemctl start s55, "
                                "or s55 serve as the service account)\n")
        assert state() == before
        helped = s55(["--help"], env, folder)
        assert (helped.code, helped.err) == (0, "")
        assert helped.out.startswith("Usage: s55 [OPTIONS] COMMAND [ARGS]...")
    finally:
        db.dispose()
