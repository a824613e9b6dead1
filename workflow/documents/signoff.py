"""Who signed a response off, read from its events (no database, no templates): for
``s55 show`` as much as for the rendered document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from workflow.core.clock import LONDON
from workflow.core.dates import format_date


class _Event(Protocol):
    """An audit event: the model or a Core row with its columns."""

    @property
    def action(self) -> str: ...
    @property
    def trigger(self) -> str | None: ...


E = TypeVar("E", bound=_Event)


def last_sign_off(events: Sequence[E]) -> E | None:
    """The sign-off that stands: the last one, unless the response was reopened since
    (its signature withdrawn: None until it is signed off again)."""
    moves = [e for e in events if e.action == "transition" and e.trigger in ("sign_off",
                                                                             "reopen")]
    return moves[-1] if moves and moves[-1].trigger == "sign_off" else None


def line(name: str, for_name: str | None, extra: dict[str, Any], at: datetime) -> str:
    """"Signed off by NAME, Police and Crime Commissioner, on DATE, fingerprint HEX", or
    "Signed off by NAME, Deputy PCC, for PCC'S NAME under delegation #N, on DATE, ..." for
    a deputy: people by their names and roles, never by their addresses."""
    who = (f"{name}, Deputy PCC, for {for_name or 'the Police and Crime Commissioner'} under "
           f"delegation #{extra['delegation']}" if extra.get("delegation")
           else f"{name}, Police and Crime Commissioner")
    return (f"Signed off by {who}, on {format_date(at.astimezone(LONDON).date())}, "
            f"fingerprint {extra['fingerprint']}")


def signed(events: Sequence[Any], names: Mapping[str, str] | None = None
           ) -> dict[str, Any] | None:
    """Who signed the response off, when, for whom, and the fingerprint (None: never).

    The names are those the sign-off recorded; a sign-off recorded before names were kept
    takes them from ``names`` (email: name), the address only when nobody is named."""
    event = last_sign_off(events)
    if event is None:
        return None
    payload = json.loads(event.payload)
    if "fingerprint" not in payload:
        return None
    names = names or {}
    by_name = payload.get("signer_name") or names.get(event.actor, event.actor)
    for_email = payload.get("for")
    for_name = payload.get("for_name") or (names.get(for_email, for_email) if for_email
                                           else None)
    return {"by": event.actor, "for": for_email, "delegation": payload.get("delegation"),
            "by_name": by_name, "for_name": for_name,
            "at": event.at.isoformat(), "fingerprint": payload["fingerprint"],
            "version": payload.get("signed_version"), "event": event.id,
            "line": line(by_name, for_name, payload, event.at)}
