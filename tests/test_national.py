"""The national tier: export-parquet, the collection's string partitions, league figures by hand, per-city
hot spots equal to the city node's answer, the cross-border Gi* and the national page."""

from __future__ import annotations

import dataclasses
import json
import math

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from conftest import SAMPLE_CITY, execute
from pyproj import Transformer
from shapely.geometry import box

from geo_app.auth.privacy import INCIDENT_FIELD_ROLES
from geo_app.auth.roles import PERENCANA
from geo_app.catalog import load_catalog
from geo_app.national import collection
from geo_app.national.city_analysis import NationalSettings, analyse_city, hexagon_hot_spots
from geo_app.national.export import export_city
from geo_app.national.run import dask_client, latest_run, run_national
from geo_app.national.simulation import simulate_collection
from geo_app.store.incidents import POINT_PRECISIONS

PERSONAL_OR_FREE_TEXT = {"caller_name", "caller_phone", "description", "address", "external_id"}
START = pd.Timestamp("2026-01-05 08:00", tz="UTC")


@pytest.fixture(scope="module")
def national_settings(settings) -> NationalSettings:
    return NationalSettings.from_catalog(load_catalog(settings.layers_dir), settings.fire_coverage_radius_m)


@pytest.fixture(scope="module")
def dask_cluster():
    """A local Dask cluster of two workers (threads of this process: quick to start in tests)."""
    with dask_client(None, 2, processes=False) as dask:
        yield dask


@pytest.fixture(scope="module")
def sample_export(sample_city, database_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("collection")
    written = export_city(database_url, SAMPLE_CITY, out)
    return out, written


# --- export-parquet ------------------------------------------------------------------------------------


def test_export_writes_what_a_planner_may_see_and_no_caller(sample_export, database_url):
    out, written = sample_export
    schema = pq.read_schema(collection.city_folder(out, "incidents", SAMPLE_CITY) / "part-0.parquet")
    planner_fields = {name for name, roles in INCIDENT_FIELD_ROLES.items() if PERENCANA in roles}
    assert set(schema.names) == (planner_fields - {"lon", "lat"}) | {"geometry"}
    assert not PERSONAL_OR_FREE_TEXT & set(schema.names)
    assert b"geo" in schema.metadata  # GeoParquet

    incidents = collection.read_city_layer(out, "incidents", SAMPLE_CITY)
    phones = {row[0] for row in execute(database_url, "SELECT caller_phone FROM incident_callers LIMIT 500")}
    texts = incidents.select_dtypes(exclude=["number", "datetime", "datetimetz", "bool", "geometry"])
    assert phones and not phones & set(texts.stack().astype(str))
    counts = execute(
        database_url,
        "SELECT (SELECT count(*) FROM incidents WHERE city_code = %(c)s), "
        "(SELECT count(*) FROM assets WHERE city_code = %(c)s), "
        "(SELECT count(*) FROM green_areas WHERE city_code = %(c)s AND valid_to IS NULL), "
        "(SELECT count(*) FROM admin_areas WHERE city_code = %(c)s)",
        {"c": SAMPLE_CITY},
    )[0]
    assert [written[layer] for layer in collection.LAYERS] == list(counts)
    cities = collection.read_cities(out)
    assert cities.to_dict("records") == [
        {"code": "36.72", "name": "Kota Cilegon", "timezone": "Asia/Jakarta", "metric_srid": 32748}
        | {
            "population": execute(
                database_url,
                "SELECT sum(population) FROM admin_areas WHERE city_code = '36.72' AND level = 'kelurahan'",
            )[0][0]
        }
    ]


def test_city_code_partitions_are_strings(tmp_path):
    frame = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(100, -1)], crs=4326)
    for code in ("99.10", "36.72"):
        collection.write_city_layer(tmp_path, "assets", code, [frame])
    assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == ["city_code=36.72", "city_code=99.10"]
    declared = collection.layer_dataset(tmp_path, "assets").to_table().column("city_code")
    assert declared.type == pa.string() and sorted(declared.to_pylist()) == ["36.72", "99.10"]
    for path in (tmp_path / "assets").rglob("*.parquet"):
        assert "city_code" not in pq.read_schema(path).names  # the folder is the partition

    with pytest.raises(collection.CollectionError, match="partition folder"):
        collection.write_city_layer(tmp_path, "assets", "99.11", [frame.assign(city_code="99.11")])
    assert not (tmp_path / "assets" / "city_code=99.11").exists()
    with pytest.raises(collection.CollectionError, match="Kemendagri code"):
        collection.write_city_layer(tmp_path, "assets", "../../etc", [frame])


# --- a hand-made city: league figures computed by hand ----------------------------------------------


def write_square_city(
    root, code: str, srid: int, corner: tuple[float, float], side: float, layers: dict
) -> None:
    """A city of one kecamatan and one kelurahan: the square ``side`` metres from ``corner`` (metric)."""
    to_lonlat = Transformer.from_crs(srid, 4326, always_xy=True)

    def lonlat(geometry):
        return shapely.transform(
            geometry, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))
        )

    x0, y0 = corner
    square = box(x0, y0, x0 + side, y0 + side)
    areas = gpd.GeoDataFrame(
        {
            "code": [f"{code}.01", f"{code}.01.1001"],
            "level": ["kecamatan", "kelurahan"],
            "name": ["Kecamatan Uji", "Kelurahan Uji"],
            "parent_code": [code, f"{code}.01"],
            "population": [10_000, 10_000],
        },
        geometry=[lonlat(square), lonlat(square)],
        crs=4326,
    )
    collection.write_city_layer(root, "admin_areas", code, [areas])
    for layer, (columns, geometries) in layers.items():
        frame = gpd.GeoDataFrame(columns, geometry=[lonlat(g) if g is not None else None for g in geometries])
        collection.write_city_layer(root, layer, code, [frame.set_crs(4326)])
    collection.write_city_row(
        root,
        {
            "code": code,
            "name": f"Kota Uji {code}",
            "timezone": "Asia/Jakarta",
            "metric_srid": srid,
            "population": 10_000,
        },
    )


def calls(points, call_type, category, minutes) -> tuple[dict, list]:
    n = len(points)
    received = pd.Series([START + pd.Timedelta(minutes=k) for k in range(n)])
    arrived = received + pd.to_timedelta(np.broadcast_to(minutes, n), unit="min")
    return {
        "call_type": [call_type] * n,
        "category": [category] * n,
        "received_at": received,
        "arrived_at": arrived if category else pd.Series([pd.NaT] * n, dtype=received.dtype),
        "geocode_precision": ["exact" if point is not None else "none" for point in points],
    }, list(points)


def join(*parts) -> tuple[dict, list]:
    columns = {
        key: pd.concat([pd.Series(part[0][key]) for part in parts], ignore_index=True) for key in parts[0][0]
    }
    return columns, [g for part in parts for g in part[1]]


def test_league_figures_by_hand(tmp_path, national_settings):
    rng = np.random.default_rng(5)
    x0, y0, side = 600_000.0, 9_300_000.0, 2000.0

    def scatter(n):
        return [shapely.Point(x, y) for x, y in rng.uniform(0, side, (n, 2)) + (x0, y0)]

    incidents = join(
        calls(scatter(200), "darurat", "KEBAKARAN", 10.0),  # target 15: within
        calls(scatter(100), "darurat", "KEBAKARAN", 20.0),  # late
        calls(scatter(150), "darurat", "BANJIR", 25.0),  # target 30: within
        calls(scatter(150), "darurat", "BANJIR", 40.0),  # late
        calls([None] * 1400, "prank", None, 0.0),
    )
    centre = shapely.Point(x0 + side / 2, y0 + side / 2)
    write_square_city(
        tmp_path,
        "97.01",
        32748,
        (x0, y0),
        side,
        {
            "incidents": incidents,
            "assets": (
                {"asset_type": ["pos_damkar", "pos_damkar"], "status": ["active", "planned"]},
                [centre, shapely.Point(x0 + 100, y0 + 100)],
            ),
            "green_areas": (
                {"is_public": [True, False]},
                [box(x0, y0, x0 + 400, y0 + 400), box(x0 + 1500, y0 + 1500, x0 + 1700, y0 + 1700)],
            ),
        },
    )
    settings = dataclasses.replace(national_settings, fire_radius_m=500.0)
    league = analyse_city(str(tmp_path), collection.read_cities(tmp_path).iloc[0].to_dict(), settings).league

    assert (league["calls"], league["emergencies"]) == (2000, 600)
    assert league["calls_per_1000"] == pytest.approx(2000 * 1000 / 10_000)
    assert league["emergencies_per_1000"] == pytest.approx(600 * 1000 / 10_000)
    assert league["response_incidents"] == 600
    assert league["response_compliance"] == pytest.approx((200 + 150) / 600, abs=1e-4)
    assert league["fire_posts"] == 1  # the planned post covers nothing
    assert league["fire_area_share"] == pytest.approx(math.pi * 500**2 / side**2, rel=1e-6)
    assert league["fire_population_share"] == pytest.approx(math.pi * 500**2 / side**2, rel=1e-6)
    assert league["rth_share"] == pytest.approx((16 + 4) / 400, rel=1e-6)
    assert league["rth_public_share"] == pytest.approx(16 / 400, rel=1e-6)
    assert league["rth_deficit_ha"] == pytest.approx(0.30 * 400 - 20, rel=1e-6)
    assert league["rth_public_deficit_ha"] == pytest.approx(0.20 * 400 - 16, rel=1e-6)


# --- per-city hot spots equal the city node's answer ----------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(sample_export, dask_cluster, national_settings, tmp_path_factory):
    """The national run over the exported sample city: (folder of runs, the run's folder)."""
    runs = tmp_path_factory.mktemp("runs")
    return runs, run_national(dask_cluster, sample_export[0], runs, national_settings, progress=False)


def test_national_run_gives_the_city_nodes_hot_spots(sample_run, client_as):
    runs, run_dir = sample_run
    assert latest_run(runs) == run_dir
    cells = pd.read_parquet(run_dir / "hotspot_cells.parquet").set_index("cell")
    summary = json.loads((run_dir / "hotspots.json").read_text())[0]

    answer = client_as("perencana").get("/api/analysis/hotspots").get_json()
    assert answer["grid"] == summary["grid"] == "hexagon"
    for key in ("cell_size_m", "band_m", "band_choice", "incidents", "cells"):
        assert answer[key] == summary[key], key
    node = {feature["id"]: feature["properties"] for feature in answer["features"]}
    assert list(node) == list(cells.index)
    assert [properties["count"] for properties in node.values()] == cells["count"].tolist()
    np.testing.assert_allclose([properties["z"] for properties in node.values()], cells["z"], atol=1e-6)
    assert [properties["bin"] for properties in node.values()] == cells["bin"].tolist()
    assert (cells["bin"] == 3).sum() > 10


# --- three synthetic cities on two workers --------------------------------------------------------------


def test_three_synthetic_cities_on_two_workers(tmp_path, dask_cluster, national_settings):
    places = simulate_collection(tmp_path / "collection", 3, 2000)
    assert len({(place.metric_srid, place.timezone) for place in places}) == 3
    run_dir = run_national(dask_cluster, tmp_path / "collection", tmp_path / "runs", national_settings, False)
    league = pd.read_parquet(run_dir / "league.parquet")
    assert league["code"].tolist() == ["99.01", "99.02", "99.03"]
    assert (league["calls"] == 2000).all()
    cells = pd.read_parquet(run_dir / "hotspot_cells.parquet")
    for place in places:
        incidents = collection.read_city_layer(tmp_path / "collection", "incidents", place.code)
        areas = collection.read_city_layer(tmp_path / "collection", "admin_areas", place.code)
        outline = areas[areas["level"] == "kelurahan"].geometry.union_all()
        emergencies = incidents[
            incidents["call_type"].isin(national_settings.incident_call_types)
            & incidents["geocode_precision"].isin(POINT_PRECISIONS)  # points only, as the city node
        ]
        area = gpd.GeoSeries([outline], crs=4326).to_crs(place.metric_srid).iloc[0]
        located = emergencies.geometry.dropna().to_crs(place.metric_srid)
        expected, _ = hexagon_hot_spots(np.column_stack([located.x, located.y]), area)
        national = cells[cells["city_code"] == place.code].reset_index(drop=True)
        pd.testing.assert_frame_equal(national.drop(columns="city_code"), expected)


# --- hot spots across a city border -------------------------------------------------------------------


def test_cross_border_hot_spot_found_by_the_national_step(tmp_path, dask_cluster, national_settings):
    """Two cities meeting at 108° E, the border of UTM zones 48 and 49, and a cluster of calls on the
    border: the national Gi* puts the cluster's H3 cell, fed by both cities, in the 99 % hot spots."""
    rng = np.random.default_rng(11)
    centre = (108.0, -6.85)
    cluster = np.column_stack(
        [rng.normal(centre[0], 0.003, 400), rng.normal(centre[1], 0.003, 400)]
    )  # ~330 m
    for code, srid, west in (("98.01", 32748, 107.9), ("98.02", 32749, 108.0)):
        outline = box(west, -6.9, west + 0.1, -6.8)
        background = np.column_stack([rng.uniform(west, west + 0.1, 1500), rng.uniform(-6.9, -6.8, 1500)])
        own = cluster[(cluster[:, 0] >= 108.0) == (west >= 108.0)]
        points = [shapely.Point(xy) for xy in np.vstack([background, own])]
        columns, geometries = calls(points, "darurat", "KEBAKARAN", 10.0)
        areas = gpd.GeoDataFrame(
            {
                "code": [f"{code}.01", f"{code}.01.1001"],
                "level": ["kecamatan", "kelurahan"],
                "name": ["K", "K"],
                "parent_code": [code, f"{code}.01"],
                "population": [5000, 5000],
            },
            geometry=[outline, outline],
            crs=4326,
        )
        collection.write_city_layer(tmp_path, "admin_areas", code, [areas])
        collection.write_city_layer(
            tmp_path, "incidents", code, [gpd.GeoDataFrame(columns, geometry=geometries, crs=4326)]
        )
        for layer in ("assets", "green_areas"):
            empty = gpd.GeoDataFrame({"asset_type": [], "status": [], "is_public": []}, geometry=[], crs=4326)
            collection.write_city_layer(tmp_path, layer, code, [empty])
        collection.write_city_row(
            tmp_path,
            {"code": code, "name": code, "timezone": "Asia/Jakarta", "metric_srid": srid, "population": 5000},
        )

    run_dir = run_national(dask_cluster, tmp_path, tmp_path / "runs", national_settings, progress=False)
    national = pd.read_parquet(run_dir / "national_hotspots.parquet").set_index("cell")
    hit = h3.latlng_to_cell(centre[1], centre[0], national_settings.h3_resolution)
    west_side = sum(
        h3.latlng_to_cell(y, x, national_settings.h3_resolution) == hit for x, y in cluster if x < 108.0
    )
    east_side = sum(
        h3.latlng_to_cell(y, x, national_settings.h3_resolution) == hit for x, y in cluster if x >= 108.0
    )
    assert west_side > 0 and east_side > 0
    assert national.loc[hit, "count"] >= west_side + east_side
    assert national.loc[hit, "bin"] == 3
    assert set(national["cities"].str.split(",").explode()) - {""} == {"98.01", "98.02"}
    assert national["bin"].eq(3).sum() < 20  # the cluster, not everything


# --- the national page ------------------------------------------------------------------------------


def national_admin(app, tokens):
    """A client signed in as an administrator of the national office (a user of no city)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.national['admin']}"
    return client


def test_national_page_for_national_admins_only(sample_run, app, client_as, tokens, monkeypatch):
    runs, run_dir = sample_run
    monkeypatch.setitem(
        app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], national_output_dir=runs)
    )
    admin = national_admin(app, tokens)
    page = admin.get("/nasional?figure=rth_share")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kota Cilegon" in html and run_dir.name in html and "RTH terhadap luas kota" in html
    cities = admin.get("/nasional/cities.geojson?figure=rth_share").get_json()
    league = pd.read_parquet(run_dir / "league.parquet")
    assert [f["properties"]["code"] for f in cities["features"]] == ["36.72"]
    assert cities["features"][0]["properties"]["value"] == pytest.approx(league["rth_share"][0] * 100)
    for role in ("admin", "perencana", "supervisor_112", "public"):  # a city's accounts, its admin too
        assert client_as(role).get("/nasional").status_code == 403, role
        assert client_as(role).get("/nasional/cities.geojson").status_code == 403, role
    assert admin.get("/nasional?figure=nope").status_code == 400


def test_national_page_without_a_run_says_how_to_make_one(app, tokens, monkeypatch, tmp_path):
    monkeypatch.setitem(
        app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], national_output_dir=tmp_path)
    )
    answer = national_admin(app, tokens).get("/nasional")
    assert answer.status_code == 404
    assert "geo-app national" in answer.get_json()["detail"]
