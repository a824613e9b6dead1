"""How s55 says dates, days and its own states and triggers to people: one wording for the
web pages, the mail, the command line's prose and the auditor's report.

Dates are written as OPCC documents write them ("6 January 2027"); instants in London time
to the minute ("8 December 2026 at 14:05"). Days against a deadline read the same
everywhere: "due in 12 days", "due today", "3 days overdue" while a response is open;
"published 30 days early", "published on the deadline", "published 3 days late" once it is
out. A state or trigger identifier (``pcc_signoff``, ``submit_force_input``) is for the
machine-readable outputs; prose uses the words here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def long_date(d: date) -> str:
    """``6 January 2027`` (no leading zero, no weekday)."""
    return f"{d.day} {d:%B %Y}"


def when(instant: datetime | str | None) -> str:
    """An instant as people in England read it: ``8 December 2026 at 14:05`` in London time
    (a naive value is taken as UTC, as the database stores it); ISO text is read first;
    ``-`` for none."""
    if instant is None or instant == "":
        return "-"
    if isinstance(instant, str):
        try:
            instant = datetime.fromisoformat(instant)
        except ValueError:
            return str(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=ZoneInfo("UTC"))
    local = instant.astimezone(LONDON)
    return f"{long_date(local.date())} at {local:%H:%M}"


def days(n: int) -> str:
    """``1 day``, ``3 days``."""
    return f"{n} day{'' if n == 1 else 's'}"


def due_words(deadline: date, today: date) -> str:
    """An open date as seen on ``today``: ``due in 12 days``, ``due tomorrow``,
    ``due today``, ``1 day overdue``."""
    return due_in((deadline - today).days)


def due_in(left: int) -> str:
    """``due_words`` for ``left`` days to go (negative once the date has passed)."""
    if left > 1:
        return f"due in {days(left)}"
    if left == 1:
        return "due tomorrow"
    if left == 0:
        return "due today"
    return f"{days(-left)} overdue"


def published_words(deadline: date, published_on: date | None) -> str:
    """A publication against its deadline: ``published 30 days early``, ``published on the
    deadline``, ``published 3 days late`` (``published (date not known)`` without a day)."""
    if published_on is None:
        return "published (date not known)"
    return published_margin((deadline - published_on).days)


def published_margin(margin: int) -> str:
    """``published_words`` for a publication ``margin`` days before the deadline
    (negative: after it)."""
    if margin > 0:
        return f"published {days(margin)} early"
    if margin == 0:
        return "published on the deadline"
    return f"published {days(-margin)} late"


#: What a response is doing in each state, to end "it is ..." (errors, pages, mail).
STATE_WORDS: dict[str, str] = {
    "draft": "being drafted by the OPCC",
    "force_input": "waiting for the force's comments",
    "pcc_signoff": "waiting for the PCC's sign-off",
    "forwarded_to_panel": "signed off and with the Police and Crime Panel, waiting to be "
                          "published",
    "published": "published",
    "portal_submitted": "published and recorded on the HMICFRS Monitoring Portal",
    "not_required": "closed as not required",
}

#: A state's short name, for a table's column or a heading.
STATE_NAMES: dict[str, str] = {
    "draft": "Draft",
    "force_input": "Force's comments",
    "pcc_signoff": "PCC sign-off",
    "forwarded_to_panel": "With the panel",
    "published": "Published",
    "portal_submitted": "On the portal",
    "not_required": "Not required",
}

#: What each trigger does to a response, to follow "Response 1 cannot be ...".
TRIGGER_DONE: dict[str, str] = {
    "request_force_input": "sent to the force for its comments",
    "submit_force_input": "submitted with the force's comments",
    "sign_off": "signed off",
    "publish": "recorded as published",
    "submit_to_portal": "recorded as submitted on the portal",
    "return_to_force": "returned to the force",
    "return_to_draft": "returned to draft",
    "reopen": "reopened",
    "mark_not_required": "closed as not required",
    "deadline_override": "given a deadline other than the statutory one",
}

#: What each trigger asks a person to do to a response (``{}``), to follow "may not ...".
TRIGGER_DO: dict[str, str] = {
    "request_force_input": "ask the force for its comments on {}",
    "submit_force_input": "submit the force's comments on {}",
    "sign_off": "sign off {}",
    "publish": "record the publication of {}",
    "submit_to_portal": "record the portal submission of {}",
    "return_to_force": "return {} to the force",
    "return_to_draft": "return {} to draft",
    "reopen": "reopen {}",
    "mark_not_required": "close {} as not required",
}

#: The parts of a response a person writes, as they know them.
FIELD_WORDS: dict[str, str] = {
    "key_findings": "the key findings",
    "cc_response": "the Chief Constable's comments",
    "pcc_response": "the PCC's response",
    "force_response": "the force's response to a recommendation",
    "pcc_note": "the PCC's s55(5B) note on a recommendation",
    "afi_statement": "the statement on areas for improvement",
}

#: What each trigger did, for a line of a response's history ("Signed off by ...").
TRIGGER_PAST: dict[str, str] = {
    "request_force_input": "Sent to the force for comments",
    "submit_force_input": "Force's comments submitted",
    "sign_off": "Signed off",
    "publish": "Published",
    "submit_to_portal": "Recorded on the portal",
    "return_to_force": "Returned to the force",
    "return_to_draft": "Returned to draft",
    "reopen": "Reopened",
    "mark_not_required": "Closed as not required",
}

def state_words(state: str | None) -> str:
    """``waiting for the PCC's sign-off``; an unknown value with its underscores spaced."""
    return STATE_WORDS.get(str(state), str(state or "gone").replace("_", " "))


def state_name(state: str | None) -> str:
    """``PCC sign-off``: a state's short name."""
    return STATE_NAMES.get(str(state), str(state or "").replace("_", " ").capitalize())


def trigger_done(trigger: str) -> str:
    """``signed off``: what ``trigger`` does to a response."""
    return TRIGGER_DONE.get(trigger, trigger.replace("_", " "))


def trigger_do(trigger: str, what: str = "it") -> str:
    """``return response 1 to the force``: what ``trigger`` asks a person to do to
    ``what`` (``edit the PCC's response`` for a field's name)."""
    if trigger in FIELD_WORDS:
        return f"edit {FIELD_WORDS[trigger]}"
    return TRIGGER_DO.get(trigger, trigger.replace("_", " ") + " {}").format(what)


def field_words(field: str) -> str:
    """``the PCC's response``: a field of a response, as its writer knows it."""
    return FIELD_WORDS.get(field, field.replace("_", " "))


def trigger_past(trigger: str) -> str:
    """``Signed off``: what ``trigger`` did, for a history line."""
    return TRIGGER_PAST.get(trigger, trigger.replace("_", " ").capitalize())


def one_of(items: list[str], joiner: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"
