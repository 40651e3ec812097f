"""A small hand-made city for the 112 tests: 2 kecamatan, 4 kelurahan, a few streets and landmarks.

Its own city code (not TEST_CITY) so these tests never meet other features' hand-made rows.

    lat -6.00 +---------------+---------------+
              | 99.31.01.1002 | 99.31.02.1002 |
              | Deringo       | Karang Asem   |
    lat -6.05 +---------------+---------------+
              | 99.31.01.1001 | 99.31.02.1001 |
              | Lebak Gede    | Citangkil     |
    lat -6.10 +---------------+---------------+
          lon 106.00       106.05          106.10
"""

from __future__ import annotations

from shapely.geometry import LineString, Point, box

from geo_app.db import transaction
from geo_app.store.areas import AdminArea, upsert_areas, upsert_city

CITY = "99.31"
WEST, SOUTH, EAST, NORTH = 106.00, -6.10, 106.10, -6.00
KELURAHAN = {
    "99.31.01.1001": ("Lebak Gede", ("Lebakgede",), box(106.00, -6.10, 106.05, -6.05)),
    "99.31.01.1002": ("Deringo", ("Dringo",), box(106.00, -6.05, 106.05, -6.00)),
    "99.31.02.1001": ("Citangkil", (), box(106.05, -6.10, 106.10, -6.05)),
    "99.31.02.1002": ("Karang Asem", ("Karangasem",), box(106.05, -6.05, 106.10, -6.00)),
}
STREETS = [
    ("Jl. Jenderal Sudirman", "99.31.01.1001", LineString([(106.005, -6.07), (106.045, -6.07)])),
    ("Jl. Kyai Haji Wasyid", "99.31.02.1002", LineString([(106.06, -6.02), (106.09, -6.02)])),
    ("Jl. Melati", "99.31.01.1002", LineString([(106.01, -6.03), (106.04, -6.03)])),
    ("Jl. Melati", "99.31.02.1001", LineString([(106.06, -6.08), (106.09, -6.08)])),
]
LANDMARKS = [
    ("Masjid Agung Al-Ikhlas", "99.31.02.1001", Point(106.075, -6.075)),
    ("Pasar Kranggot", "99.31.01.1002", Point(106.02, -6.02)),
]


def create_city(database_url: str, code: str = CITY) -> None:
    """Insert the city, its areas and gazetteer (committed); ``drop_city`` removes it all."""
    areas = [AdminArea(code, "kota", "Kota Uji", None, box(WEST, SOUTH, EAST, NORTH), "test fixture")]
    areas += [
        AdminArea(
            f"{code}.01", "kecamatan", "Pulomerak", code, box(106.00, -6.10, 106.05, -6.00), "test fixture"
        ),
        AdminArea(
            f"{code}.02", "kecamatan", "Citangkil", code, box(106.05, -6.10, 106.10, -6.00), "test fixture"
        ),
    ]
    areas += [
        AdminArea(
            k.replace(CITY, code),
            "kelurahan",
            name,
            k.replace(CITY, code)[:8],
            geom,
            "test fixture",
            variants,
        )
        for k, (name, variants, geom) in KELURAHAN.items()
    ]
    with transaction(database_url) as conn:
        upsert_city(conn, code, "Kota Uji", timezone="Asia/Jakarta", metric_srid=32748)
        upsert_areas(conn, code, areas)
        for kind, rows in (("street", STREETS), ("landmark", LANDMARKS)):
            for name, kelurahan, geom in rows:
                conn.execute(
                    "INSERT INTO gazetteer (city_code, kind, name, kelurahan_code, geom) "
                    "VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
                    (code, kind, name, kelurahan.replace(CITY, code), geom.wkt),
                )


def drop_city(database_url: str, code: str = CITY) -> None:
    with transaction(database_url) as conn:
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (code,))
        conn.execute("DELETE FROM cities WHERE code = %s", (code,))
