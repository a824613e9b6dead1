"""Checks of mail: the transport answers (SMTP EHLO, or a writable spool folder), the
addresses are not the reserved ``.invalid`` defaults, and no mail is dead or stuck."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import col

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
