"""A hand-made city of square kelurahan for the green-space tests, with figures worked out by hand.

Coordinates are metres in EPSG:32748 from an origin near Cilegon, stored in lon/lat like real data.
Four kelurahan of 1000 m x 1000 m (100 ha each), two per kecamatan::

    y 2000 +---------+---------+
           |   B1    |   B2    |      kecamatan 99.05.02 (B1 pop 2,000; B2 pop 1,000)
    y 1000 +---------+---------+
           |   A1    |   A2    |      kecamatan 99.05.01 (A1 pop 10,000; A2 pop 5,000)
    y    0 +---------+---------+
           x 0      1000      2000

Green at BEFORE (2023-01-01): S public 1 ha at the centre of A1; T public 0.49 ha (70 m x 70 m) at the
centre of B2; U public 1 ha in the top-left corner of B1 (and of the city).
At AFTER (2024-01-01): S is reshaped into P1; T and U are removed; P2, P3, Q1, Q2 are added:
  P1 public  [0,1000]x[0,500]     50 ha in A1
  P2 public  [0,1000]x[250,750]   50 ha in A1, 25 ha of it over P1 (A1 public union = 75 ha)
  P3 public  [1500,2000]x[750,1250] 25 ha, half in A2 and half in B2
  Q1 private [0,400]x[1000,1400]  16 ha in B1
  Q2 private [0,100]x[0,100]       1 ha inside P1 (counts as public land, not private)
City at AFTER: 400 ha, public 100 ha (25 %), private 16 ha (4 %), total 116 ha (29 %).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from shapely.geometry import box

from geo_app.db import connect
from geo_app.store import green as green_store
from geo_app.store.areas import AdminArea, upsert_areas, upsert_city

GREEN_CITY = "99.05"
X0, Y0 = 620_000.0, 9_330_000.0
JAKARTA = ZoneInfo("Asia/Jakarta")
BEFORE = datetime(2023, 1, 1, tzinfo=JAKARTA)
AFTER = datetime(2024, 1, 1, tzinfo=JAKARTA)
POPULATION = {"A1": 10_000, "A2": 5_000, "B1": 2_000, "B2": 1_000}
KELURAHAN = {
    "A1": ("99.05.01.1001", "99.05.01", (0, 0)),
    "A2": ("99.05.01.1002", "99.05.01", (1000, 0)),
    "B1": ("99.05.02.1001", "99.05.02", (0, 1000)),
    "B2": ("99.05.02.1002", "99.05.02", (1000, 1000)),
}
TO_LONLAT = Transformer.from_crs(32748, 4326, always_xy=True)


def _to_lonlat(xy: np.ndarray) -> np.ndarray:
    lon, lat = TO_LONLAT.transform(xy[:, 0] + X0, xy[:, 1] + Y0)
    return np.column_stack([lon, lat])


def lonlat(geom):
    """A geometry given in local metres (origin X0, Y0) as lon/lat."""
    return shapely.transform(geom, _to_lonlat)


def metric_box(x0, y0, x1, y1):
    return lonlat(box(x0, y0, x1, y1))


def code(short: str) -> str:
    return KELURAHAN[short][0]


def _areas() -> list[AdminArea]:
    areas = [
        AdminArea(GREEN_CITY, "kota", "Kota Uji Hijau", None, metric_box(0, 0, 2000, 2000), "test"),
        AdminArea("99.05.01", "kecamatan", "Kecamatan A", GREEN_CITY, metric_box(0, 0, 2000, 1000), "test"),
        AdminArea(
            "99.05.02", "kecamatan", "Kecamatan B", GREEN_CITY, metric_box(0, 1000, 2000, 2000), "test"
        ),
    ]
    for short, (kel_code, parent, (x, y)) in KELURAHAN.items():
        areas.append(
            AdminArea(
                kel_code,
                "kelurahan",
                f"Kelurahan {short}",
                parent,
                metric_box(x, y, x + 1000, y + 1000),
                "test",
                population=POPULATION[short],
            )
        )
    return areas


def _green(conn: psycopg.Connection, name: str, green_type: str, is_public: bool, geom, at, feature_id=None):
    attributes = {"green_type": green_type, "is_public": is_public, "name": name, "managing_opd": "DLH"}
    return green_store.insert_version(conn, GREEN_CITY, attributes, geom.wkb, at=at, feature_id=feature_id)[
        "id"
    ]


def build_green_city(database_url: str) -> dict[str, int]:
    """(Re)create the city and its green history; returns feature ids by name."""
    with connect(database_url) as conn, conn.transaction():
        conn.execute("DELETE FROM cities WHERE code = %s", (GREEN_CITY,))
        upsert_city(conn, GREEN_CITY, "Kota Uji Hijau", timezone="Asia/Jakarta", metric_srid=32748)
        upsert_areas(conn, GREEN_CITY, _areas())
        ids = {
            "S": _green(conn, "Taman S", "taman_kota", True, metric_box(450, 450, 550, 550), BEFORE),
            "T": _green(
                conn, "Taman T", "taman_lingkungan", True, metric_box(1465, 1465, 1535, 1535), BEFORE
            ),
            "U": _green(conn, "Taman U", "taman_kota", True, metric_box(0, 1900, 100, 2000), BEFORE),
        }
        for name in ("S", "T", "U"):
            green_store.close_current(conn, GREEN_CITY, ids[name], AFTER)
        ids["P1"] = _green(conn, "Taman P1", "taman_kota", True, metric_box(0, 0, 1000, 500), AFTER, ids["S"])
        ids["P2"] = _green(conn, "Hutan P2", "hutan_kota", True, metric_box(0, 250, 1000, 750), AFTER)
        ids["P3"] = _green(conn, "Jalur P3", "jalur_hijau", True, metric_box(1500, 750, 2000, 1250), AFTER)
        ids["Q1"] = _green(conn, "Halaman Q1", "pekarangan", False, metric_box(0, 1000, 400, 1400), AFTER)
        ids["Q2"] = _green(conn, "Halaman Q2", "pekarangan", False, metric_box(0, 0, 100, 100), AFTER)
    return ids
