"""112 use cases: response times, the supervisor's morning briefing and the monthly figures.

Periods are local days and calendar months in the city's time zone; the default call types are the
catalog's emergencies (``counts_as_incident``), as in every 112 analysis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
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
