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
class Snapshot:
    """The content of a response that guards look at."""

    pcc_response: str | None
    recommendations: Sequence[RecommendationView]


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


@dataclass(frozen=True)
class Guard:
    """A named precondition; ``problem(snapshot)`` is ``None`` when it holds."""

    name: str
    problem: Callable[[Snapshot], str | None]

    def __call__(self, snapshot: Snapshot) -> bool:
        return self.problem(snapshot) is None


def _numbers(recs: Sequence[RecommendationView]) -> str:
    return ", ".join(str(r.number) for r in recs)


def _pcc_response_problem(s: Snapshot) -> str | None:
    return "the PCC response is empty" if _blank(s.pcc_response) else None


def _force_answers_problem(s: Snapshot) -> str | None:
    missing = [r for r in s.recommendations if _blank(r.force_response)]
    if missing:
        return f"recommendation(s) {_numbers(missing)} have no response from the force"
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


has_pcc_response = Guard("has_pcc_response", _pcc_response_problem)
every_recommendation_answered_by_force = Guard(
    "every_recommendation_answered_by_force", _force_answers_problem
)
every_recommendation_explained = Guard("every_recommendation_explained", _explained_problem)
