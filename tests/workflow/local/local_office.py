"""The office the local service's tests serve: a database of its own with the Norfolk
report and its people (with operating-system logins), the service's settings for it, and
the environments of ``s55`` run in place and through the service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from factories import ADMIN, PEOPLE, norfolk_report
from s55_processes import base_environment

from workflow.core.settings import Settings
from workflow.keys import audit_key
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage import schema
from workflow.storage.db import Database


@dataclass(frozen=True)
class Office:
    """A database with the Norfolk report (response ``rid``) and its people, its audit key,
    and the ``S55_*`` settings of a service over it."""

    url: str
    key: Path
    rid: int
    settings: dict[str, str]


def make_office(url: str, folder: Path, logins: Mapping[str, str], *,
                published_on: str | None = None) -> Office:
    """Norfolk's people (``logins``: email -> account) and report on ``url`` (published on
    ``published_on``, else as the fixture says), signed with a key made in ``folder``; the
    spool is in ``folder`` too."""
    key = folder / "audit.key"
    audit_key.create(key)
    db = Database(url, audit_key_file=key)
    schema.upgrade(db)
    wf = Workflow(db, Settings(database_url=url, identity="claimed", audit_key_file=key,
                               spool_dir=folder / "spool", force="Norfolk"))
    for i, (name, email, roles) in enumerate(PEOPLE):
        management.add_person(wf, {"name": name, "email": email, "roles": roles},
                              None if i == 0 else ADMIN, login=logins.get(email))
    report = norfolk_report(**({"published_on": published_on} if published_on else {}))
    rid = content.add_report(wf, report, ADMIN).id or 0
    db.dispose()
    return Office(url, key, rid, {"S55_DATABASE_URL": url, "S55_AUDIT_KEY_FILE": str(key),
                                  "S55_SPOOL_DIR": str(folder / "spool"),
                                  "S55_FORCE": "Norfolk", "HOME": str(folder)})


def in_place(office: Office, **extra: str) -> dict[str, str]:
    """The environment of ``s55`` run in place, as the office's own account (identity os)."""
    return base_environment(**office.settings, S55_IDENTITY="os", TERM="xterm-256color",
                            **extra)


def through(sock: Path, **extra: str) -> dict[str, str]:
    """The environment of an officer's ``s55``: the socket and nothing else of s55's."""
    return base_environment(S55_SOCKET=str(sock), TERM="xterm-256color", **extra)
