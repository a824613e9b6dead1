"""The baseline of ``bench.bench_verify``: the chain, the HMACs, the replay and the
fingerprints of ``s55 audit verify``, as a plain loop over the sqlite3 module.

Nothing of s55 but the Jinja template (and its filters) that the fingerprint's text is
rendered with: the same work, written the shortest way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workflow.documents.render import environment

TEXT = ("key_findings", "cc_response", "pcc_response", "afi_statement", "recommendations_intro")
BOXES = {"forwarded_to_chief_constable": False, "forwarded_to_panel": False,
         "published_on_website": False, "submitted_on_portal": False}
SQL = ("SELECT id, prev_hash, hash, response_id, at, actor, action, trigger, from_state, "
       "to_state, reason, payload, channel, account, host, identity, on_behalf_of, key_id, mac "
       "FROM audit_event ORDER BY id")


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _clean(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def fingerprint(r: dict[str, Any], template: Any) -> str:
    resp = SimpleNamespace(**{f: r[f] for f in TEXT}, deadline=r["deadline"],
                           published_url=None, portal_reference=None, force=r["force"])
    recs = [SimpleNamespace(number=n, text=x["text"], force_response=x["force_response"],
                            pcc_note=x["pcc_note"])
            for n, x in sorted(r["recs"].items())]
    rep = r["report"]
    # Text version 3: what a heading with nothing of its own prints.
    v = SimpleNamespace(force=r["force"], recommendations=recs, areas_for_improvement=[],
                        recommendations_intro=r["recommendations_intro"],
                        link_label=rep["link_label"] or "", signature=None,
                        police_forces_text=(rep["police_forces"] or "").strip() or r["force"],
                        recommendations_text=r["recommendations_intro"] or (
                            "" if recs else "There are no recommendations made."),
                        areas_text=r["afi_statement"] or
                        "There are no areas for improvement made.")
    text = template.render(v=v, r=resp, report=SimpleNamespace(**rep), done=BOXES)
    text = text.split("### For Office Use Only:", 1)[0].rstrip() + "\n"
    return hashlib.sha256(text.encode()).hexdigest()


def _apply(r: dict[str, Any], action: str, to_state: str, p: dict[str, Any],
           reports: dict[int, dict[str, Any]]) -> None:
    if action == "created":
        rep = p["report"]
        r.update(state=to_state, version=1, deadline=_day(p["deadline"]),
                 signoff_due=_day(p["signoff_due"]), force_input_due=None, force=p["force"],
                 **{f: _clean(rep.get(f)) for f in TEXT})
        r["recs"] = {x["number"]: {"text": x["text"], "due_date": _day(x["due_date"]),
                                   "force_response": _clean(x["force_response"]),
                                   "pcc_note": _clean(x["pcc_note"])}
                     for x in rep["recommendations"]}
        report = {k: rep[k] for k in ("title", "publication_types", "police_forces", "link",
                                      "link_label")}
        report["published_on"] = _day(rep["published_on"])
        r["report"] = reports.setdefault(p["report_id"], report)
    elif action == "edited":
        r["version"] += 1
        if "recommendation" in p:
            r["recs"][p["recommendation"]][p["field"]] = _clean(p["value"])
        else:
            r[p["field"]] = _clean(p["value"])
    elif action == "transition":
        r["version"] += 1
        r["state"] = to_state
        if "force_input_due" in p:
            r["force_input_due"] = _day(p["force_input_due"])


def verify(path: Path, keys: dict[str, bytes]) -> tuple[int, str, int]:
    """(events, head, problems) of the log at ``path``."""
    conn = sqlite3.connect(path)
    template = environment(None).get_template("response.md.j2")
    sha, new = hashlib.sha256, hmac.new
    prev, count, problems = "0" * 64, 0, 0
    images: dict[int, dict[str, Any]] = {}
    reports: dict[int, dict[str, Any]] = {}
    for row in conn.execute(SQL):
        if row[1] != prev:
            raise SystemExit(f"baseline: chain broken at {row[0]}")
        fields = [prev, "" if row[3] is None else str(row[3]), row[4].replace(" ", "T") +
                  "+00:00", *("" if f is None else f for f in row[5:17])]
        if sha("\x1f".join(fields).encode()).hexdigest() != row[2]:
            raise SystemExit(f"baseline: hash mismatch at {row[0]}")
        if not hmac.compare_digest(new(keys[row[17]], row[2].encode(), sha).hexdigest(),
                                   row[18]):
            raise SystemExit(f"baseline: bad HMAC at {row[0]}")
        prev, count = row[2], count + 1
        if row[3] is None or row[6] not in ("created", "edited", "transition"):
            continue
        p = json.loads(row[11])
        r = images.setdefault(row[3], {})
        _apply(r, row[6], row[9], p, reports)
        if "fingerprint" in p and fingerprint(r, template) != p["fingerprint"]:
            problems += 1
    problems += _compare(conn, images)
    conn.close()
    return count, prev, problems


def _compare(conn: sqlite3.Connection, images: dict[int, dict[str, Any]]) -> int:
    problems = 0
    names = ("state", "version", "deadline", "signoff_due", "force_input_due", *TEXT)
    for rid, *values in conn.execute(f"SELECT id, {', '.join(names)} FROM response"):
        r = images[rid]
        for name, value in zip(names, values, strict=True):
            want = r[name]
            if isinstance(want, date):
                want = want.isoformat()
            problems += value != want
    for rid, number, text, due, answer, note in conn.execute(
            "SELECT response_id, number, text, due_date, force_response, pcc_note "
            "FROM recommendation"):
        want = images[rid]["recs"][number]
        problems += (text, due, answer, note) != (
            want["text"], want["due_date"].isoformat(), want["force_response"],
            want["pcc_note"])
    return problems
