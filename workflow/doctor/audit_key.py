"""The audit key, checked on its own: present, owner-only, readable, and kept apart from the
database and its backups (a copy of a folder holding both carries the record and the key
that proves it, so whoever holds the copy could rewrite both)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from pathlib import Path

from sqlalchemy.engine import make_url

from workflow.core.key_path import default_audit_key_file
from workflow.core.settings import Settings
from workflow.doctor.result import Result, _fail, _ok, _warn

NAME = "audit key"
#: The first bytes of a SQLite file and of a pg_dump archive: a database or a backup.
_DATA_MAGIC = (b"SQLite format 3\x00", b"PGDMP")
_LOOKED_AT = 500  # files of the key's folder looked at, at most


def check_audit_key(settings: Settings, env: Mapping[str, str]) -> Result:
    """Whether events are signed, with which key file, and whether it sits where a copy of
    the database or a backup would carry it too."""
    from workflow.keys import audit_key

    path = settings.audit_key_file
    where = env.get("S55_AUDIT_KEY_FILE") or str(default_audit_key_file(env))
    if path is None:
        return _warn(NAME, "no audit key: events are only hash-chained, so anyone with "
                     "database access could rewrite them, and no personal link is issued",
                     f"run `s55 init`: it creates the key in {where}")
    try:
        ring = audit_key.load(path)
    except audit_key.AuditKeyError as exc:
        return _fail(NAME, str(exc), "restore the file from its backup (never make a new "
                     "one while the old one's events stand)")
    beside = _beside_data(path, settings.database_url)
    if beside:
        return _warn(NAME, f"{path} sits {beside}: a copy of that folder carries both the "
                     "record and the key that proves it", "move the key to a folder of its "
                     f"own (by default {default_audit_key_file(env)}), set S55_AUDIT_KEY_FILE "
                     "if elsewhere, and back it up apart from the database")
    return _ok(NAME, f"{path} (owner-only), key {ring.current}, signs every event from "
               f"#{ring.since}; back it up apart from the database")


def _beside_data(key: Path, database_url: str) -> str | None:
    """Where ``key`` sits too close to data: in the SQLite database's folder (or below it),
    or beside a database or backup file; None when apart."""
    key = key.resolve()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folder = Path(url.database).resolve().parent
        if key.is_relative_to(folder):
            return f"in the database's folder {folder}"
    for entry in islice(key.parent.iterdir(), _LOOKED_AT):
        if entry != key and _holds_data(entry):
            return f"beside the database or backup {entry.name}"
    return None


def _holds_data(path: Path) -> bool:
    try:
        if not path.is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return False  # unreadable to this account: not for doctor to judge
    return head.startswith(_DATA_MAGIC)
