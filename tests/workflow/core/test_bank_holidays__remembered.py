"""The remembered bank holidays (``workflow.core.bank_holidays``) answer as the ``holidays`` package
does, are kept owner-only, and a damaged cache file is computed afresh."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest

from workflow.core import bank_holidays


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HOME", str(tmp_path))
    bank_holidays.england_and_wales.cache_clear()
    yield tmp_path
    bank_holidays.england_and_wales.cache_clear()


def _package(day: date) -> str | None:
    found = holidays.country_holidays("GB", subdiv="ENG").get(day)
    return str(found) if found else None


def _every_day(first: int, last: int) -> list[date]:
    start = date(first, 1, 1)
    return [start + timedelta(days=i) for i in range((date(last, 12, 31) - start).days + 1)]


def test_remembered_days_are_the_packages(home: Path) -> None:
    this_year = date.today().year
    days = _every_day(this_year - 3, this_year + 4)  # the remembered years and beyond
    cold = bank_holidays.england_and_wales()
    assert [cold.closed(d) for d in days] == \
        [_package(d) or {5: "Saturday", 6: "Sunday"}.get(d.weekday()) for d in days]
    (cache,) = (home / ".cache" / "s55").iterdir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    bank_holidays.england_and_wales.cache_clear()
    warm = bank_holidays.england_and_wales()  # read from the file this time
    assert [warm.closed(d) for d in days] == [cold.closed(d) for d in days]


def test_a_damaged_cache_is_computed_afresh(home: Path) -> None:
    bank_holidays.england_and_wales()
    (cache,) = (home / ".cache" / "s55").iterdir()
    cache.write_text("{not json", encoding="utf-8")
    bank_holidays.england_and_wales.cache_clear()
    christmas = date(date.today().year, 12, 25)
    assert bank_holidays.england_and_wales().closed(christmas) == "Christmas Day"
    assert cache.read_text(encoding="utf-8").startswith("{")
