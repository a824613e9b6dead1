"""Backups of the embedded SQLite database, and the check that a backup restores.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``): a
consistent copy taken while other processes keep writing, unlike a file copy of a
database in WAL mode. It writes a temporary file next to the target and renames it
into place, so a failed backup leaves nothing behind. PostgreSQL is backed up with
``pg_dump`` (its own tool knows its own consistency rules); ``backup`` refuses it.

``check_backup`` restores a backup into a scratch file (the original is only read),
opens it as s55 would, and checks its schema revision and its whole audit chain.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from workflow.audit import trail
from workflow.core.errors import DatabaseError
from workflow.storage import schema
from workflow.storage.db import Database

PG_DUMP_HINT = ("on PostgreSQL use pg_dump, e.g. `pg_dump --format=custom --file "
                "s55-$(date +%F).dump \"$S55_DATABASE_URL\"`, and restore with pg_restore")


class BackupError(DatabaseError):
    """A backup cannot be made or checked; nothing was written."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


def known_revisions() -> set[str]:
    """Every revision this s55's migrations know (a backup at any of them restores)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(schema.__file__).with_name("migrations")))
    return {r.revision for r in script.walk_revisions()}


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str | None
    events: int
    head: str
    size: int


def _sqlite_file(db: Database) -> Path:
    if not db.is_sqlite:
        raise BackupError(db.safe_url(), f"`s55 db backup` copies SQLite databases only; "
                                         f"{PG_DUMP_HINT}")
    name = make_url(db.url).database
    if not name or name == ":memory:":
        raise BackupError(db.safe_url(), "an in-memory database has no file to back up")
    path = Path(name)
    if not path.is_file():
        raise BackupError(path, "no such database file")
    return path


def _copy(source: Path, target: Path) -> None:
    """SQLite online backup of ``source`` into the new file ``target``, as one file."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # A self-contained file at rest: no -wal/-shm companions needed to read it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def backup(db: Database, target: Path) -> BackupReport:
    """Copy the SQLite database to ``target`` (a new file) while others may write.

    Raises:
        BackupError: PostgreSQL, no database file, no s55 schema, or ``target`` exists
            or cannot be written. Nothing is created in that case.
    """
    source = _sqlite_file(db)
    db.require_schema()
    target = Path(target)
    if target.exists():
        raise BackupError(target, "already exists; choose a new file name")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".s55-backup-", suffix=".tmp",
                                        dir=target.parent if str(target.parent) else ".")
    except OSError as exc:
        raise BackupError(target, f"cannot write there: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(source, tmp)
        os.replace(tmp, target)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(target, f"backup failed: {exc}") from None
    return _describe(target)


def _describe(path: Path) -> BackupReport:
    """What the backup holds, read without changing it (s55's own engine would set WAL)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        count, = conn.execute("SELECT count(*) FROM audit_event").fetchone()
        last = conn.execute("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return BackupReport(path, revision[0] if revision else None, count,
                        last[0] if last else trail.GENESIS, path.stat().st_size)


@dataclass(frozen=True)
class BackupCheck:
    path: Path
    revision: str | None
    head_revision: str
    verification: trail.Verification

    @property
    def revision_known(self) -> bool:
        return self.revision in known_revisions()

    @property
    def ok(self) -> bool:
        return self.revision_known and self.verification.ok

    def problems(self) -> list[str]:
        out = []
        if not self.revision_known:
            out.append(f"schema revision {self.revision} is unknown to this s55 "
                       f"(head {self.head_revision}): restore it with a newer s55")
        if self.verification.broken:
            b = self.verification.broken
            out.append(f"audit chain broken at event {b.event_id}: {b.problem}")
        if self.verification.head_found is False:
            out.append("the given head is not in the backup's audit chain")
        return out


def _restore_copy(path: Path, scratch: Path) -> None:
    """Restore ``path`` into ``scratch`` (read-only on ``path``)."""
    if not path.is_file():
        raise BackupError(path, "no such file")
    try:
        _copy(path, scratch)
    except sqlite3.DatabaseError as exc:
        raise BackupError(path, f"not an SQLite database ({exc}); a PostgreSQL dump is "
                                "checked by restoring it with pg_restore and running "
                                "`s55 doctor` against it") from None


def check_backup(path: Path, expected_head: str | None = None) -> BackupCheck:
    """Restore ``path`` into a scratch copy and check its revision and audit chain.

    Raises:
        BackupError: no such file, not SQLite, or not an s55 database.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="s55-check-") as tmp:
        scratch = Path(tmp) / "restored.db"
        _restore_copy(path, scratch)
        db = Database(f"sqlite:///{scratch}")
        try:
            revision = schema.current(db)
            if revision is None or not db.has_schema():
                raise BackupError(path, "not an s55 database (no schema revision or tables)")
            verification = trail.verify(db, expected_head)
        finally:
            db.dispose()
    return BackupCheck(path, revision, schema.head(), verification)
