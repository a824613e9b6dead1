"""Stress run on PostgreSQL: many real processes at once, faults injected, nothing lost.

Writers fire random legal and illegal triggers and edit content on a few hundred responses;
two dispatchers deliver the outbox to an aiosmtpd server on loopback; two schedulers sweep
escalations under a clock moved across every rule. Optionally one dispatcher is SIGKILLed
while the server holds one of its messages and one scheduler while its backend is
mid-transaction (each then restarted), and PostgreSQL backends are terminated at random.
Afterwards (``check``): the audit chain verifies; every response's state and version equal
the replay of its audit events; every queued message reached the server exactly once
(Message-IDs counted there); every fired escalation has one audit event; no process saw an
unhandled exception.

    python -m bench.stress run [--writers 8] [--ops 150] [--responses 200]
                               [--scenario plain|kill-dispatcher|kill-scheduler|kill-both|
                                           terminate-backends|all]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN, FORCE, PCC = "admin@opcc.example", "liaison@force.example", "pcc@opcc.example"
PEOPLE = [("Ann Admin", ADMIN, ["admin"]), ("Force Liaison", FORCE, ["force"]),
          ("Pat Commissioner", PCC, ["pcc"]), ("Chief Exec", "ceo@opcc.example",
                                               ["chief_executive"]),
          ("Panel", "panel@council.example", ["panel"])]
BY_ROLE = {"admin": ADMIN, "force": FORCE, "pcc": PCC, "chief_executive": "ceo@opcc.example"}
RECS = (1, 2)


def _env(url: str, smtp_port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "S55_DATABASE_URL": url,
           "S55_MAIL_BATCH_SIZE": "10"}
    if smtp_port:
        env.update(S55_SMTP_HOST="127.0.0.1", S55_SMTP_PORT=str(smtp_port),
                   S55_SMTP_SECURITY="none")
    return env


# -- set-up -------------------------------------------------------------------------------

def seed(url: str, responses: int, published: date) -> None:
    """People, and ``responses`` reports each with two recommendations (state draft)."""
    from workflow.core.checks import ReportInput, validate
    from workflow.core.settings import Settings
    from workflow.people import management
    from workflow.responses import content
    from workflow.responses.service import Workflow
    from workflow.storage.db import Database

    wf = Workflow(Database(url), Settings(database_url=url))
    for i, (name, email, roles) in enumerate(PEOPLE):
        management.add_person(wf, {"name": name, "email": email, "roles": roles},
                           None if i == 0 else ADMIN)
    for i in range(responses):
        # Every heading of the document filled, so that sign-off can happen.
        content.add_report(wf, validate(ReportInput, {
            "title": f"Inspection {i}", "published_on": published,
            "publication_types": "PEEL", "key_findings": "Findings.",
            "link": f"https://www.justiceinspectorates.gov.uk/hmicfrs/inspection-{i}/",
            "recommendations": [{"number": n, "text": f"By 31 March 2030, do {n}."}
                                for n in RECS]}), ADMIN)
    wf.db.dispose()


# -- workers (each its own process) -------------------------------------------------------

def _pick(rng: random.Random, state: str) -> str:
    from states import BY_TRIGGER, State

    legal = [t for t, spec in BY_TRIGGER.items() if State(state) in spec.sources
             and (t != "mark_not_required" or rng.random() < 0.05)]
    if legal and rng.random() < 0.75:
        return rng.choice(legal)
    return rng.choice(list(BY_TRIGGER))


def _one_op(wf: Any, rng: random.Random, rid: int) -> str:
    """One random operation on response ``rid``; returns what it was."""
    from sqlalchemy import select
    from sqlmodel import col

    from states import BY_TRIGGER
    from workflow.responses import content
    from workflow.storage.models import Response

    roll = rng.random()
    if roll < 0.1:
        content.edit_text(wf, rid, "pcc_response", f"PCC comments {rng.random()}", PCC)
        return "edit"
    if roll < 0.2:
        content.edit_recommendation(wf, rid, rng.choice(RECS), "force_response",
                                    f"Force answer {rng.random()}", FORCE)
        return "edit"
    state = wf.db.query(lambda s: s.execute(select(col(Response.state))
                                            .where(col(Response.id) == rid)).scalar_one())
    trigger = _pick(rng, state)
    spec = BY_TRIGGER[trigger]
    actor = BY_ROLE[sorted(spec.roles)[0].value] if rng.random() < 0.85 else \
        rng.choice(list(BY_ROLE.values()))
    params = {"publish": {"url": f"https://opcc.example/s55/{rid}"},
              "submit_to_portal": {"portal_reference": f"HMI-{rid}"}}.get(trigger, {})
    wf.fire(rid, trigger, actor, reason="stress test", params=params)
    return "transition"


def writer(url: str, seed_: int, ops: int, responses: int, out: str) -> None:
    from workflow.core.errors import S55Error
    from workflow.core.settings import Settings
    from workflow.responses.service import Workflow
    from workflow.storage.db import Database

    rng = random.Random(seed_)
    wf = Workflow(Database(url), Settings(database_url=url))
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    unhandled: list[str] = []
    for _ in range(ops):
        start = time.perf_counter()
        try:
            outcomes[_one_op(wf, rng, rng.randint(1, responses))] += 1
        except S55Error as exc:
            outcomes["unknown" if "lost while committing" in str(exc) else
                     f"refused:{type(exc).__name__}"] += 1
        except Exception:
            unhandled.append(traceback.format_exc())
        latencies.append(time.perf_counter() - start)
    Path(out).write_text(json.dumps({"outcomes": outcomes, "latencies": latencies,
                                     "unhandled": unhandled}))


def dispatcher(url: str, name: str, stop_file: str, out: str) -> None:
    """Deliver until ``stop_file`` exists and nothing is due."""
    from workflow.core.clock import SystemClock
    from workflow.core.settings import Settings
    from workflow.mail import delivery as mail
    from workflow.storage.db import Database

    settings = Settings()
    db = Database(url)
    sent, unhandled = 0, []
    while True:
        stopping = Path(stop_file).exists()
        try:
            report = mail.deliver_pending(db, settings, SystemClock(), worker=name)
            sent += report.sent
            idle = report.sent == 0 and report.retrying == 0
        except Exception:
            unhandled.append(traceback.format_exc())
            idle = False
        if stopping and idle:
            break
        time.sleep(0.05)  # between batches: poll the outbox, do not spin
    Path(out).write_text(json.dumps({"sent": sent, "unhandled": unhandled}))


def scheduler(url: str, start: str, days: int, step: int, out: str, first_day: int = 0) -> None:
    """Sweep escalations every ``step`` days (at 09:00) from ``start`` for ``days`` days
    (from day ``first_day``: a restarted scheduler goes on where it was killed). Each
    day reached is written to ``out``.day."""
    from workflow.core.clock import FixedClock
    from workflow.core.settings import Settings
    from workflow.escalations import sweep as escalation
    from workflow.storage.db import Database

    settings = Settings()
    db = Database(url)
    fired, errors, unhandled = 0, [], []
    first = datetime.fromisoformat(start)
    for day in range(first_day, days, step):
        # Written aside and renamed into place: a SIGKILL mid-write leaves the last whole day.
        Path(f"{out}.day.tmp").write_text(str(day))
        os.replace(f"{out}.day.tmp", f"{out}.day")
        clock = FixedClock(first + timedelta(days=day))
        try:
            report = escalation.sweep(db, settings, clock)
            fired += len(report.fired)
            errors += report.errors
        except Exception:
            unhandled.append(traceback.format_exc())
    Path(out).write_text(json.dumps({"fired": fired, "errors": errors,
                                     "unhandled": unhandled}))


# -- the orchestra ------------------------------------------------------------------------

@dataclass
class Options:
    writers: int = 8
    ops: int = 150
    responses: int = 200
    dispatchers: int = 2
    schedulers: int = 2
    sweep_days: int = 90  # the clock moves from publication across every rule ...
    sweep_step: int = 1  # ... this many days at a time
    kill_dispatcher: bool = False
    kill_scheduler: bool = False
    terminate_backends: bool = False


@dataclass
class Outcome:
    writers: list[dict[str, Any]] = field(default_factory=list)
    dispatchers: list[dict[str, Any]] = field(default_factory=list)
    schedulers: list[dict[str, Any]] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    killed: int = 0
    killed_schedulers: int = 0
    terminated: int = 0
    seconds: float = 0.0


def _spawn(kind: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.stress", kind, *args], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(url: str, opts: Options, smtp: Any) -> Outcome:
    """Seed, start every process, inject the faults asked for, wait; returns what they saw.

    ``smtp`` is a running ``bench.stress_support.Sink``.
    """
    published = datetime.now(UTC).date() - timedelta(days=10)
    seed(url, opts.responses, published)
    outcome, start = Outcome(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="s55-stress-") as tmp:
        env = _env(url, smtp.port)
        stop = f"{tmp}/stop"
        procs: dict[str, subprocess.Popen[str]] = {}
        for i in range(opts.writers):
            procs[f"writer{i}"] = _spawn("writer", [url, str(i), str(opts.ops),
                                                    str(opts.responses), f"{tmp}/writer{i}"], env)
        for i in range(opts.dispatchers):
            procs[f"dispatcher{i}"] = _spawn("dispatcher", [url, f"d{i}", stop,
                                                            f"{tmp}/dispatcher{i}"], env)
        sched_start = datetime.combine(published, datetime.min.time(), UTC) + timedelta(hours=9)
        for i in range(opts.schedulers):
            procs[f"scheduler{i}"] = _spawn("scheduler", [
                url, sched_start.isoformat(), str(opts.sweep_days), str(opts.sweep_step),
                f"{tmp}/scheduler{i}"], env)
        killer = _inject_faults(procs, url, sched_start, opts, tmp, env, smtp, outcome)
        _wait_for_kind(procs, "writer", outcome)
        _wait_for_kind(procs, "scheduler", outcome)
        if killer:
            outcome.terminated = killer.stop()
        if opts.kill_dispatcher:
            outcome.killed = _restart_killed(procs, url, stop, tmp, env)
        Path(stop).touch()
        _wait_for_kind(procs, "dispatcher", outcome)
        # Escalation mail is due at the schedulers' (future) moments: deliver it then.
        _drain_at(max(datetime.now(UTC), sched_start + timedelta(days=opts.sweep_days))
                  + timedelta(minutes=11), env)
        _collect(procs, tmp, outcome)
    outcome.received = Counter(smtp.message_ids())
    outcome.seconds = time.perf_counter() - start
    return outcome


def _inject_faults(procs: dict[str, subprocess.Popen[str]], url: str, sched_start: datetime,
                   opts: Options, tmp: str, env: dict[str, str], smtp: Any,
                   outcome: Outcome) -> Any:
    """Arm the dispatcher kill, start the backend killer (returned, or None) and kill and
    restart a scheduler, as ``opts`` asks."""
    from bench.stress_support import BackendKiller

    if opts.kill_dispatcher:
        smtp.kill_at(12, procs["dispatcher0"].pid)
    killer = BackendKiller(url, every=0.4) if opts.terminate_backends else None
    if killer:
        killer.start()
    if opts.kill_scheduler:
        outcome.killed_schedulers = _kill_and_restart_scheduler(
            procs, url, sched_start, opts, tmp, env)
    return killer


def _collect(procs: dict[str, subprocess.Popen[str]], tmp: str, outcome: Outcome) -> None:
    """Each process's report (a killed one has none; its restart reports)."""
    for name in procs:
        path = Path(tmp) / name
        if path.exists():
            getattr(outcome, name.rstrip("0123456789") + "s").append(json.loads(
                path.read_text()))


def _wait_for_kind(procs: dict[str, subprocess.Popen[str]], kind: str, outcome: Outcome) -> None:
    for name, p in procs.items():
        if name.startswith(kind):
            _out, err = p.communicate(timeout=900)
            if p.returncode not in (0, -signal.SIGKILL):
                outcome.crashed.append(f"{name} exit {p.returncode}: {err[-2000:]}")


def _restart_killed(procs: dict[str, subprocess.Popen[str]], url: str, stop: str, tmp: str,
                    env: dict[str, str]) -> int:
    first = procs["dispatcher0"]
    try:
        first.wait(timeout=120)
    except subprocess.TimeoutExpired:
        return 0  # never reached the kill point (too little mail): nothing to restart
    if first.returncode != -signal.SIGKILL:
        return 0
    procs["dispatcher0"] = _spawn("dispatcher", [url, "d0-restarted", stop,
                                                 f"{tmp}/dispatcher0"], env)
    return 1


def _kill_and_restart_scheduler(procs: dict[str, subprocess.Popen[str]], url: str,
                                sched_start: datetime, opts: Options, tmp: str,
                                env: dict[str, str]) -> int:
    """SIGKILL scheduler0 mid-transaction once a quarter of its days are swept, then start
    it again from the day it had reached (as a restarted service would go on)."""
    from bench.stress_support import kill_mid_transaction

    first, progress = procs["scheduler0"], Path(f"{tmp}/scheduler0.day")
    quarter = (opts.sweep_days // opts.sweep_step // 4) * opts.sweep_step

    def reached_quarter() -> bool:  # "" (none written yet) is day 0
        return progress.exists() and int(progress.read_text() or 0) >= quarter

    if not kill_mid_transaction(url, first.pid, reached_quarter):
        return 0
    first.wait(timeout=60)
    procs["scheduler0"] = _spawn("scheduler", [
        url, sched_start.isoformat(), str(opts.sweep_days), str(opts.sweep_step),
        f"{tmp}/scheduler0", progress.read_text() or "0"], env)
    return 1


def _drain_at(when: datetime, env: dict[str, str]) -> None:
    """A dispatcher run at ``when`` (past every lease a killed dispatcher left behind)."""
    at = when.isoformat()
    code = ("import sys; from datetime import datetime; "
            "from workflow.mail import delivery as mail; "
            "from workflow.core.clock import FixedClock; "
            "from workflow.core.settings import Settings; "
            "from workflow.storage.db import Database; s = Settings(); "
            "r = mail.deliver_pending(Database(s.database_url), s, "
            "FixedClock(datetime.fromisoformat(sys.argv[1])), worker='drain'); "
            "sys.exit(1 if r.error else 0)")
    subprocess.run([sys.executable, "-c", code, at], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=300)


SCENARIOS: dict[str, dict[str, bool]] = {
    "plain": {},
    "kill-dispatcher": {"kill_dispatcher": True},
    "kill-scheduler": {"kill_scheduler": True},
    "kill-both": {"kill_dispatcher": True, "kill_scheduler": True},
    "terminate-backends": {"terminate_backends": True},
}


def main_run(base: Options, scenarios: list[str]) -> int:
    """Each scenario on a fresh PostgreSQL database; prints counts and problems."""
    from bench.common import fresh_database
    from bench.stress_support import Sink, check

    failures = 0
    for name in scenarios:
        opts = replace(base, **SCENARIOS[name])
        with fresh_database("postgresql") as url, Sink() as smtp:
            outcome = run(url, opts, smtp)
            problems, counts = check(url, outcome)
        print(f"{name}: {opts.writers} writers x {opts.ops} ops on {opts.responses} responses, "
              f"{opts.dispatchers} dispatchers, {opts.schedulers} schedulers, "
              f"{outcome.seconds:.1f} s")
        print("  " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print("  OK: nothing lost or doubled" if not problems else
              "  PROBLEMS:\n    " + "\n    ".join(problems[:20]))
        failures += bool(problems)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="kind")
    sub.add_parser("writer").add_argument("args", nargs=5)
    sub.add_parser("dispatcher").add_argument("args", nargs=4)
    sub.add_parser("scheduler").add_argument("args", nargs="+")
    stress = sub.add_parser("run")
    for name, value in vars(Options()).items():
        if not isinstance(value, bool):
            stress.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=value)
    stress.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    ns = parser.parse_args()
    if ns.kind == "writer":
        url, s, ops, responses, out = ns.args
        writer(url, int(s), int(ops), int(responses), out)
    elif ns.kind == "dispatcher":
        dispatcher(*ns.args)
    elif ns.kind == "scheduler":
        url, start, days, step, out, *first_day = ns.args
        scheduler(url, start, int(days), int(step), out, int(first_day[0]) if first_day else 0)
    else:
        options = Options(**{k: v for k, v in vars(ns).items() if k not in ("kind", "scenario")})
        sys.exit(main_run(options, list(SCENARIOS) if ns.scenario == "all" else [ns.scenario]))


if __name__ == "__main__":
    main()
