"""Shared set-up for benchmarks: fresh databases on each backend, timing, reporting."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from workflow.storage import schema
from workflow.storage.db import Database

PG_ADMIN = os.environ.get("S55_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


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


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def report(title: str, unit: str, ours: float, baseline: float, *, higher_is_better: bool,
           target: str) -> None:
    """Print our figure, the baseline measured in the same run, and the ratio."""
    ratio = ours / baseline if baseline else float("nan")
    print(f"{title}")
    print(f"  ours      {ours:12.3f} {unit}")
    print(f"  baseline  {baseline:12.3f} {unit}")
    print(f"  ratio     {ratio:12.3f}  (ours/baseline; {'higher' if higher_is_better else 'lower'}"
          f" is better; target {target})")
