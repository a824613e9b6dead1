"""The check of the scheduler: the daemon's heartbeat (``s55 run``), or a sweep from cron
run since escalations last fell due."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.doctor.result import Result, _fail, _first_line, _ok, _warn
from workflow.storage.db import Database

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
