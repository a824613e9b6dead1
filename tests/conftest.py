"""Shared fixtures: real databases (SQLite files and the local PostgreSQL), settings, clock.

Where a test lives: the tree under ``tests/`` mirrors the code. A test of module
``<package>/<module>.py`` is ``tests/<package>/test_<module>__<behaviour>.py``, e.g.
``tests/workflow/responses/test_service__reopen.py`` for the reopening of a response by
``workflow/responses/service.py``; a package's own ``__init__.py`` counts as the module named
after the package (``tests/workflow/doctor/test_doctor__each_check.py``). A test goes with
the module whose behaviour it states, even when it drives it through the CLI or the web
app; a file that would state behaviours of several modules is split by module. Tests of the
whole repository rather than of a module (imports pointing down the layers, dead code,
stable public paths, the stress run) are in ``tests/house/``. File names are unique across
the tree: with no ``__init__.py`` in it, pytest imports each test file by its base name.

Support modules (``factories``, ``smtp_server``, ``web_support``, ``link_support``,
``journey_support``, ``audit_support``, ``waiting``, ``s55_processes``) live in ``tests/``
and are imported by bare name from every folder (``pythonpath`` in ``pyproject.toml``);
``dead_code_whitelist`` is read by vulture only. A folder's own ``conftest.py`` holds the
fixtures only its tests use.

The service fixtures say what they hold: ``wf_empty`` (nobody registered), ``wf``
(Norfolk's people, no response), ``wf_norfolk`` (and the Norfolk report's response),
``wf_keyed_norfolk`` (the same, events signed with an audit key), ``wf_signed_off`` (a
response with areas for improvement, signed off); a fixture one file needs stays in that
file under a name of its own. Tests that start a browser, several processes or servers,
or take more than about two seconds, are marked ``slow``: ``-m "not slow"`` is the fast
lane (``scripts/test.sh --fast``); the full run is the whole suite.

``db`` is parametrised over both backends. PostgreSQL comes from
``S55_TEST_DATABASE_URL`` or the local server on 127.0.0.1:5432; one fresh database is
created per test run and dropped after. Without a server the PostgreSQL cases skip
with the reason shown - except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from workflow.core.clock import SystemClock
from workflow.core.settings import Settings
from workflow.responses.service import Workflow
from workflow.storage import schema
from workflow.storage.db import Database

pytest_plugins = ["smtp_server"]  # aiosmtpd servers and mail test data

# The tests written before identity modes name their actor with --as / S55_ACTOR: they run
# under S55_IDENTITY=claimed, explicitly, here (and so in every subprocess and CliRunner
# they start). Tests of the operating-system identity set S55_IDENTITY=os themselves.
os.environ["S55_IDENTITY"] = "claimed"
# There is no default force: the databases the tests build from the migrations hold no
# office settings (those of `s55 init`), so the environment names the force and the office,
# as for an office that has not run `s55 init` since upgrading (and for `s55 init` itself).
os.environ.setdefault("S55_FORCE", "Norfolk")
os.environ.setdefault("S55_OPCC_NAME", "Office of the Police and Crime Commissioner")

PG_ADMIN_URL = os.environ.get("S55_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"

#: The Norfolk fixture's report was published on this day (see tests/data).
NORFOLK_PUBLISHED = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}".splitlines()[0]
    return None


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run (dropped afterwards)."""
    import psycopg

    why = _pg_reachable()
    if why:
        if IN_CI:
            pytest.fail(f"CI=true but {why}")
        pytest.skip(why)
    name = f"s55_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # Commit durability is not under test here; waiting for fsync on every commit
        # would triple the suite's time.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = _with_db(PG_ADMIN_URL, name)
    db = Database(url)
    schema.upgrade(db)
    db.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_reset(db: Database) -> None:
    """Empty every table, going behind the audit triggers' back (test set-up only).

    DELETE (children first) and sequence resets: far quicker than TRUNCATE on tiny tables.
    """
    from workflow.storage.tables import METADATA

    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        for table in reversed(METADATA.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        for (seq,) in conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                        "WHERE sequence_schema = 'public'")):
            conn.execute(text(f"ALTER SEQUENCE {seq} RESTART WITH 1"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    schema.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "s55.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    db = Database(url)
    _pg_reset(db)
    db.dispose()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def keyed_db(db_url: str, tmp_path: Path) -> Iterator[Database]:
    """``db`` with an audit key (an owner-only file in ``tmp_path``): its events are signed,
    and the approvers' personal links, whose tokens derive from that key, can be issued."""
    from workflow.keys import audit_key

    key = tmp_path / "audit.key"
    audit_key.create(key)
    database = Database(db_url, audit_key_file=key)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, spool_dir=tmp_path / "spool", force="Norfolk",
                    identity="claimed")


@pytest.fixture
def wf_empty(db: Database, settings: Settings) -> Workflow:
    """The service on an empty database: nobody registered, no response."""
    return Workflow(db, settings)


@pytest.fixture
def wf(db: Database, settings: Settings) -> Workflow:
    """The service with Norfolk's people and no response yet."""
    from factories import add_people

    workflow = Workflow(db, settings)
    add_people(workflow)
    return workflow


@pytest.fixture
def wf_norfolk(db: Database, settings: Settings) -> Workflow:
    """Norfolk's people and the Norfolk report's response (response 1, a draft)."""
    from factories import norfolk

    workflow = Workflow(db, settings)
    norfolk(workflow)
    return workflow


@pytest.fixture
def wf_keyed_norfolk(keyed_db: Database, settings: Settings) -> Workflow:
    """``wf_norfolk`` on a database with an audit key: its events are signed."""
    from factories import norfolk

    workflow = Workflow(keyed_db, settings)
    norfolk(workflow)
    return workflow


@pytest.fixture
def wf_signed_off(db: Database, settings: Settings) -> Workflow:
    """Response 1 (a report with areas for improvement) answered and signed off by the PCC."""
    from factories import PCC
    from journey_support import ready_to_sign, register

    workflow = Workflow(db, settings)
    register(workflow)
    ready_to_sign(workflow, 1)
    workflow.fire(1, "sign_off", PCC)
    return workflow


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``run(*args, actor=...)``: the ``s55`` command in this process (CliRunner) on ``db``."""
    from typer.testing import CliRunner

    from workflow.cli import app

    runner = CliRunner()
    env = {"S55_DATABASE_URL": db_url, "S55_SPOOL_DIR": str(tmp_path / "spool"), "S55_ACTOR": ""}

    def invoke(*args: str, actor: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env={**env, "S55_ACTOR": actor or ""})

    return invoke


@pytest.fixture
def clock() -> SystemClock:
    """The system clock; tests move it with ``time_machine.travel``."""
    return SystemClock()


@pytest.fixture(scope="session")
def _config_homes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config")


@pytest.fixture(autouse=True)
def _own_config_home(_config_homes: Path) -> Iterator[None]:
    """Each test has an empty config folder of its own (``XDG_CONFIG_HOME``, inherited by
    the processes it starts): the audit key ``s55 init`` makes by default lands in this
    run's temporary folders, never in the real home, and no test finds another's key."""
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(dir=_config_homes)
    yield
    if before is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = before


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (schedulers, SMTP servers)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(timeout=2)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"test leaked threads: {leaked}"
