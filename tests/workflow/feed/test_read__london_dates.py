"""An item's publication date is the Europe/London calendar day of the instant the feed
names, whatever offset it writes the instant in (RSS's RFC 822 or Atom's RFC 3339)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from feed_support import Entry, atom, rss
from hypothesis import example, given
from hypothesis import strategies as st

from workflow.core.clock import LONDON
from workflow.feed.read import parse

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(at: datetime) -> str:
    offset = at.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return (f"{_DAYS[at.weekday()]}, {at.day:02d} {_MONTHS[at.month - 1]} {at.year} "
            f"{at:%H:%M:%S} {sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}")


instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 12, 31),
                        timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))


@given(instants, offsets)
# 23:01 UTC on a BST day is the next London day; 00:30 +0100 on a GMT day the day before.
@example(datetime(2025, 10, 10, 23, 1, tzinfo=UTC), timedelta(0))
@example(datetime(2025, 11, 9, 23, 30, tzinfo=UTC), timedelta(hours=1))
# The hour the clocks go back (01:00-02:00 UTC on 26 October 2025) and forward.
@example(datetime(2025, 10, 26, 0, 59, tzinfo=UTC), timedelta(hours=-5))
@example(datetime(2025, 3, 30, 0, 59, 59, tzinfo=UTC), timedelta(hours=9))
def test_the_london_day_of_the_instant_whatever_the_offset(at: datetime,
                                                          offset: timedelta) -> None:
    written = at.astimezone(timezone(offset))
    london = at.astimezone(LONDON).date()
    for data in (rss([Entry("A report", "a", rfc822(written))]),
                 atom([Entry("A report", "a", written.isoformat())])):
        (item,), skipped = parse("test", data)
        assert skipped == []
        assert item.published_at == at
        assert item.published_on == london


def test_the_two_cases_named_in_the_module() -> None:
    (bst,), _ = parse("t", rss([Entry("x", "x", "Fri, 10 Oct 2025 23:01:00 GMT")]))
    (gmt,), _ = parse("t", rss([Entry("x", "x", "Mon, 10 Nov 2025 00:30:00 +0100")]))
    assert (bst.published_on, gmt.published_on) == (date(2025, 10, 11), date(2025, 11, 9))
