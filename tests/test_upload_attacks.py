"""Hostile uploads: files that claim one format and are another, that point GDAL at server files or URLs,
or that cost far more to read than they weigh. Each answers 422 with a reason, and nothing is read or
fetched; messages name the file as uploaded, never a server path."""

from __future__ import annotations

import io
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from geo_app.ingest import geometry_limits, readers
from geo_app.ingest.green import MAX_REPAIR_CROSSINGS, repair_refusal
from geo_app.ingest.readers import ReadError, ReadLimits, read_vector, read_vector_bytes

# A GDAL VRT that reads /etc/os-release as a CSV layer; its first key is PRETTY_NAME.
VRT = (
    b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>CSV:/etc/os-release</SrcDataSource>'
    b"<SrcLayer>os-release</SrcLayer></OGRVRTLayer></OGRVRTDataSource>"
)
SERVER_FILE_TEXT = "PRETTY_NAME"
ASSET_IMPORT = "/api/assets/import?type=cctv&dry_run=true"
GREEN_IMPORT = "/api/green-areas/import"
CILEGON_POINT = shapely.Point(106.03, -6.0)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def geopackage_with(tmp_path: Path, *schema: str) -> bytes:
    """A real GeoPackage (one good point layer) with ``schema`` added; the last statement's table or view is
    listed as a layer."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "base.gpkg"
    gpd.GeoDataFrame({"name": ["Pos"]}, geometry=[CILEGON_POINT], crs=4326).to_file(path, layer="ok")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA writable_schema=ON")
        for number, statement in enumerate(schema):
            kind = "view" if statement.startswith("CREATE VIEW") else "table"
            name = statement.split()[3 if kind == "table" else 2]
            db.execute("INSERT INTO sqlite_master VALUES (?, ?, ?, ?, ?)", (kind, name, name, 0, statement))
            if number == len(schema) - 1:
                db.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                    "VALUES (?, 'attributes', ?, 0)",
                    (name, name),
                )
    return path.read_bytes()


VIRTUAL_TEXT = "CREATE VIRTUAL TABLE evil USING VirtualText('/etc/os-release', 'UTF-8', 0, POINT, NONE, '=')"
VIRTUAL_OGR = f"CREATE VIRTUAL TABLE evil USING VirtualOGR('{VRT.decode()}')"


def hostile_files(tmp_path: Path) -> dict[str, tuple[str, bytes]]:
    """Label -> (upload name, content): the VRT under every accepted extension, and its relatives."""
    text_gpkg = geopackage_with(tmp_path, VIRTUAL_TEXT)
    return {
        "vrt as .geojson": ("kel.geojson", VRT),
        "vrt as .json": ("kel.json", VRT),
        "vrt as .kml": ("kel.kml", VRT),
        "vrt as .gpkg": ("kel.gpkg", VRT),
        "vrt as .kmz": ("kel.kmz", VRT),
        "vrt as doc.kml in .kmz": ("kel.kmz", zipped({"doc.kml": VRT})),
        "vrt as .shp in .zip": ("kel.zip", zipped({"kel.shp": VRT, "kel.shx": VRT, "kel.dbf": VRT})),
        "vrt as .geojson in .zip": ("kel.zip", zipped({"kel.geojson": VRT})),
        "vrt as .kml in .zip": ("kel.zip", zipped({"kel.kml": VRT})),
        "vrt as .gpkg in .zip": ("kel.zip", zipped({"kel.gpkg": VRT})),
        "gpkg layer reading a server file (VirtualText)": ("kel.gpkg", text_gpkg),
        "gpkg layer that is a VRT (VirtualOGR)": ("kel.gpkg", geopackage_with(tmp_path, VIRTUAL_OGR)),
        "gpkg view over a VRT": (
            "kel.gpkg",
            geopackage_with(tmp_path, VIRTUAL_OGR, "CREATE VIEW evil_view AS SELECT * FROM evil"),
        ),
        "gpkg reading a server file, in a .zip": ("kel.zip", zipped({"kel.gpkg": text_gpkg})),
    }


HOSTILE_LABELS = [
    "vrt as .geojson",
    "vrt as .json",
    "vrt as .kml",
    "vrt as .gpkg",
    "vrt as .kmz",
    "vrt as doc.kml in .kmz",
    "vrt as .shp in .zip",
    "vrt as .geojson in .zip",
    "vrt as .kml in .zip",
    "vrt as .gpkg in .zip",
    "gpkg layer reading a server file (VirtualText)",
    "gpkg layer that is a VRT (VirtualOGR)",
    "gpkg view over a VRT",
    "gpkg reading a server file, in a .zip",
]


def upload(client, url: str, name: str, data: bytes, **fields):
    form = {"file": (io.BytesIO(data), name), **fields}
    return client.post(url, data=form, content_type="multipart/form-data")


def assert_refused_cleanly(response, name: str) -> dict:
    body = response.get_json()
    assert response.status_code == 422, body
    text = response.get_data(as_text=True)
    assert name in body["detail"]
    assert SERVER_FILE_TEXT not in text and "Debian" not in text
    assert "/tmp" not in text and "geo_app_" not in text
    return body


@pytest.fixture
def web_server():
    """A loopback HTTP server that records the path of every request it gets."""
    requests: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


# --- files that are not what they claim -------------------------------------------------------------


def test_the_payload_is_a_real_attack_when_gdal_may_choose_the_driver(tmp_path):
    """Proof that the test files carry a working attack: GDAL's VRT driver reads the server file."""
    path = tmp_path / "x.vrt"
    path.write_bytes(VRT)
    code = f"import pyogrio; print(list(pyogrio.read_dataframe({str(path)!r}).columns))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert SERVER_FILE_TEXT in result.stdout


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_files_are_refused_by_the_reader(tmp_path, label):
    name, data = hostile_files(tmp_path)[label]
    with pytest.raises(ReadError) as refused:
        read_vector_bytes(name, data)
    message = str(refused.value)
    assert message.startswith(name) and SERVER_FILE_TEXT not in message and "/tmp" not in message


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_files_answer_422_to_the_asset_import(client, tmp_path, label):
    name, data = hostile_files(tmp_path)[label]
    assert_refused_cleanly(upload(client, ASSET_IMPORT, name, data), name)


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_files_answer_422_to_the_green_import(client, tmp_path, label):
    name, data = hostile_files(tmp_path)[label]
    assert_refused_cleanly(upload(client, GREEN_IMPORT, name, data, dry_run="true"), name)


def test_the_reasons_say_what_is_wrong(client, tmp_path):
    files = hostile_files(tmp_path)
    reasons = {
        "vrt as .geojson": "not GeoJSON",
        "vrt as .shp in .zip": "kel.shp is not a Shapefile",
        "gpkg layer reading a server file (VirtualText)": "evil (virtual table)",
        "gpkg view over a VRT": "evil_view (view)",
    }
    for label, reason in reasons.items():
        name, data = files[label]
        assert reason in upload(client, ASSET_IMPORT, name, data).get_json()["detail"]


def test_a_geopackage_with_a_generated_column_is_refused(tmp_path):
    path = tmp_path / "base.gpkg"
    gpd.GeoDataFrame({"name": ["Pos"]}, geometry=[CILEGON_POINT], crs=4326).to_file(path, layer="ok")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE computed (a TEXT, b TEXT GENERATED ALWAYS AS (upper(a)))")
    with pytest.raises(ReadError, match=r"computed \(generated columns\)"):
        read_vector_bytes("kel.gpkg", path.read_bytes())


def test_gdal_keeps_only_the_drivers_of_the_accepted_formats():
    assert set(pyogrio.list_drivers()) <= {"GeoJSON", "GPKG", "ESRI Shapefile", "LIBKML", "KML", "MEM"}
    assert "OGR_VRT" not in pyogrio.list_drivers() and "GDALG" not in pyogrio.list_drivers()


# --- nothing is fetched -------------------------------------------------------------------------------


def test_network_file_systems_are_off_for_the_whole_process(web_server):
    base, requests = web_server
    s3 = {"AWS_S3_ENDPOINT": base.removeprefix("http://"), "AWS_HTTPS": "NO", "AWS_NO_SIGN_REQUEST": "YES"}
    pyogrio.set_gdal_config_options({**s3, "AWS_VIRTUAL_HOSTING": "FALSE"})
    try:
        for path in (
            f"/vsicurl/{base}/a.geojson",
            f"/vsicurl_streaming/{base}/a.geojson",
            f"/vsizip//vsicurl/{base}/a.zip/a.shp",
            "/vsis3/bucket/a.geojson",
        ):
            with pytest.raises(pyogrio.errors.DataSourceError):
                pyogrio.read_info(path)
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys([*s3, "AWS_VIRTUAL_HOSTING"]))
    assert requests == []


def test_a_kml_network_link_is_refused_and_not_fetched(client, web_server):
    base, requests = web_server
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<NetworkLink><name>cctv</name><Link><href>{base}/cctv.kml</href></Link></NetworkLink>"
        "</Document></kml>"
    ).encode()
    for url, fields in ((ASSET_IMPORT, {}), (GREEN_IMPORT, {"dry_run": "true"})):
        body = assert_refused_cleanly(upload(client, url, "cctv.kml", kml, **fields), "cctv.kml")
        assert "NetworkLink" in body["detail"] and f"{base}/cctv.kml" in body["detail"]
    with pytest.raises(ReadError, match="NetworkLink"):
        read_vector_bytes("cctv.kmz", zipped({"doc.kml": kml}))
    assert requests == []


def test_external_styles_icons_and_schemas_of_a_kml_are_not_fetched(client, web_server):
    base, requests = web_server
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Style id='s'><IconStyle><Icon><href>{base}/icon.png</href></Icon></IconStyle></Style>"
        f"<Placemark><name>CCTV Alun-alun</name><styleUrl>{base}/style.kml#cctv</styleUrl>"
        f'<ExtendedData><SchemaData schemaUrl="{base}/schema.kml#s"><SimpleData name="status">aktif'
        f"</SimpleData></SchemaData></ExtendedData><Point><coordinates>106.03,-6.0</coordinates></Point>"
        "</Placemark></Document></kml>"
    ).encode()
    report = upload(client, ASSET_IMPORT, "cctv.kml", kml).get_json()
    assert report["rows_read"] == 1 and report["rows"][0]["name"] == "CCTV Alun-alun"
    assert requests == []


def test_a_geojson_crs_link_is_refused_and_not_fetched(client, web_server):
    base, requests = web_server
    feature = {
        "type": "Feature",
        "properties": {"name": "CCTV"},
        "geometry": shapely.geometry.mapping(CILEGON_POINT),
    }
    linked = {"type": "link", "properties": {"href": f"{base}/crs.wkt", "type": "ogcwkt"}}
    for crs in (linked, {"type": "LINK", "properties": linked["properties"]}):
        document = {"type": "FeatureCollection", "crs": crs, "features": [feature]}
        for data in (
            json.dumps(document).encode(),
            json.dumps(document).replace("crs", "\\u0063rs").encode(),
        ):
            body = assert_refused_cleanly(upload(client, ASSET_IMPORT, "cctv.geojson", data), "cctv.geojson")
            assert '"crs" is a link' in body["detail"]
    assert requests == []
    named = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}
    road = {**feature, "properties": {"name": "CCTV", "jenis": "link"}}
    assert len(read_vector_bytes("cctv.geojson", json.dumps({**named, "features": [road]}).encode())) == 1


# --- messages name the upload, not the server -----------------------------------------------------------


def test_messages_never_show_server_temp_paths(client, tmp_path):
    truncated_shapefile = zipped({"kel.shp": readers.file_checks.SHAPEFILE_MAGIC + b"\x00" * 20})
    cases = {
        "kaputt.geojson": b'{"type": "FeatureCollection", "features": [',
        "kaputt.zip": truncated_shapefile,
        "kaputt.gpkg": b"SQLite format 3\x00" + b"\x00" * 200,
    }
    for name, data in cases.items():
        with pytest.raises(ReadError) as refused:
            read_vector_bytes(name, data)
        message = str(refused.value)
        assert name in message and "/tmp" not in message and "upload." not in message, message
        detail = upload(client, ASSET_IMPORT, name, data).get_json()["detail"]
        assert detail == message


# --- work out of proportion to the upload ---------------------------------------------------------------


def points_zip(tmp_path: Path, count: int) -> bytes:
    """A zipped Shapefile of ``count`` points in Cilegon (200,000 pack into about a megabyte)."""
    rng = np.random.default_rng(7)
    points = shapely.points(106.0 + rng.random(count) * 0.05, -6.05 + rng.random(count) * 0.05)
    folder = tmp_path / "points"
    folder.mkdir()
    gpd.GeoDataFrame({"nama": ["CCTV"] * count}, geometry=points, crs=4326).to_file(folder / "cctv.shp")
    return zipped({path.name: path.read_bytes() for path in folder.iterdir()})


def test_an_upload_of_200000_features_is_refused_before_it_is_read(client, tmp_path):
    data = points_zip(tmp_path, 200_000)
    for url, fields, limit in ((ASSET_IMPORT, {}, "50,000"), (GREEN_IMPORT, {"dry_run": "true"}, "1,000")):
        body = assert_refused_cleanly(upload(client, url, "cctv.zip", data, **fields), "cctv.zip")
        assert "200,000 features" in body["detail"] and f"at most {limit}" in body["detail"]
        assert "command line" in body["detail"]


def test_a_green_upload_is_bounded_by_its_vertices_in_all(client):
    """Twenty circles of 30,000 vertices: few features, but 600,000 vertices of SQL work."""
    circles = [CILEGON_POINT.buffer(0.001 + 0.0001 * i, quad_segs=7_500) for i in range(20)]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"tipe": "taman_kota"}, "geometry": shapely.geometry.mapping(c)}
            for c in circles
        ],
    }
    data = json.dumps(collection).encode()
    body = assert_refused_cleanly(
        upload(client, GREEN_IMPORT, "rth.geojson", data, dry_run="true"), "rth.geojson"
    )
    assert "600,020 vertices in all" in body["detail"] and "at most 500,000" in body["detail"]


def test_the_command_line_reader_takes_any_number_of_features(tmp_path):
    path = tmp_path / "cctv.zip"
    path.write_bytes(points_zip(tmp_path, 60))
    assert len(read_vector(path)) == 60
    with pytest.raises(ReadError, match="60 features; an upload may hold at most 50"):
        read_vector(path, limits=ReadLimits(max_features=50, max_unzipped_bytes=2**20))


def test_zip_bombs_and_oversized_archives_are_refused_before_unpacking(client, tmp_path):
    bomb = zipped({"kel.geojson": b"{" + b" " * 20 * 2**20 + b"}"})
    assert len(bomb) < 100_000
    body = assert_refused_cleanly(upload(client, ASSET_IMPORT, "kel.zip", bomb), "kel.zip")
    assert "zip bombs" in body["detail"]
    incompressible = zipped({"kel.geojson": np.random.default_rng(1).bytes(2 * 2**20)})
    with pytest.raises(ReadError, match="unpacked it would be 2 MB; at most 1 MB"):
        read_vector_bytes(
            "kel.zip", incompressible, limits=ReadLimits(max_features=None, max_unzipped_bytes=2**20)
        )


def star(points: int, radius: float = 0.002) -> shapely.Polygon:
    """A regular star polygon drawn through every other-but-one vertex: each edge crosses all the edges
    it does not touch, points * (points - 3) / 2 crossings in all."""
    step = (points - 1) // 2
    angles = [2 * math.pi * (i * step % points) / points for i in range(points)]
    return shapely.Polygon(
        [(CILEGON_POINT.x + radius * math.cos(a), CILEGON_POINT.y + radius * math.sin(a)) for a in angles]
    )


def test_self_crossings_are_counted_and_the_count_stops_early():
    assert geometry_limits.self_crossings(star(31), 10**6) == 31 * 28 // 2
    assert geometry_limits.self_crossings(shapely.box(0, 0, 1, 1), 10) == 0
    bow_tie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert geometry_limits.self_crossings(bow_tie, 10) == 1
    assert 101 <= geometry_limits.self_crossings(star(301), 101) < 301 * 298 // 2


def test_a_star_polygon_is_refused_before_postgis_repairs_it(client):
    assert repair_refusal(shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])) is None  # a slip is repaired
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nama": "bintang", "tipe": "taman_kota"},
                "geometry": shapely.geometry.mapping(star(301)),
            }
        ],
    }
    response = upload(
        client, GREEN_IMPORT, "bintang.geojson", json.dumps(collection).encode(), dry_run="true"
    )
    report = response.get_json()
    assert response.status_code == 422 and report["rejected"] == 1
    [reason] = report["results"][0]["errors"]
    assert f"crosses itself at more than {MAX_REPAIR_CROSSINGS} points" in reason
