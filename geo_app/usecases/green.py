"""RTH use case: green area per kelurahan, kecamatan and city against the 30 / 20 / 10 % targets, what
changed between two dates and who lives within reach of a park (the figures of /api/analysis/green, the
RTH map and the monthly RTH report)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
import psycopg

from geo_app.analysis import green as green_analysis
from geo_app.city import CityContext
from geo_app.store import green as green_store
from geo_app.store import population as population_store
from geo_app.usecases.periods import last_complete_month

FIGURE_COLUMNS = [
    "level",
    "code",
    "name",
    "parent_code",
    "parent_name",
    "population",
    "area_ha",
    "green_ha",
    "green_share",
    "green_deficit_ha",
    "public_ha",
    "public_share",
    "public_deficit_ha",
    "private_share",
    "gained_ha",
    "lost_ha",
    "net_ha",
    "park_access_share",
    "residents_without_park",
]
"""The columns of :func:`area_figures`, in the order of the API's CSV and the page's table."""


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records", double_precision=6))


def rth_statistics(conn: psycopg.Connection, city: CityContext, at: datetime | None) -> pd.DataFrame:
    """One row per kelurahan, kecamatan and the city (``level``) at ``at`` (default: now)."""
    return green_analysis.load_rth_statistics(conn, city.code, city.name, at)


@dataclass(frozen=True)
class GreenChanges:
    """Hectares gained and lost per kelurahan, kecamatan and city between two moments; the changed land
    as shapes (``with_shapes``) and the changed polygons of each kelurahan (``with_polygons``)."""

    table: pd.DataFrame
    shapes: list[dict]
    polygons: list[dict]


def green_changes(
    conn: psycopg.Connection,
    city: CityContext,
    before: datetime,
    after: datetime,
    *,
    with_shapes: bool = False,
    with_polygons: bool = False,
) -> GreenChanges:
    table, shapes = green_analysis.load_change(
        conn, city.code, city.name, before, after, geometry=with_shapes
    )
    polygons = green_store.changed_polygons(conn, city.code, before, after) if with_polygons else []
    return GreenChanges(table, shapes, polygons)


@dataclass(frozen=True)
class ParkAccessRequest:
    radius_m: float = green_analysis.ACCESS_RADIUS_M
    min_ha: float = green_analysis.ACCESS_MIN_HA
    at: datetime | None = None
    green_types: tuple[str, ...] = ()  # (): every public type


@dataclass(frozen=True)
class ParkAccess:
    """Residents within reach per kelurahan, kecamatan and city, the land beyond reach per kelurahan, and
    where the residents come from (population grid or spread evenly)."""

    table: pd.DataFrame
    gaps: dict
    population_model: str


def park_access(conn: psycopg.Connection, city: CityContext, request: ParkAccessRequest) -> ParkAccess:
    table, gaps = green_analysis.load_access(
        conn, city.code, city.name, request.radius_m, request.min_ha, request.at, request.green_types
    )
    return ParkAccess(table, gaps, population_store.model_name(conn, city.code))


def targets() -> dict:
    targets_ = green_analysis.Targets()
    return {"total": targets_.total, "public": targets_.public, "private": targets_.private}


def end_of_day(day: date, city: CityContext) -> datetime:
    """The last instant of ``day`` in the city's time zone: a date as "as of" includes that day's edits."""
    return datetime.combine(day + timedelta(days=1), time.min, city.timezone) - timedelta(microseconds=1)


def month_end_a_year_before(day: date) -> date:
    """The last day of ``day``'s month a year earlier: 2026-11-30 -> 2025-11-30, 2028-02-29 -> 2027-02-28."""
    first_of_next = (date(day.year - 1, day.month, 1) + timedelta(days=32)).replace(day=1)
    return first_of_next - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The two dates the green figures compare: ``since`` (Dari) and ``until`` (Sampai), both as of the
    end of that day in the city's time zone."""

    since: date
    until: date

    def instants(self, city: CityContext) -> tuple[datetime, datetime]:
        return end_of_day(self.since, city), end_of_day(self.until, city)


def comparison_start(first_version: datetime | None, until: date, city: CityContext) -> date:
    """Where a comparison ending on ``until`` starts by default: the end of the same month a year before,
    or the first day of the city's green history when that is later (never on or after ``until``)."""
    since = month_end_a_year_before(until)
    if first_version is not None:
        since = max(since, first_version.astimezone(city.timezone).date())
    return min(since, until - timedelta(days=1))


def default_period(conn: psycopg.Connection, city: CityContext, now: datetime) -> Period:
    """The period the green page and figures open with: up to the end of the last complete month, from the
    end of that month a year earlier (a month still running is never the default end)."""
    until = (last_complete_month(city, now).end - timedelta(days=1)).date()
    return Period(comparison_start(green_store.first_version(conn, city.code), until, city), until)


class FiguresCache:
    """The last few figure tables by (city, period, radius, size, data version): the green page and its
    choropleth ask for the same figures one after the other. Thread-safe; per process."""

    def __init__(self, size: int = 8):
        self.size = size
        self._tables: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return self._tables[key].copy()
        table = compute()
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > self.size:
                self._tables.popitem(last=False)
        return table.copy()

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()


FIGURES = FiguresCache()


def area_figures(
    conn: psycopg.Connection,
    city: CityContext,
    period: Period,
    radius_m: float = green_analysis.ACCESS_RADIUS_M,
    min_ha: float = green_analysis.ACCESS_MIN_HA,
) -> pd.DataFrame:
    """What the environment office asks per kelurahan, kecamatan and city (``level``), one row each:

    - RTH at the end of the period against the targets: share of the area, deficit in hectares to 30 %
      in all and to 20 % public;
    - hectares gained, lost and net between the two dates;
    - ``park_access_share``: the share of residents within ``radius_m`` of a public green area of at
      least ``min_ha`` (by the population grid, else spread evenly over the area), and how many are not.

    Columns: :data:`FIGURE_COLUMNS`. Reused while the data is unchanged (:class:`FiguresCache`).
    """
    key = (city, period, radius_m, min_ha, green_store.data_version(conn, city.code))
    return FIGURES.get(key, lambda: _compute_figures(conn, city, period, radius_m, min_ha))


def _compute_figures(
    conn: psycopg.Connection, city: CityContext, period: Period, radius_m: float, min_ha: float
) -> pd.DataFrame:
    before, after = period.instants(city)
    keys = ["level", "code"]
    statistics = rth_statistics(conn, city, after)
    changes, _ = green_analysis.load_change(conn, city.code, city.name, before, after)
    access, _ = green_analysis.load_access(conn, city.code, city.name, radius_m, min_ha, at=after)
    access = access.rename(
        columns={"residents_share_covered": "park_access_share", "residents_beyond": "residents_without_park"}
    )
    figures = statistics.merge(changes[[*keys, "gained_ha", "lost_ha", "net_ha"]], on=keys, how="left").merge(
        access[[*keys, "park_access_share", "residents_without_park"]], on=keys, how="left"
    )
    names = figures.loc[figures["level"] != "kelurahan"].set_index("code")["name"]
    figures["parent_name"] = figures["parent_code"].map(names)
    return figures[FIGURE_COLUMNS]
