"""One deployment, two real cities: the sample city (Cilegon, the default, at ``/``) and Kota Makassar
(real kelurahan boundaries from shared/data, at ``/kota/73.71/``), side by side in one app.

Makassar's data is written through its own URL by its own accounts; every endpoint family (API lists,
items and exports, OGC collections and items, vector tiles, WMS/WFS, map pages, reports) is then read as
each city's users and as a national account: each city sees its own data only, another city's account
gets 404 and learns nothing, a national account reads both and writes neither. Makassar also has its own
catalog overrides (layers/cities/73.71.yaml in a copy of the layer folder).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely
import yaml
from conftest import SAMPLE_CITY, execute
from pyproj import Geod
from shapely.geometry import shape
from shapely.ops import polylabel
from shared_cities import ensure_city

from geo_app import create_app

MAKASSAR = "73.71"
ROOT = f"/kota/{MAKASSAR}"
LAYERS = Path(__file__).resolve().parent.parent / "layers"
OVERRIDES = {
    "asset_types": {"pos_damkar": {"coverage_radius_m": 3000}},
    "categories": {"KEBAKARAN": {"response_target_min": 10}},
    "unused_asset_types": ["sirine_peringatan"],
}
GEOD = Geod(ellps="WGS84")
ZOOM = 14


@pytest.fixture(scope="module")
def makassar(database_url) -> str:
    """Kota Makassar from its official boundaries, without any asset, incident or green area yet."""
    ensure_city(database_url, MAKASSAR, "makassar_kelurahan.geojson", "Kota Makassar")
    for table in ("incidents", "assets"):
        execute(database_url, f"DELETE FROM {table} WHERE city_code = %s", (MAKASSAR,))
    return MAKASSAR


@pytest.fixture(scope="module")
def app(settings, sample_city, makassar, web_database_url, tmp_path_factory):
    """One app serving both cities (Cilegon by default), with Makassar's catalog overrides."""
    layers = tmp_path_factory.mktemp("layers") / "layers"
    shutil.copytree(LAYERS, layers)
    (layers / "cities").mkdir(exist_ok=True)
    (layers / "cities" / f"{MAKASSAR}.yaml").write_text(yaml.safe_dump(OVERRIDES))
    application = create_app(dataclasses.replace(settings, database_url=web_database_url, layers_dir=layers))
    yield application
    application.extensions["db_pool"].close()


def client_of(app, token: str | None):
    client = app.test_client()
    if token:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def outline(database_url: str, code: str) -> shapely.Geometry:
    """The union of the city's kelurahan (lon/lat)."""
    [(wkt,)] = execute(
        database_url,
        "SELECT ST_AsText(ST_Union(geom)) FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'",
        (code,),
    )
    return shapely.from_wkt(wkt)


@pytest.fixture(scope="module")
def centre(database_url, makassar) -> shapely.Point:
    """The point of Makassar farthest from its edges (a 3 km disc around it lies almost all in the city)."""
    largest = max(shapely.get_parts(outline(database_url, makassar)), key=lambda part: part.area)
    return polylabel(largest, tolerance=1e-5)


@pytest.fixture(scope="module")
def makassar_data(app, tokens, makassar, centre) -> dict:
    """Assets, incidents and a green area written through /kota/73.71/ by Makassar's own accounts."""
    staff = tokens.of(makassar)
    admin, call_taker, dlh = (client_of(app, staff[role]) for role in ("admin", "call_taker_112", "dlh"))
    assets = []
    for number, (asset_type, dx) in enumerate(
        [("pos_damkar", 0), ("puskesmas", 0.004), ("puskesmas", -0.004)]
    ):
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [centre.x + dx, centre.y]},
            "properties": {"asset_type": asset_type, "name": f"Aset Makassar Uji {number}"},
        }
        response = admin.post(f"{ROOT}/api/assets", json=feature)
        assert response.status_code == 201, response.json
        assets.append(response.json["id"])
    incidents = []
    for number in range(3):
        incident = {
            "external_id": f"mks-{number}",
            "call_type": "darurat",
            "category": "KEBAKARAN",
            "lat": centre.y + 0.001 * number,
            "lon": centre.x,
            "received_at": f"2026-05-0{number + 4}T10:00:00+08:00",
            "caller_name": "Andi Makassar",
            "caller_phone": "0811000111",
        }
        response = call_taker.post(f"{ROOT}/api/incidents", json=incident)
        assert response.status_code == 201, response.json
        incidents.append(incident["external_id"])
    square = shapely.box(centre.x - 0.001, centre.y + 0.002, centre.x + 0.001, centre.y + 0.004)
    green = dlh.post(
        f"{ROOT}/api/green-areas",
        json={
            "type": "Feature",
            "geometry": shapely.geometry.mapping(square),
            "properties": {"green_type": "taman_kota", "name": "Taman Makassar Uji"},
        },
    )
    assert green.status_code == 201, green.json
    return {"assets": assets, "incidents": incidents, "green": green.json["id"]}


def test_data_written_through_the_city_url_belongs_to_that_city(database_url, makassar_data):
    rows = execute(
        database_url, "SELECT city_code FROM assets WHERE id = ANY(%s)", (makassar_data["assets"],)
    )
    assert rows == [(MAKASSAR,)] * 3
    rows = execute(
        database_url,
        "SELECT city_code, kelurahan_code FROM incidents WHERE external_id = ANY(%s)",
        (makassar_data["incidents"],),
    )
    assert len(rows) == 3 and all(kelurahan.startswith(MAKASSAR + ".") for _, kelurahan in rows)
    assert {city for city, _ in rows} == {MAKASSAR}


def features_of(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    return response.json["features"]


CITY_LONGITUDES = {SAMPLE_CITY: (105.8, 106.2), MAKASSAR: (118.5, 120.0)}  # Makassar with its islands


def cities_of_features(features: list[dict]) -> set[str]:
    """The cities a list of features lies in, by where each feature is (the two are 1,400 km apart)."""
    found = set()
    for feature in features:
        if feature["geometry"] is None:  # an incident whose address found no place
            continue
        lon = shape(feature["geometry"]).centroid.x
        found |= {code for code, (west, east) in CITY_LONGITUDES.items() if west < lon < east} or {"?"}
    return found


LISTS = [
    "/api/areas?level=kelurahan",
    "/api/assets?limit=5000",
    "/api/incidents?limit=1000",
    "/api/green-areas?limit=5000",
    "/ogc/collections/kelurahan/items?limit=1000",
    "/ogc/collections/assets/items?limit=1000",
    "/ogc/collections/incidents/items?limit=1000",
    "/ogc/collections/green_areas/items?limit=1000",
]


@pytest.mark.parametrize("path", LISTS)
def test_each_citys_lists_hold_its_own_features_only(app, tokens, makassar_data, path):
    """The same path under /kota/<code>/ answers that city's features, and the default path Cilegon's."""
    makassar_features = features_of(client_of(app, tokens.of(MAKASSAR)["admin"]), ROOT + path)
    cilegon_features = features_of(client_of(app, tokens["admin"]), path)
    assert cities_of_features(makassar_features) == {MAKASSAR}
    assert cities_of_features(cilegon_features) == {SAMPLE_CITY}


def test_exports_and_counts_hold_the_citys_own_rows(app, tokens, makassar_data):
    makassar, cilegon = client_of(app, tokens.of(MAKASSAR)["admin"]), client_of(app, tokens["admin"])
    exported = makassar.get(f"{ROOT}/api/assets/export?format=csv").get_data(as_text=True)
    assert exported.count("Aset Makassar Uji") == 3
    assert "Aset Makassar Uji" not in cilegon.get("/api/assets/export?format=csv").get_data(as_text=True)
    counts = makassar.get(f"{ROOT}/api/incidents/counts?level=kelurahan").json
    assert {area["code"][:5] for area in counts["areas"]} == {MAKASSAR}
    cilegon_counts = cilegon.get("/api/incidents/counts?level=kelurahan").json
    assert {area["code"][:5] for area in cilegon_counts["areas"]} == {SAMPLE_CITY}


# every endpoint family, read by another city's account: 404, and nothing in the body but the problem
FAMILIES = [
    "/",
    "/api/areas",
    "/api/assets",
    "/api/assets/export?format=geojson",
    "/api/incidents",
    "/api/incidents/counts",
    "/api/green-areas",
    "/api/analysis/coverage?type=pos_damkar",
    "/api/analysis/response",
    "/api/analysis/hotspots/temporal",
    "/ogc",
    "/ogc/collections",
    "/ogc/collections/assets/items",
    "/ogc/collections/incidents/items",
    f"/tiles/assets/{ZOOM}/0/0.mvt",
    "/ows?SERVICE=WMS&REQUEST=GetCapabilities",
    "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=aset_pos_damkar",
    "/metadata",
    "/maps/areas",
    "/maps/hotspots",
    "/maps/coverage",
    "/reports/cakupan",
    "/briefing",
    "/openapi.json",
]


@pytest.mark.parametrize("role", ["admin", "supervisor_112", "perencana", "public"])
def test_another_citys_account_gets_404_from_every_endpoint_family(app, tokens, makassar_data, role):
    cilegon, makassar = client_of(app, tokens[role]), client_of(app, tokens.of(MAKASSAR)[role])
    leaks = []
    for path in FAMILIES:
        for client, url in ((cilegon, ROOT + path), (makassar, path)):
            response = client.get(url)
            body = response.get_data(as_text=True)
            if response.status_code != 404 or "Makassar" in body or "Cilegon" in body:
                leaks.append(f"{role} {url}: {response.status_code} {body[:120]}")
    assert not leaks, "\n".join(leaks)


def test_writes_into_another_city_are_refused_and_write_nothing(app, tokens, database_url, centre):
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [centre.x, centre.y]},
        "properties": {"asset_type": "cctv", "name": "CCTV dari kota lain"},
    }
    assert client_of(app, tokens["admin"]).post(f"{ROOT}/api/assets", json=feature).status_code == 404
    assert client_of(app, tokens.of(MAKASSAR)["admin"]).post("/api/assets", json=feature).status_code == 404
    national = client_of(app, tokens.national["admin"]).post(f"{ROOT}/api/assets", json=feature)
    assert national.status_code == 403 and "National accounts" in national.json["detail"]
    assert not execute(database_url, "SELECT 1 FROM assets WHERE name = 'CCTV dari kota lain'")


def test_national_accounts_read_both_cities(app, tokens, makassar_data):
    national = client_of(app, tokens.national["perencana"])
    assert cities_of_features(features_of(national, f"{ROOT}/api/assets?limit=5000")) == {MAKASSAR}
    assert cities_of_features(features_of(national, "/api/assets?limit=5000")) == {SAMPLE_CITY}
    assert client_of(app, tokens["admin"]).get("/nasional").status_code == 403  # a city's admin


@pytest.mark.parametrize("role", ["admin", "supervisor_112"])
def test_national_accounts_read_incidents_as_planners_do(app, tokens, makassar_data, role):
    """The national office oversees cities and handles none of their calls: whatever its role, it gets no
    free text, call-centre numbers or callers; the city's own account of that role gets them."""
    staff_only = {"external_id", "description", "address", "caller_name", "caller_phone"}
    national = features_of(client_of(app, tokens.national[role]), f"{ROOT}/api/incidents?limit=1000")
    own = features_of(client_of(app, tokens.of(MAKASSAR)[role]), f"{ROOT}/api/incidents?limit=1000")
    assert len(national) == len(own) >= 3
    assert not staff_only & {key for feature in national for key in feature["properties"]}
    assert {"external_id", "description", "address"} <= set(own[0]["properties"])
    assert national[0]["properties"].keys() == own[0]["properties"].keys() - staff_only


def test_visitors_see_each_citys_public_view(app, makassar_data):
    visitor = app.test_client()
    assert cities_of_features(features_of(visitor, f"{ROOT}/api/areas?level=kelurahan")) == {MAKASSAR}
    assert cities_of_features(features_of(visitor, "/api/areas?level=kelurahan")) == {SAMPLE_CITY}
    assert visitor.get(f"{ROOT}/api/incidents").status_code == 401  # exact points stay restricted


def test_an_unknown_city_is_a_404_problem_or_an_indonesian_page(app):
    visitor = app.test_client()
    problem = visitor.get("/kota/98.76/api/areas")
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
    assert "98.76" in problem.json["detail"]
    page = visitor.get("/kota/98.76/maps/areas", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Tidak ada kota dengan kode 98.76" in page.get_data(as_text=True)


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The Web Mercator tile (x, y) holding a point."""
    n = 2**zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_tiles_are_built_and_cached_per_city(app, tokens, makassar_data, centre):
    x, y = tile_of(centre.x, centre.y, ZOOM)
    national = client_of(app, tokens.national["perencana"])
    makassar_tile = national.get(f"{ROOT}/tiles/assets/{ZOOM}/{x}/{y}.mvt")
    assert makassar_tile.status_code == 200
    names = {
        f["properties"]["name"] for f in mapbox_vector_tile.decode(makassar_tile.data)["assets"]["features"]
    }
    assert "Aset Makassar Uji 0" in names
    # the same tile address of the default city, asked for after Makassar's tile is cached: empty
    assert national.get(f"/tiles/assets/{ZOOM}/{x}/{y}.mvt").data == b""


def test_ogc_and_ows_give_each_city_its_own_base_url_and_layers(app, tokens, makassar_data):
    makassar = client_of(app, tokens.of(MAKASSAR)["perencana"])
    landing = makassar.get(f"{ROOT}/ogc").json
    assert all(link["href"].startswith(f"http://localhost{ROOT}/") for link in landing["links"])
    page = makassar.get(f"{ROOT}/api/assets?limit=1").json
    assert [link["href"] for link in page["links"] if link["rel"] == "next"][0].startswith(
        f"{ROOT}/api/assets?"
    )
    collections = {c["id"] for c in makassar.get(f"{ROOT}/ogc/collections").json["collections"]}
    assert "assets_pos_damkar" in collections and "assets_sirine_peringatan" not in collections  # unused
    cilegon = client_of(app, tokens["perencana"])
    assert "assets_sirine_peringatan" in {
        c["id"] for c in cilegon.get("/ogc/collections").json["collections"]
    }
    capabilities = makassar.get(f"{ROOT}/ows?SERVICE=WMS&REQUEST=GetCapabilities").get_data(as_text=True)
    assert f"http://localhost{ROOT}/ows?" in capabilities
    assert "aset_pos_damkar" in capabilities and "aset_sirine_peringatan" not in capabilities
    default_capabilities = cilegon.get("/ows?SERVICE=WMS&REQUEST=GetCapabilities").get_data(as_text=True)
    assert "aset_sirine_peringatan" in default_capabilities and f"{ROOT}/ows" not in default_capabilities
    wfs = "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=aset_pos_damkar"
    assert "Aset Makassar Uji 0" in makassar.get(ROOT + wfs).get_data(as_text=True)
    assert "Aset Makassar Uji" not in cilegon.get(wfs).get_data(as_text=True)


def test_pages_and_reports_stay_inside_their_city(app, tokens, makassar_data, sample_city):
    makassar = client_of(app, tokens.of(MAKASSAR)["admin"])
    page = makassar.get(f"{ROOT}/maps/coverage", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'<base href="{ROOT}/">' in page and "Kota Makassar" in page
    assert '"api/analysis/coverage?' in page  # relative: resolved against the city's <base>
    home = makassar.get(f"{ROOT}/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="{ROOT}/maps/areas"' in home and f'href="{ROOT}/ogc"' in home
    report = makassar.get(f"{ROOT}/reports/cakupan?month=2026-05")
    assert report.status_code == 200 and report.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=report.data, capture_output=True, check=True).stdout
    assert b"Makassar" in text and b"Cilegon" not in text
    refused = client_of(app, tokens["admin"]).get(f"{ROOT}/maps/coverage", headers={"Accept": "text/html"})
    assert refused.status_code == 404 and "Halaman yang diminta tidak ada." in refused.get_data(as_text=True)


def test_the_citys_overrides_apply_to_its_answers_only(app, tokens, makassar_data, centre, database_url):
    makassar, cilegon = client_of(app, tokens.of(MAKASSAR)["admin"]), client_of(app, tokens["admin"])
    targets = makassar.get(f"{ROOT}/api/analysis/response").json["targets_min"]
    assert targets["KEBAKARAN"] == 10
    assert cilegon.get("/api/analysis/response").json["targets_min"]["KEBAKARAN"] == 15
    assert makassar.get(f"{ROOT}/api/assets?type=sirine_peringatan").status_code == 400
    assert cilegon.get("/api/assets?type=sirine_peringatan").status_code == 200
    # the fire post was added without a radius: it covers the city's 3 km, not the shared 2.5 km
    covered_ha = makassar.get(f"{ROOT}/api/analysis/coverage?type=pos_damkar").json["city"]["covered_ha"]
    inside = geodesic_disc(centre.x, centre.y, 3000).intersection(outline(database_url, MAKASSAR))
    assert covered_ha == pytest.approx(abs(GEOD.geometry_area_perimeter(inside)[0]) / 10_000, rel=0.005)


def geodesic_disc(lon: float, lat: float, radius_m: float) -> shapely.Polygon:
    azimuths = [i * 360 / 256 for i in range(256)]
    lons, lats, _ = GEOD.fwd([lon] * 256, [lat] * 256, azimuths, [radius_m] * 256)
    return shapely.Polygon(zip(lons, lats, strict=True))


def test_sign_in_from_a_city_page_returns_to_that_city(app, makassar):
    visitor = app.test_client()
    page = visitor.get(f"{ROOT}/maps/hotspots", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["Location"] == f"{ROOT}/login?next={ROOT}/maps/hotspots"
    form = visitor.get(page.headers["Location"]).get_data(as_text=True)
    assert f'action="{ROOT}/login"' in form and f'value="{ROOT}/maps/hotspots"' in form
