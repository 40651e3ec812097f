"""Coverage against hand computation on the square city of tests/coverage_city.py, a tiny road graph with
known travel times, and the rule that network coverage never exceeds straight-line coverage."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import shapely
from conftest import execute
from coverage_city import CITY, ensure_city, lonlat

from geo_app import create_app
from geo_app.analysis import coverage
from geo_app.catalog import load_catalog
from geo_app.db import connect
from geo_app.settings import Settings
from geo_app.store import coverage as coverage_store

A1, A2, B1 = "99.04.01.1001", "99.04.01.1002", "99.04.02.1001"


@pytest.fixture(scope="module")
def city(database_url):
    return ensure_city(database_url)


@pytest.fixture(autouse=True)
def no_assets(database_url, city):
    execute(database_url, "DELETE FROM assets WHERE city_code = %s", (city,))


@pytest.fixture
def db(database_url):
    with connect(database_url) as conn:
        yield conn


@pytest.fixture(scope="module")
def catalog(settings):
    return load_catalog(settings.layers_dir)


@pytest.fixture(scope="module")
def client(database_url, city, tokens):
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=city))
    test_client = application.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(city)['admin']}"
    yield test_client
    application.extensions["db_pool"].close()


def add_asset(database_url, asset_type, x, y, status="active"):
    """An asset at metres (x, y) of the test city, written directly (the API is tested elsewhere)."""
    execute(
        database_url,
        """
        INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, status, geom)
        VALUES (%s, %s, 'uji', 'OPD', 'living', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
        """,
        (CITY, asset_type, status, *lonlat(x, y)),
    )


def rows_by_code(result):
    return {row["code"]: row for row in result.kelurahan.to_dict("records")}


def test_one_circle_inside_a_square(db, database_url, catalog):
    add_asset(database_url, "cctv", 1000, 1000)
    add_asset(database_url, "cctv", 3000, 3000, status="planned")  # planned assets cover nothing
    request = coverage.CoverageRequest(("cctv",), "radius", radius_m=500, min_gap_ha=0)
    result = coverage.compute_coverage(db, CITY, catalog, request)
    share = math.pi * 500**2 / 2000**2  # the circle is wholly inside A1 (2 km x 2 km)
    rows = rows_by_code(result)
    assert rows[A1]["area_ha"] == pytest.approx(400, rel=1e-4)
    assert rows[A1]["covered_pct"] == pytest.approx(100 * share, rel=1e-4)
    assert rows[A1]["population_covered"] == pytest.approx(4000 * share, rel=1e-4)
    assert rows[A2]["covered_ha"] == 0 and rows[B1]["population_covered"] == 0
    assert result.city["population_covered_pct"] == pytest.approx(100 * 4000 * share / 14000, rel=1e-4)
    kecamatan = {row["code"]: row for row in result.kecamatan.to_dict("records")}
    assert kecamatan["99.04.01"]["covered_pct"] == pytest.approx(100 * share / 2, rel=1e-4)
    # The gaps: A1 minus the disc (one polygon with a hole), A2 and B1 whole.
    gaps = {row["kelurahan_code"]: row for row in result.gaps.to_dict("records")}
    assert gaps[A1]["area_ha"] == pytest.approx(400 * (1 - share), rel=1e-3)
    assert gaps[A1]["population"] == pytest.approx(4000 * (1 - share), rel=1e-3)
    assert gaps[B1]["population"] == pytest.approx(8000, rel=1e-4)


def test_circle_on_a_boundary_is_split_and_overlaps_count_once(db, database_url, catalog):
    add_asset(database_url, "sirine_peringatan", 2000, 1000)
    add_asset(database_url, "sirine_peringatan", 2000, 1000)  # the same place twice
    request = coverage.CoverageRequest(("sirine_peringatan",), "radius", radius_m=400)
    rows = rows_by_code(coverage.compute_coverage(db, CITY, catalog, request))
    half_disc_ha = math.pi * 400**2 / 2 / 10_000
    assert rows[A1]["covered_ha"] == pytest.approx(half_disc_ha, rel=1e-3)
    assert rows[A2]["covered_ha"] == pytest.approx(half_disc_ha, rel=1e-3)


def test_catalog_radius_is_the_default(db, database_url, catalog):
    add_asset(database_url, "wifi_publik", 1000, 1000)  # catalog radius 50 m
    result = coverage.compute_coverage(db, CITY, catalog, coverage.CoverageRequest(("wifi_publik",)))
    assert rows_by_code(result)[A1]["covered_ha"] == pytest.approx(math.pi * 50**2 / 10_000, rel=3e-3)


def piece_lengths(pieces):
    return {row["id"]: shapely.from_wkb(row["wkb"]).length for row in pieces}


def road_ids(database_url):
    return [
        row[0]
        for row in execute(database_url, "SELECT id FROM roads WHERE city_code = %s ORDER BY id", (CITY,))
    ]


def test_tiny_road_graph_with_known_travel_times(db, database_url):
    first, second = road_ids(database_url)
    speed = coverage_store.max_road_speed(db, CITY)
    assert speed == pytest.approx(10.0, rel=1e-3)  # 600 m in 60 s
    # From N1 with 120 s and a 20 m reserve (2 s at 10 m/s): N2 at 60 s, then 58 s of the 120 s edge.
    pieces = coverage_store.reached_road_pieces(
        db, CITY, [shapely.Point(lonlat(1000, 1000)).wkb], 120, 10, 20
    )
    lengths = piece_lengths(pieces)
    assert lengths[first] == pytest.approx(600, rel=1e-3)
    assert lengths[second] == pytest.approx(600 * 58 / 120, rel=1e-3)
    # 50 m off the network: the hop to N1 costs 5 s more, so 53 s remain on the second edge.
    pieces = coverage_store.reached_road_pieces(
        db, CITY, [shapely.Point(lonlat(1000, 1050)).wkb], 120, 10, 20
    )
    assert piece_lengths(pieces)[second] == pytest.approx(600 * 53 / 120, rel=1e-3)
    # From N3 nothing is reachable: N2 -> N3 is one way.
    assert (
        coverage_store.reached_road_pieces(db, CITY, [shapely.Point(lonlat(1600, 1600)).wkb], 600, 10, 20)
        == []
    )
    # From N2 backwards along the first edge (both ways) for 30 s: half of it.
    pieces = coverage_store.reached_road_pieces(db, CITY, [shapely.Point(lonlat(1600, 1000)).wkb], 32, 10, 20)
    assert piece_lengths(pieces)[first] == pytest.approx(300, rel=1e-3)
    assert piece_lengths(pieces)[second] == pytest.approx(600 * 30 / 120, rel=1e-3)


@pytest.mark.parametrize(
    ("x", "y", "minutes"), [(1000, 1000, 2), (1000, 1050, 2), (1300, 900, 1.5), (1600, 1000, 4)]
)
def test_network_coverage_never_exceeds_straight_line(db, database_url, catalog, x, y, minutes):
    add_asset(database_url, "pos_damkar", x, y)
    network = coverage.compute_coverage(
        db,
        CITY,
        catalog,
        coverage.CoverageRequest(("pos_damkar",), "travel_time", minutes=minutes, access_m=20),
    )
    reach_m = network.straight_line_radius_m
    assert reach_m == pytest.approx(10 * 60 * minutes, rel=1e-3)
    straight = coverage.compute_coverage(
        db, CITY, catalog, coverage.CoverageRequest(("pos_damkar",), "radius", radius_m=reach_m)
    )
    assert network.city["covered_ha"] > 0
    for net_row, line_row in zip(
        network.kelurahan.itertuples(), straight.kelurahan.itertuples(), strict=True
    ):
        assert net_row.covered_ha <= line_row.covered_ha + 1e-9
        assert net_row.population_covered <= line_row.population_covered + 1e-9
    # The guarantee holds before the clip too: every corridor vertex lies within top speed x time of
    # the asset, measured on exact distances (no polygon approximation of the outer circle).
    assets = coverage_store.assets_metric(db, CITY, ["pos_damkar"])
    corridor, _, _, _ = coverage.network_shapes(db, CITY, assets, network.request)
    start = shapely.from_wkb(assets[0]["wkb"])
    vertices = shapely.get_coordinates(corridor)
    distances = np.hypot(vertices[:, 0] - start.x, vertices[:, 1] - start.y)
    assert distances.max() <= reach_m + 1e-6


def test_api_formats_and_errors(client, database_url):
    add_asset(database_url, "cctv", 1000, 1000)
    body = client.get("/api/analysis/coverage?type=cctv&radius_m=500").get_json()
    assert body["assets"] == 1 and len(body["kelurahan"]) == 3 and len(body["kecamatan"]) == 2
    assert body["city"]["population"] == 14000
    share = math.pi * 500**2 / 2000**2
    assert body["city"]["population_covered"] == pytest.approx(4000 * share, rel=2e-3)

    layer = client.get("/api/analysis/coverage?type=cctv&radius_m=500&format=geojson&layer=gaps")
    assert layer.status_code == 200 and layer.mimetype == "application/geo+json"
    features = layer.get_json()["features"]
    assert {f["properties"]["kelurahan_code"] for f in features} == {A1, A2, B1}
    lon, lat = features[0]["geometry"]["coordinates"][0][0]
    assert 100 < lon < 110 and -10 < lat < 0

    table = list(
        csv.DictReader(
            io.StringIO(client.get("/api/analysis/coverage?type=cctv&radius_m=500&format=csv").text)
        )
    )
    assert [row["level"] for row in table] == [
        "kota",
        "kecamatan",
        "kecamatan",
        "kelurahan",
        "kelurahan",
        "kelurahan",
    ]

    assert client.get("/api/analysis/coverage").status_code == 400
    assert "use cctv" in client.get("/api/analysis/coverage?type=kamera").get_json()["detail"]
    assert client.get("/api/analysis/coverage?type=cctv&minutes=5").status_code == 400
    assert client.get("/api/analysis/coverage?type=cctv&radius_m=-1").status_code == 400


def test_fire_service_view(client, database_url):
    add_asset(database_url, "pos_damkar", 1000, 1000)
    view = client.get("/api/analysis/coverage/fire?radius_m=500&minutes=2").get_json()
    share = math.pi * 500**2 / 2000**2
    assert view["fire_posts"] == 1 and view["population"] == 14000
    assert view["within_radius"]["share"] == pytest.approx(4000 * share / 14000, rel=2e-3)
    travel = client.get("/api/analysis/coverage?type=pos_damkar&mode=travel_time&minutes=2").get_json()
    assert view["within_travel_time"]["population_covered"] == travel["city"]["population_covered"] > 0


@pytest.mark.parametrize("minutes", [3, 8])
def test_network_within_straight_line_on_the_sample_city(db, catalog, sample_city, minutes):
    network = coverage.compute_coverage(
        db, sample_city, catalog, coverage.CoverageRequest(("puskesmas",), "travel_time", minutes=minutes)
    )
    straight = coverage.compute_coverage(
        db,
        sample_city,
        catalog,
        coverage.CoverageRequest(("puskesmas",), "radius", radius_m=network.straight_line_radius_m),
    )
    assert 0 < network.city["population_covered"] <= straight.city["population_covered"]
    excess = shapely.area(shapely.difference(network.covered, straight.covered))
    assert excess.max() < 1.0  # square metres: only floating-point slivers of the same clip
