"""Import 1,000 response documents and render 1,000 responses, against markdown-it-py
reading and parsing the same files in the same run (the target: within 5x).

    .venv/bin/python -m bench.bench_documents [--count 1000] [--rounds 3]
                                              [--backend sqlite|postgresql]

The documents are variants of the Norfolk reference (titles, dates, heading styles,
blank lines and line endings differ), written to a temporary folder first. A round runs
the baseline (read + ``MarkdownIt("commonmark").parse`` of every file) and our side
(read + check + parse; import each in its own transaction into a fresh database; render
each as Markdown and as HTML), the order alternating (``bench.common.alternate``); each
of our four figures is reported against the same round's baseline, as the median of
the per-round ratios. The imports write through s55's engine: on SQLite WAL with
``synchronous=NORMAL``, on PostgreSQL the server's ``synchronous_commit`` (printed).
Never run by tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from markdown_it import MarkdownIt

from bench.common import alternate, durability, fresh_database, report
from bench.dataset import NORFOLK, variant
from workflow.documents.parse import parse_document
from workflow.documents.render import render_response
from workflow.responses.importing import import_document, read_document
from workflow.storage.db import Database
from workflow.storage.models import Person

ADMIN = "bench@opcc.invalid"
STEPS = ("parse", "import", "render md", "render html")


def per_doc(paths: list[Path], fn: Callable[[Path], object]) -> float:
    """Milliseconds per document of ``fn`` over ``paths``."""
    start = time.perf_counter()
    for p in paths:
        fn(p)
    return (time.perf_counter() - start) / len(paths) * 1000


def ours(paths: list[Path], backend: str, seen: list[str]) -> dict[str, float]:
    """Parse, import (into a fresh database), render Markdown and HTML: ms/doc each."""
    with fresh_database(backend) as url:
        db = Database(url)
        with db.write() as s:
            s.add(Person(name="Bench", email=ADMIN, roles=["admin"],
                         created_at=datetime.now(UTC)))
        if not seen:
            seen.append(durability(db))
        ids: dict[Path, int] = {}
        figures = {
            "parse": per_doc(paths, lambda p: parse_document(read_document(p), path=str(p))),
            "import": per_doc(paths, lambda p: ids.setdefault(p, import_document(
                db, p, actor=ADMIN, force="Norfolk").response_id)),
            "render md": per_doc(paths, lambda p: render_response(db, ids[p], "md")),
            "render html": per_doc(paths, lambda p: render_response(db, ids[p], "html")),
        }
        db.dispose()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    text = NORFOLK.read_text(encoding="utf-8")
    md = MarkdownIt("commonmark")
    seen: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.count):
            p = Path(tmp) / f"response-{i:04d}.md"
            p.write_bytes(variant(text, i).encode("utf-8"))
            paths.append(p)

        def baseline(some: list[Path]) -> float:
            return per_doc(some, lambda p: md.parse(p.read_text(encoding="utf-8")))

        # Warm-up, untimed: templates compiled, modules imported, files in the page cache.
        ours(paths[:4], args.backend, seen), baseline(paths)
        rounds = alternate({"ours": lambda: ours(paths, args.backend, seen),
                            "baseline": lambda: baseline(paths)}, args.rounds)
    print(f"{args.count} documents of {len(text) / 1024:.0f} kB; {seen[0]}")
    for step in STEPS:
        report(f"{step} (ours) vs read + markdown-it-py parse (baseline)", "ms/doc", rounds,
               ours=step, higher_is_better=False, target="<= 5")


if __name__ == "__main__":
    main()
