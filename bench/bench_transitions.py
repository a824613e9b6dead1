"""Transitions per second (with audit events and queued mail) vs prebuilt SQLAlchemy Core.

Each of our operations is ``Workflow.fire(request_force_input)``: load, check who acts
(an active person), role, state and guards, compare-and-set the row, render and check the
force liaison's mail, append the chained and HMAC-signed transition event, queue the
outbox row, append its signed ``mail_queued`` event (with the mail's digest) and point the
row at it, commit. Both sides run with an audit key file (as ``s55 init`` makes one), so
every event carries its HMAC.

The baseline writes the same rows (same columns, same sizes) in the same transactions,
through the same engine (so the same ``BEGIN IMMEDIATE`` and ``synchronous`` on SQLite,
the same ``synchronous_commit`` on PostgreSQL), with SQLAlchemy Core statements built once
and executed with bound parameters on a plain connection: read the row's version and
deadline, read who holds the force role, compare-and-set the row (``WHERE id, version and
state = 'draft'``), take the chain's advisory lock (PostgreSQL), read the chain head,
insert the chained, signed transition event (with the same provenance columns), the
outbox row, the signed ``mail_queued`` event holding the mail's digest, and update the
row's ``queued_event_id``. Both sides run with ``S55_BASE_URL`` set, so the force
liaison's mail carries their personal link: the baseline draws a new token
(``secrets.token_urlsafe(32)``), puts it in the mail in place of the warm-up's, and inserts
the ``action_link`` row (the token's SHA-256, person, response, kind, state, version,
issuing event, expiry) in the same transaction. It checks nothing else and renders no
template: its mail is the subject and bodies our side wrote in this run's warm-up (same
sizes; the average sizes of both sides' rows are printed). Afterwards the whole audit chain
is verified with the key, so both sides' events are proven to be well-formed, signed links.

    python -m bench.bench_transitions [--n 150] [--rounds 5] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from bench.common import alternate, durability, fresh_database, report, timed
from states.deadlines import default_force_input_due
from workflow.audit import trail
from workflow.core.checks import ReportInput, validate
from workflow.core.clock import LONDON
from workflow.core.settings import Settings
from workflow.keys import audit_key
from workflow.keys.audit_key import Keyring
from workflow.people import management
from workflow.responses import content
from workflow.responses.service import Workflow
from workflow.storage.db import Database
from workflow.storage.models import ActionLink, AuditEvent, OutboxMessage, Person, Response

ADMIN, FORCE = "admin@opcc.example", "liaison@force.example"
TRIGGER = "request_force_input"
SEP = "\x1f"
BASE_URL = "https://s55.opcc.example"

# The baseline's statements, built once (typed Any: SQLModel tables confuse mypy).
_R: Any = Response.__table__  # type: ignore[attr-defined]
_E: Any = AuditEvent.__table__  # type: ignore[attr-defined]
_O: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
_P: Any = Person.__table__  # type: ignore[attr-defined]
_L: Any = ActionLink.__table__  # type: ignore[attr-defined]
LOAD = select(_R.c.version, _R.c.deadline).where(_R.c.id == bindparam("rid"))
PEOPLE = select(_P.c.id, _P.c.email, _P.c.roles).where(_P.c.active).order_by(_P.c.id)
MOVE = (update(_R)
        .where(_R.c.id == bindparam("rid"), _R.c.version == bindparam("old"),
               _R.c.state == "draft")
        .values(state="force_input", version=bindparam("new"),
                updated_at=bindparam("now", type_=_R.c.updated_at.type),
                force_input_due=bindparam("due", type_=_R.c.force_input_due.type)))
LOCK = text("SELECT pg_advisory_xact_lock(755)")
HEAD = select(_E.c.hash).order_by(_E.c.id.desc()).limit(1)
EVENT = insert(_E).returning(_E.c.id)
MAIL = insert(_O).returning(_O.c.id)
LINK = insert(_L)
POINT = (update(_O).where(_O.c.id == bindparam("oid"))
         .values(queued_event_id=bindparam("queued")))
PROVENANCE = ("channel", "account", "host", "identity", "on_behalf_of")


@dataclass(frozen=True)
class Letter:
    """The mail our side wrote in the warm-up: the baseline writes the same."""

    sender: str
    reply_to: str | None
    subject: str
    body_text: str
    body_html: str
    #: The warm-up's link token, replaced by each transition's own.
    token: str


def setup(url: str, reports: int, key_file: Path) -> Workflow:
    """A workflow signing every event with a new audit key in ``key_file`` (as after
    ``s55 init``), an admin, a liaison and ``reports`` draft responses."""
    audit_key.create(key_file)
    wf = Workflow(Database(url, audit_key_file=key_file),
                  Settings(database_url=url, audit_key_file=key_file, identity="claimed",
                           base_url=BASE_URL))
    management.add_person(wf, {"name": "Admin", "email": ADMIN, "roles": ["admin"]}, None)
    management.add_person(wf, {"name": "Liaison", "email": FORCE, "roles": ["force"]}, ADMIN)
    published = datetime.now(UTC).date()
    for i in range(reports):
        content.add_report(wf, validate(ReportInput, {
            "title": f"Report {i}", "published_on": published,
            "recommendations": [{"number": k, "text": f"By 31 March 2030, do {k}."}
                                for k in (1, 2, 3)]}), ADMIN)
    return wf


def ours(wf: Workflow, ids: list[int]) -> None:
    for rid in ids:
        wf.fire(rid, TRIGGER, ADMIN)


@dataclass(frozen=True)
class Baseline:
    """What the baseline knows before it starts: the mail, the key, the provenance."""

    letter: Letter
    ring: Keyring
    provenance: dict[str, Any]
    days_before: int
    link_days: int


def _event(prev: str, row: dict[str, Any], ring: Keyring) -> tuple[dict[str, Any], str]:
    """``row`` chained after ``prev`` and signed, exactly as the audit log does (verify
    checks both)."""
    fields = [prev, str(row["response_id"]), row["at"].isoformat(timespec="microseconds"),
              row["actor"], row["action"], row["trigger"] or "", row["from_state"] or "",
              row["to_state"] or "", "", row["payload"],
              *("" if row[c] is None else row[c] for c in PROVENANCE)]
    digest = hashlib.sha256(SEP.join(fields).encode()).hexdigest()
    key_id, mac = ring.sign(digest)
    return {**row, "reason": None, "prev_hash": prev, "hash": digest, "key_id": key_id,
            "mac": mac}, digest


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _outbox(letter: Letter, event_id: int, rid: int, to: str, now: datetime, token: str
            ) -> tuple[dict[str, Any], str]:
    """The outbox row of one recipient (their mail carrying ``token``'s link), and its
    digest (what the ``mail_queued`` event records)."""
    key = f"{event_id}:{to}"
    message_id = (f"<s55.{hashlib.sha256(key.encode()).hexdigest()[:40]}"
                  f"@{letter.sender.rpartition('@')[2]}>")
    text_ = letter.body_text.replace(letter.token, token)
    html = letter.body_html.replace(letter.token, token)
    digest = hashlib.sha256(SEP.join((
        letter.sender, to, letter.reply_to or "", letter.subject, text_, html,
        message_id)).encode()).hexdigest()
    return {"event_id": event_id, "response_id": rid, "dedupe_key": key,
            "message_id": message_id, "kind": TRIGGER, "sender": letter.sender,
            "recipient": to, "reply_to": letter.reply_to, "subject": letter.subject,
            "body_text": text_, "body_html": html, "status": "pending",
            "attempts": 0, "last_error": None, "next_attempt_at": now,
            "created_at": now}, digest


def baseline_one(conn: Connection, rid: int, base: Baseline) -> None:
    """One transition's rows, in the caller's transaction."""
    now = datetime.now(UTC)
    version, deadline = conn.execute(LOAD, {"rid": rid}).one()
    recipients = [(pid, email) for pid, email, roles in conn.execute(PEOPLE) if "force" in roles]
    due = default_force_input_due(deadline, now.astimezone(LONDON).date(), base.days_before)
    if conn.execute(MOVE, {"rid": rid, "old": version, "new": version + 1, "now": now,
                           "due": due}).rowcount != 1:
        raise SystemExit(f"baseline: response {rid} moved under us")
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK)
    prev = conn.execute(HEAD).scalar() or trail.GENESIS
    row, prev = _event(prev, {
        "response_id": rid, "at": now, "actor": ADMIN, "action": "transition",
        "trigger": TRIGGER, "from_state": "draft", "to_state": "force_input",
        "payload": _json({"force_input_due": due.isoformat()}), **base.provenance}, base.ring)
    event_id = conn.execute(EVENT, row).scalar_one()
    queued, links = [], []
    for pid, to in recipients:
        token = secrets.token_urlsafe(32)
        mail, digest = _outbox(base.letter, event_id, rid, to, now, token)
        queued.append({"id": conn.execute(MAIL, mail).scalar_one(), "to": to,
                       "digest": digest})
        links.append({"token_hash": hashlib.sha256(token.encode("ascii")).hexdigest(),
                      "person_id": pid, "response_id": rid, "kind": "force", "origin": "mail",
                      "state": "force_input", "version": version + 1, "event_id": event_id,
                      "issued_at": now, "expires_at": now + timedelta(days=base.link_days)})
    conn.execute(LINK, links)
    row, prev = _event(prev, {
        "response_id": rid, "at": now, "actor": ADMIN, "action": "mail_queued", "trigger": None,
        "from_state": None, "to_state": None,
        "payload": _json({"kind": TRIGGER, "cause_event": event_id, "outbox": queued}),
        **base.provenance}, base.ring)
    queued_id = conn.execute(EVENT, row).scalar_one()
    conn.execute(POINT, [{"oid": q["id"], "queued": queued_id} for q in queued])


def baseline(db: Database, ids: list[int], base: Baseline) -> None:
    for rid in ids:
        with db.engine.begin() as conn:  # one transaction per transition, as ours
            baseline_one(conn, rid, base)


def warm_up(wf: Workflow, ours_id: int, base_id: int) -> Baseline:
    """One transition each side (templates compiled, statements cached, pool filled);
    the mail our side wrote, the key and the provenance are the baseline's."""
    ours(wf, [ours_id])
    with wf.db.read() as s:
        row = s.execute(select(_O.c.sender, _O.c.reply_to, _O.c.subject, _O.c.body_text,
                               _O.c.body_html).where(_O.c.response_id == ours_id)).one()
    token = row.body_text.partition(f"{BASE_URL}/l/")[2][:43]
    if len(token) != 43 or token not in row.body_html:
        raise SystemExit("our mail carries no personal link")
    origin = wf.identifier.origin.known_as(trail.Identity.CLAIMED)
    assert wf.db.audit_key_file is not None
    base = Baseline(Letter(*row, token=token), audit_key.load(wf.db.audit_key_file),
                    {c: getattr(origin, c) for c in PROVENANCE},
                    wf.settings.force_input_days_before, wf.settings.link_days)
    baseline(wf.db, [base_id], base)
    return base


def sizes(db: Database, ids: list[int]) -> str:
    """Average subject and body sizes (characters) of the outbox rows of ``ids``."""
    with db.read() as s:
        count, subject, body_text, body_html = s.execute(select(
            func.count(), func.avg(func.length(_O.c.subject)),
            func.avg(func.length(_O.c.body_text)), func.avg(func.length(_O.c.body_html)))
            .where(_O.c.response_id.in_(ids))).one()
        links = s.execute(select(func.count()).where(_L.c.response_id.in_(ids))).scalar()
    return (f"{count} rows, subject {float(subject):.0f}, text {float(body_text):.0f}, "
            f"html {float(body_html):.0f} chars on average, {links} personal links")


def run(backend: str, n: int, rounds: int) -> float:
    with fresh_database(backend) as url, tempfile.TemporaryDirectory() as keys:
        wf = setup(url, 2 * n * rounds + 2, Path(keys) / "audit.key")
        ids: Iterator[int] = iter(range(1, 2 * n * rounds + 1))
        ours_ids: list[int] = []
        base_ids: list[int] = []

        def chunk(into: list[int]) -> list[int]:
            out = [next(ids) for _ in range(n)]
            into.extend(out)
            return out

        # The warm-up takes the last two responses: the longest ids and titles, so the
        # baseline's copy of our mail is never shorter than ours.
        first_ours, first_base = 2 * n * rounds + 1, 2 * n * rounds + 2
        base = warm_up(wf, first_ours, first_base)

        def ours_side() -> float:
            todo = chunk(ours_ids)
            return n / timed(lambda: ours(wf, todo))

        def baseline_side() -> float:
            todo = chunk(base_ids)
            return n / timed(lambda: baseline(wf.db, todo, base))

        result = alternate({"ours": ours_side, "baseline": baseline_side}, rounds)
        verified = trail.verify(wf.db, ring=base.ring)
        assert verified.ok, verified
        assert verified.signed == verified.count, verified
        print(f"durability (both sides): {durability(wf.db)}")
        print(f"mail written: ours {sizes(wf.db, ours_ids)}; baseline {sizes(wf.db, base_ids)}")
        print(f"audit chain verified with the key: {verified.count} events, every one signed, "
              "both sides' links included")
        ratio = report(f"transitions/s on {backend} ({n} {TRIGGER} per round and side, "
                       "each with audit + mail)", "ops/s", result, higher_is_better=True,
                       target=">= 0.5")
        wf.db.dispose()
        return ratio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        run(backend, args.n, args.rounds)


if __name__ == "__main__":
    main()
