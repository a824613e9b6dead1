"""Who signed a response off, read from its events (no database, no templates): for
``s55 show`` as much as for the rendered document."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def line(name: str, for_email: str | None, extra: dict[str, Any], at: datetime) -> str:
    """"Signed off by NAME [for PCC under delegation #N] on DATE, fingerprint HEX"."""
    who = name + (f" for {for_email} under delegation #{extra['delegation']}"
                  if extra.get("delegation") else "")
    return (f"Signed off by {who} on {format_date(at.astimezone(LONDON).date())}, "
            f"fingerprint {extra['fingerprint']}")


def signed(events: Sequence[Any]) -> dict[str, Any] | None:
    """Who signed the response off, when, for whom, and the fingerprint (None: never)."""
    event = last_sign_off(events)
    if event is None:
        return None
    payload = json.loads(event.payload)
    if "fingerprint" not in payload:
        return None
    return {"by": event.actor, "for": payload.get("for"), "delegation": payload.get("delegation"),
            "at": event.at.isoformat(), "fingerprint": payload["fingerprint"],
            "version": payload.get("signed_version"), "event": event.id,
            "line": line(event.actor, payload.get("for"), payload, event.at)}
