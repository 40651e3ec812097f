"""Point analyses use only incidents located to a street or better, kelurahan analyses count every
placed incident, and every answer says how many it left out and why."""

from __future__ import annotations

import pytest
from incident_city import create_city, drop_city

from geo_app import create_app
from geo_app.db import connect
from geo_app.settings import Settings
from geo_app.store import incident_aggregates as aggregates
from geo_app.store.incidents import IncidentFilter

CODE = "99.35"
# Kelurahan Citangkil (lon 106.05-106.10, lat -6.10 to -6.05): 200 street-located calls spread over the
# kelurahan, 60 calls geocoded to the kelurahan only (all at its centre point) and 7 never located.
PLANT = """
INSERT INTO incidents (city_code, external_id, call_type, category, geom, geocode_precision, kelurahan_code,
                       kecamatan_code, received_at)
SELECT %(city)s, 'P-' || n, 'darurat', 'KEBAKARAN',
       CASE WHEN precision = 'none' THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END, precision,
       CASE WHEN precision = 'none' THEN NULL ELSE %(city)s || '.02.1001' END,
       CASE WHEN precision = 'none' THEN NULL ELSE %(city)s || '.02' END,
       timestamptz '2025-01-01 00:00+07' + n * interval '3 hours'
FROM (
    SELECT n, 'street' AS precision, 106.051 + 0.048 * ((n * 0.6180339887) %% 1) AS lon,
           -6.099 + 0.048 * ((n * 0.7548776662) %% 1) AS lat FROM generate_series(1, 200) n
    UNION ALL SELECT 1000 + n, 'kelurahan', 106.075, -6.075 FROM generate_series(1, 60) n
    UNION ALL SELECT 2000 + n, 'none', NULL, NULL FROM generate_series(1, 7) n
) s
"""


@pytest.fixture(scope="module")
def client(database_url, tokens):
    create_city(database_url, CODE)
    with connect(database_url) as conn:
        conn.execute(PLANT, {"city": CODE})
        conn.commit()
    app = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CODE))
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(CODE)['admin']}"
    yield test_client
    app.extensions["db_pool"].close()
    drop_city(database_url, CODE)


POINTS_LEFT_OUT = {"count": 67, "not_located": 7, "kelurahan_only": 60}


def left_out(body: dict) -> dict:
    return {key: body["left_out"][key] for key in ("count", "not_located", "kelurahan_only")}


def test_grid_hot_spots_count_only_points_and_say_what_they_left_out(client):
    for grid in ("size=600", "grid=h3&resolution=8"):
        body = client.get(f"/api/analysis/hotspots?{grid}").json
        assert body["incidents"] == body["incidents_in_cells"] == 200
        assert left_out(body) == POINTS_LEFT_OUT
        assert "60 are located only to a kelurahan" in body["left_out"]["why"]
        assert "7 have no location" in body["left_out"]["why"]


def test_kelurahan_counts_keep_calls_located_to_a_kelurahan(client, database_url):
    filters = IncidentFilter(city_code=CODE, call_types=("darurat",))
    with connect(database_url) as conn:
        counts = {row["id"]: row["count"] for row in aggregates.kelurahan_counts(conn, filters)}
        assert counts[f"{CODE}.02.1001"] == 260
        assert aggregates.left_out(conn, filters, points_only=False)["count"] == 7
    response = client.get("/api/analysis/hotspots?grid=kelurahan")
    assert response.status_code == 422  # four kelurahan are too few for Gi*


def test_density_and_dbscan_ignore_the_kelurahan_centre(client):
    surface = client.get("/api/analysis/hotspots/density?radius=300").json
    assert surface["incidents"] == 200 and left_out(surface) == POINTS_LEFT_OUT
    clusters = client.get("/api/analysis/hotspots/clusters?eps=50&min_points=20").json
    # 60 calls at one point would be a cluster of 60 at the kelurahan centre
    assert clusters["features"] == [] and left_out(clusters) == POINTS_LEFT_OUT
