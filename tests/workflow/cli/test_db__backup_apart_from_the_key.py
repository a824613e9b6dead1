"""``s55 db backup`` warns when it writes the backup into the audit key's folder: a copy of
that folder would carry both the record and the key that proves it. A backup elsewhere is
made without a word about the key. SQLite only (PostgreSQL backs up with pg_dump)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workflow.cli import app
from workflow.keys import audit_key

only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@only_sqlite
def test_a_backup_beside_the_key_is_warned_of(db_url: str, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "audit.key"
    audit_key.create(key)
    env = {"S55_DATABASE_URL": db_url, "S55_AUDIT_KEY_FILE": str(key)}
    beside = CliRunner().invoke(app, ["db", "backup", str(key.parent / "s55-backup.db")],
                                env=env)
    assert beside.exit_code == 0, beside.output
    assert beside.stderr == (f"Warning: the audit key {key} is in the backup's folder: keep "
                             "the backup and the key apart (a copy of both could rewrite the "
                             "record)\n")
    apart = CliRunner().invoke(app, ["db", "backup", str(tmp_path / "s55-backup.db")], env=env)
    assert apart.exit_code == 0, apart.output
    assert apart.stderr == ""
