"""Guards: pure predicates over a snapshot of a response's content.

A guard never touches the database; the engine builds a ``Snapshot`` from the
loaded row and asks each guard of the transition. A failing guard's ``problem``
says, in words an officer understands, what must be done first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RecommendationView:
    number: int
    force_response: str | None
    pcc_note: str | None


@dataclass(frozen=True)
class AreaView:
    """An area for improvement: its number as published and the force's response."""

    number: int
    force_response: str | None


@dataclass(frozen=True)
class Snapshot:
    """The content of a response that guards look at.

    ``key_findings``, ``publication_types``, ``report_link`` and ``cc_response`` are what
    the published document prints under headings of their own (empty: a heading with
    nothing under it); ``response_id`` only names the response in the commands a refusal
    suggests.
    """

    pcc_response: str | None
    recommendations: Sequence[RecommendationView]
    areas: Sequence[AreaView] = ()
    key_findings: str | None = None
    publication_types: str | None = None
    report_link: str | None = None
    cc_response: str | None = None
    response_id: int = 0


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


@dataclass(frozen=True)
class Guard:
    """A named precondition; ``problem(snapshot)`` is ``None`` when it holds."""

    name: str
    problem: Callable[[Snapshot], str | None]

    def __call__(self, snapshot: Snapshot) -> bool:
        return self.problem(snapshot) is None


def _numbers(items: Sequence[RecommendationView] | Sequence[AreaView]) -> str:
    return ", ".join(str(r.number) for r in items)


def _pcc_response_problem(s: Snapshot) -> str | None:
    return "the PCC response is empty" if _blank(s.pcc_response) else None


def _force_answers_problem(s: Snapshot) -> str | None:
    missing = [r for r in s.recommendations if _blank(r.force_response)]
    if missing:
        return f"recommendation(s) {_numbers(missing)} have no response from the force"
    return None


def _area_answers_problem(s: Snapshot) -> str | None:
    # Areas for improvement are published with the force's response to each, as
    # recommendations are: the force answers every one before the PCC sees the response.
    missing = [a for a in s.areas if _blank(a.force_response)]
    if missing:
        return f"area(s) for improvement {_numbers(missing)} have no response from the force"
    return None


def _explained_problem(s: Snapshot) -> str | None:
    # s55(5B): for each recommendation the comments must explain the action taken or
    # proposed, or why none is taken. The force's response usually does; a PCC note
    # can supply the explanation where it does not.
    missing = [r for r in s.recommendations if _blank(r.force_response) and _blank(r.pcc_note)]
    if missing:
        return (
            f"recommendation(s) {_numbers(missing)} lack an explanation of the action taken "
            "or proposed, or of why none is taken (s55(5B))"
        )
    return None


def _empty_headings_problem(s: Snapshot) -> str | None:
    # The signed document is the published one: a heading it would print with nothing
    # under it is named, with the command that fills it (an admin's).
    rid = s.response_id or "ID"
    empty = [what for what, value in (
        (f"key findings (s55 edit {rid} key_findings --file FILE)", s.key_findings),
        (f"publication types (s55 report edit {rid} publication_types TYPES)",
         s.publication_types),
        (f"the report's link (s55 report edit {rid} link URL)", s.report_link),
    ) if _blank(value)]
    if _blank(s.cc_response) and not s.recommendations and not s.areas:
        # With answers to recommendations or areas, the Chief Constable's heading has them.
        empty.append(f"the Chief Constable's response (s55 edit {rid} cc_response --file FILE)")
    if empty:
        return "the document would print these headings empty: " + ", ".join(empty)
    return None


has_pcc_response = Guard("has_pcc_response", _pcc_response_problem)
every_recommendation_answered_by_force = Guard(
    "every_recommendation_answered_by_force", _force_answers_problem
)
every_area_answered_by_force = Guard("every_area_answered_by_force", _area_answers_problem)
every_recommendation_explained = Guard("every_recommendation_explained", _explained_problem)
no_empty_heading = Guard("no_empty_heading", _empty_headings_problem)
