"""Checks of what sends mail: the transport answers (SMTP EHLO, or a writable spool
folder), the addresses are not the reserved ``.invalid`` defaults, no mail is dead or
stuck, and the scheduler that sends escalations runs: the daemon's heartbeat (``s55 run``),
or a sweep from cron run since escalations last fell due."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.doctor.result import Result, _fail, _first_line, _ok, _warn
from workflow.storage.db import Database
from workflow.storage.models import OutboxMessage

#: Pending mail older than this means no dispatcher is delivering.
STUCK_MAIL = timedelta(hours=1)


async def _probe(settings: Settings) -> None:
    from workflow.mail.outbox_admin import make_transport

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
                     "`s55 outbox retry ID`; a message changed behind s55's back is never "
                     "sent (`s55 outbox retry ID` says why): tell its reader yourself")
    if stuck:
        return _warn("outbox", f"{stuck} message(s) due for over "
                     f"{int(STUCK_MAIL.total_seconds() // 60)} minutes",
                     "is a dispatcher running? (`s55 run`, or `s55 mail send`)")
    return _ok("outbox", "no dead or stuck mail")


#: A daemon silent for longer than this is presumed dead.
HEARTBEAT_STALE = timedelta(minutes=15)
#: How long after escalations fall due a sweep from cron may start.
SWEEP_GRACE = timedelta(hours=1)
#: A daemon that stopped beating this recently is mentioned even when a sweep ran since.
DAEMON_RECENT = timedelta(days=1)


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
    from workflow.core.bank_holidays import england_and_wales

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
