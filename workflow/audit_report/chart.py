"""The month-by-month bar chart's geometry: on-time and late bars side by side per month.

Only numbers here; the template draws them as an inline SVG (no script, no external
asset) next to a table holding the same figures for those who cannot see the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workflow.audit_report.model import Month

#: Pixels (SVG user units): the plot's height, each month's slot, each bar, the margins.
PLOT_HEIGHT = 200
SLOT = 56
BAR = 20
LEFT, TOP, BOTTOM, RIGHT = 40, 12, 44, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # on_time | late
    value: int
    label: str  # what a tooltip says: "Oct 2024: 3 on time"


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class MonthLabel:
    x: float  # the centre of the month's slot
    month: str  # "Oct"
    year: str | None  # shown under the first month and under each January


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # the x of the plot's right edge
    baseline: int  # the y of zero
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[MonthLabel, ...]


def _step(top: int) -> int:
    """A whole-number tick step giving at most five steps up to ``top``."""
    return max(1, math.ceil(top / 5))


def bar_chart(months: Sequence[Month]) -> Chart:
    """Two bars per month (on time, then late), scaled to the largest count."""
    biggest = max([1, *(max(m.on_time, m.late) for m in months)])
    step = _step(biggest)
    top = step * math.ceil(biggest / step)
    baseline = TOP + PLOT_HEIGHT
    width = LEFT + SLOT * max(1, len(months)) + RIGHT
    bars: list[Bar] = []
    labels: list[MonthLabel] = []
    for i, m in enumerate(months):
        x0 = LEFT + i * SLOT + (SLOT - 2 * BAR) / 2
        for j, (kind, value, words) in enumerate((("on_time", m.on_time, "on time"),
                                                  ("late", m.late, "late"))):
            height = PLOT_HEIGHT * value / top
            bars.append(Bar(x=x0 + j * BAR, y=baseline - height, width=BAR, height=height,
                            kind=kind, value=value, label=f"{m.label}: {value} {words}"))
        labels.append(MonthLabel(x=LEFT + i * SLOT + SLOT / 2, month=f"{m.first:%b}",
                                 year=str(m.first.year) if i == 0 or m.first.month == 1
                                 else None))
    ticks = tuple(Tick(y=baseline - PLOT_HEIGHT * v / top, value=v)
                  for v in range(0, top + 1, step))
    return Chart(width=width, height=baseline + BOTTOM, left=LEFT, right=width - RIGHT,
                 baseline=baseline, bars=tuple(bars), ticks=ticks, labels=tuple(labels))
