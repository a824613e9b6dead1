"""The office's own settings, changed the audited way (``workflow.identity.office`` reads
them): the force it oversees, its name, the identity mode and separation of duties.

``s55 init`` records them once, from its flags or else the environment (``S55_FORCE``,
``S55_OPCC_NAME``, ``S55_IDENTITY``, ``S55_SEPARATION_OF_DUTIES``); the force and the
office's name are required, the identity mode defaults to ``os`` and separation of duties
to on. After that only an admin changes them, one at a time and with a reason (``s55
office set``). Each recording is one signed ``office_set`` event whose payload carries the
new values (``settings``) and the ones they replace (``was``), mailed to every auditor
and the PCC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, make_url
from sqlalchemy.orm import Session

from states import Role
from states.words import when
from workflow.audit import trail
from workflow.audit.trail import Provenance
from workflow.audit.words import Action, Channel
from workflow.core.checks import check_line
from workflow.core.errors import ConfigError, InvalidInputError
from workflow.identity import office
from workflow.identity.office import (
    ALIASES,
    COMMAND_NAMES,
    FORCE,
    IDENTITY,
    INIT_COMMAND,
    MODES,
    NAMES,
    OFFICE,
    QUIET_DAYS,
    SEPARATION,
    SIGN_IN_DAYS,
    SIGN_IN_DAYS_RANGE,
)
from workflow.people import notices
from workflow.people.management import reason_given
from workflow.responses.service import require_role
from workflow.storage.db import Database
from workflow.storage.models import AuditEvent, OfficeSetting

if TYPE_CHECKING:
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow

#: The actor of the settings ``s55 init`` records (the account running it is in the event).
INIT_ACTOR = "s55-init"
_FLAGS = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}
#: What each setting is, in words for the people told of a change.
ABOUT = {FORCE: "the police force this office oversees", OFFICE: "the office's name",
         IDENTITY: "how s55 knows who is acting", SEPARATION: "separation of duties",
         ALIASES: "the other names HMICFRS's feed may give the force",
         QUIET_DAYS: "the working days after a request in which no reminder repeats it",
         SIGN_IN_DAYS: "how long a reader's sign-in link works"}
#: The most working days a reminder may wait after the mail that asked (two weeks).
MOST_QUIET_DAYS = 10
_VALUE_WORDS = {
    (IDENTITY, "os"): "each person's own computer account, which the operating system "
                      "proves",
    (IDENTITY, "claimed"): "the name typed with each command, taken on trust",
    (SEPARATION, True): "on: whoever submitted the force's comments may not sign off",
    (SEPARATION, False): "off: the person who submitted the force's comments may also "
                         "sign off",
}


def in_words(name: str, value: Any) -> str:
    """A setting's value as the people told of it read it."""
    if value is None:
        return "not set"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    if name in (QUIET_DAYS, SIGN_IN_DAYS):
        return f"{value} working day{'' if value == 1 else 's'}"
    return _VALUE_WORDS.get((name, value), str(value))


def parse(name: str, raw: str) -> tuple[str, Any]:
    """``s55 office set NAME VALUE`` as (stored name, value); ``InvalidInputError``."""
    by_command = {v: k for k, v in COMMAND_NAMES.items()}
    key = by_command.get(name.strip().lower())
    if key is None:
        raise InvalidInputError("office set", f"{name!r} is not a setting; settings: "
                                f"{', '.join(COMMAND_NAMES.values())}")
    value = raw.strip()
    if key == IDENTITY:
        if value not in MODES:
            raise InvalidInputError("identity", f"{raw!r} is not os or claimed")
        return key, value
    if key == SEPARATION:
        if value.lower() not in _FLAGS:
            raise InvalidInputError("separation-of-duties", f"{raw!r} is not on or off")
        return key, _FLAGS[value.lower()]
    if key == ALIASES:
        return key, aliases(raw)
    if key == QUIET_DAYS:
        return key, _working_days(raw, "reminder-quiet-days", 0, MOST_QUIET_DAYS)
    if key == SIGN_IN_DAYS:
        return key, _working_days(raw, "sign-in-link-days", SIGN_IN_DAYS_RANGE[0],
                                  SIGN_IN_DAYS_RANGE[-1])
    what = "--force" if key == FORCE else "--office"
    check_line(value, what)
    if not value:
        raise InvalidInputError(what, "is empty")
    return key, value


def aliases(raw: str) -> list[str]:
    """``force-aliases``: names separated by commas, each one line (empty: none)."""
    names: list[str] = []
    for name in raw.split(","):
        name = " ".join(check_line(name, "force-aliases").split())
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return names


def _working_days(raw: str, what: str, low: int, high: int) -> int:
    value = raw.strip()
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise InvalidInputError(what, f"{raw!r} is not a whole number of "
                                f"working days from {low} to {high}")
    return int(value)


def held(db: Database) -> dict[str, Any]:
    """The settings the database holds, read before ``s55 init`` upgrades it: none before
    its schema has them (and a SQLite file that does not exist is not made here)."""
    path = make_url(db.url).database
    if db.is_sqlite and path and path != ":memory:" and not Path(path).exists():
        return {}
    if not inspect(db.engine).has_table("office_setting"):
        return {}
    with db.read() as s:
        return office.stored(s)


def initial(settings: Settings, *, force: str | None, name: str | None,
            identity: str | None) -> dict[str, Any]:
    """What ``s55 init`` records on a database holding no settings: the flags, else the
    environment's; ``ConfigError`` naming what is missing (nothing is written)."""
    force = force if force is not None else settings.force
    name = name if name is not None else settings.opcc_name
    missing = [flag for flag, value in (("--force NAME (or S55_FORCE)", force),
                                        ("--office NAME (or S55_OPCC_NAME)", name))
               if not value or not value.strip()]
    if missing:
        raise ConfigError(f"s55 init needs {' and '.join(missing)}: the force this office "
                          "oversees and the office's name, as mail and documents show them")
    mode = identity if identity is not None else settings.identity or "os"
    sod = settings.separation_of_duties
    return {FORCE: parse("force", force or "")[1], OFFICE: parse("name", name or "")[1],
            IDENTITY: parse("identity", mode)[1], SEPARATION: True if sod is None else sod}


def check_agrees(values: dict[str, Any], *, force: str | None, name: str | None,
                 identity: str | None) -> None:
    """Refuse ``s55 init`` flags that differ from what the database holds: only an admin
    changes a recorded setting (``s55 office set``)."""
    for key, given in ((FORCE, force), (OFFICE, name), (IDENTITY, identity)):
        if given is not None and parse(COMMAND_NAMES[key], given)[1] != values.get(key):
            raise ConfigError(
                f"this database's {COMMAND_NAMES[key]} is {values.get(key)}: `s55 init` does "
                f"not change it; an admin does, with `s55 office set {COMMAND_NAMES[key]} "
                f"{json.dumps(given) if ' ' in given else given} --reason ...`")


def _write(s: Session, values: dict[str, Any], event: AuditEvent, at: datetime) -> None:
    for key, value in values.items():
        row = s.get(OfficeSetting, key)
        if row is None:
            s.add(OfficeSetting(name=key, value=json.dumps(value), event_id=event.id or 0,
                                changed_at=at))
        else:
            row.value, row.event_id, row.changed_at = json.dumps(value), event.id or 0, at
    s.flush()


def _tell(wf: Workflow, s: Session, event: AuditEvent, changes: dict[str, tuple[Any, Any]],
          by_name: str, reason: str | None) -> list[str]:
    """Mail the change to every auditor and the PCC, over the office's name as it now is
    (read from the values just written: this process's environment may ask for less than
    they now require, and is refused from its next transaction on, not in this one)."""
    people = notices.auditors(s) + notices.pccs(s)
    rows = [{"about": ABOUT[k], "was": in_words(k, old), "now": in_words(k, new)}
            for k, (old, new) in changes.items()]
    name = office.stored(s).get(OFFICE) or office.GENERIC_OFFICE
    return notices.tell(wf, s, event, "office_change",
                        {"changes": rows, "changed_by": by_name, "reason": reason},
                        notices.recipients(people), event.actor, office_name=name)


def record_initial(wf: Workflow, values: dict[str, Any]) -> bool:
    """Record ``values`` (``initial``) unless the database holds settings already (then
    only check the environment asks for nothing looser); whether they were recorded."""
    def work(s: Session) -> bool:
        if office.stored(s):
            office.in_force(s, wf.settings)
            return False
        now = wf.clock.now()
        by = Provenance.here(Channel.CLI)
        event = trail.append(s, at=now, actor=INIT_ACTOR, action=Action.OFFICE_SET,
                             payload={"settings": values, "was": {}}, by=by)
        _write(s, values, event, now)
        _tell(wf, s, event, {k: (None, v) for k, v in values.items()},
              f"s55's set-up, run by the computer account {by.account}", None)
        return True

    return wf.db.run(work)


@dataclass(frozen=True)
class Changed:
    """One setting changed: its command-line name, the old value and the new, in words
    as the command line writes them, and who was told."""

    name: str
    was: str
    now: str
    told: list[str]


def change(wf: Workflow, name: str, raw: str, actor: str | None,
           reason: str | None) -> Changed:
    """An admin changes one recorded setting, with a reason; audited and mailed."""
    key, value = parse(name, raw)
    why = reason_given(reason, "office set")

    def work(s: Session) -> Changed:
        acting = wf.acting(s, actor)
        require_role(acting.person, {Role.ADMIN}, "change the office's settings")
        office.in_force(s, wf.settings)  # an environment asking for less is refused first
        values = office.stored(s)
        if not values:
            raise ConfigError(f"this database holds no office settings yet: record them "
                              f"with `{INIT_COMMAND}`")
        old = values.get(key, office.DEFAULTS.get(key))
        if old == value:
            raise InvalidInputError("office set", f"{COMMAND_NAMES[key]} is already "
                                    f"{office.words(key, value)}")
        now = wf.clock.now()
        event = trail.append(s, at=now, actor=acting.email, action=Action.OFFICE_SET,
                             reason=why, payload={"settings": {key: value}, "was": {key: old}},
                             by=acting.by)
        _write(s, {key: value}, event, now)
        told = _tell(wf, s, event, {key: (old, value)}, acting.person.name, why)
        return Changed(COMMAND_NAMES[key], office.words(key, old), office.words(key, value),
                       told)

    return wf.db.run(work)


def show(wf: Workflow) -> list[dict[str, Any]]:
    """Each setting in force for this process: its value, and when and by whom the
    database's was set (none: the environment's, on a database not yet set up)."""
    def read(s: Session) -> list[dict[str, Any]]:
        now = office.in_force(s, wf.settings)
        rows = {r.name: r for r in s.query(OfficeSetting).all()}
        out = []
        for key in NAMES:
            row = rows.get(key)
            event = s.get(AuditEvent, row.event_id) if row else None
            out.append({"setting": COMMAND_NAMES[key],
                        "value": office.words(key, office.quiet_days(s) if key == QUIET_DAYS
                                              else getattr(now, _FIELD[key])),
                        "set_by": event.actor if event else None,
                        "default": row is None and key in office.DEFAULTS,
                        "set_at": when(row.changed_at) if row else None,
                        # No alias until an admin records one: none comes from the
                        # environment.
                        "recorded": row is not None or key == ALIASES})
        return out

    return wf.db.query(read)


_FIELD = {FORCE: "force", OFFICE: "name", IDENTITY: "identity",
          SEPARATION: "separation_of_duties", ALIASES: "aliases",
          SIGN_IN_DAYS: "sign_in_link_days"}
