"""Real ``s55`` processes under different operating-system accounts (S55_IDENTITY=os).

As root (as CI runs) the session creates test accounts with ``useradd`` and removes them
afterwards; each command then runs as one of them (``subprocess`` with ``user=``), on both
databases, and the lifecycle is walked with a delegation in force. Without root (and
outside CI) the tests skip, saying why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s55_processes import python_for_any_account

from tests.conftest import IN_CI
from tests.factories import CHIEF_EXEC, FORCE, PANEL, PCC, norfolk_report
from workflow.core.settings import Settings
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
#: This run's own account names (``s55t`` + 6 random hex digits + the role, at most 17
#: characters of Linux's 32): two suites on one machine never share, nor remove, another's.
RUN = secrets.token_hex(3)


def account(role: str) -> str:
    return f"s55t{RUN}_{role}"


ADMIN_ACCOUNT, FORCE_ACCOUNT, PCC_ACCOUNT, DEPUTY_ACCOUNT = (
    account("admin"), account("force"), account("pcc"), account("deputy"))
#: account name -> the person whose login it is
ACCOUNTS = {ADMIN_ACCOUNT: "admin@opcc.example", FORCE_ACCOUNT: FORCE, PCC_ACCOUNT: PCC,
            DEPUTY_ACCOUNT: "deputy@opcc.example"}
DEPUTY = ACCOUNTS[DEPUTY_ACCOUNT]
ADMIN = ACCOUNTS[ADMIN_ACCOUNT]


@pytest.fixture(scope="session")
def accounts() -> Iterator[dict[str, str]]:
    """The test accounts, created for this session and removed after."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI=true but not root: cannot create test accounts with useradd")
        pytest.skip("needs root to create operating-system accounts (useradd); CI runs as "
                    "root")
    if python_for_any_account() is None:
        why = (f"no Python {sys.version_info.major}.{sys.version_info.minor} the test accounts "
               "may execute")
        pytest.fail(why) if IN_CI else pytest.skip(why)
    made = []
    try:
        for name in ACCOUNTS:
            made.append(name)  # removed below even if useradd fails half way
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", name], check=True, capture_output=True)
        yield ACCOUNTS
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def shared_url(db_url: str) -> Iterator[str]:
    """The test database, reachable by the test accounts (a SQLite file in a folder they
    may write; PostgreSQL over TCP as it is)."""
    if not db_url.startswith("sqlite"):
        yield db_url
        return
    folder = Path(tempfile.mkdtemp(prefix="s55-accounts-"))
    folder.chmod(0o777)
    path = folder / "s55.db"
    shutil.copy(db_url.removeprefix("sqlite:///"), path)
    path.chmod(0o666)
    yield f"sqlite:///{path}"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def as_account(accounts: dict[str, str], shared_url: str) -> Iterator[Callable[..., Any]]:
    """``s55 ARGS`` run by the operating-system account ``name``, with S55_IDENTITY=os and
    nothing else of ours in its environment (a spool folder of its own, removed after)."""
    python = python_for_any_account()
    assert python is not None
    spool = Path(shared_url.removeprefix("sqlite:///")).parent / "spool" \
        if shared_url.startswith("sqlite") else Path(tempfile.mkdtemp(prefix="s55-spool-"))
    spool.mkdir(exist_ok=True)
    spool.chmod(0o777)
    path = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"]])

    def run(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "workflow.cli", *args], user=name, group=name, extra_groups=[],
            umask=0o000, cwd="/", capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": path, "S55_IDENTITY": "os",
                 "S55_DATABASE_URL": shared_url, "S55_SPOOL_DIR": str(spool),
                 "S55_FORCE": "Norfolk", **env})

    try:
        yield run
    finally:
        shutil.rmtree(spool, ignore_errors=True)


@pytest.fixture
def office(shared_url: str) -> Workflow:
    """The people, each with their account as login, and the Norfolk report (set up by
    this root process under claimed, as an installer would before handing over)."""
    wf = Workflow(Database(shared_url), Settings(database_url=shared_url, identity="claimed"))
    management.add_person(wf, {"name": "Admin", "email": ADMIN, "roles": ["admin"]}, None,
                      login=ADMIN_ACCOUNT)
    for name, email, roles, login in (
            ("Force Liaison", FORCE, ["force"], FORCE_ACCOUNT),
            ("The PCC", PCC, ["pcc"], PCC_ACCOUNT),
            ("Deputy PCC", DEPUTY, ["chief_executive"], DEPUTY_ACCOUNT),
            ("Chief Executive", CHIEF_EXEC, ["chief_executive"], None),
            ("Panel", PANEL, ["panel"], None)):
        management.add_person(wf, {"name": name, "email": email, "roles": roles}, ADMIN,
                          login=login)
    content.add_report(wf, norfolk_report(), ADMIN)
    return wf


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_each_account_acts_as_its_person_and_no_other(office: Workflow,
                                                      as_account: Callable[..., Any]) -> None:
    """The force's account acts as the force (whatever USER says); --as naming anyone
    else is refused, and so is an account that is nobody's login."""
    forged = as_account(FORCE_ACCOUNT, "request-force-input", "1", USER=ADMIN_ACCOUNT,
                        LOGNAME=ADMIN_ACCOUNT)
    assert forged.returncode == 1
    assert forged.stderr.strip() == (f"Error: {FORCE} may not ask the force for its comments "
                                     "on response 1: needs role admin, holds force")
    posing = as_account(FORCE_ACCOUNT, "request-force-input", "1", "--as", ADMIN)
    assert posing.returncode == 1
    assert posing.stderr.strip() == (
        f"Error: --as {ADMIN} refused: under identity mode os you act as yourself ({FORCE}, "
        f"account {FORCE_ACCOUNT}); an admin acting for someone else uses --on-behalf-of "
        "EMAIL --reason ...")
    ok(as_account(ADMIN_ACCOUNT, "request-force-input", "1"))
    events = json.loads(ok(as_account(ADMIN_ACCOUNT, "log", "1", "--json")))
    moved = [e for e in events if e["trigger"] == "request_force_input"]
    assert [(e["actor"], e["account"], e["identity"], e["channel"]) for e in moved] == [
        (ADMIN, ADMIN_ACCOUNT, "os", "cli")]


def test_the_lifecycle_with_a_delegation_in_force(office: Workflow,
                                                  as_account: Callable[..., Any]) -> None:
    """Every step by its own account; the deputy signs off under a delegation the PCC
    made; the state log names each account and verifies."""
    from datetime import date, timedelta

    today = date.today()
    ok(as_account(PCC_ACCOUNT, "people", "delegate", PCC, "--to", DEPUTY, "--from",
                  today.isoformat(), "--until", (today + timedelta(days=7)).isoformat(),
                  "--reason", "Annual leave"))
    ok(as_account(ADMIN_ACCOUNT, "do", "1", "request_force_input"))
    for n in (1, 2, 3, 4, 8):
        ok(as_account(FORCE_ACCOUNT, "rec", "respond", "1", str(n), "--text", f"Answer {n}."))
    ok(as_account(FORCE_ACCOUNT, "submit-force-input", "1"))
    ok(as_account(PCC_ACCOUNT, "edit", "1", "pcc_response", "--text", "I welcome it."))
    signed = ok(as_account(DEPUTY_ACCOUNT, "sign-off", "1"))
    assert "response 1 is now signed off and with the Police and Crime Panel" in signed
    ok(as_account(ADMIN_ACCOUNT, "publish", "1", "--url", "https://opcc.example/asb"))
    ok(as_account(ADMIN_ACCOUNT, "submit-to-portal", "1", "--portal-reference", "HMI-1"))
    log = ok(as_account(ADMIN_ACCOUNT, "log", "1"))
    assert f"signed off by {DEPUTY} for {PCC} under delegation #1" in log
    events = [e for e in json.loads(ok(as_account(ADMIN_ACCOUNT, "log", "1", "--json")))
              if e["action"] == "transition"]
    assert [(e["trigger"], e["account"], e["on_behalf_of"]) for e in events] == [
        ("request_force_input", ADMIN_ACCOUNT, None),
        ("submit_force_input", FORCE_ACCOUNT, None),
        ("sign_off", DEPUTY_ACCOUNT, PCC),
        ("publish", ADMIN_ACCOUNT, None),
        ("submit_to_portal", ADMIN_ACCOUNT, None)]
    assert "audit chain OK" in ok(as_account(ADMIN_ACCOUNT, "audit", "verify"))
