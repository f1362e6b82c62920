"""Working days for deadlines: weekends and configured holidays are not working days,
configured make-up working days (调休上班) on weekends are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from govdata.platform.settings import Settings


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkCalendar:
        return cls(frozenset(settings.holidays), frozenset(settings.extra_workdays))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        while days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count
