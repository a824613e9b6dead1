"""The baseline side of ``bench.bench_stress``: what our writers wrote, read back as
transactions, and worker processes replaying exactly those rows with SQLAlchemy Core
statements built once per process and run with bound parameters."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.stress import ADMIN

#: Response columns a transition's audit payload may set (dates travel as ISO text).
DATE_COLUMNS = frozenset({"force_input_due", "published_on"})


def ready_then_wait(db: Any, go: str) -> None:
    """Connect, say so, and wait for the start: no process imports or connects in the
    timed part (eight processes importing s55 take seconds of both cores)."""
    from sqlalchemy import text

    import workflow.mail.outbox  # noqa: F401  (a transition's first mail would import Jinja)

    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    Path(f"{go}.{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.005)


def written(url: str, after_id: int) -> list[dict[str, Any]]:
    """Our writers' transactions, oldest first, as the rows each one wrote."""
    from sqlalchemy import text

    from workflow.storage.db import Database

    db = Database(url)
    with db.engine.connect() as conn:
        events = conn.execute(text(
            "SELECT id, response_id, at, actor, action, trigger, from_state, to_state, reason, "
            "payload FROM audit_event WHERE id > :a ORDER BY id"), {"a": after_id}).mappings().all()
        outbox = conn.execute(text(
            "SELECT event_id, kind, sender, recipient, subject, body_text, body_html "
            "FROM outbox WHERE event_id > :a ORDER BY id"), {"a": after_id}).mappings().all()
    db.dispose()
    mails: dict[int, list[dict[str, Any]]] = {}
    for row in outbox:
        mails.setdefault(row["event_id"], []).append(
            {k: v for k, v in row.items() if k != "event_id"})
    txns: list[dict[str, Any]] = []
    for e in events:
        event = {k: (v.isoformat() if isinstance(v, datetime) else v)
                 for k, v in e.items() if k != "id"}
        if e["action"] == "mail_queued":  # written in its cause's transaction, after it
            txns[-1]["mail_events"].append(event)
            continue
        payload = json.loads(e["payload"])
        change: dict[str, Any] = {}
        rec = None
        if e["action"] == "transition":
            change = {"state": e["to_state"], **payload}
        elif "recommendation" in payload:
            rec = [payload["recommendation"], payload["field"], payload["value"]]
        else:
            change = {payload["field"]: payload["value"]}
        txns.append({"rid": e["response_id"], "event": event, "change": change, "rec": rec,
                     "outbox": mails.get(e["id"], []), "mail_events": []})
    return txns


def statements() -> dict[str, Any]:
    """The replay's statements, built once per process; every value is a bound parameter.

    The compare-and-set updates name no SET columns: Core derives them from the keys of
    the parameters given (one compiled form per set of keys, cached).
    """
    from sqlalchemy import bindparam, insert, select, text, update

    from workflow.storage.models import (
        AuditEvent,
        InspectionReport,
        OutboxMessage,
        Person,
        Recommendation,
        Response,
    )

    r: Any = Response.__table__  # type: ignore[attr-defined]
    rep: Any = InspectionReport.__table__  # type: ignore[attr-defined]
    rec: Any = Recommendation.__table__  # type: ignore[attr-defined]
    ev: Any = AuditEvent.__table__  # type: ignore[attr-defined]
    out: Any = OutboxMessage.__table__  # type: ignore[attr-defined]
    person: Any = Person.__table__  # type: ignore[attr-defined]
    return {
        "state": select(r.c.state).where(r.c.id == bindparam("rid")),
        "version": select(r.c.version).where(r.c.id == bindparam("rid")),
        "move": update(r).where(r.c.id == bindparam("b_rid"), r.c.version == bindparam("b_v")),
        "rec": update(rec).where(rec.c.response_id == bindparam("b_rid"),
                                 rec.c.number == bindparam("b_number")),
        "lock": text("SELECT pg_advisory_xact_lock(755)"),
        "head": select(ev.c.hash).order_by(ev.c.id.desc()).limit(1),
        "event": insert(ev).returning(ev.c.id),
        "events": insert(ev),
        "outbox": insert(out),
        "person": select(person).where(person.c.email == bindparam("email")),
        "response": select(r, rep).join(rep, rep.c.id == r.c.report_id)
        .where(r.c.id == bindparam("rid")),
        "recs": select(rec).where(rec.c.response_id == bindparam("rid")),
    }


def raw(url: str, work: list[dict[str, Any]], offset: int, go: str,
        serialised: bool) -> dict[str, Any]:
    """Replay ``work`` (transactions, and refusals as ``{"refusal": rid}``) with prebuilt
    Core statements, on response ``rid + offset``. ``serialised=False`` leaves out the
    chain lock."""
    from workflow.storage.db import Database

    sql = statements()
    db = Database(url)
    ready_then_wait(db, go)
    lat = []
    for item in work:
        t = time.perf_counter()
        rid = item.get("refusal", item.get("rid", 0)) + offset
        if "refusal" in item or item["event"]["action"] == "transition":
            with db.read_engine.connect() as conn:  # the harness's pick, as on our side
                conn.execute(sql["state"], {"rid": rid}).scalar_one()
        if "refusal" in item:
            with db.read_engine.connect() as conn:
                conn.execute(sql["person"], {"email": ADMIN}).first()
                conn.execute(sql["response"], {"rid": rid}).first()
                conn.execute(sql["recs"], {"rid": rid}).all()
            lat.append(time.perf_counter() - t)
            continue
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            version = conn.execute(sql["version"], {"rid": rid}).scalar_one()
            change = {k: date.fromisoformat(v) if k in DATE_COLUMNS and v else v
                      for k, v in item["change"].items()}
            conn.execute(sql["move"], {"b_rid": rid, "b_v": version, "version": version + 1,
                                       "updated_at": now, **change})
            if item["rec"]:
                number, field, value = item["rec"]
                conn.execute(sql["rec"], {"b_rid": rid, "b_number": number, field: value})
            if serialised:
                conn.execute(sql["lock"])
            head = conn.execute(sql["head"]).scalar() or "0" * 64
            chain = _chained([item["event"], *item["mail_events"]], head, rid, now)
            first = conn.execute(sql["event"], chain[0]).scalar_one()
            if item["outbox"]:
                conn.execute(sql["outbox"], [
                    {**m, "event_id": first, "response_id": rid, "dedupe_key": f"{first}:{i}",
                     "message_id": f"<{first}.{i}@s55>", "status": "pending", "attempts": 0,
                     "next_attempt_at": now, "created_at": now}
                    for i, m in enumerate(item["outbox"])])
                conn.execute(sql["events"], chain[1:])
        lat.append(time.perf_counter() - t)
    return {"latencies": lat}


def _chained(events: list[dict[str, Any]], prev: str, rid: int,
             now: datetime) -> list[dict[str, Any]]:
    """The events as rows of response ``rid`` at ``now``, each hashed after the one before."""
    rows = []
    for e in events:
        row = {**e, "response_id": rid, "at": now, "prev_hash": prev}
        row["hash"] = prev = hashlib.sha256(
            "\x1f".join(str(v) for v in row.values()).encode()).hexdigest()
        rows.append(row)
    return rows


def deal(txns: list[dict[str, Any]], refusals: int, n: int) -> list[list[dict[str, Any]]]:
    """``txns`` in our order with ``refusals`` spread among them at random, dealt
    round-robin to ``n`` processes."""
    rng = random.Random(55)
    work: list[dict[str, Any]] = list(txns)
    for t in rng.choices(txns or [{"rid": 1}], k=refusals):
        work.insert(rng.randint(0, len(work)), {"refusal": t["rid"]})
    return [work[i::n] for i in range(n)]
