"""Errors a user can cause. The CLI prints ``Error: <message>`` and exits 1.

Kept in their own module so every other module can import them without loops
(as structlog's ``exceptions.py``). Each keeps its context in attributes and builds
its one-line message in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Iterable

from states.words import one_of, state_name, state_words, trigger_do, trigger_done


class S55Error(Exception):
    """Root of every error a user can cause; the CLI prints it and exits 1.

    The message is plain words, for any face (a web page shows it as well). What to type
    at the command line to get past it, if anything, is ``cli_hint``: the CLI alone adds it.
    """

    cli_hint: str = ""


class InvalidInputError(S55Error, ValueError):
    """A value the user gave is malformed or impossible."""

    def __init__(self, what: str, problem: str) -> None:
        self.what, self.problem = what, problem
        super().__init__(f"{what}: {problem}")


class NumberError(S55Error):
    """An id or number on the command line that is not a whole number in ASCII digits, or
    is outside the range it may take.

    Not a ``ValueError``: raised inside Typer's (Pydantic) parsing of an argument, it must
    reach the CLI's error boundary as itself, not become a usage error.
    """

    def __init__(self, what: str, problem: str) -> None:
        self.what, self.problem = what, problem
        super().__init__(f"{what}: {problem}")


class NotFoundError(S55Error, LookupError):
    """A response, person, report or message does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"no {kind} {key}")


class DuplicateError(S55Error):
    """Something that must be unique already exists."""

    def __init__(self, kind: str, key: object, where: str = "") -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key} already exists{(' ' + where) if where else ''}")


class RecommendationDateError(S55Error):
    """A recommendation's text states a due date that cannot be read, or that the due date
    given with it contradicts.

    Not a ``ValueError``: raised inside input validation, it reaches the user as itself,
    naming the recommendation by its published number (not its place in a list).
    """

    def __init__(self, number: int, problem: str) -> None:
        self.number, self.problem = number, problem
        super().__init__(f"recommendation {number}: {problem}")


class DuplicateResponseError(DuplicateError):
    """The force already has a response to this report (same title and date, or link)."""

    def __init__(self, response_id: int, force: str, state: str, title: str,
                 published_on: object, same_link: str | None = None, *,
                 hint: str = "to register another, give --again --reason WHY") -> None:
        self.kind, self.key = "response", response_id
        self.response_id, self.force = response_id, force
        link = f" at the same link {same_link}" if same_link else ""
        now = state_name(state).lower()  # "draft", "pcc sign-off": never the stored id
        S55Error.__init__(self, f"{force} already has response {response_id} ({now}) to "
                          f"{title!r} (published {published_on}){link}; {hint}")


def _what(what: str) -> str:
    """``the report's title`` -> ``The report's title``: what opens a sentence."""
    return what[:1].upper() + what[1:]


def _allowed(allowed: Iterable[str]) -> str:
    return ", ".join(allowed) or "none"


class TriggerNotAllowedError(S55Error):
    """The trigger does not start from the response's current state."""

    def __init__(self, response_id: int, trigger: str, state: str, allowed: list[str]) -> None:
        self.response_id, self.trigger, self.state, self.allowed = (
            response_id,
            trigger,
            state,
            allowed,
        )
        now = (f"; now it can be {one_of([trigger_done(t) for t in allowed])}"
               if allowed else "")
        super().__init__(f"Response {response_id} cannot be {trigger_done(trigger)}: it is "
                         f"{state_words(state)}{now}")


class UnknownTriggerError(S55Error):
    def __init__(self, trigger: str, known: Iterable[str]) -> None:
        self.trigger = trigger
        super().__init__(f"unknown trigger {trigger!r}; triggers: {_allowed(known)}")


class RoleError(S55Error, PermissionError):
    """The acting person lacks every role the action needs."""

    def __init__(self, actor: str, action: str, needed: Iterable[str], held: Iterable[str]) -> None:
        self.actor, self.action = actor, action
        self.needed, self.held = sorted(needed), sorted(held)
        super().__init__(
            f"{actor} may not {action}: needs role {' or '.join(self.needed)}, "
            f"holds {_allowed(self.held)}"
        )


class GuardError(S55Error):
    """Content that must exist before the trigger is missing."""

    def __init__(self, response_id: int, trigger: str, state: str, problems: list[str]) -> None:
        self.response_id, self.trigger, self.state, self.problems = (
            response_id,
            trigger,
            state,
            problems,
        )
        super().__init__(f"Response {response_id} cannot be {trigger_done(trigger)} yet: "
                         f"{'; '.join(problems)}")


class MissingReasonError(S55Error):
    def __init__(self, action: str, response_id: int) -> None:
        self.action, self.response_id = action, response_id
        self.cli_hint = "--reason"
        super().__init__(f"Response {response_id} cannot be {trigger_done(action)} without a "
                         "reason")


class StaleVersionError(S55Error):
    """Optimistic lock: the row changed between loading it and writing it."""

    def __init__(self, response_id: int, expected: int, actual: int | None) -> None:
        self.response_id, self.expected, self.actual = response_id, expected, actual
        now = f"now version {actual}" if actual is not None else "now changed"
        super().__init__(
            f"response {response_id} changed since loaded (loaded version {expected}, {now}); "
            "reload it and try again"
        )


class NotEditableError(S55Error):
    """Content of a signed-off response would change; names the way back where there is
    one (before publication: withdraw the sign-off with ``reopen``, edit, sign again)."""

    def __init__(self, response_id: int, state: str, what: str) -> None:
        self.response_id, self.state = response_id, state
        if state == "forwarded_to_panel":
            self.cli_hint = f"s55 reopen {response_id} --reason WHY"
        why = {"forwarded_to_panel": "it was signed off; to change it, reopen the response "
                                     "giving a reason, then edit it and sign it off again",
               "not_required": "the response was closed as not required"}.get(
            state, "it was signed off and published, and a published response does not "
                   "change")
        super().__init__(f"{_what(what)} of response {response_id} cannot be edited: "
                         f"{why}")


class ConfigError(S55Error):
    """Settings are missing or contradictory."""


class DatabaseError(S55Error):
    """The database cannot be reached or is not at the expected schema."""


class IdentityError(S55Error, PermissionError):
    """Who is acting cannot be established, or may not act as they asked."""

    @classmethod
    def not_you(cls, claimed: str, email: str | None, account: str) -> IdentityError:
        """``--as claimed`` under the ``os`` identity mode, where the process's account
        ``account`` is the login of the person with ``email`` (None: of nobody)."""
        you = f"{email}, account {account}" if email else (
            f"account {account}, which is nobody in s55")
        return cls(f"--as {claimed} refused: under identity mode os you act as yourself "
                   f"({you}); an admin acting for someone else uses --on-behalf-of EMAIL "
                   "--reason ...")


class SeparationOfDutiesError(S55Error, PermissionError):
    """One person would do two steps that must be done by different people."""

    def __init__(self, actor: str, trigger: str, response_id: int, earlier: str) -> None:
        self.actor, self.trigger, self.response_id = actor, trigger, response_id
        super().__init__(f"{actor} may not {trigger_do(trigger, f'response {response_id}')}: they "
                         f"{earlier} "
                         "(separation of duties; only an admin turns it off, with `s55 office "
                         "set separation-of-duties off --reason ...`)")


class LooserThanRecordedError(ConfigError):
    """This process's environment asks for a looser check than the database records (an
    identity taken on trust where the database says ``os``, separation of duties off where
    it says on): refused, since only the database decides, and only an admin changes it."""

    def __init__(self, variable: str, asked: str, recorded: str, command: str) -> None:
        self.variable, self.asked, self.recorded = variable, asked, recorded
        super().__init__(f"{variable}={asked} asks for a looser check than this database "
                         f"records ({recorded}): unset {variable}; only an admin changes the "
                         f"database's, with `{command}`")


class ResponseClosedError(S55Error):
    """A change that only an open response allows (``s55 report edit``)."""

    def __init__(self, response_id: int, state: str, what: str) -> None:
        self.response_id, self.state = response_id, state
        super().__init__(f"{_what(what)} of response {response_id} cannot be edited: it "
                         f"is {state_words(state)}")
