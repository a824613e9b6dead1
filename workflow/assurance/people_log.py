"""People and their powers as the log says they are, against the rows.

Who may act (a person's roles, address, login, whether they are enabled) and who may sign
off in the PCC's place (delegations) decide what every later event means, so the rows are
held to the signed events exactly as responses are: ``People`` is fed the events in log
order and rebuilds each person and each delegation; ``differences`` names every row that
disagrees, with the row's value and the log's. An ``UPDATE person SET roles = ...``, an
address or login changed by SQL, a delegation inserted by SQL: each is named.

Events name a person by their address at the time, and their address changes only
through a ``person_changed`` event, so the replay follows each person from address to
address. A person added since events recorded the row's id (``"id"`` in ``person_added``)
is matched to their row by it; one added before, by their address now. Nothing older is
guessed: events that do not say a value (the login, before logins existed) leave the
row's value as the log's (none).

A new kind of people event is one method of ``People`` and one line in ``HANDLERS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.assurance.difference import Difference
from workflow.storage.tables import DELEGATION, PERSON

_PERSON: Any = PERSON
_DELEGATION: Any = DELEGATION
PERSON_FIELDS = ("name", "email", "login", "roles", "active", "created_at")
DELEGATION_FIELDS = ("pcc_id", "deputy_id", "starts_on", "ends_on", "reason", "created_at",
                     "revoked_at", "revoke_reason")


@dataclass(frozen=True)
class Event:
    """What a people event says: its id, moment, actor, reason and payload."""

    id: int
    at: datetime
    actor: str
    reason: str | None
    payload: dict[str, Any]


@dataclass
class PersonImage:
    """One person as the events say: ``id`` when the event that added them recorded it."""

    added_by: int
    id: int | None
    name: str
    email: str
    login: str | None
    roles: list[str]
    created_at: datetime
    active: bool = True


@dataclass
class DelegationImage:
    id: int
    created_by: int
    pcc: PersonImage | None
    deputy: PersonImage | None
    starts_on: date
    ends_on: date
    reason: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


def moment(value: Any) -> datetime:
    """An event's ``at`` from a raw row: SQLite's naive UTC text, or an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    when: datetime = value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class People:
    """Every person and delegation the log names, rebuilt from their events in order."""

    people: list[PersonImage] = field(default_factory=list)
    by_email: dict[str, PersonImage] = field(default_factory=dict)
    delegations: dict[int, DelegationImage] = field(default_factory=dict)

    def row(self, row: Any) -> None:
        """One raw ``trail._VERIFY_SQL`` row (id 0, at 4, actor 5, action 6, reason 10,
        payload 11) of an action in ``HANDLERS``."""
        HANDLERS[row[6]](self, Event(row[0], moment(row[4]), row[5], row[10],
                                     json.loads(row[11] or "{}")))

    def _person(self, email: Any) -> PersonImage | None:
        return self.by_email.get(str(email or "").lower())

    # -- one handler per action ----------------------------------------------------------

    def added(self, e: Event) -> None:
        p = e.payload
        image = PersonImage(e.id, p.get("id"), p.get("name", ""), p.get("person", ""),
                            p.get("login"), list(p.get("roles") or []), e.at)
        self.people.append(image)
        self.by_email[image.email] = image

    def changed(self, e: Event) -> None:
        changes = e.payload.get("changes", {})
        old = changes.get("email", [e.payload.get("person")])[0]
        image = self._person(old)
        if image is None:
            return
        if "name" in changes:
            image.name = changes["name"][1]
        if "login" in changes:
            image.login = changes["login"][1]
        if "email" in changes:
            self.by_email.pop(image.email, None)
            image.email = changes["email"][1]
            self.by_email[image.email] = image

    def roles(self, e: Event) -> None:
        image = self._person(e.payload.get("person"))
        if image is not None:
            image.roles = list(e.payload.get("roles") or [])

    def disabled(self, e: Event) -> None:
        image = self._person(e.payload.get("person"))
        if image is not None:
            image.active = False

    def enabled(self, e: Event) -> None:
        image = self._person(e.payload.get("person"))
        if image is not None:
            image.active = True

    def delegated(self, e: Event) -> None:
        p = e.payload
        self.delegations[int(p["delegation"])] = DelegationImage(
            int(p["delegation"]), e.id, self._person(p.get("pcc")), self._person(p.get("deputy")),
            date.fromisoformat(p["from"]), date.fromisoformat(p["until"]), e.reason, e.at)

    def revoked(self, e: Event) -> None:
        image = self.delegations.get(int(e.payload.get("delegation", 0)))
        if image is not None:
            image.revoked_at, image.revoke_reason = e.at, e.reason


HANDLERS: dict[str, Callable[[People, Event], None]] = {
    "person_added": People.added, "person_changed": People.changed,
    "roles_changed": People.roles, "person_disabled": People.disabled,
    "person_enabled": People.enabled, "delegated": People.delegated,
    "delegation_revoked": People.revoked,
}


def _person_values(image: PersonImage) -> dict[str, Any]:
    return {"name": image.name, "email": image.email, "login": image.login,
            "roles": sorted(image.roles), "active": image.active,
            "created_at": image.created_at}


def _pair(done: People, rows: dict[int, Any]) -> dict[int, PersonImage]:
    """Each person row's image: by the id the adding event recorded, else by address."""
    paired: dict[int, PersonImage] = {}
    for image in done.people:
        if image.id is not None and image.id in rows:
            paired[image.id] = image
    taken = {id(i) for i in paired.values()}
    by_email = {r.email: pid for pid, r in rows.items() if pid not in paired}
    for image in done.people:
        pid = by_email.get(image.email)
        if image.id is None and id(image) not in taken and pid is not None:
            paired[pid] = image
            taken.add(id(image))
    return paired


def differences(session: Session, done: People) -> list[Difference]:
    """Every person and delegation row against ``done`` (the whole log fed to it)."""
    rows = {r.id: r for r in session.execute(select(_PERSON).order_by(_PERSON.c.id))}
    paired = _pair(done, rows)
    found = list(_people(rows, paired))
    taken = {id(i) for i in paired.values()}
    found += [Difference.of(f"person {image.email}", "row", None,
                      f"added by event #{image.added_by}")
              for image in done.people if id(image) not in taken]
    ids = {id(image): pid for pid, image in paired.items()}
    found += _delegations(session, done, ids)
    return found


def _people(rows: dict[int, Any], paired: dict[int, PersonImage]) -> Iterator[Difference]:
    for pid, row in rows.items():
        subject = f"person {pid} ({row.email})"
        image = paired.get(pid)
        if image is None:
            yield Difference.of(subject, "events", "a row exists", "no event added this person")
            continue
        have = {"name": row.name, "email": row.email, "login": row.login,
                "roles": sorted(row.roles or []), "active": bool(row.active),
                "created_at": row.created_at}
        want = _person_values(image)
        for name in PERSON_FIELDS:
            if have[name] != want[name]:
                yield Difference.of(subject, name, have[name], want[name])


def _delegations(session: Session, done: People, ids: dict[int, int]) -> Iterator[Difference]:
    rows = {r.id: r for r in session.execute(select(_DELEGATION).order_by(_DELEGATION.c.id))}
    for did in sorted(set(rows) | set(done.delegations)):
        row, image = rows.get(did), done.delegations.get(did)
        subject = f"delegation {did}"
        if image is None:
            yield Difference.of(subject, "events", "a row exists", "no event delegated this")
            continue
        if row is None:
            yield Difference.of(subject, "row", None, f"delegated by event #{image.created_by}")
            continue
        want = {"pcc_id": ids.get(id(image.pcc)) if image.pcc else None,
                "deputy_id": ids.get(id(image.deputy)) if image.deputy else None,
                "starts_on": image.starts_on, "ends_on": image.ends_on, "reason": image.reason,
                "created_at": image.created_at, "revoked_at": image.revoked_at,
                "revoke_reason": image.revoke_reason}
        for name in DELEGATION_FIELDS:
            if getattr(row, name) != want[name]:
                yield Difference.of(subject, name, getattr(row, name), want[name])
