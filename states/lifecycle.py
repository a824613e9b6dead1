"""The Section 55 response lifecycle as data: states, roles and the transition table.

This module is declarations only (no I/O, no clock, no database). The same
``State`` enum feeds the database column, the ``transitions`` machine and the
diagram, so there is one source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from states.guards import (
    Guard,
    every_area_answered_by_force,
    every_recommendation_answered_by_force,
    every_recommendation_explained,
    has_pcc_response,
    no_empty_heading,
)


class State(StrEnum):
    """Where a response is; the values are what the database stores."""

    DRAFT = "draft"
    FORCE_INPUT = "force_input"
    PCC_SIGNOFF = "pcc_signoff"
    FORWARDED_TO_PANEL = "forwarded_to_panel"
    PUBLISHED = "published"
    PORTAL_SUBMITTED = "portal_submitted"
    # Not one of the six working states: HMICFRS guidance lets an OPCC close a
    # response that is not required (a duplicate national report, a report not
    # about the force). It is final and reachable only from draft, with a reason.
    NOT_REQUIRED = "not_required"


class Role(StrEnum):
    """What a person may do; a person holds one or more roles."""

    ADMIN = "admin"
    FORCE = "force"
    PCC = "pcc"
    CHIEF_EXECUTIVE = "chief_executive"
    PANEL = "panel"
    AUDITOR = "auditor"


#: Who the response is waiting on in each state (shown by ``s55 list``/``show``).
WAITING_ON: dict[State, str] = {
    State.DRAFT: "OPCC (drafting)",
    State.FORCE_INPUT: "force liaison",
    State.PCC_SIGNOFF: "PCC",
    State.FORWARDED_TO_PANEL: "OPCC (publish)",
    State.PUBLISHED: "OPCC (portal)",
    State.PORTAL_SUBMITTED: "nobody (done)",
    State.NOT_REQUIRED: "nobody (closed)",
}

#: States in which nothing more can happen.
FINAL: frozenset[State] = frozenset({State.PORTAL_SUBMITTED, State.NOT_REQUIRED})

#: States in which the statutory act (publication) has happened.
PUBLISHED_STATES: frozenset[State] = frozenset({State.PUBLISHED, State.PORTAL_SUBMITTED})

#: States whose content (PCC response, force input) may still be edited. Once the
#: PCC has signed off, the text that went to the panel is what gets published.
EDITABLE: frozenset[State] = frozenset({State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF})


class Param(StrEnum):
    """Values a trigger takes besides the reason."""

    FORCE_INPUT_DUE = "force_input_due"  # s55(4): the date the force must comment by
    URL = "url"  # where the response is published
    PUBLISHED_ON = "published_on"  # the day it went up (defaults to today)
    PORTAL_REFERENCE = "portal_reference"  # HMICFRS Monitoring Portal reference


@dataclass(frozen=True)
class TransitionSpec:
    """One row of the lifecycle table."""

    trigger: str
    sources: tuple[State, ...]
    dest: State
    roles: frozenset[Role]
    summary: str
    guards: tuple[Guard, ...] = ()
    needs_reason: bool = False
    required: tuple[Param, ...] = ()
    optional: tuple[Param, ...] = field(default=())

    @property
    def is_send_back(self) -> bool:
        """A way back that needs a reason (a send-back or reopening), not a closure."""
        return self.needs_reason and self.dest is not State.NOT_REQUIRED


_OPCC = frozenset({Role.ADMIN})

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec(
        "request_force_input",
        (State.DRAFT,),
        State.FORCE_INPUT,
        _OPCC,
        "ask the Chief Constable for the force's comments (s55(4))",
        optional=(Param.FORCE_INPUT_DUE,),
    ),
    TransitionSpec(
        "submit_force_input",
        (State.FORCE_INPUT,),
        State.PCC_SIGNOFF,
        frozenset({Role.FORCE, Role.ADMIN}),
        "record the force's comments and pass the response to the PCC",
        guards=(every_recommendation_answered_by_force, every_area_answered_by_force),
    ),
    TransitionSpec(
        "sign_off",
        (State.PCC_SIGNOFF,),
        State.FORWARDED_TO_PANEL,
        frozenset({Role.PCC}),
        "PCC signs off; the response goes to the Police and Crime Panel and Chief Constable",
        guards=(has_pcc_response, every_recommendation_explained, no_empty_heading),
    ),
    TransitionSpec(
        "publish",
        (State.FORWARDED_TO_PANEL,),
        State.PUBLISHED,
        _OPCC,
        "record publication on the OPCC website (s55(5A)); copies to HMICFRS and the "
        "Home Office (s55(6))",
        required=(Param.URL,),
        optional=(Param.PUBLISHED_ON,),
    ),
    TransitionSpec(
        "submit_to_portal",
        (State.PUBLISHED,),
        State.PORTAL_SUBMITTED,
        _OPCC,
        "record submission on the HMICFRS Monitoring Portal",
        required=(Param.PORTAL_REFERENCE,),
    ),
    TransitionSpec(
        "return_to_force",
        (State.PCC_SIGNOFF,),
        State.FORCE_INPUT,
        frozenset({Role.PCC, Role.ADMIN}),
        "send the response back to the force for more input",
        needs_reason=True,
        optional=(Param.FORCE_INPUT_DUE,),
    ),
    TransitionSpec(
        "return_to_draft",
        (State.FORCE_INPUT, State.PCC_SIGNOFF),
        State.DRAFT,
        frozenset({Role.PCC, Role.ADMIN}),
        "send the response back to the OPCC for redrafting",
        needs_reason=True,
    ),
    TransitionSpec(
        # Nothing edits a signed response in place: the way back, before publication, is
        # to withdraw the signature; the text is then edited and signed again.
        "reopen",
        (State.FORWARDED_TO_PANEL,),
        State.PCC_SIGNOFF,
        frozenset({Role.PCC, Role.ADMIN}),
        "withdraw the signed-off response before publication, so that its text can be "
        "changed and signed off again",
        needs_reason=True,
    ),
    TransitionSpec(
        "mark_not_required",
        (State.DRAFT,),
        State.NOT_REQUIRED,
        _OPCC,
        "close the response as not required (e.g. a national report duplicated by a "
        "force-specific one)",
        needs_reason=True,
    ),
)

BY_TRIGGER: dict[str, TransitionSpec] = {t.trigger: t for t in TRANSITIONS}

#: Triggers in the order an officer meets them.
TRIGGERS: tuple[str, ...] = tuple(BY_TRIGGER)


def triggers_from(state: State) -> list[TransitionSpec]:
    """Every transition whose source includes ``state``, in table order."""
    return [t for t in TRANSITIONS if state in t.sources]


def allowed_triggers(state: State, roles: Iterable[str] | None, *, active: bool = True,
                     ) -> list[str]:
    """Triggers that start from ``state`` and that someone holding ``roles`` may fire
    (``roles`` None: nobody in particular, so every trigger from ``state``; an inactive
    person may fire none)."""
    if not active:
        return []
    held = set(Role) if roles is None else {Role(r) for r in roles}
    return [t.trigger for t in triggers_from(state) if t.roles & held]


#: Who may fire a trigger in each state (from the table above): the people who can act.
ACTORS: dict[State, frozenset[Role]] = {
    s: frozenset(r for t in triggers_from(s) for r in t.roles) for s in State}

#: Roles that answer for the duty or scrutinise it rather than do a step of it: the PCC
#: (the local policing body holds the s55 duty), the chief executive (answers for the
#: office), the panel and auditors. Told of an escalation in whatever state the response
#: is; the others (the OPCC's admins, the force liaison) only where they can act.
OVERSIGHT: frozenset[Role] = frozenset({Role.PCC, Role.CHIEF_EXECUTIVE, Role.PANEL,
                                        Role.AUDITOR})


def can_be_told(role: Role, state: State) -> bool:
    """Whether an escalation about a response in ``state`` is for ``role``: it can act
    there, or it oversees the duty. (The force liaison hears nothing of a draft it was
    never sent.)"""
    return role in OVERSIGHT or role in ACTORS[state]
