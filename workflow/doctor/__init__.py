"""``s55 doctor``: is this installation fit to run? Each check returns a result, never prints.

The checks, in order: configuration, secrets, the audit key (on its own: whatever else
fails, it says whether events are signed and where the key sits), identity (the office's
settings the database holds, and an environment asking for looser ones), database (reachable, schema
at head),
mail transport (SMTP answers EHLO, or the spool folder is writable), the mail
addresses (not the reserved ``.invalid`` defaults), the address of the approvers' links
(https once mail is really sent), the outbox (dead or stuck mail),
the audit chain, the scheduler (the daemon's heartbeat, or the last sweep from cron),
the people, and stored content that mail or rendering cannot use. Checks that need the
database are reported as not checked when it is unusable. OK and WARN leave the exit
code at 0; any FAIL makes it non-zero.

Where each check lives: ``result`` (``Result``, ``Status``), ``settings`` (configuration,
secrets, identity, links, ``s55 serve``'s secret and proxies), ``audit_key`` (the
audit key: there, owner-only, kept apart from the database and its backups),
``database`` (database, audit chain, rows vs log, people, content), ``mail``
(transport, addresses, outbox, scheduler); ``diagnose`` here runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from workflow.core.clock import LONDON
from workflow.core.errors import S55Error
from workflow.core.settings import Settings
from workflow.doctor.audit_key import check_audit_key
from workflow.doctor.database import (
    check_audit,
    check_content,
    check_database,
    check_people,
    check_replay,
)
from workflow.doctor.mail import check_addresses, check_mail, check_outbox, check_scheduler
from workflow.doctor.result import Result, Status, _fail, _first_line, _warn
from workflow.doctor.settings import (
    check_identity,
    check_links,
    check_secrets,
    check_settings,
    check_web,
)
from workflow.storage.db import Database

__all__ = ["Result", "Status", "check_content", "diagnose", "failed"]


def _skipped(why: str) -> list[Result]:
    return [_warn(c, f"not checked: {why}", "fix the checks above first")
            for c in ("outbox", "audit chain", "rows vs log", "scheduler", "people", "content")]


def diagnose(load: Callable[[], Settings], env: Mapping[str, str],
             now: Callable[[], datetime]) -> list[Result]:
    """Every check, in order. ``load`` builds the settings; ``env`` is the environment
    (only to tell where a secret came from); ``now`` is the clock."""
    config, settings = check_settings(load)
    if settings is None:
        return [config]
    results = [config, check_secrets(settings, env), check_audit_key(settings, env)]
    unchecked = _warn("identity", "not checked: the office's settings are in the database, "
                      "which is not usable", "fix the database first")
    try:
        db = Database(settings.database_url, statement_timeout_ms=settings.statement_timeout_ms,
                      audit_key_file=settings.audit_key_file)
    except S55Error as exc:
        return [*results, unchecked, _fail("database", _first_line(exc),
                                           "fix S55_DATABASE_URL"),
                check_mail(settings), check_addresses(settings), check_links(settings),
                check_web(settings), *_skipped("no database")]
    try:
        database = check_database(db)
        results.append(unchecked if database.status is Status.FAIL
                       else check_identity(db, settings))
        results.append(database)
        results.append(check_mail(settings))
        results.append(check_addresses(settings))
        results.append(check_links(settings))
        results.append(check_web(settings))
        if database.status is Status.FAIL:
            return results + _skipped("the database is not usable")
        results += [check_outbox(db, now()), check_audit(db), check_replay(db),
                    check_scheduler(db, settings, now()),
                    check_people(db, now().astimezone(LONDON).date()), check_content(db)]
        return results
    finally:
        db.dispose()


def failed(results: list[Result]) -> bool:
    return any(r.status is Status.FAIL for r in results)
