"""The clock the books read the current day from, so that tests can pin it."""

from collections.abc import Callable
from datetime import UTC, date, datetime

# Returns the books' current day.
Today = Callable[[], date]


def utc_today() -> date:
    """Today's date in UTC, the books' default day."""
    return datetime.now(UTC).date()
