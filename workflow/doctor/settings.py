"""Checks of the configuration: the settings load, secrets come from the environment
only, and who acts is provable (identity, separation of duties)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from workflow.core.errors import S55Error
from workflow.core.settings import Settings, describe
from workflow.doctor.result import Result, _fail, _first_line, _ok, _warn
from workflow.storage.db import Database


def check_settings(load: Callable[[], Settings]) -> tuple[Result, Settings | None]:
    try:
        settings = load()
    except ValidationError as exc:
        return _fail("configuration", f"settings do not load: {describe(exc)}",
                     "fix the S55_* variable named above"), None
    except S55Error as exc:
        return _fail("configuration", f"settings do not load: {_first_line(exc)}",
                     "fix the S55_* variable named above"), None
    return _ok("configuration", "settings loaded from S55_* environment variables"), settings


def check_secrets(settings: Settings, env: Mapping[str, str]) -> Result:
    """The SMTP password comes from the environment only, and nowhere else holds one."""
    name = "secrets"
    if settings.smtp_password is not None and "S55_SMTP_PASSWORD" not in env:
        return _fail(name, "an SMTP password was read from somewhere other than "
                     "S55_SMTP_PASSWORD", "remove it from files; set it in the environment "
                     "(e.g. a systemd EnvironmentFile readable by the service only)")
    if settings.smtp_username and settings.smtp_password is None:
        return _warn(name, f"S55_SMTP_USERNAME is {settings.smtp_username} but "
                     "S55_SMTP_PASSWORD is not set", "set S55_SMTP_PASSWORD in the "
                     "service's environment")
    if make_url(settings.database_url).password:
        return _warn(name, "the database URL contains a password", "leave it out of "
                     "S55_DATABASE_URL and use ~/.pgpass or PGPASSWORD instead")
    return _ok(name, "SMTP password only from the environment; none in the database URL")


def check_identity(db: Database, settings: Settings) -> Result:
    """The office's settings the database holds (force, name, identity mode, separation of
    duties), and whether this environment asks for a looser check than they allow."""
    from workflow.identity import office

    name = "identity"
    try:
        with db.read() as s:
            values = office.stored(s)
        now = office.resolve(values, settings)
    except S55Error as exc:  # the environment asks for a looser check: refused
        return _fail(name, _first_line(exc), "unset the variable named above")
    said = (f"identity {now.identity}, separation of duties "
            f"{office.words(office.SEPARATION, now.separation_of_duties)}; force "
            f"{office.words(office.FORCE, now.force)}, office {now.name}")
    if not now.recorded:
        return _fail(name, f"the database holds no office settings, so the environment's "
                     f"apply and could loosen them ({said})",
                     f"record them once with `{office.INIT_COMMAND}`")
    if now.identity == "claimed":
        return _warn(name, f"{said}: --as is taken on trust, so the state log cannot prove "
                     "who acted (every event says 'claimed')", "give each person their login "
                     "(`s55 people edit EMAIL --login ACCOUNT --reason ...`), then an admin: "
                     "`s55 office set identity os --reason ...`")
    if not now.separation_of_duties:
        return _warn(name, f"{said}: the force-input submitter may sign off",
                     "an admin: `s55 office set separation-of-duties on --reason ...`")
    return _ok(name, f"{said} (the database's): the operating-system account decides who "
               "acts")
