"""The lifecycle table and the machine built from it (pure)."""

from __future__ import annotations

import pytest

from states import BY_TRIGGER, FINAL, TRANSITIONS, TRIGGERS, State
from states.guards import RecommendationView, Snapshot
from states.machine import dot, fire, machine, mermaid

#: Every guard satisfied: what the document prints under each heading is there.
DOCUMENT = {"key_findings": "Findings.", "publication_types": "PEEL",
            "report_link": "https://www.justiceinspectorates.gov.uk/hmicfrs/"}
COMPLETE = Snapshot(pcc_response="The PCC's comments.",
                    recommendations=[RecommendationView(1, "force says", None)], **DOCUMENT)
PAIRS = [(t, s) for t in TRIGGERS for s in State]


@pytest.mark.parametrize(("trigger", "state"), PAIRS, ids=[f"{t}-{s}" for t, s in PAIRS])
def test_every_pair_is_either_in_the_table_or_refused(trigger: str, state: State) -> None:
    """The machine moves exactly where the table says, and nowhere else."""
    spec = BY_TRIGGER[trigger]
    if state in spec.sources:
        assert fire(state, trigger, COMPLETE) is spec.dest
    else:
        from transitions.core import MachineError

        with pytest.raises(MachineError):
            fire(state, trigger, COMPLETE)


def test_no_bypass_transitions() -> None:
    """auto_transitions is off: there is no to_<state>() around the guards."""
    assert not any(name.startswith("to_") for name in machine().events)


@pytest.mark.parametrize("state", [s for s in State if s not in FINAL])
def test_every_open_state_has_a_way_out(state: State) -> None:
    assert any(state in t.sources for t in TRANSITIONS)


@pytest.mark.parametrize("state", sorted(FINAL))
def test_final_states_have_no_way_out(state: State) -> None:
    assert not any(state in t.sources for t in TRANSITIONS)


def test_forward_path_visits_the_six_states_in_order() -> None:
    path, state = [State.DRAFT], State.DRAFT
    for trigger in ("request_force_input", "submit_force_input", "sign_off", "publish",
                    "submit_to_portal"):
        moved = fire(state, trigger, COMPLETE)
        assert moved is not None
        state = moved
        path.append(state)
    assert [s.value for s in path] == ["draft", "force_input", "pcc_signoff",
                                       "forwarded_to_panel", "published", "portal_submitted"]


def test_diagrams_name_every_state_and_trigger() -> None:
    for text in (mermaid(), dot()):
        for s in State:
            assert s.value in text
        for t in TRIGGERS:
            assert t in text
