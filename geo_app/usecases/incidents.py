"""112 use cases: response times, the supervisor's morning briefing and the monthly figures.

Periods are local days and calendar months in the city's time zone; the default call types are the
catalog's emergencies (``counts_as_incident``), as in every 112 analysis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import psycopg

from geo_app.analysis import response
from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.store import areas as area_store
from geo_app.store import incident_aggregates as aggregates
from geo_app.store import incident_counts
from geo_app.store.incidents import IncidentFilter
from geo_app.usecases.errors import WholeMonthsOnly
from geo_app.usecases.periods import Month

BRIEFING_WINDOWS = ((1, "Kemarin"), (7, "7 hari terakhir"), (28, "28 hari terakhir"))
"""Days of each briefing window (ending at the start of today) and its label."""


def emergency_filter(city: CityContext, catalog: Catalog, **fields) -> IncidentFilter:
    return IncidentFilter(city_code=city.code, call_types=tuple(catalog.incident_call_types), **fields)


def response_summary(conn: psycopg.Connection, city: CityContext, catalog: Catalog, filters) -> dict:
    """Call-to-arrival compliance, median and p90 per category, kelurahan and kecamatan, and the monthly
    shares of prank and ghost calls (over every call type): the body of /api/analysis/response."""
    all_calls = replace(filters, call_types=())
    targets, goals = response_targets(catalog), compliance_goals(catalog)
    rows = aggregates.response_rows(conn, filters)
    monthly = aggregates.monthly_call_types(conn, all_calls, city.timezone_name)
    names = aggregates.area_names(conn, filters.city_code)

    def named(groups: dict[str, dict]) -> dict[str, dict]:
        return {code: {"name": names.get(code, code), **summary} for code, summary in groups.items()}

    return {
        "measure": "minutes from call received to responder arrived",
        "targets_min": targets,
        "compliance_goals_pct": goals,
        "incidents": len(rows),
        "by_category": {
            code: {"label": catalog.incident_categories[code].label, "target_min": targets[code], **summary}
            for code, summary in response.by_group(rows, "category", targets, goals).items()
        },
        "by_kelurahan": named(response.by_group(rows, "kelurahan_code", targets, goals)),
        "by_kecamatan": named(response.by_group(rows, "kecamatan_code", targets, goals)),
        "monthly_call_shares": response.monthly_shares(monthly),
    }


def response_targets(catalog: Catalog) -> dict[str, float]:
    return {code: entry.response_target_min for code, entry in catalog.incident_categories.items()}


def compliance_goals(catalog: Catalog) -> dict[str, float]:
    """Each category's goal: the share (per cent) of its incidents that should arrive within target."""
    return {code: entry.compliance_goal_pct for code, entry in catalog.incident_categories.items()}


def response_by_kelurahan(conn: psycopg.Connection, catalog: Catalog, filters) -> dict[str, dict]:
    """Compliance, median, p90, goal and gap per kelurahan code (for the response map)."""
    rows = aggregates.response_rows(conn, filters)
    return response.by_group(rows, "kelurahan_code", response_targets(catalog), compliance_goals(catalog))


NO_RESPONSES = {
    "incidents": 0,
    "compliance": None,
    "median_min": None,
    "p90_min": None,
    "goal_pct": None,
    "gap_points": None,
}
"""The figures of a kelurahan without any arrived incident in the period."""


def response_map(conn: psycopg.Connection, city: CityContext, catalog: Catalog, filters) -> dict:
    """Every kelurahan polygon with its kecamatan and its response compliance against its goal, median and
    p90 (GeoJSON, the response map and /api/analysis/response/kelurahan); kelurahan without incidents carry
    zero and nulls."""
    summaries = response_by_kelurahan(conn, catalog, filters)
    collection = area_store.areas_geojson(conn, city.code, "kelurahan")
    for feature in collection["features"]:
        properties = feature["properties"]
        feature["properties"] = {
            "code": properties["code"],
            "name": properties["name"],
            "kecamatan": properties["parent_name"],
            **summaries.get(properties["code"], NO_RESPONSES),
        }
    return collection


def hour_weekday(conn: psycopg.Connection, city: CityContext, catalog: Catalog, filters) -> dict:
    """Counts per hour of day (0-23) × ISO weekday (rows, 1 = Monday), in total and per category, in the
    city's own time zone: the body of /api/analysis/hotspots/temporal and the hotspot page's chart."""
    total = np.zeros((7, 24), dtype=int)
    per_category: dict[str, np.ndarray] = {}
    for row in aggregates.hour_weekday_counts(conn, filters, city.timezone_name):
        table = per_category.setdefault(row["category"], np.zeros((7, 24), dtype=int))
        table[row["weekday"] - 1, row["hour"]] += row["count"]
        total[row["weekday"] - 1, row["hour"]] += row["count"]
    labels = catalog.incident_categories
    return {
        "timezone": city.timezone_name,
        "rows": "weekday 1 (Monday) to 7 (Sunday)",
        "columns": "hour 0 to 23",
        "total": total.tolist(),
        "categories": {
            code: {"label": labels[code].label if code in labels else code, "counts": table.tolist()}
            for code, table in sorted(per_category.items())
        },
    }


def response_stages(conn: psycopg.Connection, catalog: Catalog, filters: IncidentFilter) -> list[dict]:
    """Per category: median and p90 minutes of call to dispatch and of dispatch to arrival."""
    stages: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for row in aggregates.stage_rows(conn, filters):
        to_dispatch, to_arrival = stages[row["category"] or ""]
        to_dispatch.append(float(row["to_dispatch"]))
        if row["to_arrival"] is not None:
            to_arrival.append(float(row["to_arrival"]))
    labels = catalog.incident_categories
    return [
        {
            "category": code,
            "label": labels[code].label if code in labels else (code or "tanpa kategori"),
            "dispatched": len(to_dispatch),
            "arrived": len(to_arrival),
            "to_dispatch": response.median_p90(to_dispatch),
            "to_arrival": response.median_p90(to_arrival),
        }
        for code, (to_dispatch, to_arrival) in sorted(stages.items())
    ]


def change(current: int, previous: int) -> dict:
    """The change from the period before: ▲ up, ▼ down, = same; percent None when before was zero."""
    arrow = "▲" if current > previous else "▼" if current < previous else "="
    pct = round(100.0 * (current - previous) / previous, 1) if previous else None
    return {"current": current, "previous": previous, "arrow": arrow, "pct": pct}


def _local_midnight(day: date, city: CityContext) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=city.timezone)


def daily_briefing(conn: psycopg.Connection, city: CityContext, catalog: Catalog, now: datetime) -> dict:
    """Yesterday, the last 7 and the last 28 local days against the same length before, per kecamatan
    and category; the response stages per category over the last 28 days. Today is left out: it has
    not ended, and half a day would read as a fall everywhere."""
    today = now.astimezone(city.timezone).date()
    longest = max(days for days, _ in BRIEFING_WINDOWS)
    filters = emergency_filter(
        city,
        catalog,
        start=_local_midnight(today - timedelta(days=2 * longest), city),
        end=_local_midnight(today, city),
    )
    rows = aggregates.daily_counts(conn, filters, city.timezone_name)
    names = aggregates.area_names(conn, city.code)
    kecamatan = [row["code"] for row in area_store.list_areas(conn, city.code, "kecamatan")]
    labels = catalog.incident_categories
    windows = []
    for days, label in BRIEFING_WINDOWS:
        first = today - timedelta(days=days)
        before = first - timedelta(days=days)
        current: dict[tuple, int] = defaultdict(int)
        previous: dict[tuple, int] = defaultdict(int)
        for row in rows:
            if first <= row["day"] < today:
                counts = current
            elif before <= row["day"] < first:
                counts = previous
            else:
                continue
            for key in (("kecamatan", row["kecamatan_code"]), ("category", row["category"]), ("total",)):
                counts[key] += row["count"]
        windows.append(
            {
                "days": days,
                "label": label,
                "from": first,
                "to": today - timedelta(days=1),
                "previous_from": before,
                "total": change(current[("total",)], previous[("total",)]),
                "by_kecamatan": [
                    {"code": code, "name": names.get(code), **change(current[key], previous[key])}
                    for code in kecamatan + [None]
                    for key in [("kecamatan", code)]
                    if code is not None or current[key] or previous[key]
                ],
                "by_category": [
                    {"code": code, "label": labels[code].label, **change(current[key], previous[key])}
                    for code in labels
                    for key in [("category", code)]
                ],
            }
        )
    stage_filter = replace(filters, start=_local_midnight(today - timedelta(days=longest), city))
    return {
        "today": today,
        "timezone": city.timezone_label,
        "call_types": list(filters.call_types),
        "windows": windows,
        "stages": response_stages(conn, catalog, stage_filter),
    }


def monthly_report(conn: psycopg.Connection, city: CityContext, catalog: Catalog, month: Month) -> dict:
    """The 112 roles' month: exact counts per kelurahan, kecamatan and category, response times and
    their stages, and what the figures leave out."""
    filters = emergency_filter(city, catalog, start=month.start, end=month.end)
    names = aggregates.area_names(conn, city.code)
    by_category: dict[str, int] = defaultdict(int)
    by_kelurahan: dict[str, int] = defaultdict(int)
    by_kecamatan: dict[str, int] = defaultdict(int)
    total = 0
    for row in aggregates.kelurahan_category_counts(conn, filters):
        total += row["count"]
        by_category[row["category"] or ""] += row["count"]
        if row["kelurahan_code"]:
            by_kelurahan[row["kelurahan_code"]] += row["count"]
            by_kecamatan[row["kecamatan_code"]] += row["count"]
    labels = catalog.incident_categories
    return {
        "total": total,
        "call_types": list(filters.call_types),
        "by_category": [
            {"code": code, "label": labels[code].label if code in labels else code, "count": count}
            for code, count in sorted(by_category.items(), key=lambda item: -item[1])
        ],
        "by_kelurahan": _ranked(by_kelurahan, names),
        "by_kecamatan": _ranked(by_kecamatan, names),
        "response": response_summary(conn, city, catalog, filters),
        "stages": response_stages(conn, catalog, filters),
        "left_out": aggregates.left_out(conn, filters, points_only=False),
    }


def _ranked(counts: dict[str, int], names: dict[str, str]) -> list[dict]:
    return [
        {"code": code, "name": names.get(code, code), "count": count}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], "")))
    ]


def public_monthly_counts(conn: psycopg.Connection, city: CityContext, month: Month, min_count: int) -> dict:
    """What anyone may see of a month: counts per kecamatan and kelurahan built only from cells holding
    at least ``min_count`` incidents (geo_app.store.incident_counts), call type darurat, as
    /api/incidents/counts answers the public."""
    filters = IncidentFilter(city_code=city.code, start=month.start, end=month.end, call_types=("darurat",))
    levels = {
        level: sorted(
            incident_counts.counts_by_area(conn, filters, level, min_count, city.timezone_name),
            key=lambda row: (-row["count"], row["name"]),
        )
        for level in incident_counts.LEVELS
    }
    return {
        "min_cell": min_count,
        "cell": incident_counts.CELL,
        "call_types": list(filters.call_types),
        "by_kecamatan": levels["kecamatan"],
        "by_kelurahan": levels["kelurahan"],
        "total": sum(row["count"] for row in levels["kecamatan"]),
    }


@dataclass(frozen=True)
class AreaCountRequest:
    """Counts per ``level`` (kelurahan or kecamatan) of the incidents ``filters`` select (time, category and
    call type only). ``exact``: the role may see exact points; else whole months up to the last complete
    one, each count the sum of the cells holding at least ``min_count`` incidents."""

    filters: IncidentFilter
    level: str = "kelurahan"
    exact: bool = False
    min_count: int = 1


def area_counts(
    conn: psycopg.Connection, city: CityContext, request: AreaCountRequest, now: datetime
) -> dict:
    """The body of /api/incidents/counts; WholeMonthsOnly when a role without points asks for part of a
    month."""
    zone = city.timezone
    requested = request.filters
    start, end = (requested.start, requested.end) if request.exact else _whole_months(requested, city, now)
    filters = IncidentFilter(
        city_code=city.code,
        start=start,
        end=end,
        categories=requested.categories,
        call_types=requested.call_types,
    )
    rows = incident_counts.counts_by_area(conn, filters, request.level, request.min_count, zone.key)
    return {
        "level": request.level,
        "call_types": list(filters.call_types),
        "period": {"from": start and start.isoformat(), "before": end and end.isoformat()},
        "suppression": None if request.exact else _suppression(request.min_count, city, end),
        "areas": rows,
    }


def _month_start(moment: datetime, city: CityContext) -> datetime:
    return moment.astimezone(city.timezone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _month_name(year: int, month: int) -> str:
    """YYYY-MM of ``month`` of ``year``, where month 0 and 13 roll into the neighbouring years."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


def _require_whole_month(name: str, moment: datetime | None, city: CityContext) -> None:
    """WholeMonthsOnly unless ``moment`` is the first instant of a calendar month, naming the two nearest
    months."""
    if moment is None or moment == _month_start(moment, city):
        return
    month = _month_start(moment, city)
    # start: the month it falls in or the next; end (exclusive here, inclusive in the request): the one
    # before the month it falls in, or that month.
    shift = 0 if name == "start" else -1
    choices = [_month_name(month.year, month.month + shift + step) for step in (0, 1)]
    first_or_last = "first" if name == "start" else "last"
    raise WholeMonthsOnly(
        name,
        f"counts for your role cover whole calendar months ({city.timezone_name}); use {name}={choices[0]} "
        f"or {name}={choices[1]} (a date must be the {first_or_last} day of a month, with no time of day).",
    )


def _whole_months(
    filters: IncidentFilter, city: CityContext, now: datetime
) -> tuple[datetime | None, datetime]:
    """Start and (exclusive) end for roles that may not see points: whole calendar months, ending with the
    last complete month, so no answer depends on when in a month an incident happened nor grows while a
    month fills up (polling the current month would tell when each incident came in)."""
    _require_whole_month("start", filters.start, city)
    _require_whole_month("end", filters.end, city)
    this_month = _month_start(now, city)
    end = min(filters.end or this_month, this_month)
    if filters.start is not None and filters.start >= end:
        last = _month_name(this_month.year, this_month.month - 1)
        raise WholeMonthsOnly(
            "start",
            f"counts for your role go up to the last complete month, {last}; give a start no later than "
            f"start={last}.",
        )
    return filters.start, end


def _suppression(min_count: int, city: CityContext, end: datetime) -> dict:
    last = _month_name(end.year, end.month - 1)
    return {
        "min_cell": min_count,
        "cell": incident_counts.CELL,
        "time_zone": city.timezone_name,
        "months_until": last,
        "note": (
            f"Each count is the sum of the cells ({incident_counts.CELL}) that hold at least {min_count} "
            f"incidents; smaller cells are not counted, so a count can be below the number of incidents. "
            f"Periods are whole calendar months; data up to the last complete month ({last})."
        ),
    }
