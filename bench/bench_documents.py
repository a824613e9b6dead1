"""Benchmark: import 1,000 response documents and render 1,000 responses, against
markdown-it-py parsing the same files in the same run (the target: within 5x).

    .venv/bin/python bench/bench_documents.py [--count 1000] [--db sqlite|URL]

The documents are variants of the Norfolk fixture (titles, dates, heading styles, blank
lines and line endings differ), written to a temporary folder first. Never run by tests.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow.documents.importer import import_document, read_document  # noqa: E402
from workflow.documents.model import format_date  # noqa: E402
from workflow.documents.parse import parse_document  # noqa: E402
from workflow.documents.render import render_response  # noqa: E402
from workflow.storage import schema  # noqa: E402
from workflow.storage.db import Database  # noqa: E402
from workflow.storage.models import Person  # noqa: E402

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / \
    "norfolk-asb-spotlight-2024.md"
ADMIN = "bench@opcc.invalid"


def variant(text: str, i: int) -> str:
    """The fixture with its own title and date, and one of four writing styles."""
    published = date(2024, 10, 10) + timedelta(days=i % 300)
    out = text.replace("PEEL spotlight report\n", f"PEEL spotlight report (variant {i})\n", 1)
    out = out.replace("10 October 2024", format_date(published), 1)
    style = i % 4
    if style == 1:
        out = re.sub(r"^(#+) \*\*(.*)\*\*$", r"\1 \2", out, flags=re.M)
    elif style == 2:
        out = out.replace("\n\n", "\n\n\n")
    elif style == 3:
        out = out.replace("\n", "\r\n")
    return out


def timed(label: str, paths: list[Path], fn: Callable[[Path], object]) -> float:
    start = time.perf_counter()
    for p in paths:
        fn(p)
    per_doc = (time.perf_counter() - start) / len(paths) * 1000
    print(f"  {label:<44} {per_doc:8.3f} ms/doc")
    return per_doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--db", default="sqlite", help="'sqlite' (a temporary file) or a URL")
    args = ap.parse_args()
    text = FIXTURE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for i in range(args.count):
            p = folder / f"response-{i:04d}.md"
            p.write_bytes(variant(text, i).encode("utf-8"))
            paths.append(p)
        url = f"sqlite:///{folder / 'bench.db'}" if args.db == "sqlite" else args.db
        db = Database(url)
        schema.upgrade(db)
        with db.write() as s:
            s.add(Person(name="Bench", email=ADMIN, roles=["admin"],
                         created_at=datetime.now(UTC)))
        md = MarkdownIt("commonmark")

        print(f"{args.count} documents of {len(text) / 1024:.0f} kB, database {db.dialect}")
        base = timed("baseline: read + markdown-it-py parse", paths,
                     lambda p: md.parse(p.read_text(encoding="utf-8")))
        parse = timed("ours: read + check + parse (no database)", paths,
                      lambda p: parse_document(read_document(p), path=str(p)))
        ids: list[int] = []
        imp = timed("ours: import (parse + one transaction)", paths,
                    lambda p: ids.append(import_document(db, p, actor=ADMIN,
                                                         force="Norfolk").response_id))
        id_paths = dict(zip(paths, ids, strict=True))
        render_md = timed("ours: render Markdown", paths,
                          lambda p: render_response(db, id_paths[p], "md"))
        render_html = timed("ours: render HTML", paths,
                            lambda p: render_response(db, id_paths[p], "html"))
        db.dispose()
    print()
    print(f"{'':<28}{'ours':>10}{'baseline':>10}{'ratio':>8}")
    for label, ours in (("parse", parse), ("import", imp), ("render md", render_md),
                        ("render html", render_html)):
        print(f"{label:<28}{ours:>8.3f}ms{base:>8.3f}ms{ours / base:>7.2f}x")


if __name__ == "__main__":
    main()
