"""The sample city: deterministic, plausible, labelled as sample, and loaded into PostGIS intact.

Figures are checked against independent references: official DKB 2025 populations typed in here,
geodesic areas from pyproj.Geod, point-in-polygon from geopandas, connectivity from pgRouting.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from geo_app.cli import main
from geo_app.ingest.incidents import header_columns
from geo_app.ingest.osm_read import read_osm
from geo_app.sample import generate_sample_city, is_city_loaded
from geo_app.sample.city import default_catalog
from geo_app.sample.export import GEOPACKAGE, INCIDENTS_CSV, OSM_XML, write_sample_files
from geo_app.sample.population import largest_remainder
from geo_app.sample.reference import SAMPLE_SOURCE, to_geographic

# Dukcapil DKB Semester I 2025, per kecamatan (facts/cilegon/kecamatan_population.csv).
DKB_2025 = {
    "36.72.01": 67827, "36.72.02": 55144, "36.72.03": 51421, "36.72.04": 54851,
    "36.72.05": 73486, "36.72.06": 47070, "36.72.07": 44824, "36.72.08": 88392,
}  # fmt: skip
KELURAHAN_PER_KECAMATAN = {
    "36.72.01": 6, "36.72.02": 5, "36.72.03": 4, "36.72.04": 6,
    "36.72.05": 5, "36.72.06": 4, "36.72.07": 6, "36.72.08": 7,
}  # fmt: skip
OFFICIAL_AREA_KM2 = 162.578
BAGENDUNG = "36.72.02.1001"


@pytest.fixture(scope="module")
def city():
    return generate_sample_city()


def _fingerprint(city) -> str:
    digest = hashlib.sha256()
    frames = [city.areas, city.network.nodes, city.network.roads, city.gazetteer, city.assets,
              city.incidents, city.green_areas, city.callers]  # fmt: skip
    for frame in frames:
        for column in frame.columns:
            values = frame[column]
            if column == "geometry":
                digest.update(b"".join(shapely.to_wkb(values[values.notna()].to_numpy())))
                continue
            present = values.dropna()
            if len(present) and isinstance(present.iloc[0], tuple | list | dict):
                values = values.map(repr)
            digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _geodesic_km2(geometry_4326) -> float:
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geometry_4326)[0]) / 1e6


def test_generation_is_deterministic(city):
    assert _fingerprint(generate_sample_city()) == _fingerprint(city)


def test_largest_remainder_by_hand():
    # quotas 3.33, 3.33, 3.33 -> 3, 3, 3 and one left for the first (stable tie-break)
    assert largest_remainder(10, np.array([1, 1, 1])).tolist() == [4, 3, 3]
    # quotas 1.4, 2.6, 6.0 -> 1, 3, 6
    assert largest_remainder(10, np.array([14, 26, 60])).tolist() == [1, 3, 6]


def test_areas_codes_and_counts(city):
    levels = city.areas.groupby("level")["code"].apply(sorted)
    assert levels["kota"] == ["36.72"]
    assert levels["kecamatan"] == sorted(DKB_2025)
    kelurahan = city.kelurahan
    assert len(kelurahan) == 43
    assert kelurahan["code"].str.match(r"^36\.72\.0[1-8]\.1\d{3}$").all()
    assert kelurahan.groupby("parent_code").size().to_dict() == KELURAHAN_PER_KECAMATAN
    assert (city.areas.geom_type == "MultiPolygon").all()
    assert city.areas.is_valid.all()
    assert (city.areas["boundary_source"].str.startswith(SAMPLE_SOURCE)).all()


def test_total_area_close_to_official(city):
    kelurahan_km2 = sum(_geodesic_km2(g) for g in to_geographic(city.kelurahan.geometry.to_numpy()))
    assert kelurahan_km2 == pytest.approx(OFFICIAL_AREA_KM2, rel=0.02)
    kota = to_geographic(city.areas.loc[city.areas["level"] == "kota"].geometry.iloc[0])
    assert _geodesic_km2(kota) == pytest.approx(kelurahan_km2, rel=1e-6)


def test_population_matches_dkb(city):
    areas = city.areas.set_index("code")
    kelurahan = city.kelurahan
    assert kelurahan["population"].sum() == 483_015 == areas.loc["36.72", "population"]
    assert kelurahan.groupby("parent_code")["population"].sum().to_dict() == DKB_2025
    assert {code: areas.loc[code, "population"] for code in DKB_2025} == DKB_2025
    assert kelurahan["population_is_estimate"].all()
    assert not areas.loc[list(DKB_2025), "population_is_estimate"].any()
    assert (areas.loc[list(DKB_2025), "population_year"] == 2025).all()
    # spread by area: density equal within a kecamatan (up to rounding)
    density = kelurahan["population"] / kelurahan.geometry.area
    spread = density.groupby(kelurahan["parent_code"]).agg(lambda d: d.max() / d.min())
    assert (spread < 1.01).all()


def test_incidents_plausible(city):
    incidents = city.incidents
    assert 45_000 <= len(incidents) <= 55_000
    assert incidents["external_id"].is_unique
    shares = incidents["call_type"].value_counts(normalize=True)
    assert 0.25 <= shares["darurat"] <= 0.35
    assert 0.15 <= shares["prank"] <= 0.25
    assert 0.20 <= shares["ghost"] <= 0.30
    assert 0.05 <= shares["informasi"] <= 0.15
    assert 0.10 <= shares["dropped"] <= 0.20
    darurat = incidents[incidents["call_type"] == "darurat"]
    categories = darurat["category"].value_counts()
    assert categories.index[0] == "MEDIS_AMBULANS"
    assert categories.index[1] == "KECELAKAAN_LL"
    assert incidents["received_at"].max() <= pd.Timestamp("2026-10-31 23:59:59", tz="Asia/Jakarta")
    # quiet at night, busy late afternoon
    hours = darurat["received_at"].dt.hour.value_counts()
    assert hours[[16, 17]].sum() > 4 * hours[[3, 4]].sum()
    # non-emergency calls are never dispatched
    others = incidents[incidents["call_type"] != "darurat"]
    assert others["dispatched_at"].isna().all() and others["arrived_at"].isna().all()
    fire = darurat[(darurat["category"] == "KEBAKARAN") & darurat["arrived_at"].notna()]
    response_min = (fire["arrived_at"] - fire["received_at"]).dt.total_seconds() / 60
    assert 9 <= response_min.median() <= 15
    assert 0.05 <= (response_min > 15).mean() <= 0.45


def test_every_located_incident_has_its_kelurahan(city):
    located = city.incidents[city.incidents.geometry.notna()]
    joined = gpd.sjoin(
        located[["external_id", "kelurahan_code", "geometry"]],
        city.kelurahan[["code", "geometry"]],
        predicate="intersects",
    )
    first = joined.sort_values("code").groupby("external_id").first()
    assert len(first) == len(located)
    assert (first["kelurahan_code"] == first["code"]).mean() > 0.999
    assert (located["kecamatan_code"] == located["kelurahan_code"].str[:8]).all()
    precision = city.incidents.loc[city.incidents["call_type"] == "darurat", "geocode_precision"]
    assert precision.isin(["exact", "street"]).mean() > 0.8


def test_emerging_cluster_in_bagendung(city):
    calls = city.incidents
    brawls = calls[(calls["category"] == "KAMTIBMAS") & (calls["kelurahan_code"] == BAGENDUNG)]
    monthly = brawls["received_at"].dt.strftime("%Y-%m").value_counts()
    before = monthly.drop(["2026-08", "2026-09", "2026-10"], errors="ignore")
    assert monthly["2026-08"] < monthly["2026-09"] < monthly["2026-10"]
    assert monthly["2026-08"] > 3 * before.max()
    assert monthly[["2026-08", "2026-09", "2026-10"]].sum() >= 60


def test_green_share_and_history(city):
    green = city.green_areas
    current = green[green["valid_to"].isna()]
    city_m2 = city.areas.loc[city.areas["level"] == "kota"].geometry.area.iloc[0]
    share = current.geometry.area.sum() / city_m2
    public_share = current.loc[current["is_public"]].geometry.area.sum() / city_m2
    assert 0.08 <= share < 0.30 and 0.05 <= public_share < 0.20
    hectares = current.geometry.area / 1e4
    assert ((hectares >= 0.3) & (hectares <= 1.5) & (current["green_type"] == "taman_lingkungan")).sum() >= 10
    assert current.is_valid.all()
    left, right = current.sindex.query(current.geometry, predicate="intersects")
    assert (left == right).all(), "current green areas overlap"
    assert (green["valid_to"].notna()).sum() >= 5
    assert (green["valid_from"] > pd.Timestamp("2026-01-01", tz="Asia/Jakarta")).sum() >= 5


def test_roads_and_assets(city):
    roads = city.network.roads
    assert set(roads["road_class"]) == {"arteri", "kolektor", "lokal"}
    assert roads["name"].str.startswith("Jl. ").all()
    assert np.allclose(roads["cost_s"], roads["length_m"] / (roads["speed_kmh"] / 3.6))
    counts = city.assets["asset_type"].value_counts()
    assert counts["pos_damkar"] == 3
    assert 8 <= counts["puskesmas"] <= 12
    assert 200 <= counts["cctv"] <= 500 and 200 <= counts["wifi_publik"] <= 500
    wifi_kelurahan = city.assets.loc[city.assets["asset_type"] == "wifi_publik", "kelurahan_code"]
    assert wifi_kelurahan.nunique() == 43


def test_export_files(city, tmp_path):
    counts = write_sample_files(tmp_path, progress=False, city=city)
    kelurahan = gpd.read_file(tmp_path / GEOPACKAGE, layer="kelurahan")
    assert len(kelurahan) == 43 and kelurahan.crs.to_epsg() == 4326
    table = pd.read_csv(tmp_path / INCIDENTS_CSV)
    assert counts["incidents.csv"] == len(table) == len(city.incidents)
    header_columns(list(table.columns))  # the layout geo-app import-incidents reads
    assert table["received_at"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$").all()
    # rounded to 6 decimals, every located call still falls in a kelurahan
    located = table.dropna(subset=["lon"])
    points = gpd.GeoSeries(gpd.points_from_xy(located["lon"], located["lat"]), crs=4326)
    assert points.within(kelurahan.union_all()).all()
    # the OpenStreetMap file geo-app import-osm reads: every named street and landmark, kelurahan as places
    osm = read_osm(tmp_path / OSM_XML, default_catalog().road_types)
    assert {way.name for way in osm.ways} == set(city.network.roads["name"])
    landmarks = city.gazetteer[city.gazetteer["kind"] == "landmark"]
    assert sorted(f.name for f in osm.features if f.kind == "landmark") == sorted(landmarks["name"])
    assert {f.name for f in osm.features if f.category == "village"} == set(city.kelurahan["name"])


# --- the loaded database -------------------------------------------------------------------------------


def test_loaded_rows(conn, sample_city):
    def count(sql: str) -> int:
        return conn.execute(sql, (sample_city,)).fetchone()["n"]

    assert count("SELECT count(*) AS n FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'") == 43
    assert count(
        "SELECT sum(population) AS n FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'"
    ) == (483_015)
    assert count("SELECT count(*) AS n FROM incidents WHERE city_code = %s") >= 50_000
    assert count("SELECT count(*) AS n FROM incident_callers c JOIN incidents i ON i.id = c.incident_id "
                 "WHERE i.city_code = %s") > 10_000  # fmt: skip
    assert count("SELECT count(*) AS n FROM gazetteer WHERE city_code = %s AND kind = 'landmark'") > 100
    city_row = conn.execute("SELECT * FROM cities WHERE code = %s", (sample_city,)).fetchone()
    assert city_row["name"] == "Kota Cilegon" and float(city_row["official_area_km2"]) == OFFICIAL_AREA_KM2
    loads = conn.execute(
        "SELECT layer, is_sample, source FROM dataset_loads WHERE city_code = %s", (sample_city,)
    ).fetchall()
    assert {"admin_areas", "roads", "assets", "incidents", "incidents_recent", "green_areas"} <= {
        row["layer"] for row in loads
    }
    assert all(row["is_sample"] and row["source"].startswith(SAMPLE_SOURCE) for row in loads)
    recent = count(
        "SELECT count(*) AS n FROM incidents WHERE city_code = %s "
        "AND received_at > now() - interval '25 hours'"
    )
    assert recent >= 20
    assert is_city_loaded(conn, sample_city) and not is_city_loaded(conn, "98.76")


def test_loaded_network_is_the_generated_one(conn, sample_city, city):
    """The sample's roads reach the database through the OpenStreetMap importer: written as OSM ways that run
    through junctions, split again at the shared nodes, into the same graph."""
    roads = city.network.roads
    loaded = conn.execute(
        "SELECT count(*) AS edges, sum(length_m) AS metres, sum(cost_s) AS seconds,"
        " (SELECT count(*) FROM road_nodes WHERE city_code = %(c)s) AS nodes,"
        " (SELECT source FROM dataset_loads WHERE city_code = %(c)s AND layer = 'roads'"
        "  ORDER BY id DESC LIMIT 1) AS source"
        " FROM roads WHERE city_code = %(c)s",
        {"c": sample_city},
    ).fetchone()
    assert (loaded["edges"], loaded["nodes"]) == (len(roads), len(city.network.nodes))
    assert loaded["metres"] == pytest.approx(roads["length_m"].sum(), rel=1e-4)
    assert loaded["seconds"] == pytest.approx(roads["cost_s"].sum(), rel=1e-4)
    assert loaded["source"] == SAMPLE_SOURCE
    streets = conn.execute(
        "SELECT DISTINCT name FROM gazetteer WHERE city_code = %s AND kind = 'street'", (sample_city,)
    ).fetchall()
    assert {row["name"] for row in streets} == set(roads["name"])


def test_loaded_road_graph_is_connected(conn, sample_city):
    components = conn.execute(
        """
        SELECT count(DISTINCT component) AS n FROM pgr_connectedComponents(
            format('SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost
                    FROM roads WHERE city_code = %%L', %s::text))
        """,
        (sample_city,),
    ).fetchone()
    assert components["n"] == 1


def test_loaded_fire_posts_in_their_kecamatan(conn, sample_city):
    rows = conn.execute(
        """
        SELECT k.name FROM assets a JOIN admin_areas k
            ON k.level = 'kecamatan' AND k.city_code = a.city_code AND ST_Within(a.geom, k.geom)
        WHERE a.city_code = %s AND a.asset_type = 'pos_damkar'
        """,
        (sample_city,),
    ).fetchall()
    assert sorted(row["name"] for row in rows) == ["Citangkil", "Pulomerak", "Purwakarta"]


def test_loaded_green_share(conn, sample_city):
    row = conn.execute(
        """
        SELECT sum(g.area_ha) / 100.0 AS green_km2,
               (SELECT ST_Area(geom::geography) / 1e6 FROM admin_areas WHERE code = %s) AS city_km2
        FROM green_areas g WHERE g.city_code = %s AND g.valid_to IS NULL
        """,
        (sample_city, sample_city),
    ).fetchone()
    assert 0.08 < row["green_km2"] / row["city_km2"] < 0.30


def test_load_sample_if_empty_keeps_data(database_url, sample_city, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["load-sample", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "keeping it" in result.output


def test_loaded_addresses_geocode_to_their_kelurahan(conn, sample_city, settings):
    """The gazetteer holds the streets the generated addresses name (the 112 geocoder reads it). Sample
    street names are given per kelurahan, so where a road segment crosses a boundary the neighbour's name
    runs a little into the kelurahan: there the geocoder honestly finds two places of that name and
    answers the kelurahan only. The kelurahan is always the caller's."""
    from geo_app.ingest.geocode import Geocoder

    calls = conn.execute(
        "SELECT address, kelurahan_code FROM incidents WHERE city_code = %s "
        "AND geocode_precision IN ('exact', 'street') ORDER BY external_id LIMIT 40",
        (sample_city,),
    ).fetchall()
    geocoder = Geocoder(conn, settings, sample_city)
    results = [geocoder.geocode(call["address"]) for call in calls]
    assert [result.kelurahan_code for result in results] == [call["kelurahan_code"] for call in calls]
    assert all(result.precision in ("exact", "street", "kelurahan") for result in results)
    placed = sum(result.precision in ("exact", "street") for result in results)
    assert placed >= len(results) / 2
    assert all(len(result.candidates) > 1 for result in results if result.precision == "kelurahan")


def test_loading_leaves_planner_statistics_for_every_table_it_wrote(database_url):
    """Where autovacuum is off or slow, un-analysed tables are planned as empty: the load analyses them
    itself, in the same command (last_analyze is a manual ANALYZE, never autovacuum's)."""
    from geo_app.db import bootstrap, migrate
    from geo_app.sample import load_sample_city

    url = bootstrap.with_database(database_url, database_url.rsplit("/", 1)[1] + "_stats")
    bootstrap.ensure_database(url)
    try:
        bootstrap.ensure_extensions(url)
        migrate.upgrade(url)
        load_sample_city(url, progress=False)
        with psycopg.connect(url) as conn:
            never = conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) AND last_analyze IS NULL",
                (
                    [
                        "admin_areas",
                        "assets",
                        "incidents",
                        "incident_callers",
                        "green_areas",
                        "roads",
                        "gazetteer",
                    ],
                ),
            ).fetchall()
        assert never == []
    finally:
        bootstrap.drop_database(url)
