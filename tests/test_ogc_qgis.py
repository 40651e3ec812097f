"""What QGIS and GDAL need from /ogc beyond the core: the id as a property, typed schemas, sign-in they
can send (HTTP Basic with an API token) and collection lists that say which layers need it.

Expected types come from the database's own column types (information_schema), never from the API.
"""

from __future__ import annotations

import base64
import uuid

import pytest
from browser import LiveServer
from ogc_city import CITY, city_app, db_rows, ogc_app, ogc_client  # noqa: F401 (fixtures app, client)

from geo_app.auth.roles import PERENCANA
from geo_app.auth.users import add_user, issue_token

SCHEMA_TYPES = {
    "integer": ("integer", None),
    "bigint": ("integer", None),
    "smallint": ("integer", None),
    "numeric": ("number", None),
    "double precision": ("number", None),
    "real": ("number", None),
    "boolean": ("boolean", None),
    "text": ("string", None),
    "character varying": ("string", None),
    "timestamp with time zone": ("string", "date-time"),
    "date": ("string", "date"),
}


@pytest.fixture(scope="module")
def planner(database_url, app) -> tuple[str, str, str]:
    """(user name, API token, sign-in password) of a planner, who may read the incident collection."""
    username, password = f"qgis_{uuid.uuid4().hex[:8]}", "a-long-sign-in-password-1"
    add_user(database_url, username, PERENCANA, password=password, city_code=CITY)
    token, _ = issue_token(database_url, username)
    return username, token, password


def basic(username: str, password: str) -> dict:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_every_feature_carries_its_id_as_a_property(client, planner):
    auth = basic(planner[0], planner[1])
    for collection, key in (("assets_cctv", "id"), ("kelurahan", "code"), ("green_areas", "id"),
                            ("incidents", "id")):  # fmt: skip
        page = client.get(f"/ogc/collections/{collection}/items?limit=50", headers=auth).get_json()
        assert page["features"], collection
        for feature in page["features"]:
            assert feature["properties"][key] == feature["id"], collection


def test_schema_types_every_property_as_the_database_does(client, planner, database_url, app):
    """Columns empty in the first features (valid_to, official_area_km2) keep their type in the schema."""
    auth = basic(planner[0], planner[1])
    for collection in app.extensions["ogc_api"][CITY].collections.values():
        types = {
            row["column_name"]: row["data_type"]
            for row in db_rows(
                database_url,
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                (collection.table,),
            )
        }
        response = client.get(f"/ogc/collections/{collection.id}/schema", headers=auth)
        assert response.status_code == 200 and response.content_type == "application/schema+json"
        schema = response.get_json()
        assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
        assert schema["properties"][collection.id_column]["x-ogc-role"] == "id"
        for prop in collection.properties:
            expected_type, expected_format = SCHEMA_TYPES[types[prop.column]]
            published = schema["properties"][prop.name]
            assert published["type"] == expected_type, (collection.id, prop.name)
            assert published.get("format") == expected_format, (collection.id, prop.name)
        feature = client.get(f"/ogc/collections/{collection.id}/feature-schema", headers=auth).get_json()
        assert feature["properties"]["geometry"] == schema["properties"].pop("geometry")
        assert feature["properties"]["id"]["type"] == schema["properties"][collection.id_column]["type"]
        schema["properties"].pop("id", None)  # GDAL takes it from the features' id member
        assert feature["properties"]["properties"]["properties"] == schema["properties"]
        links = client.get(f"/ogc/collections/{collection.id}", headers=auth).get_json()["links"]
        described_by = [link for link in links if link["rel"] == "describedby"]
        assert described_by == [
            {
                "href": f"http://localhost/ogc/collections/{collection.id}/feature-schema",
                "rel": "describedby",
                "type": "application/schema+json",
                "title": "Schema of a GeoJSON feature",
            }
        ]


def test_gdal_types_columns_that_are_empty_in_the_first_features(database_url, app):
    """GDAL's OAPIF driver reads the describedby schema; without it valid_to (NULL in every current
    green area) and official_area_km2 (NULL in this city) came out as String."""
    from test_ogc_clients import gdal_read

    empty = db_rows(
        database_url,
        "SELECT (SELECT count(*) FROM green_areas WHERE city_code = %(c)s AND valid_to IS NULL) AS green,"
        " (SELECT count(*) FROM admin_areas WHERE city_code = %(c)s AND level = 'kelurahan'"
        " AND official_area_km2 IS NOT NULL) AS areas",
        {"c": CITY},
    )[0]
    assert empty["green"] > 0 and empty["areas"] == 0  # the columns are empty, as the test needs
    with city_app(database_url) as application:
        server = LiveServer(application)
        try:
            green = gdal_read(server.url, "green_areas")
            kelurahan = gdal_read(server.url, "kelurahan")
        finally:
            server.close()
    assert green["valid_to"].isna().all() and str(green["valid_to"].dtype).startswith("datetime64")
    assert str(green["area_ha"].dtype) == "float64" and green["id"].dtype.kind == "i"
    area = kelurahan["official_area_km2"]
    assert area.isna().all() and str(area.dtype) == "float64"


def test_http_basic_with_an_api_token_reads_what_the_role_may(client, planner):
    username, token, password = planner
    url = "/ogc/collections/incidents/items?limit=5"
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert "Basic" in anonymous.headers["WWW-Authenticate"]
    assert client.get(url, headers=basic(username, token)).status_code == 200
    tile = client.get("/tiles/incidents/16/52073/33871.mvt", headers=basic(username, token))
    assert tile.status_code == 200


@pytest.mark.parametrize(
    "credential",
    ["other_user:TOKEN", "USER:PASSWORD", "USER:", ":TOKEN", "USER:TOKENx", "not base64!", "USER TOKEN"],
)
def test_http_basic_refuses_anything_but_the_user_and_its_own_token(client, planner, credential):
    username, token, password = planner
    text = credential.replace("USER", username).replace("TOKEN", token).replace("PASSWORD", password)
    encoded = text if text == "not base64!" else base64.b64encode(text.encode()).decode()
    headers = {"Authorization": f"Basic {encoded}"}
    response = client.get("/ogc/collections/assets/items?limit=1", headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_http_basic_does_not_write(client, planner):
    """Browsers resend Basic credentials by themselves: a write with them could be forged by another site."""
    username, token, _ = planner
    response = client.post("/api/incidents", json={}, headers=basic(username, token))
    assert response.status_code == 401
    assert "Bearer" in response.get_json()["detail"]


def test_anonymous_tile_of_a_restricted_layer_is_401_not_an_empty_tile(client):
    response = client.get("/tiles/incidents/16/52073/33871.mvt")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_collection_lists_say_which_layers_need_sign_in(client, planner):
    public = client.get("/ogc/collections").get_json()
    listed = {c["id"]: c for c in public["collections"]}
    assert "incidents" not in listed
    assert {c["id"] for c in public["restrictedCollections"]} == {"incidents"}
    assert all(c["signInRequired"] for c in public["restrictedCollections"])
    assert not any(c["signInRequired"] for c in listed.values())
    signed_in = client.get("/ogc/collections", headers=basic(planner[0], planner[1])).get_json()
    by_id = {c["id"]: c for c in signed_in["collections"]}
    assert by_id["incidents"]["signInRequired"] is True and by_id["assets_cctv"]["signInRequired"] is False
    assert "restrictedCollections" not in signed_in


def test_every_collection_declares_its_geometry_type_as_the_data_has_it(client, planner, database_url, app):
    """QGIS types a layer from its first features unless told: the points and lines of ``assets`` came
    out as Point. Each collection says its type (collection document and Part 5 schema); mixed ones are
    kept out of the default list. Expected types come from the rows (ST_GeometryType)."""
    auth = basic(planner[0], planner[1])
    listed = client.get("/ogc/collections", headers=auth).get_json()
    shown = {c["id"] for c in listed["collections"]}
    mixed = {c["id"] for c in listed["mixedGeometryCollections"]}
    assert "assets" in mixed and "assets" not in shown and "assets_jaringan_fiber" in shown
    for collection in app.extensions["ogc_api"][CITY].collections.values():
        where = " AND ".join(
            [f"{name} IN ({', '.join(repr(v) for v in values)})" for name, values in collection.restrictions]
            + ["city_code = %s", "geom IS NOT NULL"]
        )
        found = {
            row["t"].removeprefix("ST_")
            for row in db_rows(
                database_url,
                f"SELECT DISTINCT ST_GeometryType(geom) AS t FROM {collection.table} WHERE {where}",
                (CITY,),
            )
        }
        document = client.get(f"/ogc/collections/{collection.id}", headers=auth).get_json()
        declared = document["geometryType"]
        schema = client.get(f"/ogc/collections/{collection.id}/queryables", headers=auth).get_json()
        geometry_format = schema["properties"]["geometry"]["format"]
        if declared == "Geometry":
            assert collection.id in mixed and geometry_format == "geometry-any", collection.id
        else:
            assert found <= {declared}, (collection.id, found)
            assert geometry_format == f"geometry-{declared.lower()}" and collection.id in shown, collection.id
    types = db_rows(
        database_url, "SELECT DISTINCT ST_GeometryType(geom) AS t FROM assets WHERE city_code = %s", (CITY,)
    )
    assert {row["t"] for row in types} == {"ST_Point", "ST_LineString"}  # the test city mixes them
