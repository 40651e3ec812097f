"""/api/incidents/counts: 112 incidents per kecamatan or kelurahan, the public view of incidents.

Open to every role. Roles that may not see exact points get counts built only from cells (kelurahan ×
calendar month × category × call type) holding at least ``PUBLIC_MIN_CELL_COUNT`` incidents, over whole
calendar months up to the last complete one (see geo_app.store.incident_counts for why no two answers can
be differenced down to a small cell). Only time, category and call-type filters: no bbox or area filter.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, request

from geo_app.auth.privacy import can_see_exact_incidents, public_min_cell_count
from geo_app.store import incident_counts
from geo_app.store.incidents import IncidentFilter
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import choice, incident_filter, reject_unknown

blueprint = Blueprint("incident_counts_api", __name__, url_prefix="/api")


def _month_start(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _month_name(year: int, month: int) -> str:
    """YYYY-MM of ``month`` of ``year``, where month 0 and 13 roll into the neighbouring years."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return f"{year:04d}-{month:02d}"


def _require_whole_month(name: str, moment: datetime | None, zone: ZoneInfo) -> None:
    """400 unless ``moment`` is the first instant of a calendar month, naming the two nearest months."""
    if moment is None or moment == _month_start(moment, zone):
        return
    month = _month_start(moment, zone)
    # start: the month it falls in or the next; end (exclusive here, inclusive in the request): the one
    # before the month it falls in, or that month.
    shift = 0 if name == "start" else -1
    choices = [_month_name(month.year, month.month + shift + step) for step in (0, 1)]
    first_or_last = "first" if name == "start" else "last"
    raise Problem(
        400,
        "Whole months only",
        f"{name}={request.args[name]!r}: counts for your role cover whole calendar months ({zone.key}); "
        f"use {name}={choices[0]} or {name}={choices[1]} (a date must be the {first_or_last} day of a month, "
        "with no time of day).",
    )


def _whole_months(filters: IncidentFilter, zone: ZoneInfo) -> tuple[datetime | None, datetime]:
    """Start and (exclusive) end for roles that may not see points: whole calendar months, ending with the
    last complete month, so no answer depends on when in a month an incident happened nor grows while a
    month fills up (polling the current month would tell when each incident came in)."""
    _require_whole_month("start", filters.start, zone)
    _require_whole_month("end", filters.end, zone)
    this_month = _month_start(datetime.now(zone), zone)
    end = min(filters.end or this_month, this_month)
    if filters.start is not None and filters.start >= end:
        last = _month_name(this_month.year, this_month.month - 1)
        raise Problem(
            400,
            "Whole months only",
            f"start={request.args['start']!r}: counts for your role go up to the last complete month, "
            f"{last}; give a start no later than start={last}.",
        )
    return filters.start, end


def _suppression(min_count: int, zone: ZoneInfo, end: datetime) -> dict:
    last = _month_name(end.year, end.month - 1)
    return {
        "min_cell": min_count,
        "cell": incident_counts.CELL,
        "time_zone": zone.key,
        "months_until": last,
        "note": (
            f"Each count is the sum of the cells ({incident_counts.CELL}) that hold at least {min_count} "
            f"incidents; smaller cells are not counted, so a count can be below the number of incidents. "
            f"Periods are whole calendar months; data up to the last complete month ({last})."
        ),
    }


@blueprint.get("/incidents/counts")
def incident_counts_by_area():
    """Counts per area (``level`` kelurahan or kecamatan); call type darurat unless ``call_type`` says.

    Roles that may not see points: whole months up to the last complete one (``start=2026-03&end=2026-05``),
    each count the sum of the cells holding at least ``PUBLIC_MIN_CELL_COUNT`` (``suppression`` says so).
    """
    reject_unknown({"level", "start", "end", "category", "call_type"})
    level = choice("level", incident_counts.LEVELS, default="kelurahan")
    city, minimum = deps.city(), public_min_cell_count()
    city_code, zone = city.code, city.timezone
    with deps.connection() as conn:
        requested = incident_filter(default_call_types=("darurat",))
        exact = can_see_exact_incidents()
        start, end = (requested.start, requested.end) if exact else _whole_months(requested, zone)
        filters = IncidentFilter(
            city_code=city_code,
            start=start,
            end=end,
            categories=requested.categories,
            call_types=requested.call_types,
        )
        rows = incident_counts.counts_by_area(conn, filters, level, minimum, zone.key)
    return {
        "level": level,
        "call_types": list(filters.call_types),
        "period": {"from": start and start.isoformat(), "before": end and end.isoformat()},
        "suppression": None if exact else _suppression(minimum, zone, end),
        "areas": rows,
    }
