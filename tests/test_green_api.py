"""/api/green-areas and /api/analysis/green on the hand-made green city (tests/green_city.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import execute
from green_city import GREEN_CITY, build_green_city, code, lonlat
from shapely.geometry import box, mapping, shape

from geo_app import create_app
from geo_app.settings import Settings

AFTER_DAY = "2024-06-01"
BEFORE_DAY = "2023-06-01"


@pytest.fixture(scope="module")
def green_ids(database_url):
    return build_green_city(database_url)


@pytest.fixture(scope="module")
def green_app(database_url, green_ids):
    application = create_app(Settings.from_env(database_url=database_url, city_code=GREEN_CITY, env="test"))
    yield application
    application.extensions["db_pool"].close()


@pytest.fixture
def api(green_app, tokens):
    client = green_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(green_app)['dlh']}"
    return client


def feature(geom_metres, **properties) -> dict:
    return {"type": "Feature", "geometry": mapping(lonlat(geom_metres)), "properties": properties}


def test_list_filters_and_paging(api):
    page = api.get(f"/api/green-areas?as_of={AFTER_DAY}&limit=2")
    assert page.status_code == 200 and page.mimetype == "application/geo+json"
    body = page.get_json()
    assert body["numberMatched"] == 5 and body["numberReturned"] == 2
    [next_href] = [link["href"] for link in body["links"] if link["rel"] == "next"]
    following = api.get(next_href).get_json()
    assert [f["id"] for f in following["features"]] > [f["id"] for f in body["features"]]
    private = api.get(f"/api/green-areas?as_of={AFTER_DAY}&public=false").get_json()
    assert sorted(f["properties"]["name"] for f in private["features"]) == ["Halaman Q1", "Halaman Q2"]
    in_b2 = api.get(f"/api/green-areas?as_of={AFTER_DAY}&kelurahan={code('B2')}").get_json()
    assert [f["properties"]["name"] for f in in_b2["features"]] == ["Jalur P3"]
    forests = api.get(f"/api/green-areas?as_of={AFTER_DAY}&type=hutan_kota").get_json()
    assert [f["properties"]["type_label"] for f in forests["features"]] == ["Hutan kota"]
    minx, miny, maxx, maxy = lonlat(box(1600, 1600, 1900, 1900)).bounds
    empty = api.get(f"/api/green-areas?as_of={AFTER_DAY}&bbox={minx},{miny},{maxx},{maxy}").get_json()
    assert empty["numberMatched"] == 0


def test_as_of_shows_the_earlier_state(api):
    names = sorted(
        f["properties"]["name"]
        for f in api.get(f"/api/green-areas?as_of={BEFORE_DAY}").get_json()["features"]
    )
    assert names == ["Taman S", "Taman T", "Taman U"]


@pytest.mark.parametrize(
    "query",
    ["as_of=yesterday", "bbox=1,2,3", "type=kebun", "public=maybe", "limit=0", "colour=green"],
)
def test_bad_parameters_say_what_to_fix(api, query):
    response = api.get(f"/api/green-areas?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json" and response.get_json()["detail"]


@pytest.mark.parametrize("properties", [[1], "Taman", 5])
def test_properties_that_are_not_an_object_are_400(api, green_ids, properties):
    body = {"type": "Feature", "geometry": None, "properties": properties}
    for response in (
        api.post("/api/green-areas", json=body),
        api.patch(f"/api/green-areas/{green_ids['P2']}", json=body),
    ):
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert "properties must be a JSON object" in response.get_json()["detail"]


def test_a_polygon_outside_longitude_latitude_is_refused_not_a_server_error(api):
    far = {"type": "Polygon", "coordinates": [[[500, 100], [501, 100], [501, 101], [500, 100]]]}
    body = {"type": "Feature", "geometry": far, "properties": {"green_type": "taman_kota", "name": "Jauh"}}
    response = api.post("/api/green-areas", json=body)
    assert response.status_code == 422
    assert "not in longitude/latitude" in response.get_json()["detail"]
    assert "Jauh" not in api.get("/api/green-areas").get_data(as_text=True)


def test_create_update_delete_keep_history(api):
    created = api.post(
        "/api/green-areas",
        json=feature(
            box(1100, 100, 1200, 200), green_type="taman_kota", name="Taman Baru", managing_opd="DLH"
        ),
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    feature_id = body["id"]
    assert body["properties"]["area_ha"] == pytest.approx(1.0, rel=1e-6)
    assert body["properties"]["is_public"] is True and body["properties"]["valid_to"] is None

    patched = api.patch(
        f"/api/green-areas/{feature_id}", json={"type": "Feature", "properties": {"name": "Taman Kota Baru"}}
    )
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["properties"]["name"] == "Taman Kota Baru"
    assert patched.get_json()["properties"]["area_ha"] == pytest.approx(1.0, rel=1e-6)

    replaced = api.put(
        f"/api/green-areas/{feature_id}",
        json=feature(box(1100, 100, 1300, 200), green_type="pekarangan", name="Halaman"),
    )
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["properties"]["is_public"] is False
    assert replaced.get_json()["properties"]["area_ha"] == pytest.approx(2.0, rel=1e-6)

    assert api.delete(f"/api/green-areas/{feature_id}").status_code == 204
    assert api.get(f"/api/green-areas/{feature_id}").status_code == 404
    history = api.get(f"/api/green-areas/{feature_id}/history").get_json()["features"]
    assert [v["properties"]["name"] for v in history] == ["Taman Baru", "Taman Kota Baru", "Halaman"]
    assert all(v["properties"]["valid_to"] for v in history)
    assert history[0]["properties"]["valid_to"] == history[1]["properties"]["valid_from"]


def test_create_refuses_an_overlap_with_the_report(api):
    response = api.post("/api/green-areas", json=feature(box(900, 400, 1100, 600), green_type="taman_kota"))
    assert response.status_code == 422
    problem = response.get_json()
    assert "overlaps existing green areas" in problem["detail"]
    assert len(problem["report"]["overlaps"]) == 2
    clipped = api.post(
        "/api/green-areas?overlap=clip", json=feature(box(900, 400, 1100, 600), green_type="taman_kota")
    )
    assert clipped.status_code == 201
    assert clipped.get_json()["properties"]["area_ha"] == pytest.approx(2.0, rel=1e-5)
    api.delete(f"/api/green-areas/{clipped.get_json()['id']}")


def test_backdated_change_must_follow_the_current_version(api, green_ids):
    response = api.patch(
        f"/api/green-areas/{green_ids['P2']}",
        json={"type": "Feature", "properties": {"name": "x", "valid_from": "2023-06-01"}},
    )
    assert response.status_code == 422 and "not after the start" in response.get_json()["detail"]


def test_changes_cannot_be_dated_in_the_future(api, green_ids):
    response = api.patch(
        f"/api/green-areas/{green_ids['P2']}",
        json={"type": "Feature", "properties": {"name": "x", "valid_from": "2099-01-01"}},
    )
    assert response.status_code == 422 and "in the future" in response.get_json()["detail"]


def test_only_green_editors_write(green_app, tokens):
    client = green_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(green_app)['public']}"
    response = client.post(
        "/api/green-areas", json=feature(box(1100, 100, 1200, 200), green_type="taman_kota")
    )
    assert response.status_code == 403


def test_bulk_import_through_the_api(api):
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature(box(1100, 300, 1200, 400), tipe="Taman kota", nama="Impor 1"),
            feature(box(3000, 0, 3100, 100), tipe="taman_kota", nama="Di luar"),
        ],
    }
    data = json.dumps(collection).encode()
    refused = api.post(
        "/api/green-areas/import",
        data={"file": (io.BytesIO(data), "rth.geojson")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    report = refused.get_json()
    assert report["committed"] is False and report["rejected"] == 1
    assert [r["status"] for r in report["results"]] == ["imported", "rejected"]
    dry = api.post(
        "/api/green-areas/import",
        data={"file": (io.BytesIO(data), "rth.geojson"), "keep_valid": "true", "dry_run": "true"},
        content_type="multipart/form-data",
    )
    assert dry.status_code == 200 and dry.get_json()["committed"] is False
    assert dry.get_json()["imported"] == 1


def test_statistics_json_and_csv(api):
    body = api.get(f"/api/analysis/green?as_of={AFTER_DAY}").get_json()
    city = next(area for area in body["areas"] if area["level"] == "kota")
    assert city["green_share"] == pytest.approx(0.29, rel=1e-6)
    assert (city["green_meets_target"], city["public_meets_target"], city["private_meets_target"]) == (
        False,
        True,
        False,
    )
    assert city["private_deficit_ha"] == pytest.approx(24, rel=1e-6)
    assert body["targets"] == {"total": 0.3, "public": 0.2, "private": 0.1}
    response = api.get(f"/api/analysis/green?as_of={AFTER_DAY}&level=kelurahan&format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["code"] for row in rows] == [code(k) for k in ("A1", "A2", "B1", "B2")]
    assert float(rows[0]["green_ha"]) == pytest.approx(75)
    geojson = api.get(f"/api/analysis/green?as_of={AFTER_DAY}&format=geojson").get_json()
    assert len(geojson["features"]) == 4
    assert shape(geojson["features"][0]["geometry"]).is_valid


def test_csv_cells_that_would_start_a_formula_are_quoted(api, database_url):
    kelurahan = code("A1")
    (original,) = execute(database_url, "SELECT name FROM admin_areas WHERE code = %s", (kelurahan,))[0]
    execute(database_url, "UPDATE admin_areas SET name = '=HYPERLINK(\"x\")' WHERE code = %s", (kelurahan,))
    try:
        response = api.get(f"/api/analysis/green?as_of={AFTER_DAY}&level=kelurahan&format=csv")
    finally:
        execute(database_url, "UPDATE admin_areas SET name = %s WHERE code = %s", (original, kelurahan))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0]["code"] == kelurahan and rows[0]["name"] == '\'=HYPERLINK("x")'
    assert all(not row["name"].startswith("=") for row in rows)


def test_access_json_and_gaps(api):
    body = api.get(f"/api/analysis/green/access?as_of={BEFORE_DAY}&min_ha=0.5").get_json()
    assert body["radius_m"] == 300 and body["min_ha"] == 0.5
    b2 = next(area for area in body["areas"] if area["code"] == code("B2"))
    assert b2["residents_covered"] == pytest.approx(0, abs=1e-6)
    gaps = api.get(f"/api/analysis/green/access?as_of={BEFORE_DAY}&format=geojson").get_json()
    assert {f["id"] for f in gaps["features"]} == {code(k) for k in ("A1", "A2", "B1", "B2")}
    assert api.get("/api/analysis/green/access?radius_m=-5").status_code == 400
    # Only city forests count: none existed then, so nobody is within reach.
    forests = api.get(f"/api/analysis/green/access?as_of={BEFORE_DAY}&type=hutan_kota&level=kota").get_json()
    assert forests["areas"][0]["residents_covered"] == 0


def test_change_report(api, green_ids):
    body = api.get(f"/api/green-areas/changes?from={BEFORE_DAY}&to={AFTER_DAY}").get_json()
    b1 = next(area for area in body["areas"] if area["code"] == code("B1"))
    assert (b1["gained_ha"], b1["lost_ha"]) == pytest.approx((16, 1))
    assert {(p["id"], p["change"]) for p in b1["polygons"]} == {
        (green_ids["U"], "removed"),
        (green_ids["Q1"], "added"),
    }
    geo = api.get(f"/api/green-areas/changes?from={BEFORE_DAY}&to={AFTER_DAY}&format=geojson").get_json()
    lost = [f for f in geo["features"] if f["properties"]["change"] == "lost"]
    assert sorted(f["properties"]["kelurahan_code"] for f in lost) == [code("B1"), code("B2")]
    assert api.get(f"/api/green-areas/changes?from={AFTER_DAY}&to={BEFORE_DAY}").status_code == 400


def test_a_city_without_kelurahan_is_told_how_to_load_them(database_url, tokens):
    empty_city = create_app(Settings.from_env(database_url=database_url, city_code="99.09", env="test"))
    client = empty_city.test_client()  # a national account may look, the city has no users yet
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.national['dlh']}"
    for path in (
        "/api/analysis/green",
        "/api/analysis/green/access",
        "/api/green-areas/changes?from=2024-01-01&to=2025-01-01",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "import-areas" in response.get_json()["detail"]
    empty_city.extensions["db_pool"].close()
