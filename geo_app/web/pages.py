"""HTML pages: the home page and the map pages (each map is built in geo_app.maps)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from geo_app.analysis import coverage
from geo_app.analysis.siting import MAX_SITES
from geo_app.auth.identity import current_identity, current_role
from geo_app.auth.permissions import is_allowed
from geo_app.auth.privacy import can_see_exact_incidents
from geo_app.maps.areas import build_areas_map
from geo_app.maps.base import format_number
from geo_app.maps.coverage import SUGGESTED_SITES, build_coverage_map
from geo_app.store import areas as area_store
from geo_app.usecases.coverage import coverage_result
from geo_app.web import deps
from geo_app.web.apidoc import QueryParam, declare
from geo_app.web.errors import Problem
from geo_app.web.params import choice, reject_unknown

blueprint = Blueprint("pages", __name__)

LAYER_LABELS = {
    "admin_areas": "Batas wilayah",
    "assets": "Aset infrastruktur",
    "incidents": "Insiden 112",
    "incidents_recent": "Insiden 112 (24 jam terakhir)",
    "green_areas": "Ruang terbuka hijau",
    "roads": "Jaringan jalan",
    "road_nodes": "Simpul jaringan jalan",
    "gazetteer": "Gazetir (nama jalan dan tempat)",
}

MAP_PAGES = [
    (
        "/maps/areas",
        "Peta Wilayah & Kepadatan Penduduk",
        "Kelurahan dan kecamatan dengan kepadatan penduduk.",
    ),
    (
        "/maps/hotspots",
        "Analisis Hotspot 112",
        "Hotspot, pola waktu dan waktu tanggap panggilan 112.",
    ),
    ("/maps/incidents", "Insiden 112 terkini", "Insiden 112 dalam 24 jam terakhir."),
    (
        "/maps/coverage",
        "Peta Cakupan Infrastruktur",
        "Cakupan CCTV, Wi-Fi, pos damkar dan lainnya.",
    ),
    (
        "/maps/green",
        "Ruang Terbuka Hijau",
        "RTH per kelurahan terhadap target 30% / 20%, perubahan setahun, penduduk dalam 300 m dari taman.",
    ),
]


@blueprint.app_template_filter("number")
def number_filter(value: float | None, digits: int = 0) -> str:
    """Numbers on pages as written in Indonesian (12.345,6)."""
    return format_number(value, digits)


@blueprint.get("/")
def home():
    city_code = deps.city_code()
    with deps.connection() as conn:
        city = area_store.city(conn, city_code)
        loads = area_store.latest_loads(conn, city_code)
        kecamatan = area_store.list_areas(conn, city_code, "kecamatan")
        kelurahan_count = area_store.count_areas(conn, city_code, "kelurahan")
    sources = [
        {**load, **_shown_load(load), "label": LAYER_LABELS.get(layer, layer)}
        for layer, load in sorted(loads.items())
        if can_see_exact_incidents() or not layer.startswith("incidents")
    ]
    return render_template(
        "home.html",
        city=city,
        sources=sources,
        figures={
            "kecamatan": len(kecamatan),
            "kelurahan": kelurahan_count,
            "population": sum(row["population"] or 0 for row in kecamatan),
            "area_km2": sum(row["area_km2"] for row in kecamatan),
        },
        sample=any(load["is_sample"] for load in loads.values()),
        map_pages=MAP_PAGES,
        briefing=is_allowed(current_role(), "/briefing", "GET"),
    )


def _shown_load(load: dict) -> dict:
    """What a data-source row shows: to signed-in staff the source and time as recorded; to visitors the
    day only and no file names (an upload's name can name a person, a time can date a 112 import)."""
    city = deps.city()
    loaded_at = load["loaded_at"].astimezone(city.timezone)
    if current_identity().signed_in:
        shown = loaded_at.strftime("%d-%m-%Y %H:%M ") + city.timezone_label
        return {"source": load["source"], "loaded_at": shown}
    source = load["source"] if load["is_sample"] else "data resmi (impor berkas)"
    return {"source": source, "loaded_at": loaded_at.strftime("%d-%m-%Y")}


@blueprint.get("/maps/areas")
def areas_map():
    reject_unknown(())
    city_code = deps.city_code()
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "admin_areas")
        kelurahan = area_store.list_areas(conn, city_code, "kelurahan")
        kecamatan = area_store.list_areas(conn, city_code, "kecamatan")
    html = build_areas_map(
        deps.settings(),
        city=frame.city,
        kelurahan=kelurahan,
        kecamatan=kecamatan,
        sample=frame.sample,
    )
    return Response(html, mimetype="text/html")


@blueprint.get("/maps/coverage")
def coverage_map():
    """Coverage of the chosen asset types (form: type, mode, value) with gaps and suggested sites."""
    reject_unknown({"type", "mode", "value", "count"})
    settings, catalog = deps.settings(), deps.catalog()
    types = tuple(value for raw in request.args.getlist("type") for value in raw.split(",") if value)
    types = types or (coverage.FIRE_ASSET_TYPE if coverage.FIRE_ASSET_TYPE in catalog.asset_types else "",)
    unknown = [value for value in types if value not in catalog.asset_types]
    if unknown:
        raise Problem(
            400,
            "Invalid parameter",
            f"type={','.join(unknown)}: use {', '.join(catalog.asset_types)}.",
            indonesian=f"Jenis aset tidak dikenal: {', '.join(unknown)}.",
        )
    mode = choice("mode", coverage.MODES, default="radius")
    try:
        value = float(request.args["value"]) if request.args.get("value") else None
    except ValueError:
        value = -1.0
    if value is not None and not 0 < value <= (180 if mode == "travel_time" else 50_000):
        raise Problem(
            400,
            "Invalid parameter",
            "value: give a radius in metres or a travel time in minutes above 0.",
            indonesian="Isi radius dalam meter (sampai 50.000) atau waktu tempuh dalam menit (sampai 180).",
        )
    site_count = site_count_parameter()
    analysis = coverage.CoverageRequest(
        asset_types=types,
        mode=mode,
        radius_m=value if mode == "radius" else None,
        minutes=value if mode == "travel_time" and value else float(settings.fire_response_minutes),
        access_m=float(settings.coverage_access_m),
    )
    with deps.connection() as conn:
        frame = deps.map_frame(conn, "assets")
        result = coverage_result(conn, frame.city, catalog, analysis)
    html = build_coverage_map(
        settings,
        city=frame.city,
        asset_types=catalog.asset_types,
        result=result,
        show_sites=is_allowed(current_role(), "/api/analysis/siting", "GET"),
        sample=frame.sample,
        site_count=site_count,
    )
    return Response(html, mimetype="text/html")


def site_count_parameter() -> int:
    """The form's "Jumlah lokasi usulan" (count): a whole number from 1 to MAX_SITES; empty: default."""
    raw = request.args.get("count", "").strip()
    if not raw:
        return SUGGESTED_SITES
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SITES:
        raise Problem(
            400,
            "Invalid parameter",
            f"count={raw!r}: give a whole number from 1 to {MAX_SITES}.",
            indonesian=f"Jumlah lokasi usulan: isi bilangan bulat 1 sampai {MAX_SITES}.",
        )
    return int(raw)


@blueprint.get("/maps/hotspots")
def hotspots_map():
    """Gi* hot spots, heat map, clusters, emerging patterns and response times of 112 calls."""
    from geo_app.web.incident_pages import hotspots_page

    return hotspots_page()


@blueprint.get("/maps/incidents")
def incidents_map():
    """112 incidents of the last 24 hours, refreshing by itself."""
    from geo_app.web.incident_pages import incidents_page

    return incidents_page()


@blueprint.get("/maps/green")
@declare(
    QueryParam("from", "Dari: start of the comparison, YYYY-MM-DD (default: a year before `to`)"),
    QueryParam("to", "Sampai: date of the figures, YYYY-MM-DD (default: the end of the last complete month)"),
    media_type="text/html",
)
def green_map():
    """Ruang Terbuka Hijau: each kelurahan's distance to 30 % RTH, what changed between two dates and who
    lives beyond 300 m of a park, on the map and in a ranked table with its CSV."""
    from geo_app.web.green_pages import green_map_page

    return green_map_page()
