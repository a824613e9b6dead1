"""The escalation policy file: the default loads; every mistake is one line naming the rule.

Each case edits the shipped default (workflow/escalations/policy.toml) in one place and expects the
exact message. A bad policy stops a sweep before it reads or writes anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from states import Role, State
from tests.factories import norfolk, snapshot
from workflow.core.errors import ConfigError, S55Error
from workflow.core.settings import Settings
from workflow.escalations import sweep as escalation
from workflow.escalations.plan import DEFAULT_POLICY, PolicyError, load_policy
from workflow.responses.service import Workflow
from workflow.storage.db import Database

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = DEFAULT_POLICY.read_text(encoding="utf-8")
STATES = "draft, force_input, pcc_signoff, forwarded_to_panel, published, portal_submitted, " \
         "not_required"
ROLES = "admin, force, pcc, chief_executive, panel, auditor"


def test_the_default_policy_is_the_documented_one() -> None:
    """The shipped policy holds the seven rules of the design brief, in order."""
    policy = load_policy(Settings())
    assert [(r.id, r.anchor.value, r.offset_days, r.severity, r.repeat_days)
            for r in policy.rules] == [
        ("draft-d42", "deadline", -42, "reminder", None),
        ("force-input-d28", "deadline", -28, "warning", None),
        ("signoff-d14", "deadline", -14, "escalation", None),
        ("publish-d7", "deadline", -7, "escalation", None),
        ("publish-d2", "deadline", -2, "urgent", None),
        ("overdue", "deadline", 0, "overdue", 7),
        ("portal-p7", "published_on", 7, "reminder", None),
    ]
    force = policy.rule("force-input-d28")
    assert force is not None
    assert (force.roles, force.cc) == ((Role.FORCE,), (Role.ADMIN,))
    signoff = policy.rule("signoff-d14")
    assert signoff is not None
    assert signoff.states == {State.DRAFT, State.FORCE_INPUT, State.PCC_SIGNOFF}


CASES = [
    ('states = ["draft"]', 'states = ["drafted"]',
     f"rule 'draft-d42': unknown state 'drafted' (states: {STATES})"),
    ('notify = ["admin"]', 'notify = ["admins"]',
     f"rule 'draft-d42': unknown role 'admins' (roles: {ROLES})"),
    ('cc = ["admin"]', 'cc = ["commissioner"]',
     f"rule 'force-input-d28': unknown role 'commissioner' (roles: {ROLES})"),
    ('id = "force-input-d28"', 'id = "draft-d42"', "rule 'draft-d42': duplicate id (rule #2)"),
    ("offset_days = -42", 'offset_days = "-42"',
     "rule 'draft-d42': bad offset_days '-42': a whole number from -366 to 366"),
    ("offset_days = -42", "offset_days = -420",
     "rule 'draft-d42': bad offset_days -420: a whole number from -366 to 366"),
    ("offset_days = -42", "offset_days = 4.2",
     "rule 'draft-d42': bad offset_days 4.2: a whole number from -366 to 366"),
    ("repeat_every_days = 7", "repeat_every_days = 0",
     "rule 'overdue': bad repeat_every_days 0: a whole number from 1 to 366"),
    ('severity = "reminder"', 'severity = "loud"',
     "rule 'draft-d42': unknown severity 'loud' (severities: reminder, warning, escalation, "
     "urgent, overdue)"),
    ('template = "escalation_draft"', 'template = "escalation_missing"',
     "rule 'draft-d42': template 'escalation_missing' has no escalation_missing.subject.j2"),
    ('states = ["draft"]', 'states = ["portal_submitted"]',
     "rule 'draft-d42': state portal_submitted is final: there is nothing to escalate"),
    ('states = ["draft"]', "states = []",
     "rule 'draft-d42': states is empty: the rule could never fire"),
    ('from = "published_on"', 'from = "publication"',
     "rule 'portal-p7': unknown milestone from = 'publication' (milestones: deadline, "
     "published_on, force_input_due, signoff_due)"),
    ('states = ["published"]', 'states = ["draft"]',
     "rule 'portal-p7': counts from published_on but applies before publication"),
    ('id = "draft-d42"', 'id = "Draft D42"',
     "rule #1: bad id 'Draft D42': lower-case letters, digits, '-', '_', '.', at most 60"),
    ('template = "escalation_draft"', 'templte = "escalation_draft"',
     "rule 'draft-d42': unknown key 'templte' (keys: id, offset_days, states, notify, "
     "severity, template, from, cc, repeat_every_days, summary)"),
    ('severity = "reminder"\n', "",
     "rule 'draft-d42': missing 'severity'"),
    ("[[rule]]\nid = \"draft-d42\"", "[rules]\nid = \"draft-d42\"",
     "rule (top level): unknown key 'rules': rules are [[rule]] tables"),
    ('notify = ["admin"]', "notify = [",
     "not valid TOML: "),
    # The force liaison can act only in force_input: a rule for drafts could never tell it.
    ('notify = ["admin"]', 'notify = ["admin", "force"]',
     "rule 'draft-d42': force can act in none of its states (draft), so would never be told"),
    ('template = "escalation_portal"', 'template = "escalation_portal"\ncc = ["force"]',
     "rule 'portal-p7': force can act in none of its states (published), so would never be "
     "told"),
]


@pytest.mark.parametrize(("old", "new", "message"), CASES, ids=[c[2][:40] for c in CASES])
def test_a_bad_policy_is_one_line_naming_the_rule(tmp_path: Path, old: str, new: str,
                                                   message: str) -> None:
    """Each mistake raises PolicyError (an S55Error) whose one-line message names the file
    and the rule."""
    assert old in DEFAULT
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(Settings(policy_file=path))
    text = str(info.value)
    assert isinstance(info.value, S55Error)
    assert isinstance(info.value, ConfigError)
    assert "\n" not in text
    assert text.startswith(f"escalation policy {path}: {message}")
    if not message.startswith("not valid"):
        assert text == f"escalation policy {path}: {message}"


def test_a_missing_policy_file(tmp_path: Path) -> None:
    """A policy file that does not exist is named in the error."""
    path = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match=f"^escalation policy {path}: No such file"):
        load_policy(Settings(policy_file=path))


def test_an_organisation_override_is_used(tmp_path: Path) -> None:
    """``S55_POLICY_FILE`` replaces the default entirely (here: one rule, another hour)."""
    path = tmp_path / "policy.toml"
    path.write_text('[[rule]]\nid = "d-10"\noffset_days = -10\nstates = ["draft"]\n'
                    'notify = ["chief_executive"]\nseverity = "urgent"\n'
                    'template = "escalation_signoff"\n', encoding="utf-8")
    policy = load_policy(Settings(policy_file=path))
    assert [r.id for r in policy.rules] == ["d-10"]


def test_a_bad_policy_changes_nothing(db: Database, settings: Settings, tmp_path: Path) -> None:
    """A sweep with a bad policy raises before touching the database: every table is as
    it was."""
    wf = Workflow(db, settings)
    norfolk(wf)
    before = snapshot(wf)
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT.replace('notify = ["admin"]', 'notify = ["admins"]', 1))
    bad = settings.model_copy(update={"policy_file": path})
    with pytest.raises(PolicyError):
        escalation.sweep(db, bad, wf.clock)
    assert snapshot(wf) == before


@pytest.mark.slow
def test_the_cli_prints_the_one_line(db: Database, settings: Settings, tmp_path: Path) -> None:
    """``s55 escalations sweep`` with a bad policy exits 1 with exactly ``Error: <message>``."""
    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT.replace('id = "force-input-d28"', 'id = "draft-d42"', 1))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "S55_DATABASE_URL": settings.database_url,
           "S55_POLICY_FILE": str(path), "S55_SPOOL_DIR": str(tmp_path / "spool")}
    proc = subprocess.run([sys.executable, "-m", "workflow.cli", "escalations", "sweep"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == (f"Error: escalation policy {path}: rule 'draft-d42': duplicate id "
                           "(rule #2)\n")
