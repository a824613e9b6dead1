"""Shared set-up for benchmarks: fresh databases, durability settings, and the one way
every benchmark compares itself with its baseline (``alternate`` then ``report``).

Each benchmark prints our figure, a baseline measured in the same run, and the ratio.
Rounds alternate between the sides (the order rotates every round, so neither side is
always the one that runs first, on warm caches or on a quiet machine), and the figure
reported is the median of the per-round ratios: another engineer's job slowing one
round slows both of its sides, and one bad round cannot move a median.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workflow.storage import schema
from workflow.storage.db import Database

PG_ADMIN = os.environ.get("S55_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

#: A side of a comparison: one measurement (a figure in the unit reported), or several
#: named ones when one run of the side yields several figures (import, then render).
Side = Callable[[], float | Mapping[str, float]]


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, empty database URL on ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            db = Database(url)
            schema.upgrade(db)
            db.dispose()
            yield url
        return
    import psycopg

    name = f"s55_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        db = Database(url)
        schema.upgrade(db)
        db.dispose()
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def durability(db: Database) -> str:
    """The commit durability ``db``'s write engine runs under, as read from the database
    (both sides of a benchmark write through this engine, so it is theirs alike)."""
    with db.engine.connect() as conn:
        if db.is_sqlite:
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(sync or 0), str(sync))
            return f"SQLite synchronous={name}, journal_mode={journal}"
        commit = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        fsync = conn.exec_driver_sql("SHOW fsync").scalar()
        return f"PostgreSQL synchronous_commit={commit}, fsync={fsync}"


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Rounds:
    """Every figure of every round, by name, in round order."""

    figures: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.figures[name])

    def ratios(self, ours: str, baseline: str) -> list[float]:
        """ours / baseline, round by round (each pair measured in the same round)."""
        return [o / b if b else float("nan")
                for o, b in zip(self.figures[ours], self.figures[baseline], strict=True)]

    def ratio(self, ours: str, baseline: str) -> float:
        """The median of the per-round ratios: the figure every benchmark reports."""
        return statistics.median(self.ratios(ours, baseline))


def alternate(sides: Mapping[str, Side], rounds: int) -> Rounds:
    """Run every side once a round for ``rounds`` rounds, the order rotating each round
    (two sides: ours first, then the baseline first, ...).

    A side returns its figure (recorded under the side's name) or a mapping of named
    figures. Any warm-up is the caller's, before this is called.
    """
    if rounds < 1:
        raise ValueError("at least one round")
    names = list(sides)
    figures: dict[str, list[float]] = {}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            result = sides[name]()
            items = result.items() if isinstance(result, Mapping) else [(name, result)]
            for key, value in items:
                figures.setdefault(key, []).append(float(value))
    return Rounds(figures)


def report(title: str, unit: str, rounds: Rounds, *, ours: str = "ours",
           baseline: str = "baseline", higher_is_better: bool, target: str) -> float:
    """Print our figure and the baseline's (medians over the rounds), and the median of
    the per-round ratios; returns that ratio."""
    ratios = rounds.ratios(ours, baseline)
    ratio = statistics.median(ratios)
    print(title)
    print(f"  ours      {rounds.median(ours):12.3f} {unit}  (median of {len(ratios)} rounds)")
    print(f"  baseline  {rounds.median(baseline):12.3f} {unit}")
    print(f"  ratio     {ratio:12.3f}  (median of per-round ours/baseline; "
          f"{'higher' if higher_is_better else 'lower'} is better; target {target})")
    print(f"  per round {', '.join(f'{r:.2f}' for r in ratios)}", flush=True)
    return ratio
