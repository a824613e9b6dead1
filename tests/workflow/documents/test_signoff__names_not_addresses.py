"""The published document says who signed it by name and role: "Signed off by NAME, Police
and Crime Commissioner", or "NAME, Deputy PCC, for NAME under delegation #N"; never an
email address (both databases)."""

from __future__ import annotations

from datetime import date

from factories import CHIEF_EXEC, PCC
from journey_support import DEPUTY, SIGNING, delegate, frozen_at, ready_to_sign, register

from workflow.core.settings import Settings
from workflow.documents.render import render_response
from workflow.responses.service import Workflow
from workflow.storage.db import Database

_signing = frozen_at(SIGNING)


def _ready(db: Database, settings: Settings) -> Workflow:
    wf = Workflow(db, settings)
    register(wf)
    ready_to_sign(wf, 1)
    return wf


def test_the_pcc_signs_by_name_and_role(db: Database, settings: Settings) -> None:
    wf = _ready(db, settings)
    wf.fire(1, "sign_off", PCC)
    text = render_response(db, 1)
    assert ("Signed off by Giles Orpen-Smellie, Police and Crime Commissioner, on "
            "20 November 2024, fingerprint ") in text
    assert PCC not in text


def test_the_deputy_signs_for_the_pcc_under_the_delegation(db: Database,
                                                          settings: Settings) -> None:
    wf = _ready(db, settings)
    number = delegate(wf, date(2024, 11, 1), date(2024, 11, 30))
    wf.fire(1, "sign_off", DEPUTY)
    text = render_response(db, 1)
    assert ("Signed off by Chief Executive, Deputy PCC, for Giles Orpen-Smellie under "
            f"delegation #{number}, on 20 November 2024, fingerprint ") in text
    assert PCC not in text
    assert CHIEF_EXEC not in text
