"""The words of the state log: what an event did (``Action``), how it entered s55
(``Channel``) and how its actor is known (``Identity``). Standard library only, so the read
commands word the log without building the ORM classes; ``workflow.audit.trail`` writes
them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action", "Channel", "Identity"]


class Action(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    TRANSITION = "transition"
    DEADLINE_OVERRIDE = "deadline_override"
    IMPORTED = "imported"
    CHECKLIST = "checklist"  # an office-use box ticked (import of a published document)
    ESCALATION = "escalation"
    ESCALATION_SUPERSEDED = "escalation_superseded"
    MAIL_QUEUED = "mail_queued"
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    MAIL_DEAD = "mail_dead"
    MAIL_RETRY = "mail_retry"
    PERSON_ADDED = "person_added"
    CHECKPOINT = "checkpoint"  # the chain's head sent outside the database
    PERSON_CHANGED = "person_changed"  # name, email or login
    ROLES_CHANGED = "roles_changed"
    PERSON_DISABLED = "person_disabled"
    PERSON_ENABLED = "person_enabled"
    DELEGATED = "delegated"
    DELEGATION_REVOKED = "delegation_revoked"
    OFFICE_SET = "office_set"  # the office's settings recorded or changed (payload: new, was)
    CHANGE_ASKED = "change_asked"  # a change that waits for one person's confirmation
    CHANGE_DECLINED = "change_declined"  # ... which that person declined
    LINK_SENT = "link_sent"  # a fresh personal link, or a sign-in link, mailed on request
    SIGNED_IN = "signed_in"  # a reader signed in to the web pages with a sign-in link
    LINK_ISSUED = "link_issued"  # personal links mailed: whose, for what, until when
    FEED_DIGEST = "feed_digest"  # national reports in HMICFRS's feed listed to the admins


class Channel(StrEnum):
    """How an event entered s55."""

    CLI = "cli"
    SCHEDULER = "scheduler"
    DISPATCHER = "dispatcher"
    WEB = "web"


class Identity(StrEnum):
    """How the actor of an event is known."""

    OS = "os"  # the operating-system account running the command is the person's login
    CLAIMED = "claimed"  # taken on trust from --as / S55_ACTOR (identity mode claimed)
    SYSTEM = "system"  # s55's own scheduler or mail dispatcher, not a person
    LINK = "link"  # the person's own single-use link, mailed to their address (web)
