"""Working days in England and Wales: Monday to Friday except the bank holidays.

The bank holidays come from the ``holidays`` package, whose maintainers keep the one-off
days (the 2022 state funeral, the 2023 coronation) and substitute days current; a list
written here would go stale. Section 55 covers England and Wales, which share one set of
bank holidays: ``subdiv="ENG"`` and ``subdiv="WLS"`` give the same days (a test checks
it), so ENG serves both.

Kept out of ``states/`` (which takes the days as a lookup, ``states.workdays``) so that
``states`` imports nothing from outside the standard library but ``transitions``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from states.workdays import WorkingDays

#: ``holidays.country_holidays`` arguments for England and Wales.
COUNTRY, SUBDIVISION = "GB", "ENG"


@lru_cache(maxsize=1)
def england_and_wales() -> WorkingDays:
    """Monday to Friday except England and Wales bank holidays, any year (computed by the
    ``holidays`` package as a year is first asked about).

    Importing ``holidays`` and building its calendar costs a cold ``s55 list`` about a
    tenth of a second, so the days it names for the years around now are kept in a
    per-user cache file (``_remembered``), tied to the installed package's files: an
    upgraded package computes them afresh. A day outside those years asks the package.
    """
    remembered = _remembered()
    live: list[Any] = []

    def name(day: date) -> str | None:
        if remembered is not None and day.year in remembered[0]:
            return remembered[1].get(day.isoformat())
        if not live:
            live.append(_package_lookup())
        found = live[0].get(day)
        return str(found) if found else None

    return WorkingDays(name)


def _package_lookup() -> Any:
    # Imported here: ``s55 --help`` and commands that never plan stay quick to start.
    import holidays

    return holidays.country_holidays(COUNTRY, subdiv=SUBDIVISION)


#: The years around the current one whose bank holidays are remembered.
_YEARS_BEFORE, _YEARS_AFTER = 2, 3


def _stamp() -> str | None:
    """Names the installed ``holidays`` package's rules (found, not imported): its path
    and the size and time of the files that decide England's days."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent
    parts = [str(folder)]
    for name in ("version.py", "countries/united_kingdom.py", "holiday_base.py"):
        st = (folder / name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _cache_file(stamp: str) -> Path:
    return Path.home() / ".cache" / "s55" / f"bank-holidays-{COUNTRY}-{SUBDIVISION}-{stamp}.json"


def _remembered() -> tuple[range, dict[str, str]] | None:
    """(years, ISO day -> name) from the cache, written first if missing; None when
    neither reading nor computing it works (the package is then asked day by day)."""
    try:
        stamp = _stamp()
        if stamp is None:
            return None
        path = _cache_file(stamp)
        # Which years are kept does not change any answer (others ask the package).
        this_year = date.today().year
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            years = range(data["first"], data["last"] + 1)
            if this_year in years and isinstance(data["days"], dict):
                return years, data["days"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        years = range(this_year - _YEARS_BEFORE, this_year + _YEARS_AFTER + 1)
        lookup = _package_lookup()
        for year in years:  # asking about a day computes its whole year
            lookup.get(date(year, 1, 1))
        days = {d.isoformat(): str(n) for d, n in sorted(lookup.items()) if d.year in years}
        _write(path, {"first": years.start, "last": years.stop - 1, "days": days})
        return years, days
    except OSError:
        return None


def _write(path: Path, data: dict[str, Any]) -> None:
    """``data`` into ``path`` whole (a temporary file renamed), owner-only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def not_working(day: date) -> str | None:
    """Why ``day`` is not a working day in England and Wales ("Christmas Day",
    "Saturday"), or None."""
    return england_and_wales().closed(day)


def deadline_note(deadline: date) -> dict[str, str] | None:
    """When the last lawful day is not a working day: why, and the last working day
    before it (the deadline itself never moves: s55(5A) counts calendar days). Else None."""
    because = not_working(deadline)
    if because is None:
        return None
    return {"because": because,
            "last_working_day": england_and_wales().on_or_before(deadline).isoformat()}
