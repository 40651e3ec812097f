"""The streets basemap the app draws itself: road tiles by class and zoom, place names, on every map page
without BASEMAP_URL (and none with it), seen in Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import mapbox_vector_tile
import pytest

from geo_app import create_app
from geo_app.maps import vendor
from geo_app.settings import Settings

# The tile holding Cilegon's centre (106.04 E, 6.02 S) at zoom 11 and 13.
CENTRE_TILES = {11: (1627, 1058), 13: (6509, 4233)}
KECAMATAN = {"Cibeber", "Cilegon", "Pulomerak", "Ciwandan", "Jombang", "Gerogol", "Purwakarta", "Citangkil"}


def road_classes(client, z: int) -> set[str]:
    x, y = CENTRE_TILES[z]
    response = client.get(f"/tiles/roads/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.data)["roads"]
    return {feature["properties"]["road_class"] for feature in layer["features"]}


def test_side_streets_come_with_zoom(anonymous_client, sample_city):
    assert road_classes(anonymous_client, 11) == {"arteri", "kolektor"}
    assert road_classes(anonymous_client, 13) == {"arteri", "kolektor", "lokal"}


def test_places_are_published_without_streets_or_landmarks(anonymous_client, sample_city):
    response = anonymous_client.get("/ogc/collections/places/items?limit=1000")
    assert response.status_code == 200
    features = response.json["features"]
    assert {f["properties"]["category"] for f in features} == {"village", "suburb"}
    assert len(features) == 43 + 8
    assert {"Jombang Wetan", "Pulomerak"} <= {f["properties"]["name"] for f in features}


def test_map_pages_carry_the_streets_basemap_unless_a_tile_server_is_set(client, database_url, sample_city):
    for path in ("/maps/areas", "/maps/incidents", "/maps/green"):
        html = client.get(path).text
        assert "'tiles/roads/{z}/{x}/{y}.mvt'" in html and "GeoApp.placeLabels" in html, path
        assert vendor.external_urls(html) == []
    tile_server = "https://tiles.kota.go.id/{z}/{x}/{y}.png"
    other = create_app(Settings.from_env(database_url=database_url, env="test", basemap_url=tile_server))
    try:
        html = other.test_client().get("/maps/areas").text
    finally:
        other.extensions["db_pool"].close()
    assert tile_server in html and "tiles/roads/" not in html and "GeoApp.placeLabels" not in html


@pytest.mark.browser
def test_streets_and_place_names_drawn_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/areas")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and page.count(".leaflet-geoAppBasemap-pane path") < 200:
        time.sleep(0.2)
    assert page.errors == [] and page.external_requests() == []
    assert page.count(".leaflet-geoAppBasemap-pane path") >= 200
    labels = page.evaluate(
        """[...document.querySelectorAll('.geo-place-label span')].map(span => {
            const box = span.getBoundingClientRect();
            return {name: span.textContent, box: [box.left, box.top, box.right, box.bottom]};
        })"""
    )
    names = [label["name"] for label in labels]
    assert set(names) >= KECAMATAN and len(names) > len(KECAMATAN)  # and kelurahan where there is room
    boxes = [label["box"] for label in labels]
    overlapping = [
        (labels[i]["name"], labels[j]["name"])
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i][0] < boxes[j][2]
        and boxes[j][0] < boxes[i][2]
        and boxes[i][1] < boxes[j][3]
        and boxes[j][1] < boxes[i][3]
    ]
    assert overlapping == []
    page.screenshot(tmp_path / "areas_streets.png")
