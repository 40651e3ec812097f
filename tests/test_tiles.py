"""Vector tiles /tiles/{collection}/{z}/{x}/{y}.mvt, decoded with mapbox-vector-tile and checked against
the test city's rows (tile maths from pyproj/mercantile-style formulas, not from the service)."""

from __future__ import annotations

import mapbox_vector_tile
from ogc_city import CITY, db_rows, ogc_app, ogc_auth, ogc_client  # noqa: F401 (fixtures app, auth, client)
from pyproj import Transformer

MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
HALF_WORLD = 20037508.342789244


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    x, y = MERCATOR.transform(lon, lat)
    size = 2 * HALF_WORLD / 2**z
    return int((x + HALF_WORLD) // size), int((HALF_WORLD - y) // size)


def in_tile(lon: float, lat: float, z: int, x: int, y: int, margin: float = 0.0) -> bool:
    mx, my = MERCATOR.transform(lon, lat)
    size = 2 * HALF_WORLD / 2**z
    west, north = -HALF_WORLD + x * size, HALF_WORLD - y * size
    pad = margin * size
    return west - pad <= mx < west + size + pad and north - size - pad < my <= north + pad


def decode(client, path: str, **kwargs) -> dict:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.data)


def test_asset_tile_holds_the_assets_of_the_tile(client, database_url):
    z = 14
    x, y = tile_of(106.05, -6.05, z)
    rows = db_rows(
        database_url,
        "SELECT id, name, status, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM assets"
        " WHERE city_code = %s AND asset_type = 'cctv'",
        (CITY,),
    )
    expected = {r["id"]: r for r in rows if in_tile(r["lon"], r["lat"], z, x, y, margin=64 / 4096)}
    layer = decode(client, f"/tiles/assets_cctv/{z}/{x}/{y}.mvt")["assets_cctv"]
    assert len(expected) > 10
    assert {f["id"] for f in layer["features"]} == set(expected)
    for feature in layer["features"]:
        row = expected[feature["id"]]
        assert feature["properties"] == {"name": row["name"], "asset_type": "cctv", "status": row["status"]}


def test_area_tile_has_the_kelurahan_with_codes(client):
    z = 12
    x, y = tile_of(106.05, -6.05, z)
    layer = decode(client, f"/tiles/kelurahan/{z}/{x}/{y}.mvt")["kelurahan"]
    codes = {f["properties"]["id"] for f in layer["features"]}
    assert codes == {"99.66.01.1001", "99.66.01.1002", "99.66.02.1001", "99.66.02.1002"}


def public_incidents(database_url) -> list[dict]:
    return db_rows(
        database_url,
        "SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM incidents"
        " WHERE city_code = %s AND call_type = 'darurat' AND geom IS NOT NULL",
        (CITY,),
    )


def test_incident_tiles_at_street_zoom_hold_public_incidents_only(client, auth, database_url):
    rows = public_incidents(database_url)
    z = 16
    x, y = tile_of(rows[0]["lon"], rows[0]["lat"], z)
    layer = decode(client, f"/tiles/incidents/{z}/{x}/{y}.mvt", headers=auth)["incidents"]
    expected = {r["id"] for r in rows if in_tile(r["lon"], r["lat"], z, x, y, margin=64 / 4096)}
    assert {f["id"] for f in layer["features"]} == expected
    assert all(set(f["properties"]) == {"category", "status", "received_at"} for f in layer["features"])


def test_incident_tiles_below_zoom_16_count_incidents_per_cell(client, auth, database_url):
    rows = public_incidents(database_url)
    for z in (12, 14):
        x, y = tile_of(106.03, -6.03, z)
        layer = decode(client, f"/tiles/incidents/{z}/{x}/{y}.mvt", headers=auth)["incidents"]
        expected = sum(in_tile(r["lon"], r["lat"], z, x, y) for r in rows)
        assert expected > 0
        assert sum(f["properties"]["count"] for f in layer["features"]) == expected
        assert all(set(f["properties"]) == {"count"} for f in layer["features"])


def test_etag_cache_control_and_304(client):
    z = 14
    x, y = tile_of(106.05, -6.05, z)
    path = f"/tiles/assets/{z}/{x}/{y}.mvt"
    first = client.get(path)
    assert first.headers["ETag"] and "max-age=300" in first.headers["Cache-Control"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_tile_errors_and_empty_tiles(client, auth):
    assert client.get("/tiles/assets/3/8/0.mvt").status_code == 404
    assert client.get("/tiles/nope/1/0/0.mvt").status_code == 404
    assert client.get("/tiles/incidents/14/13018/8466.mvt").status_code == 401
    low = client.get("/tiles/incidents/8/203/131.mvt", headers=auth)
    assert low.status_code == 200 and low.data == b""
    far = decode(client, "/tiles/assets/14/0/0.mvt")
    assert far == {}


def test_tile_maths_agree_with_the_database(database_url):
    """ogc_tile_x/ogc_tile_y (migration 0006) give the tile pyproj gives."""
    for lon, lat in [(106.0512, -6.0433), (106.0, -6.0), (-73.98, 40.75)]:
        row = db_rows(
            database_url,
            "SELECT ogc_tile_x(p, 14) AS x, ogc_tile_y(p, 14) AS y"
            " FROM ST_SetSRID(ST_MakePoint(%s, %s), 4326) p",
            (lon, lat),
        )[0]
        assert (row["x"], row["y"]) == tile_of(lon, lat, 14)
