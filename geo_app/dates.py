"""The span of dates the service reads from callers, shared by every date and time parameter.

Wide enough for any record a city keeps, narrow enough that adding a day or moving to another time zone
never leaves the calendar Python can represent (``9999-12-31`` plus a day is an OverflowError).
"""

from __future__ import annotations

from datetime import date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)


class DateOutOfRange(ValueError):
    """A date before EARLIEST or after LATEST; ``str()`` says which range to use."""


def check_in_range(value: date | datetime, what: str) -> None:
    """DateOutOfRange naming ``what`` when ``value`` (a date, or a date-time in any zone) is outside."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(
            f"{what}: {day.isoformat()} is outside the dates the service handles; "
            f"use a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}"
        )
