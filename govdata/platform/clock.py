"""The platform's clock: one place to read the time, so deadlines can be tested on any day.

Deadlines are dates in China Standard Time (UTC+8, no daylight saving), where the working
day calendar (``govdata.platform.workdays``) applies.
"""

from __future__ import annotations

import datetime as dt

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The date in China of a moment."""
    return moment.astimezone(CHINA).date()


def today() -> dt.date:
    """Today in China."""
    return local_date(now())
