"""Calendar months of a city (in its own time zone), the period of every monthly figure and report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from geo_app.city import CityContext
from geo_app.dates import check_in_range

MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Month:
    """One calendar month in the city's time zone: [start, end)."""

    year: int
    month: int
    start: datetime
    end: datetime

    @property
    def name(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, text: str, city: CityContext) -> Month:
        """``YYYY-MM`` as a month of the city; ValueError that says what to give (also for a month outside
        the dates the service handles, geo_app.dates)."""
        match = MONTH.fullmatch(text or "")
        if match is None:
            raise ValueError(f"month={text!r}: give a calendar month as YYYY-MM, e.g. 2026-10.")
        year, month = int(match[1]), int(match[2])
        start = datetime(year, month, 1, tzinfo=city.timezone)
        check_in_range(start, f"month={text}")  # DateOutOfRange is a ValueError
        end = (start + timedelta(days=32)).replace(day=1)
        return cls(year, month, start, end)

    def unfinished(self, now: datetime) -> bool:
        return now < self.end


def last_complete_month(city: CityContext, now: datetime) -> Month:
    """The latest calendar month of the city that has ended by ``now``."""
    first_of_this = now.astimezone(city.timezone).date().replace(day=1)
    last = first_of_this - timedelta(days=1)
    return Month.parse(f"{last.year:04d}-{last.month:02d}", city)
