"""HTML pages: the home page and the map pages (each map is built in geo_app.maps)."""

from __future__ import annotations

from flask import Blueprint, render_template

from geo_app.store import areas as area_store
from geo_app.web import deps

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
