"""An auditor verifies a copy where it lies: every read command and ``audit
verify`` work on a SQLite file the account cannot write, in a folder it cannot write; a
change is refused in one line and the file is untouched.

The copy lies on a read-only mount (a bind mount remounted read-only, as an auditor's share
or a write-protected backup volume would be): nobody, root included, can write it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import norfolk
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database

S55 = str(Path(sys.executable).with_name("s55"))


@pytest.fixture
def copy_folder() -> Iterator[tuple[Path, Path]]:
    """A folder to copy into, and the same folder mounted read-only elsewhere."""
    if os.geteuid() != 0:
        why = "needs root to make a read-only bind mount"
        pytest.fail(why) if os.environ.get("CI") == "true" else pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="s55-ro-"))
    writable, mounted = base / "copy", base / "mounted"
    writable.mkdir()
    mounted.mkdir()
    subprocess.run(["mount", "--bind", str(writable), str(mounted)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], check=True)
        yield writable, mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
        shutil.rmtree(base)


def s55(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "S55_DATABASE_URL": f"sqlite:///{db}", "S55_ACTOR": ""}
    return subprocess.run([S55, *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("with_wal", [False, True], ids=["checkpointed", "with-wal"])
@pytest.mark.slow
def test_reads_and_verify_work_on_a_read_only_copy(db: Database, settings: Settings,
                                                   copy_folder: tuple[Path, Path],
                                                   with_wal: bool) -> None:
    norfolk(Workflow(db, settings))
    source = Path(db.url.removeprefix("sqlite:///"))
    db.dispose()
    holder = None
    if with_wal:  # a copy taken while a reader held the log open: -wal and -shm beside it
        holder = sqlite3.connect(source)
        holder.execute("PRAGMA wal_autocheckpoint=0")
        holder.execute("PRAGMA user_version = 7")  # a change left in the -wal only
        holder.commit()
    else:  # a backup: the file alone, everything checkpointed into it
        conn = sqlite3.connect(source)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    writable, mounted = copy_folder
    for suffix in ("", "-wal", "-shm") if with_wal else ("",):
        shutil.copy(f"{source}{suffix}", writable / f"{source.name}{suffix}")
    if holder:
        holder.close()
    copy = mounted / source.name
    wal = mounted / f"{source.name}-wal"
    assert (wal.exists() and wal.stat().st_size > 0) == with_wal
    before = digest(mounted)

    for args in (["list", "--all"], ["show", "1"], ["log", "1"], ["audit", "verify"],
                 ["audit", "head"], ["audit", "report", "--format", "html"], ["people", "list"],
                 ["outbox", "list"]):
        result = s55(copy, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    verify = s55(copy, "audit", "verify")
    assert verify.stdout.startswith("audit chain OK: 7 events, head ")

    refused = s55(copy, "request-force-input", "1", "--as", "officer@opcc.example")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"Error: database sqlite:///{copy} is read-only for this "
                                      "account: reading works, changes are refused")
    assert digest(mounted) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.slow
def test_a_log_without_its_index_is_refused_in_one_line(db: Database, settings: Settings,
                                                        copy_folder: tuple[Path, Path]) -> None:
    """A ``-wal`` copied without its ``-shm`` into a folder nobody may write cannot be read
    without losing what the log holds: refused, naming what to do."""
    norfolk(Workflow(db, settings))
    source = Path(db.url.removeprefix("sqlite:///"))
    db.dispose()
    holder = sqlite3.connect(source)
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("PRAGMA user_version = 7")
    holder.commit()
    writable, mounted = copy_folder
    for suffix in ("", "-wal"):
        shutil.copy(f"{source}{suffix}", writable / f"{source.name}{suffix}")
    holder.close()
    copy = mounted / source.name
    result = s55(copy, "audit", "verify")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: cannot read {copy} read-only: its write-ahead "
                                     f"log {copy}-wal has no {source.name}-shm beside it; copy "
                                     "the folder somewhere writable")
