"""What users and their files rely on keeps working wherever the code lives:
the console script, ``S55_TEMPLATE_DIR`` overrides (mail and response templates),
``S55_POLICY_FILE`` and Alembic's script location."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import ADMIN, norfolk
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage import schema
from workflow.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
S55 = shutil.which("s55", path=str(Path(sys.executable).parent)) or "s55"


def s55(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([S55, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def env(db: Database, settings: Settings, tmp_path: Path) -> dict[str, str]:
    norfolk(Workflow(db, settings))
    return {"S55_DATABASE_URL": db.url, "S55_SPOOL_DIR": str(tmp_path / "spool"),
            "S55_ACTOR": ADMIN, "S55_FORCE": "Norfolk"}


@pytest.mark.slow
def test_an_override_template_replaces_the_shipped_one(env: dict[str, str],
                                                       tmp_path: Path) -> None:
    """An organisation's folder of templates overrides a response template and a mail
    template by name, through the installed ``s55`` command."""
    overrides = tmp_path / "ours"
    overrides.mkdir()
    (overrides / "response.md.j2").write_text("OUR LAYOUT for {{ report.title }}\n")
    (overrides / "request_force_input.subject.j2").write_text("OUR SUBJECT {{ response_id }}")
    env = {**env, "S55_TEMPLATE_DIR": str(overrides)}
    rendered = s55(env, "render", "1")
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.startswith("OUR LAYOUT for ")
    moved = s55(env, "request-force-input", "1")
    assert moved.returncode == 0, moved.stderr
    sent = s55(env, "mail", "send")
    assert sent.returncode == 0, sent.stderr
    spooled = list((tmp_path / "spool").glob("*.eml"))
    assert spooled
    assert all("Subject: OUR SUBJECT 1" in p.read_text() for p in spooled)


@pytest.mark.slow
def test_a_policy_file_replaces_the_shipped_policy(env: dict[str, str], tmp_path: Path) -> None:
    """``S55_POLICY_FILE`` is read, and a broken one is refused naming the file."""
    shipped = ROOT / "workflow" / "escalations" / "policy.toml"
    ours = tmp_path / "policy.toml"
    ours.write_text(shipped.read_text())
    planned = s55({**env, "S55_POLICY_FILE": str(ours)}, "escalations", "plan", "1")
    assert planned.returncode == 0, planned.stderr
    ours.write_text("this is = not [ toml")
    broken = s55({**env, "S55_POLICY_FILE": str(ours)}, "escalations", "plan", "1")
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"Error: escalation policy {ours}:")


def test_alembic_finds_the_migrations(tmp_path: Path) -> None:
    """The schema is made from the migrations where they now live, up to the head."""
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        schema.upgrade(db)
        assert schema.current(db) == schema.head()
    finally:
        db.dispose()
