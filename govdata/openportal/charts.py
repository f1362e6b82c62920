"""The portal's charts, drawn on the server as SVG by the shared web layer: a dataset's
number over time, and the open-list coverage against the plans' targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from govdata.platform.web.charts import bar_chart, line_chart

MAX_DAYS, MAX_MONTHS = 31, 24


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # not NaN


def buckets(rows: Sequence[tuple[Any, Any]]) -> list[tuple[str, float]]:
    """The average number per day of the latest ``MAX_DAYS`` days when the data spans
    less than six months, else per month, the latest ``MAX_MONTHS`` of them."""
    pairs = [(str(day)[:10], number) for day, value in rows
             if day is not None and (number := _number(value)) is not None]
    months = {day[:7] for day, _ in pairs}
    width, most = (10, MAX_DAYS) if len(months) < 6 else (7, MAX_MONTHS)
    sums: dict[str, list[float]] = {}
    for day, number in pairs:
        sums.setdefault(day[:width], []).append(number)
    ordered = sorted(sums.items())[-most:]
    return [(label, sum(values) / len(values)) for label, values in ordered]


def over_time(rows: Sequence[tuple[Any, Any]], *, date_title: str, value_title: str
              ) -> Markup | None:
    """A line of the average ``value_title`` per ``date_title`` (None without data)."""
    points = buckets(rows)
    if not points:
        return None
    labels = [label for label, _ in points]
    if len({label[:4] for label in labels}) == 1 and len(labels[0]) == 10:
        labels = [label[5:] for label in labels]  # one year: 04-27
    period, span = ("日", "天") if len(points[0][0]) == 10 else ("月", "个月")
    title = f"{value_title} (按{date_title}逐{period}平均, 最近 {len(points)} {span})"
    return line_chart(labels, {value_title: [round(value, 2) for _, value in points]},
                      title=title)


def coverage(share: float, targets: Sequence[dict[str, Any]]) -> Markup:
    """The share of departments publishing an open list beside each plan's target, in %."""
    labels = ["本平台现状", *(f"{target['plan'][:3]}目标" for target in targets)]
    values = [round(share * 100, 1), *(round(target["target"] * 100, 1) for target in targets)]
    return bar_chart(labels, {"公布开放清单的部门占比": values}, title="开放清单覆盖率与规划目标",
                     unit="%")
