"""The 112 map pages: gather the small summaries the page carries, then build it in geo_app.maps.

Routes are registered in geo_app.web.pages; every layer's data is fetched by the browser from the API.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
from flask import Response, request

from geo_app.maps.hotspots import build_hotspots_map
from geo_app.maps.incidents import build_incidents_map
from geo_app.store import incident_aggregates as aggregates
from geo_app.usecases import incidents as incident_usecases
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import choice, incident_filter, reject_unknown

MAX_WEEKS = 104
RESPONSE_BIN_MIN = 2.5
RESPONSE_TOP_MIN = 60.0
PERIODS = {
    "hari_ini": "Hari ini",
    "7_hari": "7 hari terakhir",
    "bulan_ini": "Bulan ini",
    "bulan_lalu": "Bulan lalu",
    "3_bulan": "3 bulan terakhir",
    "12_bulan": "12 bulan terakhir",
    "custom": "Pilih tanggal",
}
DEFAULT_PERIOD = "3_bulan"
"""The hotspot page opens on the last three whole months: enough incidents for Gi*, none of them from a
month still running."""


def _months_before(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def preset_days(period: str, today: date) -> tuple[date, date] | None:
    """First and last day (both included) of a period preset; None for "custom". "7 hari" and the month
    counts end at the last complete day or month; "hari ini" and "bulan ini" are the running ones."""
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    return {
        "hari_ini": (today, today),
        "7_hari": (today - timedelta(days=7), today - timedelta(days=1)),
        "bulan_ini": (this_month, today),
        "bulan_lalu": (_months_before(this_month, 1), last_month_end),
        "3_bulan": (_months_before(this_month, 3), last_month_end),
        "12_bulan": (_months_before(this_month, 12), last_month_end),
    }.get(period)


def _weeks(first: date, last: date, per_day: dict[date, int]) -> list[tuple[date, date, int]]:
    """Monday-to-Sunday weeks covering first..last (the latest MAX_WEEKS), each with its incidents."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        sunday = monday + timedelta(days=6)
        count = sum(n for day, n in per_day.items() if monday <= day <= sunday)
        weeks.append((monday, sunday, count))
        monday += timedelta(days=7)
    return weeks[-MAX_WEEKS:]


def hotspots_page() -> Response:
    reject_unknown({"period", "start", "end", "category", "grid", "size"})
    settings, catalog = deps.settings(), deps.catalog()
    filters = incident_filter(default_call_types=tuple(catalog.incident_call_types))
    chosen_dates = bool(request.args.get("start") or request.args.get("end"))
    period = choice("period", PERIODS, default="custom" if chosen_dates else DEFAULT_PERIOD)
    zone = deps.city().timezone
    today = datetime.now(zone).date()
    days = preset_days(period, today)
    grid = choice("grid", ("hexagon", "h3", "kelurahan"), default="hexagon")
    size = request.args.get("size", "").strip()
    if size and not (size.isdigit() and 25 <= int(size) <= 5000):
        raise Problem(
            400,
            "Invalid parameter",
            "size: a whole number of metres from 25 to 5000.",
            indonesian="Sisi heksagon harus bilangan bulat 25 sampai 5.000 meter, atau dikosongkan.",
        )
    if days is not None:
        first_day, last_day = days
        filters = dataclasses.replace(
            filters,
            start=datetime.combine(first_day, datetime.min.time(), zone),
            end=datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone),
        )
        api_filters = {"start": first_day.isoformat(), "end": last_day.isoformat()}
    else:
        api_filters = {key: request.args[key] for key in ("start", "end") if request.args.get(key)}
    if filters.categories:
        api_filters["category"] = ",".join(filters.categories)
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "incidents")
        timezone = frame.city.timezone
        span = aggregates.period(conn, filters)
        hour_weekday = incident_usecases.hour_weekday(conn, frame.city, catalog, filters)["total"]
        bins = aggregates.response_minute_bins(conn, filters, RESPONSE_BIN_MIN, RESPONSE_TOP_MIN)
        per_day: dict[date, int] = defaultdict(int)
        for row in aggregates.daily_counts(conn, filters, timezone.key):
            per_day[row["day"]] += row["count"]
    # the chart takes values: each bin's middle, as often as the bin counts (small for any data size)
    minutes = np.repeat(
        [(row["bin"] + 0.5) * RESPONSE_BIN_MIN for row in bins], [row["count"] for row in bins]
    ).tolist()
    if span["first"] is not None:
        first, last = span["first"].astimezone(timezone).date(), span["last"].astimezone(timezone).date()
    else:
        first = last = date.today()
    analysed = days or (
        filters.start.date() if filters.start else first,
        (filters.end - timedelta(microseconds=1)).date() if filters.end else last,
    )
    step = "month" if (last.year - first.year) * 12 + last.month - first.month >= 9 else "week"
    html = build_hotspots_map(
        settings,
        city=frame.city,
        catalog=catalog,
        filters=api_filters,
        period=period,
        periods=PERIODS,
        analysed=analysed,
        incident_count=span["count"],
        grid=grid,
        size=size,
        weeks=_weeks(first, last, per_day),
        today=today,
        step=step,
        hour_weekday=hour_weekday,
        response_minutes=minutes,
        response_top=RESPONSE_TOP_MIN,
        sample=frame.sample,
    )
    return Response(html, mimetype="text/html")


def incidents_page() -> Response:
    reject_unknown(set())
    settings = deps.settings()
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "incidents")
    html = build_incidents_map(settings, city=frame.city, catalog=deps.catalog(), sample=frame.sample)
    return Response(html, mimetype="text/html")
