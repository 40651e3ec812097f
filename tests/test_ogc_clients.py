"""Real OGC API clients against a live server: OWSLib, GDAL's OAPIF driver (through pyogrio), plain HTTP.

References come straight from the database rows of the test city and shapely, never from the API.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import urllib.request
from datetime import datetime

import numpy as np
import pytest
import shapely
from browser import LiveServer
from ogc_city import CCTV_COUNT, CITY, city_app, db_rows, planner_token
from owslib.ogcapi.features import Features
from shapely.geometry import box, shape

BBOX = (106.02, -6.08, 106.06, -6.04)


def gdal_read(server: str, layer: str, bbox=None):
    """pyogrio.read_dataframe over OAPIF in a child process: GDAL keeps the GIL while it reads, so in this
    process it would block the server thread it is talking to."""
    arguments = f"{f'OAPIF:{server}/ogc'!r}, layer={layer!r}, bbox={bbox!r}, fid_as_index=True"
    read = f"pyogrio.read_dataframe({arguments})"
    code = f"import pickle, sys, pyogrio; sys.stdout.buffer.write(pickle.dumps({read}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300, check=True)
    return pickle.loads(result.stdout)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def ogc_server(database_url):
    with city_app(database_url) as app:
        server = LiveServer(app)
        yield server.url
        server.close()


@pytest.fixture(scope="module")
def cctv_rows(database_url, ogc_server):
    return db_rows(
        database_url,
        "SELECT id, name, status, ST_X(geom) AS x, ST_Y(geom) AS y FROM assets"
        " WHERE city_code = %s AND asset_type = 'cctv' ORDER BY id",
        (CITY,),
    )


def ids_in_bbox(rows: list[dict], bbox) -> list[int]:
    xy = np.array([(r["x"], r["y"]) for r in rows])
    inside = shapely.intersects_xy(box(*bbox), xy[:, 0], xy[:, 1])
    return [r["id"] for r, keep in zip(rows, inside, strict=True) if keep]


def test_owslib_lists_the_collections_the_caller_may_read(ogc_server, database_url):
    api = Features(f"{ogc_server}/ogc")
    ids = [c["id"] for c in api.collections()["collections"]]
    assert {"kecamatan", "kelurahan", "assets_cctv", "assets_pju", "green_areas"} <= set(ids)
    assert "assets" not in ids  # points and lines together: QGIS would type every feature a point
    assert "incidents" not in ids  # exact incident points are for 112 staff and planners
    assert all("." not in collection_id for collection_id in ids)
    assert set(api.feature_collections()) == set(ids)
    # (OWSLib's Features(headers=...) would change its module-wide default headers, so plain HTTP here.)
    request = urllib.request.Request(
        f"{ogc_server}/ogc/collections", headers={"Authorization": f"Bearer {planner_token(database_url)}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        staff_ids = {c["id"] for c in json.load(response)["collections"]}
    assert staff_ids == set(ids) | {"incidents"}


def test_owslib_pages_through_more_than_2000_features(ogc_server, cctv_rows):
    api = Features(f"{ogc_server}/ogc")
    seen, offset = [], 0
    while True:
        page = api.collection_items("assets_cctv", limit=700, offset=offset)
        seen += [feature["id"] for feature in page["features"]]
        assert page["numberMatched"] == CCTV_COUNT
        if page["numberReturned"] < 700:
            break
        offset += 700
    assert len(cctv_rows) == CCTV_COUNT > 2000
    assert seen == [row["id"] for row in cctv_rows]


def test_owslib_bbox_query_returns_the_features_inside(ogc_server, cctv_rows):
    page = Features(f"{ogc_server}/ogc").collection_items("assets_cctv", bbox=list(BBOX), limit=10_000)
    expected = ids_in_bbox(cctv_rows, BBOX)
    assert 100 < len(expected) < CCTV_COUNT
    assert sorted(f["id"] for f in page["features"]) == expected
    assert page["numberMatched"] == len(expected)


def test_next_links_walk_every_feature_once_and_stop_on_the_last_page(ogc_server, cctv_rows):
    url = f"{ogc_server}/ogc/collections/assets_cctv/items?limit=1000"
    seen, pages = [], 0
    while url:
        page = get_json(url)
        pages += 1
        seen += [feature["id"] for feature in page["features"]]
        links = {link["rel"]: link for link in page["links"]}
        assert all(link["href"].startswith("http://127.0.0.1:") and link["type"] for link in page["links"])
        url = links["next"]["href"] if "next" in links else None
        assert ("prev" in links) == (pages > 1)
    assert pages == 3
    assert seen == [row["id"] for row in cctv_rows]


def test_gdal_reads_every_feature_with_its_attributes(ogc_server, cctv_rows):
    frame = gdal_read(ogc_server, "assets_cctv")
    assert len(frame) == CCTV_COUNT
    expected = {row["id"]: row for row in cctv_rows}
    assert set(frame.index) == set(expected)
    for fid, feature in frame.sample(50, random_state=1).iterrows():
        row = expected[fid]
        assert (feature["name"], feature["status"], feature["asset_type"]) == (
            row["name"],
            row["status"],
            "cctv",
        )
        assert feature.geometry.x == pytest.approx(row["x"], abs=1e-7)
        assert feature.geometry.y == pytest.approx(row["y"], abs=1e-7)


def test_gdal_bbox_read_returns_the_subset(ogc_server, cctv_rows):
    frame = gdal_read(ogc_server, "assets_cctv", BBOX)
    assert sorted(frame.index) == ids_in_bbox(cctv_rows, BBOX)


def test_gdal_reads_areas_with_text_ids(ogc_server, database_url):
    frame = gdal_read(ogc_server, "kelurahan")
    rows = db_rows(
        database_url,
        "SELECT name, population FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'",
        (CITY,),
    )
    assert sorted(zip(frame["name"], frame["population"], strict=True)) == sorted(
        (r["name"], r["population"]) for r in rows
    )


def test_a_feature_fetched_by_id_equals_its_database_row(ogc_server, database_url, cctv_rows):
    feature_id = cctv_rows[123]["id"]
    row = db_rows(
        database_url,
        "SELECT id, name, asset_type, status, owner_opd, dimension, roadmap_phase, kelurahan_code,"
        " coverage_radius_m, source, updated_at, ST_AsText(geom) AS wkt FROM assets WHERE id = %s",
        (feature_id,),
    )[0]
    feature = get_json(f"{ogc_server}/ogc/collections/assets_cctv/items/{feature_id}")
    assert feature["id"] == feature_id
    properties = feature["properties"]
    assert datetime.fromisoformat(properties.pop("updated_at")) == row.pop("updated_at")
    assert shape(feature["geometry"]).equals_exact(shapely.from_wkt(row.pop("wkt")), 1e-7)
    assert properties == row
    rels = {link["rel"]: link["type"] for link in feature["links"]}
    assert rels == {
        "self": "application/geo+json",
        "alternate": "text/html",
        "collection": "application/json",
    }
