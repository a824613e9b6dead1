"""``s55 audit verify`` with the audit key on a broken chain says how far the signatures
were checked (every event before the break), never that they were not checked for want
of a key. On both databases."""

from __future__ import annotations

import pytest
from audit_support import verify

from tests.factories import behind_the_triggers
from workflow.responses.service import Workflow


@pytest.mark.parametrize(("tamper", "problem"), [
    ("UPDATE audit_event SET actor = 'someone@else.example' WHERE id = 4",
     "content does not match its hash"),
    ("DELETE FROM audit_event WHERE id = 4", "does not follow the event before it"),
], ids=["altered", "removed"])
def test_a_broken_chain_says_how_far_signatures_were_checked(wf_keyed_norfolk: Workflow,
                                                             tamper: str,
                                                             problem: str) -> None:
    behind_the_triggers(wf_keyed_norfolk.db, tamper)
    found = verify(wf_keyed_norfolk.db)
    assert found.exit_code == 1
    broken_at = 4 if "UPDATE" in tamper else 5
    assert found.stderr.startswith(f"Error: audit chain broken at event {broken_at}: {problem}")
    assert ("signatures: checked up to the break: 3 events before event "
            f"{broken_at} signed with the audit key; none from it on") in found.stdout
    assert "not checked" not in found.stdout
