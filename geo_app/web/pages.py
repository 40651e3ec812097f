"""HTML pages: the home page and the map pages (each map is built in geo_app.maps)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from geo_app.maps.areas import build_areas_map
from geo_app.store import areas as area_store
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import reject_unknown

blueprint = Blueprint("pages", __name__)

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
    ("/maps/green", "Ruang Terbuka Hijau", "RTH per kelurahan terhadap target 30% / 20%."),
]


@blueprint.get("/")
def home():
    settings = deps.settings()
    with deps.connection() as conn:
        city = area_store.city(conn, settings.city_code)
        loads = area_store.latest_loads(conn, settings.city_code)
    return render_template(
        "home.html",
        city=city,
        loads=loads,
        sample=any(load["is_sample"] for load in loads.values()),
        map_pages=MAP_PAGES,
    )


@blueprint.get("/maps/areas")
def areas_map():
    reject_unknown(())
    settings = deps.settings()
    with deps.connection() as conn:
        bounds = area_store.bounds(conn, settings.city_code)
        if bounds is None:
            raise Problem(
                404,
                "No areas",
                f"City {settings.city_code} has no admin areas yet: run `geo-app load-sample` or "
                "`geo-app import-areas FILE`.",
            )
        city = area_store.city(conn, settings.city_code)
        kelurahan = area_store.list_areas(conn, settings.city_code, "kelurahan")
        kecamatan = area_store.list_areas(conn, settings.city_code, "kecamatan")
        load = area_store.latest_loads(conn, settings.city_code).get("admin_areas")
    html = build_areas_map(
        settings,
        city_name=city["name"] if city else settings.city_code,
        bounds=bounds,
        kelurahan=kelurahan,
        kecamatan=kecamatan,
        sample=bool(load and load["is_sample"]),
    )
    return Response(html, mimetype="text/html")
