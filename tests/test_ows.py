"""WMS 1.3.0 and WFS 2.0 at /ows with real clients: OWSLib, GDAL's WMS and WFS drivers (gdal_translate and
pyogrio in child processes), on the sample city served by a live server as the least-privilege web role.

Expected answers come from the database (and /api/incidents/counts for the public counts), never from /ows.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import urllib.request
from datetime import timedelta

import numpy as np
import pytest
from conftest import SAMPLE_CITY
from ogc_city import db_rows
from owslib.wfs import WebFeatureService
from owslib.wms import WebMapService
from PIL import Image
from pyproj import Transformer

OWS = "/ows"
CITY_BBOX_3857 = (11_785_000, -690_000, 11_830_000, -650_000)
SIZE = (1024, 768)
TO_3857 = Transformer.from_crs(4326, 3857, always_xy=True)


@pytest.fixture(scope="module")
def server(live_server) -> str:
    return live_server.url + OWS


@pytest.fixture(scope="module")
def catalog(app):
    return app.config["CATALOG"]


@pytest.fixture(scope="module")
def wms(server) -> WebMapService:
    return WebMapService(server, version="1.3.0", timeout=120)


@pytest.fixture(scope="module")
def wfs(server) -> WebFeatureService:
    return WebFeatureService(server, version="2.0.0", timeout=120)


def expected_layers(catalog) -> set[str]:
    return {
        "batas_kecamatan",
        "batas_kelurahan",
        "insiden_bulanan_kelurahan",
        *(f"aset_{t}" for t in catalog.asset_types),
        *(f"rth_{t}" for t in catalog.green_types),
    }


def fetch(url: str, headers: dict | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def pixel(x: float, y: float, bbox=CITY_BBOX_3857, size=SIZE) -> tuple[int, int]:
    """Column and row of a lon/lat point in a GetMap image of ``bbox`` (EPSG:3857)."""
    mx, my = TO_3857.transform(x, y)
    return (int((mx - bbox[0]) / (bbox[2] - bbox[0]) * size[0]),
            int((bbox[3] - my) / (bbox[3] - bbox[1]) * size[1]))  # fmt: skip


def test_capabilities_list_every_catalog_layer_with_crs_and_time(wms, catalog):
    assert set(wms.contents) == {"geo_app", *expected_layers(catalog)}  # the root, no incident points
    for name, layer in wms.contents.items():
        assert layer.title and layer.abstract, name
        assert {"EPSG:4326", "EPSG:3857", "EPSG:32748", "EPSG:9470"} <= set(layer.crsOptions), name
    counts = wms.contents["insiden_bulanan_kelurahan"]
    assert counts.dimensions["time"]["values"][0].endswith("/P1M")
    assert "time" in wms.contents["rth_taman_kota"].dimensions
    assert {"GetMap", "GetFeatureInfo", "GetLegendGraphic"} <= {op.name for op in wms.operations}
    assert "image/jpeg" in wms.getOperationByName("GetMap").formatOptions


def test_getmap_draws_the_fire_posts_where_they_are(wms, database_url):
    posts = db_rows(
        database_url,
        "SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM assets"
        " WHERE city_code = %s AND asset_type = 'pos_damkar'",
        (SAMPLE_CITY,),
    )
    image = wms.getmap(layers=["aset_pos_damkar"], srs="EPSG:3857", bbox=CITY_BBOX_3857, size=SIZE,
                       format="image/png", transparent=True)  # fmt: skip
    alpha = np.asarray(Image.open(io.BytesIO(image.read())).convert("RGBA"))[:, :, 3]
    for post in posts:
        column, row = pixel(post["x"], post["y"])
        assert alpha[row - 2 : row + 3, column - 2 : column + 3].min() > 0, post
    drawn = np.argwhere(alpha > 0)
    assert len(drawn) < 3 * 12 * 12  # three symbols of 9 px (and their outline), nothing else


def test_jpeg_and_every_offered_crs_answer_an_image(wms):
    # x/y order: OWSLib puts EPSG:4326 latitude first itself; EPSG:9470 it sends as given, so latitude first
    boxes = {
        "EPSG:4326": (105.9, -6.1, 106.15, -5.85),
        "EPSG:9470": (-6.1, 105.9, -5.85, 106.15),
        "EPSG:3857": CITY_BBOX_3857,
        "EPSG:32748": (600_000, 9_320_000, 640_000, 9_355_000),
    }
    for crs, bbox in boxes.items():
        for media_type in ("image/png", "image/jpeg"):
            answer = wms.getmap(
                layers=["batas_kelurahan"], srs=crs, bbox=bbox, size=(256, 256), format=media_type
            )
            assert answer.info()["Content-Type"] == media_type, (crs, answer.read()[:300])
            image = np.asarray(Image.open(io.BytesIO(answer.read())).convert("L"))
            assert (image < 200).sum() > 500, (crs, media_type)  # kelurahan outlines drawn


def test_gdal_wms_driver_reads_a_getmap_with_the_assets_drawn(server, database_url, tmp_path):
    url = (f"WMS:{server}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=aset_puskesmas&CRS=EPSG:3857"
           f"&BBOX={','.join(map(str, CITY_BBOX_3857))}&FORMAT=image/png")  # fmt: skip
    out = tmp_path / "wms.png"
    command = ["gdal_translate", "-q", "-of", "PNG", "-outsize", str(SIZE[0]), str(SIZE[1]), url, str(out)]
    subprocess.run(command, check=True, timeout=120)
    image = np.asarray(Image.open(out).convert("RGBA"))
    drawn = image[:, :, 3] > 0 if image[:, :, 3].min() == 0 else (image[:, :, :3] < 250).any(axis=2)
    rows = db_rows(
        database_url,
        "SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM assets"
        " WHERE city_code = %s AND asset_type = 'puskesmas'",
        (SAMPLE_CITY,),
    )
    for row in rows:
        column, line = pixel(row["x"], row["y"])
        assert drawn[line - 1 : line + 2, column - 1 : column + 2].all(), row


def test_getfeatureinfo_and_legend(wms, database_url):
    post = db_rows(
        database_url,
        "SELECT name, ST_X(geom) AS x, ST_Y(geom) AS y FROM assets"
        " WHERE city_code = %s AND asset_type = 'pos_damkar'"
        " ORDER BY id LIMIT 1",
        (SAMPLE_CITY,),
    )[0]
    column, row = pixel(post["x"], post["y"])
    info = wms.getfeatureinfo(layers=["aset_pos_damkar"], query_layers=["aset_pos_damkar"], srs="EPSG:3857",
                              bbox=CITY_BBOX_3857, size=SIZE, format="image/png", xy=(column, row),
                              info_format="application/vnd.ogc.gml").read().decode()  # fmt: skip
    assert post["name"] in info
    legend = wms.getServiceXML()  # the legend URL is advertised per layer
    assert b"GetLegendGraphic" in legend
    url = wms.contents["insiden_bulanan_kelurahan"].styles["default"]["legend"]
    status, media_type, body = fetch(url)
    assert status == 200 and media_type.startswith("image/png")
    assert Image.open(io.BytesIO(body)).size[1] > 50  # one row per class


def test_public_incident_counts_obey_the_counts_rules(server, anonymous_client, database_url):
    """The monthly counts per kelurahan equal /api/incidents/counts for that month: sums of cells of at least
    PUBLIC_MIN_CELL_COUNT, never a small cell."""
    month = "2026-05"
    api = anonymous_client.get(f"/api/incidents/counts?level=kelurahan&start={month}&end={month}").get_json()
    expected = {area["code"]: area["count"] for area in api["areas"] if area["count"] > 0}
    assert expected  # the sample city has counts that month
    url = (f"{server}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=insiden_bulanan_kelurahan"
           "&OUTPUTFORMAT=geojson")  # fmt: skip
    status, _, body = fetch(url)
    assert status == 200
    features = json.loads(body)["features"]
    served = {
        f["properties"]["code"]: f["properties"]["count"]
        for f in features
        if f["properties"]["month"] == month
    }
    assert served == expected
    assert set(features[0]["properties"]) == {"fid", "code", "name", "month", "count"}
    code = max(expected, key=expected.get)
    point = db_rows(
        database_url,
        "SELECT ST_X(p) AS x, ST_Y(p) AS y FROM admin_areas, LATERAL ST_PointOnSurface(geom) p"
        " WHERE code = %s",
        (code,),
    )[0]
    bbox = (point["x"] - 0.001, point["y"] - 0.001, point["x"] + 0.001, point["y"] + 0.001)
    wms = WebMapService(server, version="1.3.0", timeout=120)
    layer = ["insiden_bulanan_kelurahan"]
    info = wms.getfeatureinfo(layers=layer, query_layers=layer, srs="EPSG:4326", bbox=bbox, size=(101, 101),
                              format="image/png", xy=(50, 50), info_format="application/vnd.ogc.gml",
                              time=month).read().decode()  # fmt: skip
    assert f"<month>{month}</month>" in info and f"<count>{expected[code]}</count>" in info


def test_wfs_getfeature_with_bbox_filter_paging_and_geojson(wfs, server, database_url):
    assert "ms:aset_cctv" in wfs.contents and "ms:insiden_112" not in wfs.contents
    west, south, east, north = 106.0, -6.05, 106.05, -6.0
    expected = {
        row["id"]
        for row in db_rows(
            database_url,
            "SELECT id FROM assets WHERE city_code = %s AND asset_type = 'cctv'"
            " AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            (SAMPLE_CITY, west, south, east, north),
        )
    }
    assert len(expected) > 20
    ids, start = [], 0
    while True:
        url = (f"{server}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=aset_cctv"
               "&OUTPUTFORMAT=geojson"
               f"&BBOX={south},{west},{north},{east},urn:ogc:def:crs:EPSG::4326&COUNT=20&STARTINDEX={start}"
               "&SORTBY=id")  # fmt: skip
        page = json.loads(fetch(url)[2])["features"]
        ids += [f["properties"]["id"] for f in page]
        if len(page) < 20:
            break
        start += 20
    assert len(ids) == len(set(ids)) and set(ids) == expected
    active = db_rows(
        database_url,
        "SELECT count(*) AS n FROM assets WHERE city_code = %s AND asset_type = 'cctv' AND status = 'active'",
        (SAMPLE_CITY,),
    )[0]["n"]
    fes = ('<Filter xmlns="http://www.opengis.net/fes/2.0"><PropertyIsEqualTo><ValueReference>status'
           "</ValueReference><Literal>active</Literal></PropertyIsEqualTo></Filter>")  # fmt: skip
    url = (f"{server}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=aset_cctv&RESULTTYPE=hits"
           f"&FILTER={urllib.request.quote(fes)}")  # fmt: skip
    hits = fetch(url)[2].decode()
    assert f'numberMatched="{active}"' in hits
    gml = wfs.getfeature(typename=["ms:aset_pos_damkar"]).read()
    assert b"Pos Damkar" in gml and b"gml" in gml


def test_gdal_wfs_driver_reads_every_layer_whole(server, database_url, catalog):
    code = (
        "import pickle, sys, pyogrio\n"
        f"source = 'WFS:{server}?VERSION=2.0.0'\n"
        "counts = {name: len(pyogrio.read_dataframe(source, layer=name, read_geometry=False))"
        " for name, _ in pyogrio.list_layers(source)}\n"
        "sys.stdout.buffer.write(pickle.dumps(counts))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600, check=True)
    counts = {name.split(":")[-1]: n for name, n in pickle.loads(result.stdout).items()}
    assert set(counts) == expected_layers(catalog)
    for asset_type in catalog.asset_types:
        assert (
            counts[f"aset_{asset_type}"]
            == db_rows(
                database_url,
                "SELECT count(*) AS n FROM assets WHERE city_code = %s AND asset_type = %s",
                (SAMPLE_CITY, asset_type),
            )[0]["n"]
        ), asset_type
    for green_type in catalog.green_types:
        assert (
            counts[f"rth_{green_type}"]
            == db_rows(
                database_url,
                "SELECT count(*) AS n FROM green_areas"
                " WHERE city_code = %s AND green_type = %s AND valid_to IS NULL",
                (SAMPLE_CITY, green_type),
            )[0]["n"]
        ), green_type
    for level in ("kecamatan", "kelurahan"):
        assert counts[f"batas_{level}"] == db_rows(
            database_url, "SELECT count(*) AS n FROM admin_areas WHERE city_code = %s AND level = %s",
            (SAMPLE_CITY, level),
        )[0]["n"]  # fmt: skip


def test_incident_points_only_for_incident_readers_and_without_personal_data(server, tokens, database_url):
    layer = "SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=insiden_112&COUNT=5&OUTPUTFORMAT=geojson"
    status, _, body = fetch(f"{server}?{layer}")
    assert status == 400 and b"insiden_112" in body  # not offered to the public at all
    for role, offered in (("perencana", True), ("supervisor_112", True), ("dlh", False), ("public", False)):
        status, _, body = fetch(f"{server}?{layer}", {"Authorization": f"Bearer {tokens[role]}"})
        assert (status == 200) is offered, role
        if offered:
            properties = json.loads(body)["features"][0]["properties"]
            assert not {"description", "address", "external_id", "caller_name", "caller_phone"} & set(
                properties
            )
    secrets = db_rows(
        database_url,
        "SELECT description FROM incidents WHERE city_code = %s AND description IS NOT NULL LIMIT 50",
        (SAMPLE_CITY,),
    )
    everything = (f"{server}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=insiden_112"
                  "&OUTPUTFORMAT=geojson&COUNT=100000")  # fmt: skip
    body = fetch(everything, {"Authorization": f"Bearer {tokens['supervisor_112']}"})[2].decode()
    assert not [row["description"] for row in secrets if row["description"] in body]


def test_errors_never_show_the_database_connection(server, app):
    password = app.config["SETTINGS"].database_url.split("@")[0].rsplit(":", 1)[-1]
    fes = ('<Filter xmlns="http://www.opengis.net/fes/2.0"><PropertyIsEqualTo><ValueReference>nope'
           "</ValueReference><Literal>1</Literal></PropertyIsEqualTo></Filter>")  # fmt: skip
    query = (
        f"SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=aset_cctv&FILTER={urllib.request.quote(fes)}"
    )
    bad = f"{server}?{query}"
    for url in (bad, f"{server}?SERVICE=WMS&REQUEST=GetMap", f"{server}?SERVICE=NOPE"):
        status, _, body = fetch(url)
        assert status == 400
        assert password.encode() not in body and b"postgresql://" not in body and b"host=" not in body


def test_time_gives_green_areas_as_they_were(wms, database_url):
    """A green area mapped later than the first survey is found now and not at a TIME before it existed."""
    area = db_rows(
        database_url,
        "SELECT g.id, g.green_type, g.name, g.valid_from, ST_X(p) AS x, ST_Y(p) AS y"
        " FROM green_areas g, LATERAL ST_PointOnSurface(g.geom) p"
        " WHERE g.city_code = %(c)s AND g.valid_to IS NULL AND g.name IS NOT NULL"
        " AND g.valid_from > (SELECT min(valid_from) FROM green_areas WHERE city_code = %(c)s)"
        " AND NOT EXISTS (SELECT 1 FROM green_areas o WHERE o.id = g.id AND o.valid_from < g.valid_from)"
        " ORDER BY ST_Area(g.geom) DESC LIMIT 1",
        {"c": SAMPLE_CITY},
    )[0]
    layer = f"rth_{area['green_type']}"
    bbox = (area["x"] - 0.001, area["y"] - 0.001, area["x"] + 0.001, area["y"] + 0.001)

    def names_at(time: str | None) -> str:
        extra = {"time": time} if time else {}
        return wms.getfeatureinfo(layers=[layer], query_layers=[layer], srs="EPSG:4326", bbox=bbox,
                                  size=(101, 101), format="image/png", xy=(50, 50), feature_count=10,
                                  info_format="application/vnd.ogc.gml", **extra).read().decode()  # fmt: skip

    before = (area["valid_from"] - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert area["name"] in names_at(None)
    assert area["name"] not in names_at(before)
