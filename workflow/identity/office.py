"""The office's own settings, kept in the database rather than the environment: the force
it oversees, its name, how the acting person is known (the identity mode, ``os`` or
``claimed``), whether separation of duties holds and how many working days a reader's
sign-in link works (one unless an admin sets more).

The database decides. A process's environment may ask for a stricter check than the
database records (``S55_IDENTITY=os`` where it says ``claimed``, separation of duties on
where it says off), never a looser one: ``in_force`` refuses that with one line naming
the command that changes the database's setting (``LooserThanRecordedError``). Only
``s55 init`` (the first time) and an admin's ``s55 office set`` write them
(``workflow.people.office``), each in a signed ``office_set`` event.

A database from before these settings existed holds none: until ``s55 init`` records
them, the environment's are used as they always were (``Office.recorded`` is False and
``s55 doctor`` fails, naming the command).

Light: SQLAlchemy Core and the standard library, so the read commands can ask too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.core.errors import ConfigError, LooserThanRecordedError
from workflow.storage.tables import OFFICE_SETTING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.core.settings import Settings

#: The settings, by their stored name. ``force_aliases``: the other names the feed may call
#: the force by (a list; ``s55 report watch`` registers items naming the force or one of
#: them). It decides what is registered and who is mailed, so it is the database's,
#: changed by an admin with a reason, like the force itself.
FORCE, OFFICE, IDENTITY, SEPARATION = "force", "office", "identity", "separation_of_duties"
#: How many working days after the mail that asked someone to act no reminder asks them
#: again for the same thing (``workflow.escalations.plan``). Kept here, with the office's
#: other settings, rather than in the escalation policy file or the environment: changing
#: it changes who is mailed, so every process (the daemon, a cron sweep, another host)
#: must read the same value, and a change must be audited and told like the others.
QUIET_DAYS = "reminder_quiet_days"
#: ``QUIET_DAYS`` where the database records none (a database set up before it existed).
DEFAULT_QUIET_DAYS = 2
ALIASES = "force_aliases"
#: How many working days a reader's sign-in link works. Here, not in the environment:
#: lengthening it loosens a check, so only an admin's audited ``s55 office set`` does.
SIGN_IN_DAYS = "sign_in_link_working_days"
NAMES = (FORCE, OFFICE, IDENTITY, SEPARATION, ALIASES, QUIET_DAYS, SIGN_IN_DAYS)
#: What each setting is where the database holds none (those ``s55 init`` records have
#: none: the environment's apply there until it does).
DEFAULTS: dict[str, Any] = {SIGN_IN_DAYS: 1, QUIET_DAYS: DEFAULT_QUIET_DAYS}
SIGN_IN_DAYS_RANGE = range(1, 11)
MODES = ("os", "claimed")
#: The office's name where none is recorded or set (a database from before it was kept).
GENERIC_OFFICE = "Office of the Police and Crime Commissioner"
#: How each setting is named on the command line (``s55 office set NAME VALUE``).
COMMAND_NAMES = {FORCE: "force", OFFICE: "name", IDENTITY: "identity",
                 SEPARATION: "separation-of-duties", ALIASES: "force-aliases",
                 QUIET_DAYS: "reminder-quiet-days", SIGN_IN_DAYS: "sign-in-link-days"}
INIT_COMMAND = "s55 init --force NAME --office NAME --identity os|claimed"

_READ = select(OFFICE_SETTING.c.name, OFFICE_SETTING.c.value)


@dataclass(frozen=True)
class Office:
    """The settings in force for one transaction (``recorded``: the database holds them;
    False for a database not yet set up by ``s55 init``, where the environment's apply)."""

    force: str | None
    name: str
    identity: str
    separation_of_duties: bool
    recorded: bool
    #: Other names of the force (``force_aliases``), as recorded; none by default.
    aliases: tuple[str, ...] = ()
    #: Working days a reader's sign-in link works.
    sign_in_link_days: int = DEFAULTS[SIGN_IN_DAYS]

    def force_or_refuse(self) -> str:
        """The force, or ``ConfigError`` naming ``s55 init`` where none is known."""
        if not self.force:
            raise ConfigError("the force this office oversees is not recorded in the "
                              f"database: set it once with `{INIT_COMMAND}`")
        return self.force


def stored(session: Session) -> dict[str, Any]:
    """The settings the database holds, by name (none on a database not yet set up)."""
    return {name: json.loads(value) for name, value in session.execute(_READ)}


def quiet_days(session: Session) -> int:
    """The working days after an ask in which no reminder asks the same person again."""
    value = stored(session).get(QUIET_DAYS, DEFAULT_QUIET_DAYS)
    return int(value)


def words(name: str, value: Any) -> str:
    """A setting's value as the command line writes it (``on``/``off`` for a flag)."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(value) or "(none)"
    return str(value)


def check_not_looser(values: dict[str, Any], identity: str | None,
                     separation: bool | None) -> None:
    """Refuse an environment asking for a looser check than ``values`` records."""
    if identity == "claimed" and values.get(IDENTITY) == "os":
        raise LooserThanRecordedError("S55_IDENTITY", "claimed", "identity os",
                                      "s55 office set identity claimed --reason ...")
    if separation is False and values.get(SEPARATION) is True:
        raise LooserThanRecordedError("S55_SEPARATION_OF_DUTIES", "false",
                                      "separation of duties on", "s55 office set "
                                      "separation-of-duties off --reason ...")


def resolve(values: dict[str, Any], settings: Settings) -> Office:
    """The settings in force: the database's ``values``, the environment's (``settings``)
    only to tighten them, or alone while the database holds none."""
    asked_mode = getattr(settings, "identity", None)
    asked_sod = getattr(settings, "separation_of_duties", None)
    if IDENTITY not in values:
        return Office(getattr(settings, "force", None),
                      getattr(settings, "opcc_name", None) or GENERIC_OFFICE,
                      asked_mode or "os", True if asked_sod is None else bool(asked_sod),
                      recorded=False,
                      sign_in_link_days=int(values.get(SIGN_IN_DAYS, DEFAULTS[SIGN_IN_DAYS])))
    check_not_looser(values, asked_mode, asked_sod)
    return Office(values.get(FORCE), values.get(OFFICE) or GENERIC_OFFICE,
                  "os" if asked_mode == "os" else str(values[IDENTITY]),
                  bool(values.get(SEPARATION, True)) or bool(asked_sod), recorded=True,
                  aliases=tuple(values.get(ALIASES) or ()),
                  sign_in_link_days=int(values.get(SIGN_IN_DAYS, DEFAULTS[SIGN_IN_DAYS])))


def in_force(session: Session, settings: Settings) -> Office:
    """The settings in force in ``session``'s transaction for a process configured with
    ``settings``; ``LooserThanRecordedError`` when its environment asks for looser ones."""
    return resolve(stored(session), settings)


def identity_mode(session: Session, asked: str | None) -> str:
    """The identity mode in force for a process asking for ``asked`` (None: nothing)."""
    values = stored(session)
    if IDENTITY not in values:
        return asked or "os"
    check_not_looser(values, asked, None)
    return "os" if asked == "os" else str(values[IDENTITY])
