"""/api/analysis/hotspots, /emerging and /response on a hand-made city with planted clusters."""

from __future__ import annotations

import warnings

import esda
import libpysal
import numpy as np
import pytest
from incident_city import create_city, drop_city

from geo_app import create_app
from geo_app.db import connect
from geo_app.settings import Settings
from geo_app.store.incident_aggregates import hexagon_counts
from geo_app.store.incidents import IncidentFilter

CODE = "99.33"

# 1,200 darurat calls over 24 months: uniform background plus a persistent cluster in the south-west;
# from month 20 on a second cluster appears in the north-east (the emerging one).
PLANT = """
INSERT INTO incidents (city_code, external_id, call_type, category, geom, geocode_precision, kelurahan_code,
                       kecamatan_code, received_at, arrived_at)
SELECT %(city)s, 'S-' || n, 'darurat', (ARRAY['KEBAKARAN', 'KRIMINAL', 'BANJIR'])[1 + n %% 3],
       ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'exact', NULL, NULL,
       timestamptz '2024-11-01 00:00+07' + month * interval '1 month' + (n * 7919) %% 600 * interval '1 hour',
       NULL
FROM (
    SELECT n, n %% 24 AS month,
           CASE WHEN n %% 3 = 0 THEN 106.02 + 0.004 * sin(n)
                ELSE 106.001 + 0.098 * ((n * 0.6180339887) %% 1) END AS lon,
           CASE WHEN n %% 3 = 0 THEN -6.075 + 0.004 * cos(n)
                ELSE -6.099 + 0.098 * ((n * 0.7548776662) %% 1) END AS lat
    FROM generate_series(1, 1200) n
    UNION ALL
    SELECT 5000 + n, 20 + n %% 4, 106.075 + 0.003 * sin(n), -6.025 + 0.003 * cos(n)
    FROM generate_series(1, 160) n
) s
"""


@pytest.fixture(scope="module")
def client(database_url, tokens):
    create_city(database_url, CODE)
    with connect(database_url) as conn:
        conn.execute(PLANT, {"city": CODE})
        conn.execute(
            "UPDATE incidents i SET kelurahan_code = a.code, kecamatan_code = a.parent_code "
            "FROM admin_areas a WHERE i.city_code = %s AND a.city_code = i.city_code "
            "AND a.level = 'kelurahan' AND ST_Intersects(a.geom, i.geom)",
            (CODE,),
        )
        conn.commit()
    app = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CODE))
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(CODE)['admin']}"
    yield test_client
    app.extensions["db_pool"].close()
    drop_city(database_url, CODE)


def test_hexagon_hotspots_report_band_size_cells_and_match_esda(client, database_url):
    response = client.get("/api/analysis/hotspots?size=600")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["grid"] == "hexagon" and body["cell_size_m"] == 600 and body["band_m"] > 0
    assert body["cells"] == len(body["features"]) and body["incidents"] == 1360
    assert body["incidents_in_cells"] == body["incidents"]  # every incident in exactly one cell
    assert body["band_choice"]["method"] in {"moran_peak", "moran_highest_peak", "kth_neighbour"}
    with connect(database_url) as conn:
        cells = hexagon_counts(conn, IncidentFilter(city_code=CODE, call_types=("darurat",)), 600)
    xy = np.array([(c["x"], c["y"]) for c in cells])
    counts = np.array([c["count"] for c in cells], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = libpysal.weights.DistanceBand(
            xy, threshold=body["band_m"], binary=True, silence_warnings=True
        )
        reference = esda.G_Local(counts, weights, transform="B", star=True, permutations=0).Zs
    z = np.array([f["properties"]["z"] for f in body["features"]])
    np.testing.assert_allclose(z, reference, atol=1e-6)  # the API rounds z to 6 decimals
    hottest = max(body["features"], key=lambda f: f["properties"]["z"])
    assert hottest["properties"]["bin"] == 3 and hottest["properties"]["label"] == "Hotspot 99%"


def test_kelurahan_and_h3_grids_and_fdr_switch(client):
    kelurahan = client.get("/api/analysis/hotspots?grid=kelurahan")
    assert kelurahan.status_code == 422 and "at least 30" in kelurahan.json["detail"]  # 4 kelurahan only
    h3 = client.get("/api/analysis/hotspots?grid=h3&resolution=8").json
    assert h3["h3_resolution"] == 8 and h3["incidents_in_cells"] == h3["incidents"]
    plain = client.get("/api/analysis/hotspots?size=600&fdr=false").json
    corrected = client.get("/api/analysis/hotspots?size=600").json
    for a, b in zip(plain["features"], corrected["features"], strict=True):
        assert abs(b["properties"]["bin"]) <= abs(a["properties"]["bin"])


def test_too_little_data_is_a_422_with_advice(client):
    response = client.get("/api/analysis/hotspots?start=2024-11-01&end=2024-11-01")
    assert response.status_code == 422
    assert "incidents match" in response.json["detail"] and "Widen" in response.json["detail"]
    assert client.get("/api/analysis/hotspots?grid=square").status_code == 400


def test_density_clusters_and_hour_weekday(client):
    surface = client.get("/api/analysis/hotspots/density").json
    assert surface["radius_m"] > 0 and surface["points"]
    peak = max(surface["points"], key=lambda p: p[2])
    assert peak[1] == pytest.approx(106.02, abs=0.01) and peak[0] == pytest.approx(-6.075, abs=0.01)
    clusters = client.get("/api/analysis/hotspots/clusters?eps=150&min_points=20").json
    assert clusters["features"] and clusters["features"][0]["properties"]["count"] >= 20
    table = client.get("/api/analysis/hotspots/temporal").json
    assert np.array(table["total"]).shape == (7, 24) and np.array(table["total"]).sum() == 1360
    assert set(table["categories"]) == {"KEBAKARAN", "KRIMINAL", "BANJIR"}


def test_emerging_finds_the_new_cluster(client):
    response = client.get("/api/analysis/emerging?step=month&size=600")
    assert response.status_code == 200, response.json
    body = response.json
    assert len(body["steps"]) == 24 and body["band_m"] > 0
    north_east = [
        f
        for f in body["features"]
        if f["properties"]["incidents"] > 50
        and np.mean([c[0] for c in f["geometry"]["coordinates"][0]]) > 106.06
        and np.mean([c[1] for c in f["geometry"]["coordinates"][0]]) > -6.04
    ]
    assert north_east
    assert {f["properties"]["category"] for f in north_east} <= {
        "new_hot_spot",
        "consecutive_hot_spot",
        "intensifying_hot_spot",
    }
    assert sum(body["summary"].values()) == body["cells"]
    assert client.get("/api/analysis/emerging?start=2026-09-01").status_code == 422


def test_response_compliance_by_hand(client, database_url):
    with connect(database_url) as conn:
        minutes = [5, 6, 7, 8, 9, 10, 11, 12, 14, 20]
        for n, m in enumerate(minutes):
            conn.execute(
                "INSERT INTO incidents (city_code, external_id, call_type, category, geom, "
                "geocode_precision, kelurahan_code, kecamatan_code, received_at, arrived_at) "
                "VALUES (%s, %s, 'darurat', 'TERORISME', ST_SetSRID(ST_MakePoint(106.02, -6.07), 4326), "
                "'exact', %s, %s, "
                "'2026-10-10 10:00+07', timestamptz '2026-10-10 10:00+07' + %s * interval '1 minute')",
                (CODE, f"R-{n}", f"{CODE}.01.1001", f"{CODE}.01", m),
            )
        for n, call_type in enumerate(["prank", "prank", "ghost", "darurat"]):
            conn.execute(
                "INSERT INTO incidents (city_code, external_id, call_type, received_at) "
                "VALUES (%s, %s, %s, '2026-11-11 10:00+07')",
                (CODE, f"C-{n}", call_type),
            )
        conn.commit()
    body = client.get("/api/analysis/response?category=TERORISME").json
    terror = body["by_category"]["TERORISME"]
    assert terror["target_min"] == 15 and terror["incidents"] == 10
    assert terror["compliance"] == 0.9 and terror["median_min"] == 9.5 and terror["p90_min"] == 14
    assert body["by_kelurahan"][f"{CODE}.01.1001"]["name"] == "Lebak Gede"
    shares = client.get("/api/analysis/response").json["monthly_call_shares"]
    november = next(month for month in shares if month["month"] == "2026-11")
    assert november == {"month": "2026-11", "calls": 4, "prank_share": 0.5, "ghost_share": 0.25}


def test_emerging_leaves_out_the_step_that_has_not_ended(client, database_url):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    with connect(database_url) as conn:
        conn.execute(
            "INSERT INTO incidents (city_code, external_id, call_type, category, geom, geocode_precision, "
            "received_at) VALUES (%s, 'NOW-1', 'darurat', 'KEBAKARAN', "
            "ST_SetSRID(ST_MakePoint(106.02, -6.07), 4326), 'exact', now())",
            (CODE,),
        )
        conn.commit()
    body = client.get("/api/analysis/emerging?step=month&size=600").json
    this_month = datetime.now(ZoneInfo("Asia/Jakarta")).date().replace(day=1).isoformat()
    assert body["unfinished_step_left_out"] == this_month
    assert body["steps"][-1] < this_month
