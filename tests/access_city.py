"""A small city for access and fault tests (code 99.07): two kelurahan side by side, 4 x 2 km,
with 6 emergency calls (with callers) in the first and 2 in the second, on the last day of the previous
month (the public counts show complete months only).
"""

from __future__ import annotations

import psycopg
from coverage_city import lonlat, to_lonlat
from shapely.geometry import box

from geo_app.store import areas as area_store
from geo_app.store.areas import AdminArea

CITY = "99.07"
KELURAHAN = {"99.07.01.1001": (0, 0, 2000, 2000), "99.07.01.1002": (2000, 0, 4000, 2000)}
BUSY, QUIET = KELURAHAN
CALLER = ("Siti Rahayu", "081234567890")


def create_city(database_url: str, city: str = CITY) -> str:
    """Create (or reset) the city (another code gives a twin), its areas and eight incidents; committed."""
    kecamatan = f"{city}.01"
    kelurahan = [code.replace(CITY, city, 1) for code in KELURAHAN]
    areas = [
        AdminArea(city, "kota", "Kota Uji Akses", None, to_lonlat(box(0, 0, 4000, 2000)), "test"),
        AdminArea(kecamatan, "kecamatan", "Kecamatan Uji", city, to_lonlat(box(0, 0, 4000, 2000)), "test"),
    ]
    for number, (code, bounds) in enumerate(zip(kelurahan, KELURAHAN.values(), strict=True), start=1):
        areas.append(
            AdminArea(code, "kelurahan", f"Kelurahan {number}", kecamatan, to_lonlat(box(*bounds)), "test")
        )
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn, conn.transaction():
        area_store.upsert_city(conn, city, "Kota Uji Akses", timezone="Asia/Jakarta", metric_srid=32748)
        area_store.upsert_areas(conn, city, areas)
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (city,))
        for number, (code, x) in enumerate([(kelurahan[0], 500)] * 6 + [(kelurahan[1], 2500)] * 2):
            lon, lat = lonlat(x + number, 700)
            incident = conn.execute(
                "INSERT INTO incidents (city_code, external_id, call_type, category, geom, geocode_precision,"
                " kelurahan_code, kecamatan_code, received_at)"
                " VALUES (%s, %s, 'darurat', 'KEBAKARAN', ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'exact',"
                " %s, %s, date_trunc('month', now() AT TIME ZONE 'Asia/Jakarta') AT TIME ZONE 'Asia/Jakarta'"
                " - interval '1 day') RETURNING id",
                (city, f"akses-{number}", lon, lat, code, kecamatan),
            ).fetchone()
            conn.execute("INSERT INTO incident_callers VALUES (%s, %s, %s)", (incident["id"], *CALLER))
    return city
