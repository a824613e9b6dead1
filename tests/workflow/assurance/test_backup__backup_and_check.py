"""``s55 db backup`` and ``s55 db check-backup`` on real files.

A backup is a consistent, self-contained SQLite file, taken while others write; the
check restores it and verifies its revision and audit chain. Every bad input is one
``Error:`` line, exit 1, and changes nothing on disk.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import ADMIN, FORCE, answer_all, norfolk, snapshot
from workflow.assurance.backup import BackupError, backup, check_backup
from workflow.audit import trail
from workflow.cli import app
from workflow.core.settings import Settings
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage import schema
from workflow.storage.db import Database

only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture
def wf_answered(db: Database, settings: Settings) -> Workflow:
    """The Norfolk response, sent to the force and answered (a few dozen audit events)."""
    workflow = Workflow(db, settings)
    rid = norfolk(workflow)
    workflow.fire(rid, "request_force_input", ADMIN)
    answer_all(workflow, rid)
    return workflow


@pytest.fixture
def cli(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, url: str = db_url):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env={"S55_DATABASE_URL": url,
                                                   "S55_SPOOL_DIR": str(tmp_path / "spool")})

    return invoke


@only_sqlite
class TestBackup:
    def test_backup_is_a_complete_self_contained_copy(self, wf_answered: Workflow, tmp_path: Path,
                                                      cli) -> None:  # type: ignore[no-untyped-def]
        """The backup holds every row of every table, the same audit head, no -wal/-shm
        companions, and ``check-backup`` passes on it."""
        target = tmp_path / "out" / "s55-backup.db"
        target.parent.mkdir()
        result = cli("db", "backup", str(target))
        assert result.exit_code == 0, result.output
        head = trail.head(wf_answered.db)
        assert f"{head.count} audit events, head {head.hash}" in result.stdout
        assert [p.name for p in target.parent.iterdir()] == ["s55-backup.db"]
        before = digest(target)
        (tmp_path / "r.db").write_bytes(target.read_bytes())  # a restore is a file copy
        restored = Workflow(Database(f"sqlite:///{tmp_path / 'r.db'}"), wf_answered.settings)
        assert snapshot(restored) == snapshot(wf_answered)
        restored.db.dispose()
        check = cli("db", "check-backup", str(target), "--head", head.hash)
        assert check.exit_code == 0, check.output
        assert check.stdout.strip() == (
            f"backup {target} OK: schema revision {schema.head()}; audit chain of "
            f"{head.count} events intact, head {head.hash} (contains the given head)")
        assert digest(target) == before  # checking it changed nothing

    def test_backup_while_another_writer_commits(self, wf_answered: Workflow,
                                                 tmp_path: Path) -> None:
        """Taken while edits keep committing, the backup is one consistent moment: its
        chain verifies and it holds a prefix of the source's events."""
        stop = threading.Event()

        def keep_editing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                content.edit_recommendation(wf_answered, 1, 1, "force_response", f"answer {n}",
                                            FORCE)

        writer = threading.Thread(target=keep_editing)
        writer.start()
        try:
            made = [backup(wf_answered.db, tmp_path / f"b{i}.db") for i in range(3)]
        finally:
            stop.set()
            writer.join(timeout=30)
        final = trail.head(wf_answered.db)
        for m in made:
            result = check_backup(m.path, m.head)
            assert result.ok, result.problems()
            assert m.events <= final.count
        assert made[-1].events > made[0].events or final.count == made[0].events

    def test_check_finds_a_tampered_backup(self, wf_answered: Workflow, tmp_path: Path,
                                           cli) -> None:  # type: ignore[no-untyped-def]
        """An audit event edited inside the backup (triggers dropped first) fails the check
        and names the event."""
        target = tmp_path / "b.db"
        assert cli("db", "backup", str(target)).exit_code == 0
        conn = sqlite3.connect(target)
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET actor = 'someone@else.example' WHERE id = 3")
        conn.commit()
        conn.close()
        before = digest(target)
        result = cli("db", "check-backup", str(target))
        assert result.exit_code == 1
        assert result.stderr.strip() == (f"Error: backup {target}: audit chain broken at "
                                         "event 3: content does not match its hash (the "
                                         "event was altered)")
        assert digest(target) == before

    def test_check_names_an_older_revision(self, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
        """A backup one revision behind head passes, and says to upgrade after restoring."""
        old = Database(f"sqlite:///{tmp_path / 'old.db'}")
        schema.upgrade(old)
        revisions = schema.current(old)
        schema.downgrade(old, "-1")
        lower = schema.current(old)
        old.dispose()
        if lower is None:
            pytest.skip(f"only one revision ({revisions}) so far")
        result = cli("db", "check-backup", str(tmp_path / "old.db"))
        assert result.exit_code == 0, result.output
        assert f"schema revision {lower}, behind head {schema.head()}: run `s55 db upgrade` " \
               "after restoring" in result.stdout


@only_sqlite
class TestBadInput:
    @pytest.mark.parametrize("case", ["exists", "directory", "under a file", "no parent"])
    def test_unusable_targets(self, wf_answered: Workflow, tmp_path: Path, cli, case: str) -> None:  # type: ignore[no-untyped-def]
        """A target that exists, is a directory, or cannot be created is refused in one
        line; no file appears or changes."""
        work = tmp_path / "work"
        work.mkdir()
        (work / "taken.db").write_text("precious")
        (work / "a-file").write_text("not a directory")
        (work / "a-dir").mkdir()
        target, line = {
            "exists": (work / "taken.db", "already exists; choose a new file name"),
            "directory": (work / "a-dir", "already exists; choose a new file name"),
            "under a file": (work / "a-file" / "b.db", "cannot write there: Not a directory"),
            "no parent": (work / "missing" / "b.db", "cannot write there: No such file or "
                                                      "directory"),
        }[case]
        before = listing(work)
        result = cli("db", "backup", str(target))
        assert result.exit_code == 1
        assert result.stderr.strip() == f"Error: {target}: {line}"
        assert listing(work) == before
        assert sorted(p.name for p in work.iterdir()) == ["a-dir", "a-file", "taken.db"]

    def test_missing_database_file(self, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
        """Backing up a database file that does not exist says so and creates neither it
        nor the target."""
        empty = tmp_path / "empty"
        empty.mkdir()
        source = empty / "nothing.db"
        result = cli("db", "backup", str(empty / "b.db"), url=f"sqlite:///{source}")
        assert result.exit_code == 1
        assert result.stderr.strip() == f"Error: {source}: no such database file"
        assert list(empty.iterdir()) == []

    @pytest.mark.parametrize("case", ["missing", "text", "other sqlite", "empty"])
    def test_check_refuses_what_is_not_an_s55_backup(self, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                     case: str) -> None:
        """A missing file, a text file, an SQLite file of something else or an empty file:
        one error line, exit 1, the file untouched."""
        path = tmp_path / "candidate"
        if case == "text":
            path.write_text("-- PostgreSQL database dump\n")
        elif case == "other sqlite":
            conn = sqlite3.connect(path)
            conn.execute("CREATE TABLE notes (x TEXT)")
            conn.commit()
            conn.close()
        elif case == "empty":
            path.write_bytes(b"")
        before = listing(tmp_path)
        result = cli("db", "check-backup", str(path))
        assert result.exit_code == 1
        expected = {
            "missing": f"Error: {path}: no such file",
            "text": f"Error: {path}: not an SQLite database (file is not a database); a "
                    "PostgreSQL dump is checked by restoring it with pg_restore and running "
                    "`s55 doctor` against it",
            "other sqlite": f"Error: {path}: not an s55 database (no schema revision or tables)",
            "empty": f"Error: {path}: not an s55 database (no schema revision or tables)",
        }[case]
        assert result.stderr.strip() == expected
        assert listing(tmp_path) == before

    def test_wrong_head_fails_the_check(self, wf_answered: Workflow, tmp_path: Path) -> None:
        """A head that is not in the backup's chain fails it (history rewritten)."""
        made = backup(wf_answered.db, tmp_path / "b.db")
        assert check_backup(made.path, made.head).ok
        bad = check_backup(made.path, "f" * 64)
        assert not bad.ok
        assert bad.problems() == ["the given head is not in the backup's audit chain"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgresql
def test_postgresql_backup_explains_pg_dump(db: Database, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL ``s55 db backup`` refuses in one line that names pg_dump, exit 1,
    and writes no file."""
    result = cli("db", "backup", str(tmp_path / "x.dump"))
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith(f"Error: {db.safe_url()}: `s55 db backup` copies SQLite databases "
                           "only; on PostgreSQL use pg_dump")
    assert "\n" not in line
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BackupError):
        backup(db, tmp_path / "y.dump")
