"""Which incident fields each role sees (geo_app.auth.privacy), and the last check that stops an answer by
its structure (JSON keys, CSV header), never by the words in its values.

A city of its own (99.41, the 112 test city's shape) with 240 emergency calls whose description, address,
call-centre number and caller carry marked text that no planner answer may contain.
"""

from __future__ import annotations

import json
import re

import mapbox_vector_tile
import pytest
from incident_city import create_city, drop_city
from pyproj import Transformer

from geo_app import create_app
from geo_app.auth import permissions, privacy
from geo_app.auth.permissions import READ, Rule
from geo_app.auth.roles import PERENCANA, READERS
from geo_app.db import connect
from geo_app.published import Collection, Property, check_incident_properties
from geo_app.settings import Settings
from geo_app.store import incidents as incident_store
from geo_app.web.api.incidents import incident_feature

CODE = "99.41"
CALLER = ("Joko Susanto", "081298765432")
SECRETS = (*CALLER, "Jl. Rahasia", "RAHASIA-")
"""Text that sits only in free-text fields, call-centre numbers and callers."""
CALLER_FIELDS = {"caller_name", "caller_phone"}
PLANNER_HIDDEN = {"description", "address", "external_id", *CALLER_FIELDS}
POINT = (106.0203, -6.0712)  # the newest call, in Lebak Gede
SECRET = {"description": "Joko Susanto 081298765432"}

# 240 darurat calls over 12 months plus 4 in the last hours, free text naming the caller
PLANT = """
INSERT INTO incidents (city_code, external_id, call_type, category, description, address, geom,
                       geocode_precision, received_at, dispatched_at, arrived_at, status, responding_opd)
SELECT %(city)s, 'RAHASIA-' || n, 'darurat', (ARRAY['KEBAKARAN', 'KRIMINAL', 'BANJIR'])[1 + n %% 3],
       'Penelepon Joko Susanto (081298765432) melihat asap', 'Jl. Rahasia No. ' || n || ', RT 01/RW 02',
       ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'exact', received, received + interval '3 minutes',
       received + interval '14 minutes', 'closed', 'BPBD'
FROM (
    SELECT n, 106.001 + 0.098 * ((n * 0.6180339887) %% 1) AS lon,
           -6.099 + 0.098 * ((n * 0.7548776662) %% 1) AS lat,
           now() - interval '12 months' + n * interval '36 hours' AS received
    FROM generate_series(1, 240) n
    UNION ALL
    SELECT 1000 + n, %(lon)s + n * 0.0001, %(lat)s, now() - n * interval '1 hour' FROM generate_series(0, 3) n
) s
"""


@pytest.fixture(scope="module")
def app(database_url):
    create_city(database_url, CODE)
    with connect(database_url) as conn:
        conn.execute(PLANT, {"city": CODE, "lon": POINT[0], "lat": POINT[1]})
        conn.execute(
            "UPDATE incidents i SET kelurahan_code = a.code, kecamatan_code = a.parent_code "
            "FROM admin_areas a WHERE i.city_code = %s AND a.city_code = i.city_code "
            "AND a.level = 'kelurahan' AND ST_Intersects(a.geom, i.geom)",
            (CODE,),
        )
        conn.execute(
            "INSERT INTO incident_callers SELECT id, %s, %s FROM incidents WHERE city_code = %s",
            (*CALLER, CODE),
        )
        conn.commit()
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CODE))
    yield application
    application.extensions["db_pool"].close()
    drop_city(database_url, CODE)


def as_role(app, tokens, role: str):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(app)[role]}"
    return client


def object_keys(document) -> set[str]:
    if isinstance(document, dict):
        return set(document).union(*(object_keys(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(object_keys(value) for value in document))
    return set()


def feature_property_keys(document) -> set[str]:
    """Property names of every GeoJSON Feature in an answer."""
    if not isinstance(document, dict):
        return set()
    features = document.get("features") or ([document] if document.get("type") == "Feature" else [])
    return set().union(*(feature.get("properties") or {} for feature in features))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    half_world = 20037508.342789244
    size = 2 * half_world / 2**z
    return int((x + half_world) // size), int((half_world - y) // size)


def planner_urls(app, incident_id: int) -> list[str]:
    """A URL for every GET endpoint a planner may call (incident collections and the planted call's tile
    and id), and the HTML form of the OGC pages."""
    tile = dict(zip(("x", "y"), tile_of(*POINT, 16), strict=True), z=16)
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        collections = ["incidents", "assets"] if "collection_id" in rule.arguments else [None]
        for collection in collections:
            sample = {"collection_id": collection, "feature_id": incident_id, "filename": "site.css", **tile}
            values = {name: sample.get(name, 1) for name in rule.arguments}
            if not permissions.is_allowed(PERENCANA, rule.rule, "GET", values):
                continue
            path = re.sub(
                r"<(?:[^:>]+:)?(\w+)>", lambda match, values=values: str(values[match[1]]), rule.rule
            )
            urls.append(path)
            if path.startswith("/ogc"):
                urls.append(f"{path}?f=html")
    return [url + "?limit=1000" if url == "/api/incidents" else url for url in urls]


def test_the_sql_selects_only_the_fields_of_the_role(app):
    filters = incident_store.IncidentFilter(city_code=CODE)
    with connect(app.config["SETTINGS"].database_url) as conn:
        planner = incident_store.list_incidents(conn, filters, privacy.incident_fields(PERENCANA), 5, None)
        staff = incident_store.list_incidents(
            conn, filters, privacy.incident_fields("call_taker_112"), 5, None
        )
    assert len(planner) == 5 and not PLANNER_HIDDEN & set(planner[0])
    assert {"description", "address", "external_id"} <= set(staff[0])
    assert {"received_at", "arrived_at", "category", "call_type", "lon", "kelurahan_name", "status"} <= set(
        planner[0]
    )


def test_every_field_of_an_incident_row_has_roles_and_sql():
    row_fields = set(privacy.INCIDENT_FIELD_ROLES) - set(privacy.PERSONAL_DATA_FIELDS)
    assert set(incident_store.INCIDENT_COLUMNS) == row_fields


def test_planners_get_no_free_text_nor_call_centre_numbers(app, tokens):
    body = as_role(app, tokens, PERENCANA).get("/api/incidents?limit=1000").json
    assert len(body["features"]) == 244
    assert all(not PLANNER_HIDDEN & set(feature["properties"]) for feature in body["features"])
    assert not any(secret in json.dumps(body) for secret in SECRETS)
    staff = as_role(app, tokens, "supervisor_112").get("/api/incidents?limit=5").json["features"][0]
    assert staff["properties"]["description"].startswith("Penelepon Joko Susanto")
    assert staff["properties"]["external_id"].startswith("RAHASIA-")
    assert not {"caller_name", "caller_phone"} & set(staff["properties"])  # callers: in no incident answer


def test_no_answer_a_planner_may_ask_for_carries_free_text(app, tokens):
    planner = as_role(app, tokens, PERENCANA)
    incidents = planner.get("/api/incidents?limit=1").json["features"]
    urls = planner_urls(app, incidents[0]["id"])
    assert {"/api/incidents?limit=1000", "/maps/incidents", "/api/analysis/response"} <= set(urls)
    leaks, seen = [], {}
    for url in urls:
        response = planner.get(url)
        seen[url] = response.status_code
        body = response.get_data()
        leaks += [f"{url}: {secret}" for secret in SECRETS if secret.encode() in body]
        if response.is_json:
            keys = feature_property_keys(response.json) | object_keys(response.json) & CALLER_FIELDS
            leaks += [f"{url}: key {key}" for key in keys & PLANNER_HIDDEN]
    assert not leaks
    assert not [url for url, status in seen.items() if status >= 500], seen
    # the walk reached the answers that hold incident rows, each with rows in it
    z16 = "/tiles/incidents/16/{}/{}.mvt".format(*tile_of(*POINT, 16))
    assert seen[z16] == 200 and mapbox_vector_tile.decode(planner.get(z16).data)["incidents"]["features"]
    for url in ("/ogc/collections/incidents/items", "/api/analysis/hotspots", "/api/analysis/response"):
        assert seen[url] == 200, url
    assert planner.get("/ogc/collections/incidents/items").json["numberReturned"] > 0


def test_the_incident_collection_publishes_only_what_every_reader_may_see():
    leaking = Collection(
        id="incidents_full",
        title="t",
        description="d",
        table="incidents",
        properties=(Property("category", "category", "string"), Property("address", "address", "string")),
        geometry_type="Point",
    )
    with pytest.raises(ValueError, match="address"):
        check_incident_properties(leaking)


def asset(name: str, **attributes) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.03, -6.03]},
        "properties": {"asset_type": "cctv", "name": name, "attributes": attributes},
    }


def test_words_in_values_do_not_stop_an_answer(app, tokens):
    admin = as_role(app, tokens, "admin")
    created = admin.post("/api/assets", json=asset("caller_phone", note="caller_name"))
    assert created.status_code == 201, created.json
    asset_id = created.json["id"]
    public = app.test_client()  # anonymous: the public view
    for url in (
        "/api/assets",
        f"/api/assets/{asset_id}",
        "/api/assets/export?format=csv",
        "/api/assets/export?format=geojson",
        f"/ogc/collections/assets/items/{asset_id}",
        "/ogc/collections/assets/items",
    ):
        response = public.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        assert b"caller_phone" in response.data, url
    assert public.get(f"/api/assets/{asset_id}").json["properties"]["attributes"] == {"note": "caller_name"}


def test_an_asset_may_not_carry_a_caller_field_as_an_attribute(app, tokens):
    admin = as_role(app, tokens, "admin")
    for attributes in ({"caller_phone": "0812"}, {"kontak": {"caller_name": "Budi"}}):
        response = admin.post("/api/assets", json=asset("CCTV pasar", **attributes))
        assert response.status_code == 422, response.json
        assert "kept for 112 callers' personal data" in json.dumps(response.json)


@pytest.fixture
def leaky_app(database_url, app, monkeypatch):
    """The test city's app with endpoints that (wrongly) send what some roles may not see."""
    monkeypatch.setattr(
        permissions, "PERMISSIONS", (Rule("/leak/*", READ, READERS), *permissions.PERMISSIONS)
    )
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CODE))
    row = {"id": 7, "category": "KEBAKARAN", "lon": 106.0, "lat": -6.0, "received_at": None}
    routes = {
        "caller-deep": lambda: {"a": [{"b": {"caller_phone": "x"}}]},
        "incident-text": lambda: {"type": "FeatureCollection", "features": [incident_feature(row | SECRET)]},
        "incident-ok": lambda: {"type": "FeatureCollection", "features": [incident_feature(row)]},
        "described": lambda: {"id": "incidents", "description": "no incident row here", "address": "x"},
        "csv-header": lambda: ("id,caller_phone\n1,x\n", 200, {"Content-Type": "text/csv"}),
        "csv-value": lambda: ("id,name\n1,caller_phone\n", 200, {"Content-Type": "text/csv"}),
        "broken-json": lambda: ('{"caller_name": ', 200, {"Content-Type": "application/json"}),
        "html": lambda: "<p>caller_name</p>",
    }
    for name, view in routes.items():
        application.add_url_rule(f"/leak/{name}", name, view)
    yield application
    application.extensions["db_pool"].close()


@pytest.mark.parametrize(
    ("path", "withheld_for"),
    [
        ("caller-deep", {"public", "perencana", "dlh"}),
        ("incident-text", {"public", "perencana", "dlh"}),
        ("incident-ok", {"public", "dlh"}),  # an incident row, whatever it holds, is no public answer
        ("described", set()),
        ("csv-header", {"public", "perencana", "dlh"}),
        ("csv-value", set()),
        ("broken-json", {"public", "perencana", "dlh"}),
        ("html", set()),
    ],
)
def test_the_last_check_reads_keys_and_headers(leaky_app, tokens, caplog, path, withheld_for):
    for role in ("public", "perencana", "dlh", "supervisor_112"):
        response = as_role(leaky_app, tokens, role).get(f"/leak/{path}")
        expected = 500 if role in withheld_for else 200
        assert response.status_code == expected, (role, response.get_data(as_text=True))
        if expected == 500:
            assert response.json["title"] == "Response withheld"
            assert CALLER[1] not in response.get_data(as_text=True)
    assert CALLER[0] not in caplog.text and CALLER[1] not in caplog.text
