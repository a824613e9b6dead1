"""A superseded escalation's line in ``s55 log`` names the rule that was superseded and the
one sent instead, by id and by the policy's own summary."""

from __future__ import annotations

from workflow.audit.words import Action
from workflow.reads.detail import describe


def test_superseded_names_both_rules() -> None:
    payload = {"rule": "F-1", "summary": "Force comments outstanding", "occurrence": 0,
               "due_on": "2026-12-09", "by": "S-1", "by_summary": "Not signed off",
               "by_occurrence": 0, "state": "force_input"}
    assert describe(Action.ESCALATION_SUPERSEDED, payload) == (
        'F-1 "Force comments outstanding" (due 2026-12-09) superseded by S-1 '
        '"Not signed off", sent instead')


def test_an_older_event_without_summaries_still_names_the_rules() -> None:
    payload = {"rule": "F-1", "due_on": "2026-12-09", "by": "S-1"}
    assert describe(Action.ESCALATION_SUPERSEDED, payload) == (
        "F-1 (due 2026-12-09) superseded by S-1, sent instead")


def test_a_fired_escalation_names_its_rule() -> None:
    payload = {"rule": "S-1", "summary": "Not signed off", "due_on": "2026-12-09"}
    assert describe(Action.ESCALATION, payload) == 'S-1 "Not signed off" (due 2026-12-09)'
