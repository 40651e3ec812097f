"""The /maps/green page: reads the period (Dari / Sampai), gathers the figures, hands them to maps.green."""

from __future__ import annotations

from flask import Response

from geo_app.analysis import green as green_analysis
from geo_app.maps.green import build_green_map
from geo_app.usecases import green as green_usecases
from geo_app.web import deps
from geo_app.web.params import green_period, reject_unknown


def green_map_page() -> Response:
    reject_unknown({"from", "to"})
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "green_areas")
        period = green_period(conn, frame.city)
        figures = green_usecases.area_figures(conn, frame.city, period)
    html = build_green_map(
        deps.settings(),
        city=frame.city,
        green_types=deps.catalog().green_types,
        figures=figures,
        period=period,
        radius_m=green_analysis.ACCESS_RADIUS_M,
        min_ha=green_analysis.ACCESS_MIN_HA,
        sample=frame.sample,
    )
    return Response(html, mimetype="text/html")
