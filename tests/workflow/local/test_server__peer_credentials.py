"""Officers act through the local service as themselves, and as nobody else: real accounts.

As root (as CI runs) this module makes its own accounts and group, named for this run (so
two suites can run at once on one machine) and removed after, also when a test fails: a
service account, which alone may read the audit key and the database (a SQLite file in
its owner-only folder); officers A (the admin) and B (the PCC), members of the group
allowed on the socket; and X, who is not. The service is a real ``s55 serve`` run as the
service account (``runuser``); every command is a real ``s55`` run as an officer with
``S55_SOCKET`` and nothing else of s55's. Without root (outside CI) the module skips.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from factories import ADMIN, PCC
from local_office import Office, make_office, through
from s55_processes import Ran, Served, base_environment, python_for_any_account, s55, start
from sqlalchemy import text

from tests.conftest import IN_CI
from workflow.storage.db import Database

pytestmark = pytest.mark.slow


@dataclass
class Shared:
    """The server and the accounts of this run."""

    base: Path
    group: str
    service: str
    officers: dict[str, str]  # A, B, X -> account name
    python: str
    office: Office | None = None
    sock: Path = Path()
    served: Served | None = None
    said: list[Ran] = field(default_factory=list)

    def home(self, who: str) -> Path:
        return self.base / who

    def as_officer(self, who: str, *args: str, **env: str) -> Ran:
        """``s55 ARGS`` run by officer ``who`` in their own folder, with ``env`` besides
        the socket; every answer is kept (none may hold a traceback)."""
        done = s55(list(args), through(self.sock, HOME=str(self.home(who)), **env),
                   self.home(who), prefix=("runuser", "-u", self.officers[who], "--"),
                   python=self.python)
        self.said.append(done)
        return done

    def events(self) -> list[dict[str, object]]:
        assert self.office is not None
        db = Database(self.office.url)
        try:
            with db.engine.connect() as conn:
                return [dict(r) for r in conn.execute(text(
                    "SELECT actor, channel, identity, account FROM audit_event ORDER BY id")
                ).mappings()]
        finally:
            db.dispose()


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _needs_root() -> str:
    if os.geteuid() != 0:
        why = "needs root to make operating-system accounts (useradd); CI runs as root"
        pytest.fail(why) if IN_CI else pytest.skip(why)
    python = python_for_any_account()
    if python is None:
        why = "no Python the test accounts may run"
        pytest.fail(why) if IN_CI else pytest.skip(why)
    return python


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    python = _needs_root()
    tag = f"{os.getpid():x}{uuid.uuid4().hex[:6]}"[-12:]  # names stay under 32 characters
    run = Shared(Path(tempfile.mkdtemp(prefix="s55-peer-")), f"s55g{tag}", f"s55s{tag}",
                 {who: f"s55{who.lower()}{tag}" for who in "ABX"}, python)
    users: list[str] = []
    groups: list[str] = []
    try:
        _accounts(run, users, groups)
        _serve(run)
        yield run
    finally:
        if run.served is not None:
            run.served.stop()
        for name in users:
            subprocess.run(["userdel", name], capture_output=True, check=False)
        for name in groups:
            subprocess.run(["groupdel", name], capture_output=True, check=False)
        shutil.rmtree(run.base, ignore_errors=True)


def _accounts(run: Shared, users: list[str], groups: list[str]) -> None:
    run.base.chmod(0o755)
    _run("groupadd", "--system", run.group)
    groups.append(run.group)
    for name, extra in ((run.service, ["-G", run.group]),
                        (run.officers["A"], ["-G", run.group]),
                        (run.officers["B"], ["-G", run.group]), (run.officers["X"], [])):
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "--user-group", *extra, name)
        users.append(name)
        groups.append(name)  # its own group, in case userdel leaves it
    for who, name in run.officers.items():
        run.home(who).mkdir(mode=0o700)
        shutil.chown(run.home(who), name, name)


def _serve(run: Shared) -> None:
    """The office in the service's owner-only folder, and ``s55 serve`` as the service."""
    private = run.base / "service"
    private.mkdir(mode=0o700)
    run.office = make_office(f"sqlite:///{private / 's55.db'}", private,
                             {ADMIN: run.officers["A"], PCC: run.officers["B"]})
    for path in [private, *private.rglob("*")]:
        shutil.chown(path, run.service, run.service)
    (private / "s55.db").chmod(0o600)
    (run.base / "run").mkdir(mode=0o755)
    shutil.chown(run.base / "run", run.service, run.service)
    run.sock = run.base / "run" / "s55.sock"
    run.served = start(base_environment(**run.office.settings, S55_SOCKET=str(run.sock),
                                        S55_SOCKET_GROUP=run.group),
                       run.base / "serve.log", prefix=("runuser", "-u", run.service, "--"),
                       python=run.python)


def test_the_socket_is_the_groups_alone(shared: Shared) -> None:
    """The socket belongs to the service account and the group, mode 0660."""
    st = shared.sock.stat()
    assert (pwd.getpwuid(st.st_uid).pw_name, st.st_mode & 0o777) == (shared.service, 0o660)
    assert st.st_gid == int(subprocess.run(["getent", "group", shared.group], check=True,
                                           capture_output=True, text=True
                                           ).stdout.split(":")[2])


@pytest.mark.parametrize("who", ["A", "B", "X"])
def test_no_officer_can_read_the_key_or_the_database(shared: Shared, who: str) -> None:
    assert shared.office is not None
    for path in (shared.office.key, Path(shared.office.url.removeprefix("sqlite:///"))):
        done = subprocess.run(["runuser", "-u", shared.officers[who], "--", "head", "-c1",
                               str(path)], capture_output=True, text=True, check=False)
        assert done.returncode != 0, path
        assert "Permission denied" in done.stderr, path


def test_an_officer_acts_as_themselves(shared: Shared) -> None:
    """A's change is A's: the event names A's person, channel cli, identity os, A's
    account."""
    assert shared.office is not None
    done = shared.as_officer("A", "edit", str(shared.office.rid), "key_findings", "--text",
                             "Written by the admin.")
    assert (done.code, done.err) == (0, "")
    assert shared.events()[-1] == {"actor": ADMIN, "channel": "cli", "identity": "os",
                                   "account": shared.officers["A"]}


@pytest.mark.parametrize("said", [
    {"args": ["--as", PCC]},
    {"env": {"S55_ACTOR": PCC}},
    {"args": ["--as", PCC], "env": {"S55_IDENTITY": "claimed"}},
    {"env": {"S55_IDENTITY": "claimed", "S55_ACTOR": PCC}},
], ids=["--as", "S55_ACTOR", "claimed --as", "claimed S55_ACTOR"])
def test_no_word_of_the_caller_makes_them_someone_else(shared: Shared,
                                                      said: dict[str, object]) -> None:
    """A claiming to be the PCC (B), by option or environment, is refused in one line
    naming who A is, and nothing is written."""
    assert shared.office is not None
    before = shared.events()
    args = ["edit", str(shared.office.rid), "pcc_response", "--text", "Signed, the PCC.",
            *said.get("args", [])]  # type: ignore[misc]
    done = shared.as_officer("A", *args, **said.get("env", {}))  # type: ignore[arg-type]
    assert (done.code, done.out) == (1, "")
    assert done.err.startswith(f"Error: --as {PCC} refused: under identity mode os you act "
                               f"as yourself ({ADMIN}, account {shared.officers['A']})")
    assert done.err.count("\n") == 1
    assert shared.events() == before


def test_a_claimed_identity_in_the_environment_changes_nothing(shared: Shared) -> None:
    """``S55_IDENTITY=claimed`` in A's environment: A still acts as A, known by the OS."""
    assert shared.office is not None
    done = shared.as_officer("A", "edit", str(shared.office.rid), "key_findings", "--text",
                             "Still the admin.", S55_IDENTITY="claimed")
    assert (done.code, done.err) == (0, "")
    assert shared.events()[-1] == {"actor": ADMIN, "channel": "cli", "identity": "os",
                                   "account": shared.officers["A"]}


def test_an_account_outside_the_group_cannot_connect(shared: Shared) -> None:
    before = shared.events()
    done = shared.as_officer("X", "list")
    assert (done.code, done.out) == (1, "")
    assert done.err == (f"Error: this account may not use the s55 service at {shared.sock} "
                        f"(S55_SOCKET): only members of the group {shared.group} may; ask IT "
                        "to add you to it\n")
    assert shared.events() == before


def test_files_are_read_and_written_as_the_officer(shared: Shared) -> None:
    """A text in A's own folder (which the service may not enter) is read by A's client;
    the rendered document is written there by it, A's own file."""
    assert shared.office is not None
    home, a = shared.home("A"), shared.officers["A"]
    (home / "findings.txt").write_text("Read from the admin's own file.\n", "utf-8")
    shutil.chown(home / "findings.txt", a, a)
    (home / "findings.txt").chmod(0o600)
    rid = str(shared.office.rid)
    done = shared.as_officer("A", "edit", rid, "key_findings", "--file", "findings.txt")
    assert (done.code, done.err) == (0, "")
    written = shared.as_officer("A", "render", rid, "--output", "response.md")
    assert (written.code, written.out, written.err) == (0, "wrote response.md\n", "")
    assert (home / "response.md").stat().st_uid == pwd.getpwnam(a).pw_uid
    shown = shared.as_officer("A", "render", rid)
    assert (home / "response.md").read_text("utf-8") == shown.out
    assert "Read from the admin's own file." in shown.out


def test_nothing_printed_a_traceback(shared: Shared) -> None:
    """Not one command, nor the service (run last: it reads what the others were told)."""
    assert shared.served is not None
    assert shared.said
    assert [r for r in shared.said if "Traceback" in r.out + r.err] == []
    assert "Traceback" not in shared.served.output()
