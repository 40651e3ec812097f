"""The /maps/green page: reads the parameters, gathers the statistics, hands them to maps.green."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Response, request

from geo_app.analysis import green as green_analysis
from geo_app.ingest.green import GreenEditError, parse_instant
from geo_app.maps.green import build_green_map
from geo_app.store import green as green_store
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import reject_unknown

COMPARISON_SPAN = timedelta(days=365)


def _day(name: str) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(
            400,
            "Invalid parameter",
            f"{name}={value!r}: use a date like 2025-06-01",
            indonesian=f"Tanggal «{value}» tidak dapat dibaca; tulis seperti 2025-06-01.",
        ) from None


def comparison_dates(first_version: datetime | None, today: date, zone: ZoneInfo) -> tuple[date, date]:
    """Default swipe dates: a year ago (or the first day with green data, if later) against today."""
    before = today - COMPARISON_SPAN
    if first_version is not None:
        before = max(before, first_version.astimezone(zone).date())
    return min(before, today - timedelta(days=1)), today


def green_map_page() -> Response:
    reject_unknown({"from", "to"})
    settings = deps.settings()
    city_code = deps.city_code()
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "green_areas")
        first_version = green_store.first_version(conn, city_code)
        zone = frame.city.timezone
        default_before, default_after = comparison_dates(first_version, datetime.now(zone).date(), zone)
        before, after = _day("from") or default_before, _day("to") or default_after
        if before >= after:
            raise Problem(
                400,
                "Invalid parameter",
                "from must be a date before to, e.g. from=2025-06-01&to=2026-06-01.",
                indonesian="Tanggal pembanding harus sebelum tanggal akhir.",
            )
        try:
            at = parse_instant(after.isoformat(), zone=zone, end_of_day=True)
        except GreenEditError as exc:
            raise Problem(400, "Invalid parameter", str(exc)) from None
        statistics = green_analysis.load_rth_statistics(conn, city_code, frame.city_name, at)
        access, _ = green_analysis.load_access(conn, city_code, frame.city_name, at=at)
    html = build_green_map(
        settings,
        city=frame.city,
        green_types=deps.catalog().green_types,
        statistics=statistics,
        access=access,
        before=before,
        after=after,
        radius_m=green_analysis.ACCESS_RADIUS_M,
        min_ha=green_analysis.ACCESS_MIN_HA,
        sample=frame.sample,
    )
    return Response(html, mimetype="text/html")
