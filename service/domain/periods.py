"""The days a balance history reports: every day of a range, or the end of every month."""

import calendar
from datetime import date, timedelta


def period_ends(start: date, end: date, *, monthly: bool) -> list[date]:
    """Each day from `start` to `end`; or, if `monthly`, the last day of each month they
    span, `end` for the last one."""
    if not monthly:
        return [start + timedelta(days=i) for i in range((end - start).days + 1)]
    ends = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        ends.append(min(date(year, month, calendar.monthrange(year, month)[1]), end))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends
