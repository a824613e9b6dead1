"""Checks of the configuration: the settings load, secrets come from the environment
only, who acts is provable (identity, separation of duties), and what ``s55 serve`` relies
on: where the approvers' personal links point (``S55_BASE_URL``), its secret file and the
proxies it believes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from workflow.core.errors import ConfigError, S55Error
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


def check_links(settings: Settings) -> Result:
    """``S55_BASE_URL``, where the approvers' personal links point: https once mail really
    goes out (the token is in the link: over http anyone on the path reads it and can act as
    its person); plain http only while mail is spooled (the demo)."""
    base = settings.base_url
    hint = ("set S55_BASE_URL to the https address people reach `s55 serve` at (through "
            "the reverse proxy), e.g. https://s55.your-opcc.example")
    if not base:
        return _warn("links", "S55_BASE_URL not set: mail asks people to act without their "
                     "personal link", hint)
    https = base.lower().startswith("https://")
    if not https and settings.smtp_host:
        return _fail("links", f"S55_BASE_URL {base} is not https: the links people are "
                     "mailed would carry their tokens in the clear", hint)
    if settings.audit_key_file is None:
        return _warn("links", "no audit key: the links' tokens derive from the audit key, "
                     "so none is issued and mail asks people to reply instead",
                     "run `s55 init` (it creates the key; see the audit key check)")
    if https:
        return _ok("links", f"personal links point to {base} (valid {settings.link_days} days)")
    return _ok("links", f"personal links point to {base} (plain http: mail is only spooled, "
               "as in the demo; https is required once S55_SMTP_HOST is set)")


def check_web(settings: Settings) -> Result:
    """``s55 serve``'s secret file (owner-only; unset: sessions end with the process) and
    the proxies whose forwarded headers it believes."""
    from workflow.keys import web_secret

    path = settings.web_secret_file
    if path is None:
        return _warn("web", "S55_WEB_SECRET_FILE not set: s55 serve makes a secret per "
                     "process, so reader sessions and open forms end when it restarts",
                     "set S55_WEB_SECRET_FILE (e.g. /var/lib/s55/web.secret); `s55 init` "
                     "creates it")
    try:
        web_secret.check(path)
    except ConfigError as exc:
        return _fail("web", str(exc), f"`s55 init` creates it; chmod 600 {path}")
    if "*" in settings.trusted_proxy.split(","):
        return _warn("web", "S55_TRUSTED_PROXY is *: any client may claim any address",
                     "name the reverse proxy's address")
    believed = (f"forwarded headers believed from {settings.trusted_proxy}"
                if settings.trusted_proxy else "no forwarded headers believed (behind a "
                "reverse proxy, set S55_TRUSTED_PROXY to its address)")
    return _ok("web", f"secret in {path} (owner-only); {believed}")
