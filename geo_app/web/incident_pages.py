"""The 112 map pages: gather the small summaries the page carries, then build it in geo_app.maps.

Routes are registered in geo_app.web.pages; every layer's data is fetched by the browser from the API.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from flask import Response, request

from geo_app.maps.hotspots import build_hotspots_map
from geo_app.maps.incidents import build_incidents_map
from geo_app.store import incident_aggregates as aggregates
from geo_app.usecases import incidents as incident_usecases
from geo_app.web import deps
from geo_app.web.api.incidents import incident_filter
from geo_app.web.errors import Problem
from geo_app.web.params import choice, reject_unknown

MAX_WEEKS = 104
RESPONSE_BIN_MIN = 2.5
RESPONSE_TOP_MIN = 60.0


def _weeks(first: date, last: date) -> list[tuple[date, date]]:
    """Monday-to-Sunday weeks covering first..last (the latest MAX_WEEKS)."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append((monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return weeks[-MAX_WEEKS:]


def hotspots_page() -> Response:
    reject_unknown({"start", "end", "category", "grid", "size"})
    settings, catalog = deps.settings(), deps.catalog()
    filters = incident_filter(default_call_types=tuple(catalog.incident_call_types))
    grid = choice("grid", ("hexagon", "h3", "kelurahan"), default="hexagon")
    size = request.args.get("size", "").strip()
    if size and not (size.isdigit() and 25 <= int(size) <= 5000):
        raise Problem(400, "Invalid parameter", "size: a whole number of metres from 25 to 5000.")
    api_filters = {key: request.args[key] for key in ("start", "end") if request.args.get(key)}
    if filters.categories:
        api_filters["category"] = ",".join(filters.categories)
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "incidents")
        timezone = frame.city.timezone
        span = aggregates.period(conn, filters)
        hour_weekday = incident_usecases.hour_weekday(conn, frame.city, catalog, filters)["total"]
        bins = aggregates.response_minute_bins(conn, filters, RESPONSE_BIN_MIN, RESPONSE_TOP_MIN)
    # the chart takes values: each bin's middle, as often as the bin counts (small for any data size)
    minutes = np.repeat(
        [(row["bin"] + 0.5) * RESPONSE_BIN_MIN for row in bins], [row["count"] for row in bins]
    ).tolist()
    if span["first"] is not None:
        first, last = span["first"].astimezone(timezone).date(), span["last"].astimezone(timezone).date()
    else:
        first = last = date.today()
    step = "month" if (last.year - first.year) * 12 + last.month - first.month >= 9 else "week"
    html = build_hotspots_map(
        settings,
        city=frame.city,
        catalog=catalog,
        filters=api_filters,
        grid=grid,
        size=size,
        weeks=_weeks(first, last),
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
