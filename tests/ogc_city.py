"""A hand-made city for the OGC API and tile tests, under its own city code (never the sample city).

    lat -6.00 +-------------------+-------------------+
              | 99.66.01.1002     | 99.66.02.1002     |
    lat -6.05 +-------------------+-------------------+
              | 99.66.01.1001     | 99.66.02.1001     |
    lat -6.10 +-------------------+-------------------+
          lon 106.00           106.05              106.10

2,600 CCTV points (enough to page through more than 2,000 features), 40 street lights, one fibre
line, 400 incidents of every call type (some without a location, every one with a caller record and a
description holding a name), and green areas with a history of versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from flask import Flask
from shapely.geometry import LineString, box

from geo_app import create_app
from geo_app.auth.roles import PERENCANA
from geo_app.auth.users import add_user, issue_token
from geo_app.db import connect
from geo_app.settings import Settings

CITY = "99.66"
WEST, SOUTH, EAST, NORTH = 106.00, -6.10, 106.10, -6.00
KELURAHAN = {
    "99.66.01.1001": ("Lebak Uji", box(106.00, -6.10, 106.05, -6.05)),
    "99.66.01.1002": ("Deringo Uji", box(106.00, -6.05, 106.05, -6.00)),
    "99.66.02.1001": ("Citangkil Uji", box(106.05, -6.10, 106.10, -6.05)),
    "99.66.02.1002": ("Karang Uji", box(106.05, -6.05, 106.10, -6.00)),
}
KECAMATAN = {
    "99.66.01": ("Barat Uji", box(106.00, -6.10, 106.05, -6.00)),
    "99.66.02": ("Timur Uji", box(106.05, -6.10, 106.10, -6.00)),
}
CCTV_COUNT = 2600
PJU_COUNT = 40
INCIDENT_COUNT = 400
CALL_TYPES = ("darurat", "darurat", "darurat", "informasi", "prank", "ghost", "dropped")
CATEGORIES = ("KEBAKARAN", "BANJIR", "KRIMINAL", "MEDIS_AMBULANS", "KDRT_KEKERASAN")
SECRET = "Budi Santoso 0812-3456-7890"
BASE_TIME = datetime(2025, 3, 1, tzinfo=UTC)
GREEN_CHANGED_AT = datetime(2024, 6, 1, tzinfo=UTC)


def _points(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.column_stack([rng.uniform(WEST, EAST, count), rng.uniform(SOUTH, NORTH, count)])


def create_city(database_url: str) -> None:
    """Insert the city (committed, so a live server in another thread sees it)."""
    rng = np.random.default_rng(66)
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO cities (code, name, timezone, metric_srid)"
            " VALUES (%s, 'Kota Uji OGC', 'Asia/Jakarta', 32748)",
            (CITY,),
        )
        city_box = box(WEST, SOUTH, EAST, NORTH)
        areas = [(CITY, "kota", "Kota Uji OGC", None, city_box)]
        areas += [(code, "kecamatan", name, CITY, geom) for code, (name, geom) in KECAMATAN.items()]
        areas += [(code, "kelurahan", name, code[:8], geom) for code, (name, geom) in KELURAHAN.items()]
        for population, (code, level, name, parent, geom) in enumerate(areas, start=1000):
            conn.execute(
                "INSERT INTO admin_areas (code, city_code, level, name, parent_code, population,"
                " boundary_source, geom)"
                " VALUES (%s, %s, %s, %s, %s, %s, 'test', ST_Multi(ST_GeomFromText(%s, 4326)))",
                (code, CITY, level, name, parent, population, geom.wkt),
            )
        assets = [("cctv", f"CCTV {i:04d}", x, y) for i, (x, y) in enumerate(_points(rng, CCTV_COUNT))]
        assets += [("pju", f"PJU {i:02d}", x, y) for i, (x, y) in enumerate(_points(rng, PJU_COUNT))]
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO assets (city_code, asset_type, name, status, owner_opd, dimension,"
                " coverage_radius_m, geom) VALUES (%s, %s, %s, %s, 'Diskominfo', 'governance', 100,"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [(CITY, kind, name, "active" if i % 5 else "maintenance", float(x), float(y))
                 for i, (kind, name, x, y) in enumerate(assets)],
            )  # fmt: skip
        fibre = LineString([(106.01, -6.09), (106.09, -6.01)])
        conn.execute(
            "INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, geom)"
            " VALUES (%s, 'jaringan_fiber', 'Fiber A', 'Diskominfo', 'governance',"
            " ST_GeomFromText(%s, 4326))",
            (CITY, fibre.wkt),
        )
        points = _points(rng, INCIDENT_COUNT)
        with conn.cursor() as cursor:
            for i, (x, y) in enumerate(points):
                located = i % 10 != 9
                cursor.execute(
                    "INSERT INTO incidents (city_code, external_id, call_type, category, description,"
                    " address, geom, geocode_precision, received_at, status)"
                    " VALUES (%s, %s, %s, %s, %s, %s,"
                    " CASE WHEN %s THEN ST_SetSRID(ST_MakePoint(%s, %s), 4326) END, %s, %s, 'closed')"
                    " RETURNING id",
                    (CITY, f"OGC-{i:05d}", CALL_TYPES[i % len(CALL_TYPES)], CATEGORIES[i % len(CATEGORIES)],
                     f"Pelapor {SECRET}", f"Rumah {SECRET}", located, float(x), float(y),
                     "exact" if located else "none", BASE_TIME + timedelta(hours=i)),
                )  # fmt: skip
                incident_id = cursor.fetchone()[0]
                cursor.execute(
                    "INSERT INTO incident_callers (incident_id, caller_name, caller_phone)"
                    " VALUES (%s, %s, %s)",
                    (incident_id, "Budi Santoso", "081234567890"),
                )
        _green(conn)


def _green(conn: psycopg.Connection) -> None:
    """Three green areas; the park was enlarged on GREEN_CHANGED_AT and the cemetery removed then."""
    before, after = datetime(2023, 1, 1, tzinfo=UTC), GREEN_CHANGED_AT
    rows = [
        ("Taman Uji", "taman_kota", True, box(106.01, -6.02, 106.02, -6.01), before, after),
        ("Taman Uji", "taman_kota", True, box(106.01, -6.03, 106.03, -6.01), after, None),
        ("Hutan Uji", "hutan_kota", True, box(106.06, -6.09, 106.08, -6.07), before, None),
        ("Makam Uji", "pemakaman", True, box(106.04, -6.06, 106.045, -6.055), before, after),
    ]
    ids: dict[str, int] = {}
    for name, kind, public, geom, valid_from, valid_to in rows:
        feature_id = (
            ids.get(name) or conn.execute("SELECT nextval('green_area_feature_id_seq')").fetchone()[0]
        )
        ids[name] = feature_id
        conn.execute(
            "INSERT INTO green_areas (id, city_code, green_type, is_public, name, geom, valid_from, valid_to)"
            " VALUES (%s, %s, %s, %s, %s, ST_Multi(ST_GeomFromText(%s, 4326)), %s, %s)",
            (feature_id, CITY, kind, public, name, geom.wkt, valid_from, valid_to),
        )


def ensure_city(database_url: str) -> str:
    """Create the city once per database (test modules share it); returns its code."""
    with psycopg.connect(database_url) as conn:
        exists = conn.execute("SELECT 1 FROM cities WHERE code = %s", (CITY,)).fetchone()
    if not exists:
        create_city(database_url)
    return CITY


@contextmanager
def city_app(database_url: str) -> Iterator[Flask]:
    """The app answering for the OGC test city."""
    ensure_city(database_url)
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CITY))
    yield application
    application.extensions["db_pool"].close()


def planner_token(database_url: str) -> str:
    """An API token of a planner (the role that may read the incident collection), one user per module."""
    username = f"ogc_planner_{uuid.uuid4().hex[:8]}"
    add_user(database_url, username, PERENCANA, password=None, city_code=ensure_city(database_url))
    secret, _ = issue_token(database_url, username)
    return secret


# Fixtures of the modules that test this city: import them by these names (pytest registers them as
# ``app``, ``auth`` and ``client``, which then stand in for conftest's sample-city ones in that module).
@pytest.fixture(scope="module", name="app")
def ogc_app(database_url):
    """The app answering for the OGC test city, one per module."""
    with city_app(database_url) as application:
        yield application


@pytest.fixture(scope="module", name="auth")
def ogc_auth(database_url, app) -> dict:
    """The Authorization header of a planner's API token."""
    return {"Authorization": f"Bearer {planner_token(database_url)}"}


@pytest.fixture(name="client")
def ogc_client(app):
    """An anonymous client of the OGC test city's app."""
    return app.test_client()


def db_rows(database_url: str, sql: str, params=()) -> list[dict]:
    with connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()
