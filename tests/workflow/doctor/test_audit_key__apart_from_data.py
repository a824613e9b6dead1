"""``s55 doctor`` reports the audit key on its own, whatever else fails: none (a warning
naming where ``s55 init`` puts it), unreadable or open to others (a failure), kept in the
database's folder or beside a database or backup file (a warning: a copy of that folder
would carry the record and the key that proves it), or apart (OK)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflow.core.key_path import default_audit_key_file
from workflow.core.settings import Settings
from workflow.doctor import Result, Status, diagnose
from workflow.keys import audit_key

NOW = datetime(2024, 11, 22, 10, 0, tzinfo=UTC)
only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def key_check(settings: Settings) -> Result:
    results = diagnose(lambda: settings, os.environ, lambda: NOW)
    return next(r for r in results if r.check == "audit key")


def with_key(settings: Settings, key: Path) -> Settings:
    audit_key.create(key)
    return settings.model_copy(update={"audit_key_file": key})


def test_no_key_is_a_warning_naming_where_init_puts_it(settings: Settings) -> None:
    found = key_check(settings)
    assert (found.status, found.hint) == (
        Status.WARN, f"run `s55 init`: it creates the key in {default_audit_key_file(os.environ)}")
    assert found.detail.startswith("no audit key: events are only hash-chained")


def test_the_key_is_reported_even_when_the_links_check_fails(settings: Settings) -> None:
    """http links with real SMTP fail; the key is still checked and OK."""
    keyed = with_key(settings, default_audit_key_file(os.environ)).model_copy(update={
        "base_url": "http://s55.example", "smtp_host": "127.0.0.1", "smtp_port": 9})
    results = {r.check: r for r in diagnose(lambda: keyed, os.environ, lambda: NOW)}
    assert results["links"].status is Status.FAIL
    assert results["audit key"].status is Status.OK
    assert results["audit key"].detail.startswith(
        f"{keyed.audit_key_file} (owner-only), key ")


@only_sqlite
def test_a_key_in_the_databases_folder_is_a_warning(settings: Settings, tmp_path: Path) -> None:
    found = key_check(with_key(settings, tmp_path / "audit.key"))
    assert found.status is Status.WARN
    assert found.detail == (f"{tmp_path / 'audit.key'} sits in the database's folder "
                            f"{tmp_path.resolve()}: a copy of that folder carries both the "
                            "record and the key that proves it")


def test_a_key_beside_a_backup_is_a_warning(settings: Settings, tmp_path: Path,
                                            sqlite_template: Path) -> None:
    key = default_audit_key_file(os.environ)
    keyed = with_key(settings, key)
    shutil.copy(sqlite_template, key.parent / "s55-2024-11-22.db")
    found = key_check(keyed)
    assert found.status is Status.WARN
    assert found.detail.startswith(f"{key} sits beside the database or backup "
                                   "s55-2024-11-22.db: ")


def test_a_key_others_may_read_fails(settings: Settings) -> None:
    keyed = with_key(settings, default_audit_key_file(os.environ))
    assert keyed.audit_key_file is not None
    keyed.audit_key_file.chmod(0o640)
    found = key_check(keyed)
    assert found.status is Status.FAIL
    assert found.detail.endswith("may be read by others (mode 640); run: chmod 600 "
                                 f"{keyed.audit_key_file}")
