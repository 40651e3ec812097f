"""OGC API – Features at /ogc on the hand-made OGC test city: resources, paging, filters, CQL2, CRS.

Expected answers come from the fixture's database rows with shapely and pyproj, never from the API.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely
from ogc_city import (  # noqa: F401 (fixtures app, auth, client)
    BASE_TIME,
    CCTV_COUNT,
    CITY,
    GREEN_CHANGED_AT,
    SECRET,
    db_rows,
    ogc_app,
    ogc_auth,
    ogc_client,
)
from pyproj import Geod, Transformer
from shapely.geometry import Point, box, shape

from geo_app.db import connect
from geo_app.ogc.core import CONFORMANCE, MAX_LIMIT, OgcApi, encode_cursor

ITEMS = "/ogc/collections/{}/items"
PERSONAL = ("Budi", "Santoso", "caller", "description", "address", "external_id", "OGC-0")


@pytest.fixture(scope="module")
def assets(database_url, app) -> list[dict]:
    return db_rows(
        database_url,
        "SELECT id, asset_type, name, status, ST_X(geom) AS x, ST_Y(geom) AS y FROM assets"
        " WHERE city_code = %s AND asset_type IN ('cctv', 'pju') ORDER BY id",
        (CITY,),
    )


@pytest.fixture(scope="module")
def incidents(database_url, app) -> list[dict]:
    return db_rows(
        database_url,
        "SELECT id, call_type, category, received_at, ST_X(geom) AS x, ST_Y(geom) AS y FROM incidents"
        " WHERE city_code = %s ORDER BY id",
        (CITY,),
    )


def get(client, url: str, status: int = 200, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def items(client, collection: str, query: str = "", **kwargs) -> dict:
    return get(client, ITEMS.format(collection) + query, **kwargs).get_json()


def all_ids(client, collection: str, query: str = "", **kwargs) -> list:
    """Every feature id the query selects, following next links."""
    url, ids = ITEMS.format(collection) + (query or "?") + "&limit=1000", []
    while url:
        page = get(client, url, **kwargs).get_json()
        ids += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return ids


# -- landing, conformance, collections --------------------------------------------------------------
def test_landing_page_has_typed_absolute_links(client):
    response = get(client, "/ogc", headers={"Accept": "application/json"})
    links = {link["rel"]: link for link in response.get_json()["links"]}
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["service-desc"]["href"] == "http://localhost/openapi.json"
    assert links["conformance"]["href"] == "http://localhost/ogc/conformance"
    assert links["data"]["href"] == "http://localhost/ogc/collections"
    assert links["self"]["type"] == "application/json"
    assert all(link["href"].startswith("http://") and link["type"] for link in links.values())


def test_conformance_declares_the_tested_classes(client):
    conforms = get(client, "/ogc/conformance").get_json()["conformsTo"]
    assert conforms == CONFORMANCE
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert not any("temporal" in uri or "array" in uri or "cql2-json" in uri for uri in conforms)


def test_collections_have_feature_type_extent_and_typed_items_link(client, auth, assets):
    collections = {
        c["id"]: c for c in get(client, "/ogc/collections", headers=auth).get_json()["collections"]
    }
    expected = {"kecamatan", "kelurahan", "assets_cctv", "assets_jaringan_fiber", "incidents"}
    assert expected <= set(collections)
    cctv = collections["assets_cctv"]
    assert cctv["itemType"] == "feature"
    xs = [a["x"] for a in assets if a["asset_type"] == "cctv"]
    ys = [a["y"] for a in assets if a["asset_type"] == "cctv"]
    assert cctv["extent"]["spatial"]["bbox"][0] == pytest.approx([min(xs), min(ys), max(xs), max(ys)])
    assert cctv["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    links = [link for link in cctv["links"] if link["rel"] == "items"]
    assert {link["type"] for link in links} == {"application/geo+json", "text/html"}
    incidents = get(client, "/ogc/collections/incidents", headers=auth).get_json()
    assert incidents["extent"]["temporal"]["interval"][0][0] == BASE_TIME.isoformat().replace("+00:00", "Z")


def test_unknown_collection_and_feature_are_404_problems(client):
    response = get(client, "/ogc/collections/nope", 404)
    assert response.mimetype == "application/problem+json"
    assert "assets_cctv" in response.get_json()["detail"]
    get(client, ITEMS.format("assets_cctv") + "/999999999", 404)
    get(client, ITEMS.format("assets_cctv") + "/abc", 404)
    get(client, ITEMS.format("green_areas") + "/%C2%B9", 404)  # a digit to isdigit(), not to int()


# -- items: limit, paging, unknown parameters ---------------------------------------------------------
def test_number_matched_is_exact_up_to_its_limit_and_estimated_above(client, assets, app, database_url):
    assert items(client, "assets_pju")["numberMatched"] == sum(a["asset_type"] == "pju" for a in assets)
    assert items(client, "assets_cctv", "?limit=5")["numberMatched"] == CCTV_COUNT  # exact: under 20,000
    cap = 1000  # the service counts up to 20,000; a smaller cap shows what happens above it
    api = OgcApi(app.extensions["ogc_api"][CITY].collections, CITY, exact_count_max=cap)
    with connect(database_url) as conn:
        conn.execute("ANALYZE assets")
        up_to_cap = api.items("http://x/ogc", "assets_cctv", {"filter": f"name < 'CCTV {cap:04d}'"}, conn)
        above = api.items("http://x/ogc", "assets_cctv", {"limit": "5"}, conn)
        one_more = api.items("http://x/ogc", "assets_cctv", {"filter": f"name <= 'CCTV {cap:04d}'"}, conn)
    assert up_to_cap.document()["numberMatched"] == cap
    assert above.document()["numberMatched"] == pytest.approx(CCTV_COUNT, rel=0.1)  # the planner's estimate
    assert one_more.document()["numberMatched"] >= cap + 1  # never below what was counted


def test_limit_defaults_to_10_and_is_clamped(client):
    assert items(client, "assets_cctv")["numberReturned"] == 10
    page = items(client, "assets_cctv", f"?limit={MAX_LIMIT + 5000}")
    assert page["numberReturned"] == CCTV_COUNT
    assert "limit=10000" in next(link["href"] for link in page["links"] if link["rel"] == "alternate")
    get(client, ITEMS.format("assets_cctv") + "?limit=0", 400)
    get(client, ITEMS.format("assets_cctv") + "?limit=ten", 400)


def test_unknown_parameters_are_400(client):
    response = get(client, ITEMS.format("assets_cctv") + "?colour=red", 400)
    assert "colour" in response.get_json()["detail"]
    get(client, "/ogc/collections?foo=1", 400)
    get(client, "/ogc?foo=1", 400)


def test_keyset_pages_never_repeat_or_skip_and_walk_back(client, assets):
    ids, url, pages = [], ITEMS.format("assets_cctv") + "?limit=700&sortby=-status,name", []
    while url:
        page = get(client, url).get_json()
        pages.append(page)
        ids += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    cctv = [a for a in assets if a["asset_type"] == "cctv"]
    expected = [a["id"] for a in sorted(cctv, key=lambda a: a["name"])]
    expected = [i for i in expected if next(a for a in cctv if a["id"] == i)["status"] == "maintenance"] + [
        i for i in expected if next(a for a in cctv if a["id"] == i)["status"] == "active"
    ]
    assert ids == expected
    assert [p["numberReturned"] for p in pages] == [700, 700, 700, 500]
    assert all(p["numberMatched"] == len(cctv) for p in pages)
    prev = next(link["href"] for link in pages[-1]["links"] if link["rel"] == "prev")
    assert [f["id"] for f in get(client, prev).get_json()["features"]] == ids[1400:2100]


def test_offset_paging_links_next_by_cursor(client, assets):
    page = items(client, "assets_cctv", "?limit=5&offset=2595")
    cctv_ids = [a["id"] for a in assets if a["asset_type"] == "cctv"]
    assert [f["id"] for f in page["features"]] == cctv_ids[2595:]
    assert not any(link["rel"] == "next" for link in page["links"])
    page = items(client, "assets_cctv", "?limit=5&offset=100")
    next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "cursor=" in next_link and "offset" not in next_link
    assert [f["id"] for f in get(client, next_link).get_json()["features"]] == cctv_ids[105:110]
    get(client, ITEMS.format("assets_cctv") + "?cursor=garbage", 400)
    doctored = encode_cursor([True], "", backwards=False)
    get(client, ITEMS.format("assets_cctv") + f"?cursor={doctored}", 400)


# -- bbox, datetime, property filters -----------------------------------------------------------------
def test_bbox_and_property_filter(client, assets):
    bbox = (106.03, -6.07, 106.07, -6.03)
    ids = all_ids(client, "assets", f"?bbox={','.join(map(str, bbox))}&status=maintenance")
    expected = [
        a["id"]
        for a in assets
        if a["status"] == "maintenance" and box(*bbox).intersects(Point(a["x"], a["y"]))
    ]
    assert ids == expected
    get(client, ITEMS.format("assets") + "?bbox=1,2,3", 400)
    get(client, ITEMS.format("assets") + "?bbox=106.1,-6,106,-6.1", 400)


def test_incidents_are_public_emergencies_without_personal_data(client, auth, incidents):
    ids = all_ids(client, "incidents", headers=auth)
    public = [i["id"] for i in incidents if i["call_type"] == "darurat" and i["x"] is not None]
    assert ids == public
    body = get(client, ITEMS.format("incidents") + "?limit=10000", headers=auth).get_data(as_text=True)
    assert not any(term in body for term in PERSONAL) and SECRET not in body
    hidden = next(i["id"] for i in incidents if i["call_type"] != "darurat")
    get(client, ITEMS.format("incidents") + f"/{hidden}", 404, headers=auth)
    get(client, ITEMS.format("incidents"), 401)  # the access rules keep exact incident points for staff


def test_datetime_instant_and_open_intervals(client, auth, incidents):
    public = [i for i in incidents if i["call_type"] == "darurat" and i["x"] is not None]
    start, end = BASE_TIME + timedelta(hours=50), BASE_TIME + timedelta(hours=150)
    iso = lambda moment: moment.isoformat().replace("+00:00", "Z")  # noqa: E731
    cases = {
        f"{iso(start)}/{iso(end)}": lambda t: start <= t <= end,
        f"../{iso(end)}": lambda t: t <= end,
        f"{iso(start)}/..": lambda t: t >= start,
        iso(start): lambda t: t == start,
    }
    for value, keep in cases.items():
        ids = all_ids(client, "incidents", f"?datetime={value}", headers=auth)
        assert ids == [i["id"] for i in public if keep(i["received_at"])], value
    get(client, ITEMS.format("incidents") + "?datetime=yesterday", 400, headers=auth)
    get(client, ITEMS.format("incidents") + "?datetime=2025-03-01T00:00:00", 400, headers=auth)
    get(client, ITEMS.format("assets") + "?datetime=2025-03-01T00:00:00Z", 400)


def test_green_areas_are_current_and_datetime_gives_a_past_state(client):
    def state(query: str) -> dict[str, float]:
        page = items(client, "green_areas", query)
        return {f["properties"]["name"]: round(shape(f["geometry"]).area, 6) for f in page["features"]}

    assert state("") == {"Taman Uji": 0.0004, "Hutan Uji": 0.0004}
    before = (GREEN_CHANGED_AT - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert state(f"?datetime={before}") == {"Taman Uji": 0.0001, "Hutan Uji": 0.0004, "Makam Uji": 0.000025}
    response = get(client, ITEMS.format("green_areas") + f"?datetime={before}/..", 400)
    assert "instant" in response.get_json()["detail"]


# -- CQL2 ---------------------------------------------------------------------------------------------
def cql(client, collection: str, expression: str, status: int = 200, **kwargs):
    query = {"filter": expression, "limit": 10000}
    response = get(client, ITEMS.format(collection), status, query_string=query, **kwargs)
    return [f["id"] for f in response.get_json()["features"]] if status == 200 else response.get_json()


@pytest.mark.parametrize(
    ("expression", "keep"),
    [
        ("name = 'PJU 07'", lambda a: a["name"] == "PJU 07"),
        ("name LIKE 'PJU 1%'", lambda a: a["name"].startswith("PJU 1")),
        ("status <> 'active' AND asset_type = 'pju'",
         lambda a: a["status"] != "active" and a["asset_type"] == "pju"),
        ("NOT (asset_type = 'cctv') OR name IN ('CCTV 0001', 'CCTV 0002')",
         lambda a: a["asset_type"] != "cctv" or a["name"] in ("CCTV 0001", "CCTV 0002")),
        ("CASEI(name) = casei('pju 03')", lambda a: a["name"] == "PJU 03"),
        ("name BETWEEN 'PJU 10' AND 'PJU 12'", lambda a: "PJU 10" <= a["name"] <= "PJU 12"),
        ("roadmap_phase IS NULL AND asset_type = 'pju'", lambda a: a["asset_type"] == "pju"),
        ("coverage_radius_m * 2 > 150 AND name <> asset_type AND asset_type = 'pju'",
         lambda a: a["asset_type"] == "pju"),
    ],
)  # fmt: skip
def test_cql2_basic_and_advanced_comparisons(client, assets, expression, keep):
    assert cql(client, "assets", expression + " AND asset_type <> 'jaringan_fiber'") == [
        a["id"] for a in assets if keep(a)
    ]


@pytest.mark.parametrize(
    ("function", "predicate"),
    [
        ("S_INTERSECTS", shapely.intersects),
        ("S_WITHIN", shapely.within),
        ("S_DISJOINT", shapely.disjoint),
        ("S_CONTAINS", shapely.contains),
        ("S_TOUCHES", shapely.touches),
        ("S_OVERLAPS", shapely.overlaps),
        ("S_CROSSES", shapely.crosses),
        ("S_EQUALS", shapely.equals),
    ],
)
def test_cql2_spatial_functions_match_shapely(client, database_url, function, predicate):
    polygon = box(106.02, -6.08, 106.07, -6.04)
    rows = db_rows(
        database_url,
        "SELECT code, ST_AsText(geom) AS wkt FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'",
        (CITY,),
    )
    ids = cql(client, "kelurahan", f"{function}(geometry, {polygon.wkt})")
    assert sorted(ids) == sorted(r["code"] for r in rows if predicate(shapely.from_wkt(r["wkt"]), polygon))


def test_cql2_s_dwithin_uses_metres_on_the_spheroid(client, assets):
    centre, radius = (106.05, -6.05), 1500
    geod = Geod(ellps="WGS84")
    cctv = [a for a in assets if a["asset_type"] == "cctv"]
    distances = geod.inv(np.full(len(cctv), centre[0]), np.full(len(cctv), centre[1]),
                         [a["x"] for a in cctv], [a["y"] for a in cctv])[2]  # fmt: skip
    expected = [a["id"] for a, d in zip(cctv, distances, strict=True) if d <= radius]
    assert 20 < len(expected) < len(cctv)
    assert (
        cql(client, "assets_cctv", f"S_DWITHIN(geometry, POINT({centre[0]} {centre[1]}), {radius}, meters)")
        == expected
    )
    assert (
        cql(client, "assets_cctv", f"S_DWITHIN(geometry, POINT({centre[0]} {centre[1]}), 1.5, km)")
        == expected
    )


def test_cql2_injection_attempt_stays_a_literal(client, database_url, assets):
    assert cql(client, "assets", "name = 'CCTV 0001; DROP TABLE assets; --'") == []
    pju_00 = next(a["id"] for a in assets if a["name"] == "PJU 00")
    assert cql(client, "assets", "name = 'CCTV 0001 OR 1=1' OR name = 'PJU 00'") == [pju_00]
    # Doubled quotes are outside pygeofilter's CQL2 grammar: refused before any SQL is built.
    assert "syntax" in cql(client, "assets", "name = 'x'' OR ''1''=''1'", 400)["detail"]
    assert "syntax" in cql(client, "assets", "name = 'a'; DROP TABLE assets", 400)["detail"]
    assert db_rows(database_url, "SELECT count(*) AS n FROM assets WHERE city_code = %s", (CITY,))[0]["n"] > 0


def test_cql2_rejects_unknown_properties_and_wrong_types(client, auth):
    assert "queryables" in cql(client, "incidents", "caller_name = 'Budi'", 400, headers=auth)["detail"]
    assert "queryables" in cql(client, "assets", "description = 'x'", 400)["detail"]
    cql(client, "assets", "coverage_radius_m = 'wide'", 400)
    cql(client, "assets", "coverage_radius_m = true", 400)
    cql(client, "assets", "name + 1 > 2", 400)
    cql(client, "assets", "S_DWITHIN(geometry, POINT(106 -6), 5, furlongs)", 400)
    get(client, ITEMS.format("assets") + "?filter=name='x'&filter-lang=cql2-json", 400)


def nested_400_deep() -> str:
    """``(name = 'x' OR (name = 'x' AND (...)))``: 400 levels that each change the operator."""
    expression = "name = 'x'"
    for level in range(400):
        expression = f"(name = 'x' {'AND' if level % 2 else 'OR'} {expression})"
    return expression


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("S_DWITHIN(geometry, POINT(106.05 -6.0), 1e308, meters)", "from 0 to 100,000 metres"),
        ("S_DWITHIN(geometry, POINT(106.05 -6.0), 1e300, km)", "from 0 to 100,000 metres"),
        ("S_DWITHIN(geometry, POINT(106.05 -6.0), -5)", "from 0 to 100,000 metres"),
        ("S_DWITHIN(geometry, POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90)), 10)",
         "less than 180 degrees of longitude"),
        ("S_INTERSECTS(geometry, BBOX(name, 1, 2, 3))", "BBOX takes 4 (or 6) numbers"),
        ("S_INTERSECTS(geometry, POINT(1e308 1e308))", "longitude from -180 to 180"),
        ("BBOX(geometry, 200, 100, 300, 120)", "longitude from -180 to 180"),
        ("S_INTERSECTS(geometry, BBOX(106.1, -6, 106, -5.9))", "lower corner comes first"),
        (nested_400_deep(), "nests more than 30 levels"),
        ("coverage_radius_m > " + "(1 + " * 400 + "1" + ")" * 400, "nests more than 30 levels"),
        (" AND ".join(["name = 'x'"] * 10_000), "at most 20,000 are accepted"),
        ("name IN (" + ",".join(f"'{i}'" for i in range(1500)) + ")", "more than 1,000 terms"),
    ],
)  # fmt: skip
def test_cql2_filters_past_the_limits_are_400_saying_what_to_fix(client, expression, detail):
    assert detail in cql(client, "assets", expression, 400)["detail"]


def test_cql2_limits_hold_for_incidents_and_other_filter_crs(client, auth):
    far = "S_DWITHIN(geometry, POINT(106.05 -6.0), 1e308, meters)"
    assert "100,000 metres" in cql(client, "incidents", far, 400, headers=auth)["detail"]
    utm = {"filter-crs": EPSG_32748, "filter": "S_INTERSECTS(geometry, POINT(1e20 1e20))"}
    detail = get(client, ITEMS.format("assets"), 400, query_string=utm).get_json()["detail"]
    assert "easting from" in detail and "northing from" in detail
    lat_lon = {"filter-crs": EPSG_4326, "filter": "BBOX(geometry, 106.03, -6.07, 106.07, -6.03)"}
    assert "latitude from -90 to 90" in get(client, ITEMS.format("assets"), 400, query_string=lat_lon).text


def test_a_long_chain_of_one_operator_is_one_level_of_nesting(client, assets):
    names = [a["name"] for a in assets[:200]]
    chain = " OR ".join(f"name = '{name}'" for name in names)
    assert cql(client, "assets", chain) == cql(client, "assets", f"name IN ({', '.join(map(repr, names))})")
    assert len(cql(client, "assets", chain)) == len(names)


def test_queryables_list_the_published_properties(client, auth):
    schema = get(client, "/ogc/collections/incidents/queryables", headers=auth).get_json()
    assert schema["type"] == "object" and schema["$schema"].startswith("https://json-schema.org/")
    assert schema["properties"]["received_at"] == {
        "title": "Call received",
        "type": "string",
        "format": "date-time",
    }
    assert "KEBAKARAN" in schema["properties"]["category"]["enum"]
    assert not {"description", "address", "external_id", "caller_name"} & set(schema["properties"])


# -- CRS ----------------------------------------------------------------------------------------------
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG_32748 = "http://www.opengis.net/def/crs/EPSG/0/32748"


def test_crs_epsg_4326_is_latitude_first_and_32748_is_metres(client, assets):
    first = assets[0]
    response = get(client, ITEMS.format("assets") + f"/{first['id']}?crs={EPSG_4326}")
    assert response.headers["Content-Crs"] == f"<{EPSG_4326}>"
    assert response.get_json()["geometry"]["coordinates"] == pytest.approx([first["y"], first["x"]], abs=1e-7)
    metric = get(client, ITEMS.format("assets") + f"/{first['id']}?crs={EPSG_32748}").get_json()
    expected = Transformer.from_crs(4326, 32748, always_xy=True).transform(first["x"], first["y"])
    assert metric["geometry"]["coordinates"] == pytest.approx(list(expected), abs=0.01)
    default = get(client, ITEMS.format("assets") + f"/{first['id']}")
    assert default.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    get(client, ITEMS.format("assets") + "?crs=EPSG:3857", 400)


def test_bbox_crs_axis_order(client, assets):
    lon_lat = (106.03, -6.07, 106.07, -6.03)
    reference = all_ids(client, "assets", f"?bbox={','.join(map(str, lon_lat))}")
    lat_lon = f"{lon_lat[1]},{lon_lat[0]},{lon_lat[3]},{lon_lat[2]}"
    assert all_ids(client, "assets", f"?bbox={lat_lon}&bbox-crs={EPSG_4326}") == reference
    to_utm = Transformer.from_crs(4326, 32748, always_xy=True)
    utm_box = (620000.0, 9329000.0, 624000.0, 9333000.0)
    xs, ys = to_utm.transform([a["x"] for a in assets], [a["y"] for a in assets])
    inside = shapely.intersects_xy(box(*utm_box), xs, ys)
    expected = [a["id"] for a, keep in zip(assets, inside, strict=True) if keep]
    assert expected and all_ids(
        client, "assets", f"?bbox={','.join(map(str, utm_box))}&bbox-crs={EPSG_32748}"
    ) == [i for i in expected]


@pytest.mark.parametrize(
    ("bbox", "crs", "detail"),
    [
        ("200,100,300,120", None, "longitude from -180 to 180 and latitude from -90 to 90"),
        ("106.03,-6.07,106.07,-6.03", EPSG_4326, "latitude from -90 to 90 and longitude from -180 to 180"),
        ("1e20,1e20,2e20,2e20", EPSG_32748, "easting from"),
        ("620000,9329000,624000,10000001", EPSG_32748, "northing from"),
        ("106.1,-6,106,-5.9", None, "lower corner comes first: min longitude, min latitude"),
        ("-6,106.1,-5.9,106", EPSG_4326, "lower corner comes first: min latitude, min longitude"),
    ],
)
def test_bbox_outside_its_crs_range_is_400(client, auth, bbox, crs, detail):
    query = {"bbox": bbox} | ({"bbox-crs": crs} if crs else {})
    for collection, headers in (("assets", {}), ("incidents", auth)):
        response = get(client, ITEMS.format(collection), 400, query_string=query, headers=headers)
        assert detail in response.get_json()["detail"]


def test_datetime_outside_the_handled_years_is_400(client, auth):
    for value in (
        "9999-12-31T00:00:00Z/..",
        "../0001-01-01T00:00:00Z",
        "9999-12-31",
        "0001-01-01/2025-01-01",
    ):
        response = get(client, ITEMS.format("incidents") + f"?datetime={value}", 400, headers=auth)
        assert "from 1900-01-01 to 2100-12-31" in response.get_json()["detail"], value
    get(client, ITEMS.format("green_areas") + "?datetime=9999-12-31T23:59:59Z", 400)


# -- HTML ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/assets_cctv",
     "/ogc/collections/assets_cctv/items", "/ogc/collections/assets_cctv/items/{first_cctv}",
     "/ogc/collections/assets_cctv/queryables"],
)  # fmt: skip
def test_every_resource_has_an_html_page(client, assets, path):
    """Ids are looked up, not assumed: other tests may have inserted assets before this city's."""
    path = path.format(first_cctv=next(a["id"] for a in assets if a["asset_type"] == "cctv"))
    response = get(client, path, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    assert "<h1>" in response.get_data(as_text=True)
    assert get(client, path + "?f=json").mimetype != "text/html"


def test_json_answers_are_valid_json(client):
    json.loads(get(client, ITEMS.format("kelurahan")).get_data(as_text=True))
    assert datetime.fromisoformat(items(client, "assets", "?limit=1")["timeStamp"])


def test_the_html_collection_list_names_the_mixed_collections_apart(client):
    page = get(client, "/ogc/collections?f=html").get_data(as_text=True)
    mixed = page.split("Collections of mixed geometry types", 1)[1]
    assert "/ogc/collections/assets?f=html" in mixed and "/ogc/collections/assets_cctv?" not in mixed
