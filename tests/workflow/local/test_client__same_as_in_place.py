"""Every command through the local service says exactly what it says run in place.

One real ``s55 serve`` (this account as the service, a socket in this run's own folder),
and the same commands run twice on the same database: once in place (identity ``os``, the
office's settings) and once by a client that has nothing but ``S55_SOCKET``. Piped, the
stdout, the stderr and the exit code are the same; at a terminal, every byte shown is.
Files named on the command line are read and written by the client, with the same words
for every way they can be wrong. On both databases.
"""

from __future__ import annotations

import grp
import mailbox
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import AUDITOR, FORCE
from local_office import Office, in_place, make_office, through
from s55_processes import Served, base_environment, s55, s55_at_terminal, start

from workflow.core.os_account import os_account

pytestmark = pytest.mark.slow

NORFOLK = Path(__file__).resolve().parents[2] / "data" / "norfolk-asb-spotlight-2024.md"


class Service:
    def __init__(self, office: Office, served: Served, sock: Path, folder: Path) -> None:
        self.office, self.served, self.sock, self.folder = office, served, sock, folder

    def both(self, args: list[str]) -> tuple[object, object]:
        """``s55 ARGS`` in place and through the service, each in a folder of its own that
        holds the same files; (in place, through)."""
        return (s55(args, in_place(self.office), self.folder / "in-place"),
                s55(args, through(self.sock), self.folder / "through"))


@pytest.fixture(scope="module")
def service(own_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The office on this module's database, served with a socket; the two working
    folders hold the same files (a text, a document, a folder of mailed checkpoints)."""
    folder = tmp_path_factory.mktemp("service")
    office = make_office(own_database, folder, {"ann.admin@norfolk-pcc.gov.uk": os_account()})
    (folder / "run").mkdir(mode=0o755)
    sock = folder / "run" / "s55.sock"
    group = grp.getgrgid(os.getgid()).gr_name
    served = start(base_environment(**office.settings, S55_SOCKET=str(sock),
                                    S55_SOCKET_GROUP=group), folder / "serve.log")
    try:
        # A checkpoint mailed to the auditor: the .eml the verify cases read.
        for args in (["audit", "checkpoint"], ["mail", "send"]):
            assert s55(args, through(sock), folder).code == 0, args
        mails = sorted((folder / "spool").rglob("*.eml"))
        assert mails
        for side in ("in-place", "through"):
            work = folder / side
            (work / "mails").mkdir(parents=True)
            shutil.copy(mails[-1], work / "mails" / "checkpoint.eml")
            box = mailbox.mbox(work / "checkpoints.mbox")
            box.add(mails[-1].read_bytes())
            box.close()
            (work / "findings.txt").write_text("Findings read from a file.\n", "utf-8")
            (work / "big.txt").write_bytes(b"x" * (1024 * 1024 + 1))
            (work / "exists.md").write_text("already here\n", "utf-8")
            (work / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
            shutil.copy(NORFOLK, work / "norfolk.md")
        yield Service(office, served, sock, folder)
    finally:
        output = served.stop()
        assert "Traceback" not in output, output


def _cases(rid: int) -> list[list[str]]:
    r = str(rid)
    return [
        ["list"], ["list", "--json"], ["list", "--state", "nonsense"], ["show", r],
        ["show", "99999"], ["show", "x1"], ["log", r], ["render", r], ["render", r, "--format",
                                                                        "html"],
        ["audit", "head"], ["audit", "verify"], ["people", "list"], ["diagram"],
        [], ["--help"], ["edit", "--help"], ["edit", "--bogus"], ["nonsense"],
        ["show", r, "--as", FORCE], ["sign-off", r], ["publish", r, "--url", "ftp://x"],
        ["edit", r, "key_findings", "--text", "x", "--as", AUDITOR],
        ["edit", r, "key_findings", "--file", "missing.txt"],
        ["edit", r, "key_findings", "--file", "."],
        ["edit", r, "key_findings", "--file", "big.txt"],
        ["edit", r, "key_findings", "--file", "latin1.txt"],
        ["edit", r, "key_findings", "--text", "x", "--file", "findings.txt"],
        ["import", "missing.md"], ["import", "norfolk.md", "--dry-run"],
        ["import", "norfolk.md"],  # a duplicate of the report already registered
        ["report", "add", "--file", "findings.txt"],
        ["render", r, "--output", "exists.md"], ["render", r, "--output", "nowhere/x.md"],
        ["audit", "verify", "--checkpoints", "mails"],
        ["audit", "verify", "--checkpoints", "checkpoints.mbox"],
        ["audit", "verify", "--checkpoints", "nowhere"],
        ["audit", "export", "--output", "exists.md"],
    ]


def test_each_command_says_the_same_piped(service: Service) -> None:
    """Stdout, stderr and exit code of each command (reads, refusals, usage errors, help,
    files that cannot be read or written) are the same through the service as in place."""
    for args in _cases(service.office.rid):
        here, there = service.both(args)
        assert there == here, args


def test_files_written_by_the_client_are_the_same(service: Service) -> None:
    """``render --output`` and ``audit export --output`` write the same bytes, and say so
    in the same words; the client's file is its own account's (made with its umask)."""
    rid = str(service.office.rid)
    for args, name in ((["render", rid, "--output", "out.md"], "out.md"),
                       (["audit", "export", "--output=events.jsonl", "--response", rid],
                        "events.jsonl")):
        here, there = service.both(args)
        assert there == here, args
        written = [(service.folder / side / name) for side in ("in-place", "through")]
        assert written[1].read_bytes() == written[0].read_bytes()
        assert written[1].stat().st_mode & 0o777 == written[0].stat().st_mode & 0o777


@pytest.mark.parametrize("args", [["list"], ["show", "{rid}"], ["log", "{rid}"], ["--help"],
                                  ["show", "99999"]])
def test_at_a_terminal_every_byte_shown_is_the_same(service: Service, args: list[str]) -> None:
    """At a terminal (100 columns): the same table (Rich, colours), the same help wrapped
    to the same width, the same error line."""
    args = [a.format(rid=service.office.rid) for a in args]
    here = s55_at_terminal(args, in_place(service.office), service.folder / "in-place")
    there = s55_at_terminal(args, through(service.sock), service.folder / "through")
    assert there == here


def test_a_change_through_the_service_is_the_callers(service: Service) -> None:
    """A text read from the caller's file is saved; the event names the caller's person,
    the channel ``cli``, identity ``os`` and the caller's account."""
    from sqlalchemy import text

    from workflow.storage.db import Database

    done = s55(["edit", str(service.office.rid), "key_findings", "--file", "findings.txt"],
               through(service.sock), service.folder / "through")
    assert (done.code, done.err) == (0, "")
    assert done.out.startswith(f"response {service.office.rid}: key_findings saved")
    db = Database(service.office.url)
    try:
        with db.engine.connect() as conn:
            event = conn.execute(text(
                "SELECT actor, channel, identity, account, payload FROM audit_event "
                "ORDER BY id DESC LIMIT 1")).mappings().one()
            saved = conn.execute(text("SELECT key_findings FROM response WHERE id = :r"),
                                 {"r": service.office.rid}).scalar_one()
    finally:
        db.dispose()
    assert (event["actor"], event["channel"], event["identity"], event["account"]) == (
        "ann.admin@norfolk-pcc.gov.uk", "cli", "os", os_account())
    assert saved == "Findings read from a file."
