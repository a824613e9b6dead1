"""The audit key is on by default: ``s55 init`` makes it, owner-only, in the account's config
folder (``$XDG_CONFIG_HOME/s55/audit.key``, else ``~/.config/s55/audit.key``) unless
``S55_AUDIT_KEY_FILE`` names another file; every later command finds it there and signs with
it. An existing key is never replaced, and one others may read is refused in one line with
the database unchanged. Both databases; the config folder is the test's own (conftest)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from tests.factories import ADMIN, snapshot
from workflow.cli import app
from workflow.core.key_path import default_audit_key_file
from workflow.core.settings import Settings, load_settings
from workflow.responses.service import Workflow
from workflow.storage.db import Database


def s55(db_url: str, tmp_path: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(app, list(args), env={
        "S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
        "S55_ACTOR": ADMIN, **env})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_is_the_config_folder() -> None:
    """XDG_CONFIG_HOME when absolute (the XDG rule: a relative one is ignored), else HOME's
    .config."""
    assert default_audit_key_file({"XDG_CONFIG_HOME": "/srv/cfg", "HOME": "/home/a"}) == \
        Path("/srv/cfg/s55/audit.key")
    assert default_audit_key_file({"XDG_CONFIG_HOME": "cfg", "HOME": "/home/a"}) == \
        Path("/home/a/.config/s55/audit.key")
    assert default_audit_key_file({"HOME": "/home/a"}) == Path("/home/a/.config/s55/audit.key")


def test_init_makes_the_key_at_the_default_and_later_commands_sign_with_it(
        db_url: str, tmp_path: Path) -> None:
    key = default_audit_key_file(os.environ)
    assert not key.exists()
    assert load_settings().audit_key_file is None  # none yet: events only hash-chained
    made = s55(db_url, tmp_path, "init", "--admin-email", ADMIN, "--admin-name", "Ann")
    assert made.exit_code == 0, made.output
    assert f" created in {key} (owner-only): every event from #1 is signed" in made.stdout
    assert (mode(key), mode(key.parent)) == (0o600, 0o700)
    assert load_settings().audit_key_file == key  # every command finds it there
    verified = s55(db_url, tmp_path, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "signatures OK: " in verified.stdout


def test_init_never_replaces_a_key(db_url: str, tmp_path: Path) -> None:
    assert s55(db_url, tmp_path, "init").exit_code == 0
    key = default_audit_key_file(os.environ)
    kept = key.read_bytes()
    again = s55(db_url, tmp_path, "init")
    assert again.exit_code == 0, again.output
    assert "audit key" not in again.stdout
    assert key.read_bytes() == kept


def test_a_named_key_file_is_made_there_and_not_at_the_default(db_url: str,
                                                               tmp_path: Path) -> None:
    named = tmp_path / "keys" / "audit.key"
    made = s55(db_url, tmp_path, "init", S55_AUDIT_KEY_FILE=str(named))
    assert made.exit_code == 0, made.output
    assert (mode(named), mode(named.parent)) == (0o600, 0o700)
    assert not default_audit_key_file(os.environ).exists()


def test_a_key_others_may_read_is_refused_in_one_line(db_url: str, tmp_path: Path,
                                                      settings: Settings) -> None:
    assert s55(db_url, tmp_path, "init").exit_code == 0
    key = default_audit_key_file(os.environ)
    key.chmod(0o644)
    db = Database(db_url)
    try:
        before = snapshot(Workflow(db, settings))
        refused: Any = s55(db_url, tmp_path, "init", "--admin-email", ADMIN)
        assert refused.exit_code == 1
        assert refused.stderr == (f"Error: audit key file {key}: may be read by others "
                                  f"(mode 644); run: chmod 600 {key}\n")
        assert snapshot(Workflow(db, settings)) == before
    finally:
        db.dispose()
