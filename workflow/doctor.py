"""``s55 doctor``: is this installation fit to run? Each check returns a result, never prints.

The checks, in order: configuration, secrets, database (reachable, schema at head),
mail transport (SMTP answers EHLO, or the spool folder is writable), the mail
addresses (not the reserved ``.invalid`` defaults), the address of the approvers' links
(https once mail is really sent), the outbox (dead or stuck mail),
the audit chain, the scheduler (the daemon's heartbeat, or the last sweep from cron),
the people, and stored content that mail or rendering cannot use. Checks that need the
database are reported as not checked when it is unusable. OK and WARN leave the exit
code at 0; any FAIL makes it non-zero.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from states import State
from workflow import audit
from workflow.clock import LONDON
from workflow.config import Settings, describe
from workflow.errors import ConfigError, S55Error
from workflow.storage import schema
from workflow.storage.backup import known_revisions
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage

#: Pending mail older than this means no dispatcher is delivering.
STUCK_MAIL = timedelta(hours=1)
#: A daemon silent for longer than this is presumed dead.
HEARTBEAT_STALE = timedelta(minutes=15)
#: How long after escalations fall due a sweep from cron may start.
SWEEP_GRACE = timedelta(hours=1)
#: A daemon that stopped beating this recently is mentioned even when a sweep ran since.
DAEMON_RECENT = timedelta(days=1)


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Result:
    check: str
    status: Status
    detail: str
    hint: str = ""

    def as_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def _ok(check: str, detail: str, hint: str = "") -> Result:
    return Result(check, Status.OK, detail, hint)


def _warn(check: str, detail: str, hint: str) -> Result:
    return Result(check, Status.WARN, detail, hint)


def _fail(check: str, detail: str, hint: str) -> Result:
    return Result(check, Status.FAIL, detail, hint)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -- configuration ------------------------------------------------------------------------

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


# -- database -----------------------------------------------------------------------------

def schema_state(db: Database) -> tuple[Status, str, str]:
    """(status, what, hint) for the database's revision against this s55's head."""
    current, head = schema.current(db), schema.head()
    if current is None:
        return Status.FAIL, "no s55 schema", "run `s55 db upgrade` (or `s55 init`)"
    if current == head:
        return Status.OK, f"at revision {current} (head)", ""
    if current in known_revisions():
        return (Status.FAIL, f"at revision {current}, behind head {head}",
                "run `s55 db upgrade`")
    return (Status.FAIL, f"at revision {current}, unknown to this s55 (head {head})",
            "a newer s55 upgraded it: upgrade s55 on this machine too")


def check_database(db: Database) -> Result:
    try:
        status, what, hint = schema_state(db)
    except S55Error as exc:
        return _fail("database", _first_line(exc), "check S55_DATABASE_URL and that the "
                     "server is running")
    except SQLAlchemyError as exc:  # driver errors: reported, not raised
        return _fail("database", f"cannot open database {db.safe_url()}: "
                     f"{_first_line(getattr(exc, 'orig', None) or exc)}",
                     "check S55_DATABASE_URL and that the server is running")
    return Result("database", status, f"{db.safe_url()} {what}", hint)


# -- mail ---------------------------------------------------------------------------------

async def _probe(settings: Settings) -> None:
    from workflow.mail.views import make_transport

    transport = make_transport(settings)
    try:
        await transport.open()  # SMTP: connect, EHLO, STARTTLS/TLS and AUTH as configured
    finally:
        await transport.close()


def _spool_writable(directory: Path) -> str | None:
    """None if mail can be written into ``directory`` (created later if missing)."""
    if directory.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".s55-doctor-"):
                return None
        except OSError as exc:
            return f"cannot write in {directory}: {exc.strerror or exc}"
    parent = directory.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if directory.exists() or not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {directory}"
    return None


def check_mail(settings: Settings) -> Result:
    from notifications.errors import NotificationError

    if not settings.smtp_host:
        problem = _spool_writable(settings.spool_dir)
        if problem:
            return _fail("mail", f"spool: {problem}", "make S55_SPOOL_DIR writable, or set "
                         "S55_SMTP_HOST")
        return _warn("mail", f"no SMTP host: mail is written to the spool folder "
                     f"{settings.spool_dir}, not sent", "set S55_SMTP_HOST (and port, "
                     "security, username, password) so approvers receive mail")
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
    try:
        asyncio.run(asyncio.wait_for(_probe(settings), timeout=settings.smtp_timeout + 5))
    except (NotificationError, OSError, TimeoutError) as exc:
        return _fail("mail", f"{where}: {_first_line(exc)}", "check S55_SMTP_HOST, "
                     "S55_SMTP_PORT, S55_SMTP_SECURITY (587 starttls, 465 tls) and the login")
    auth = f", logged in as {settings.smtp_username}" if settings.smtp_username else ""
    return _ok("mail", f"{where} answered EHLO{auth}")


#: The settings holding an address mail is sent from or to, by environment variable.
_ADDRESSES = (("S55_MAIL_FROM", "mail_from"), ("S55_HMICFRS_EMAIL", "hmicfrs_email"),
              ("S55_HOME_OFFICE_EMAIL", "home_office_email"))


def check_addresses(settings: Settings) -> Result:
    """The From address and the s55(6) copies' addresses are the OPCC's own, not the
    reserved ``.invalid`` defaults (which reach nobody: a server refuses them, and the
    copies to HMICFRS and the Home Office the statute asks for would go dead)."""
    unset = [var for var, field in _ADDRESSES
             if str(getattr(settings, field)).lower().endswith(".invalid")]
    if not unset:
        return _ok("addresses", f"from {settings.mail_from}; s55(6) copies to "
                   f"{settings.hmicfrs_email} and {settings.home_office_email}")
    detail = f"{', '.join(unset)} not set: still the reserved .invalid default"
    hint = ("set them to your OPCC's sending address and the addresses HMICFRS and the "
            "Home Office gave you for s55(6) copies")
    if settings.smtp_host:
        return _fail("addresses", f"{detail}, so that mail can never be delivered", hint)
    return _warn("addresses", detail, hint)


def check_outbox(db: Database, now: datetime) -> Result:
    with db.read() as s:
        dead = s.execute(select(func.count()).select_from(OutboxMessage)
                         .where(col(OutboxMessage.status) == "dead")).scalar_one()
        stuck = s.execute(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.next_attempt_at) < now - STUCK_MAIL)).scalar_one()
    if dead:
        return _fail("outbox", f"{dead} message(s) dead (delivery given up)",
                     "`s55 outbox list --status dead`, fix the cause, then "
                     "`s55 outbox retry ID`")
    if stuck:
        return _warn("outbox", f"{stuck} message(s) due for over "
                     f"{int(STUCK_MAIL.total_seconds() // 60)} minutes",
                     "is a dispatcher running? (`s55 run`, or `s55 mail send`)")
    return _ok("outbox", "no dead or stuck mail")


def check_audit(db: Database) -> Result:
    result = audit.verify(db)
    if result.broken:
        return _fail("audit chain", f"broken at event {result.broken.event_id}: "
                     f"{result.broken.problem}", "see `s55 audit verify`; compare with a "
                     "kept head and restore from a verified backup")
    return _ok("audit chain", f"{result.count} events intact, head {result.head[:16]}...",
               "keep the head outside the database (`s55 audit head`)")


def check_replay(db: Database) -> Result:
    from workflow import replay

    differences = replay.verify(db)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        return _fail("rows vs log", differences[0].describe() + more,
                     "a row was changed behind s55's back: see `s55 audit verify`")
    return _ok("rows vs log", "every response equals the replay of its events")


def _ago(at: datetime, now: datetime) -> str:
    seconds = int((now - at).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} minutes ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} hours ago"
    return f"{seconds // 86400} days ago"


def last_escalation_time(settings: Settings, before: datetime) -> datetime:
    """The latest time escalations fell due at or before ``before``: ``S55_ESCALATION_HOUR``
    London time on an England and Wales working day (the only days they fire on)."""
    from states.escalations import firing_instant
    from workflow.workdays import england_and_wales

    working = england_and_wales()
    day = before.astimezone(LONDON).date()
    while True:
        day = working.on_or_before(day)
        at = firing_instant(day, settings.escalation_hour)
        if at <= before:
            return at
        day -= timedelta(days=1)


def check_scheduler(db: Database, settings: Settings, now: datetime) -> Result:
    """Which scheduler last ran, and when: the daemon (``s55 run``) beats every 30 s; a
    sweep from cron (``s55 escalations sweep``) must have run since escalations last fell
    due (allowing it ``SWEEP_GRACE`` to start)."""
    name = "scheduler"
    try:
        from workflow.escalations.sweep import last_beats
    except ImportError:
        return _warn(name, "no scheduler heartbeat table", "this s55 has no scheduler yet")
    try:
        beats = last_beats(db)
    except SQLAlchemyError as exc:  # the table missing (schema behind) or unreadable
        return _warn(name, f"no scheduler heartbeat table ({_first_line(exc)})",
                     "run `s55 db upgrade`")
    if not beats:
        return _warn(name, "no scheduler has ever run (neither `s55 run` nor `s55 escalations "
                     "sweep`): escalations are not being sent", "run `s55 run` (e.g. under "
                     "systemd, see deploy/s55.service), or `s55 escalations sweep` from cron")
    last = beats[0]
    what = "heartbeat" if last.kind == "daemon" else "run"
    detail = (f"last {what}: {last.kind} {last.worker} at {last.at:%Y-%m-%d %H:%M} UTC, "
              f"{_ago(last.at, now)}")
    if last.kind == "daemon":
        if now - last.at > HEARTBEAT_STALE:
            return _fail(name, detail, "the scheduler is down: `systemctl status s55`, then "
                         "restart it")
        return _ok(name, detail)
    due = last_escalation_time(settings, now - SWEEP_GRACE)
    if last.at < due:
        local = due.astimezone(LONDON)
        return _fail(name, f"{detail}; escalations due at {local:%H:%M on %a %d %b %Y} have "
                     "not been swept", "is cron running `s55 escalations "
                     f"sweep` within {int(SWEEP_GRACE.total_seconds() // 60)} minutes after "
                     f"{settings.escalation_hour:02d}:00 on working days? (or run `s55 run`)")
    daemon = next((b for b in beats if b.kind == "daemon"), None)
    if daemon is not None and HEARTBEAT_STALE < now - daemon.at <= DAEMON_RECENT:
        return _warn(name, f"{detail}; daemon {daemon.worker} stopped beating "
                     f"{_ago(daemon.at, now)}", "if the daemon should be running: "
                     "`systemctl status s55`, then restart it")
    return _ok(name, detail)


# -- identity and people ------------------------------------------------------------------

def check_identity(settings: Settings) -> Result:
    """How the acting person is established, and whether duties are kept apart."""
    name = "identity"
    if settings.identity == "claimed":
        return _warn(name, "S55_IDENTITY=claimed: --as is taken on trust, so the state log "
                     "cannot prove who acted (every event says 'claimed')",
                     "set S55_IDENTITY=os and give each person their login "
                     "(`s55 people edit EMAIL --login ACCOUNT --reason ...`)")
    if not settings.separation_of_duties:
        return _warn(name, "S55_SEPARATION_OF_DUTIES=false: the force-input submitter may "
                     "sign off", "unset it unless one person really must do both")
    return _ok(name, "S55_IDENTITY=os: the operating-system account decides who acts; "
               "separation of duties on")


def check_people(db: Database, today: date) -> Result:
    """Every open response's next step can be taken by somebody active."""
    from sqlalchemy import Integer, String, column, table

    from workflow.staffing import nobody_can_act

    response = table("response", column("id", Integer), column("state", String))
    with db.read() as s:
        stuck = nobody_can_act(s, today)
        rows = s.execute(select(response.c.id, response.c.state).where(
            response.c.state.in_([st.value for st in stuck]))).all() if stuck else []
    if rows:
        detail = "; ".join(f"response {r.id} ({r.state}) needs an active "
                           f"{' or '.join(stuck[State(r.state)])}" for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return _fail("people", f"nobody active can take the next step: {detail}{more}",
                     "add or enable a person with that role (`s55 people list`), or "
                     "delegate the PCC's sign-off (`s55 people delegate`)")
    return _ok("people", "every open response's next step has somebody active to take it")


def check_content(db: Database) -> Result:
    """Stored values mail or rendering cannot use (``workflow.unusable``), each with its fix."""
    from workflow import unusable

    with db.read() as s:
        found = unusable.find(s)
    if not found:
        return _ok("content", "every open response's report and every active person's "
                   "address can be mailed and rendered")
    more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
    detail = "; ".join(f"{u.what}" for u in found[:5]) + more
    hint = "; ".join(u.fix for u in found[:5])
    if any(u.blocking for u in found):
        return _fail("content", detail, hint)
    return _warn("content", detail, hint)


# -- all together -------------------------------------------------------------------------

def check_links(settings: Settings) -> Result:
    """``S55_BASE_URL``, where the approvers' personal links point (issue 13): https once
    mail really goes out (the token is in the link: over http anyone on the path reads it
    and can act as its person); plain http only while mail is spooled (the demo)."""
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
        return _warn("links", "S55_AUDIT_KEY_FILE not set: the links' tokens derive from the "
                     "audit key, so none is issued and mail asks people to reply instead",
                     "set S55_AUDIT_KEY_FILE and run `s55 init` (it creates the key)")
    if https:
        return _ok("links", f"personal links point to {base} (valid {settings.link_days} days)")
    return _ok("links", f"personal links point to {base} (plain http: mail is only spooled, "
               "as in the demo; https is required once S55_SMTP_HOST is set)")


def check_web(settings: Settings) -> Result:
    """``s55 serve``'s secret file (owner-only; unset: sessions end with the process) and
    the proxies whose forwarded headers it believes."""
    from workflow import web_secret

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
    return _ok("web", f"secret in {path} (owner-only); forwarded headers believed from "
               f"{settings.trusted_proxy}")


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
    results = [config, check_secrets(settings, env), check_identity(settings)]
    try:
        db = Database(settings.database_url, statement_timeout_ms=settings.statement_timeout_ms,
                      audit_key_file=settings.audit_key_file)
    except S55Error as exc:
        return [*results, _fail("database", _first_line(exc), "fix S55_DATABASE_URL"),
                check_mail(settings), check_addresses(settings), check_links(settings),
                check_web(settings), *_skipped("no database")]
    try:
        results.append(check_database(db))
        results.append(check_mail(settings))
        results.append(check_addresses(settings))
        results.append(check_links(settings))
        results.append(check_web(settings))
        if results[3].status is Status.FAIL:
            return results + _skipped("the database is not usable")
        results += [check_outbox(db, now()), check_audit(db), check_replay(db),
                    check_scheduler(db, settings, now()),
                    check_people(db, now().astimezone(LONDON).date()), check_content(db)]
        return results
    finally:
        db.dispose()


def failed(results: list[Result]) -> bool:
    return any(r.status is Status.FAIL for r in results)
