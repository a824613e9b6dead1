"""A short stress run on PostgreSQL (``bench/stress.py`` is the long one).

Real processes at once - writers firing random legal and illegal triggers and editing
content, two dispatchers delivering to aiosmtpd, two schedulers sweeping escalations
under a clock moved across every rule - with one dispatcher SIGKILLed mid-delivery and
one scheduler mid-transaction, both restarted, or with PostgreSQL backends terminated
at random. The claim each time:
the audit chain verifies, every response's state and version are the replay of its
audit events, every mail reached the server exactly once, every escalation fired once.
"""

from __future__ import annotations

import pytest

from bench.common import fresh_database
from bench.stress import Options, Outcome, run
from bench.stress_support import Sink, check, unhandled

pytestmark = [pytest.mark.slow]
ON_POSTGRESQL = pytest.mark.postgresql
SMALL = Options(writers=3, ops=20, responses=20, sweep_days=70, sweep_step=10)


def stress(pg_url: str | None, opts: Options, backend: str = "postgresql"
           ) -> tuple[list[str], dict[str, int], Outcome]:
    with fresh_database(backend) as url, Sink() as smtp:
        outcome = run(url, opts, smtp)
        problems, counts = check(url, outcome)
    return problems, counts, outcome


@ON_POSTGRESQL
def test_dispatcher_and_scheduler_killed_mid_run_lose_and_double_nothing(pg_url: str) -> None:
    """A dispatcher SIGKILLed while the server holds one of its messages and a scheduler
    SIGKILLed while its backend is mid-transaction, each restarted: nothing lost or
    doubled anywhere (every escalation fired once, its mail arrived once), and no
    process saw an unhandled exception."""
    problems, counts, _ = stress(pg_url, Options(**{**vars(SMALL), "kill_dispatcher": True,
                                                    "kill_scheduler": True}))
    assert problems == []
    assert counts["killed"] == 1
    assert counts["killed_schedulers"] == 1
    # Not vacuous: transitions, refusals, mail and escalations all happened.
    assert counts["transition"] > 0
    assert counts["refused:TriggerNotAllowedError"] + counts["refused:RoleError"] > 0
    assert counts["mail"] > 0
    assert counts["escalations"] > 0


@pytest.fixture(scope="module")
def terminated(pg_url: str) -> tuple[list[str], dict[str, int], Outcome]:
    return stress(pg_url, Options(**{**vars(SMALL), "terminate_backends": True}))


@ON_POSTGRESQL
def test_backends_terminated_mid_run_lose_and_double_nothing(
        terminated: tuple[list[str], dict[str, int], Outcome]) -> None:
    """PostgreSQL backends terminated at random (mid-statement or mid-transaction): the
    chain, the replay, the mail and the escalations still add up, and the writers
    (every trigger and edit goes through ``Database.run``) saw no unhandled exception
    and no ambiguous commit."""
    problems, counts, outcome = terminated
    data = [p for p in problems if not p.startswith(("dispatchers:", "schedulers:"))
            and "after 6 attempts" not in p]
    assert data == []
    assert counts["terminated"] > 0
    assert counts.get("unknown", 0) == 0
    assert unhandled(outcome, ("writers",)) == []


@ON_POSTGRESQL
def test_no_dispatcher_sees_a_terminated_backend(
        terminated: tuple[list[str], dict[str, int], Outcome]) -> None:
    """No dispatcher saw a raw driver exception: every outbox transaction goes through
    ``Database.run``/``query`` and the kept "sent" connection reconnects."""
    _problems, _counts, outcome = terminated
    assert unhandled(outcome, ("dispatchers",)) == []


@ON_POSTGRESQL
def test_no_scheduler_sees_a_terminated_backend(
        terminated: tuple[list[str], dict[str, int], Outcome]) -> None:
    """No scheduler saw a raw driver exception either."""
    _problems, _counts, outcome = terminated
    assert unhandled(outcome, ("schedulers",)) == []


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=ON_POSTGRESQL)])
def test_every_response_equals_its_replay_after_the_run(backend: str,
                                                        request: pytest.FixtureRequest) -> None:
    """After the real multi-process run, ``s55 audit verify``'s own check (the chain, then
    every response rebuilt from its events: state, version, deadlines, content fields,
    recommendations, the fingerprint after each content change) finds nothing, on both
    backends. ``check`` runs it (``replay.differences``); not vacuous: content was edited
    and responses moved."""
    if backend == "postgresql":
        request.getfixturevalue("pg_url")  # PostgreSQL reachable (a failure under CI)
    # On SQLite one dispatcher and one scheduler may run (each holds a lock file).
    opts = SMALL if backend == "postgresql" else Options(**{**vars(SMALL), "dispatchers": 1,
                                                            "schedulers": 1})
    problems, counts, _ = stress(None, opts, backend)
    assert [p for p in problems if p.startswith("replay:")] == []
    assert problems == []
    assert counts["edit"] > 0
    assert counts["transition"] > 0
