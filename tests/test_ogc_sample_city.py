"""The OGC API on the generated sample city: every layer is served whole, and incidents stay public-only."""

from __future__ import annotations

from conftest import SAMPLE_CITY, execute


def walk(client, collection_id: str) -> list:
    """Every feature of a collection, following next links."""
    url, features = f"/ogc/collections/{collection_id}/items?limit=10000", []
    while url:
        page = client.get(url).get_json()
        features += page["features"]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return features


def test_each_asset_type_is_a_collection_with_all_its_assets(client, database_url, app):
    collections = {c["id"] for c in client.get("/ogc/collections").get_json()["collections"]}
    counts = dict(
        execute(
            database_url,
            "SELECT asset_type, count(*) FROM assets WHERE city_code = %s GROUP BY 1",
            (SAMPLE_CITY,),
        )
    )
    catalog = app.config["CATALOG"]
    assert {f"assets_{asset_type}" for asset_type in catalog.asset_types} <= collections
    for asset_type, count in counts.items():
        assert len(walk(client, f"assets_{asset_type}")) == count, asset_type


def test_incidents_collection_has_every_located_emergency_and_nothing_else(client, database_url):
    expected = execute(
        database_url,
        "SELECT id FROM incidents WHERE city_code = %s AND call_type = 'darurat' AND geom IS NOT NULL"
        " ORDER BY id",
        (SAMPLE_CITY,),
    )
    features = walk(client, "incidents")
    assert [f["id"] for f in features] == [row[0] for row in expected]
    assert len(features) > 10_000
    assert not {"description", "address", "external_id", "caller_name", "caller_phone"} & set(
        features[0]["properties"]
    )
