"""The vector-tile overlay helper (geo_app.maps.tiles) and its use on /maps/areas."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import LiveServer
from ogc_city import city_app

from geo_app.city import CityContext
from geo_app.maps import base
from geo_app.maps.tiles import add_vector_tiles
from geo_app.settings import Settings

OVERLAY = "Aset kota (ubin vektor)"


def test_the_helper_adds_a_vectorgrid_layer_served_locally():
    m = base.make_map(
        Settings(), "Uji", city=CityContext("99.02", "Kota Uji", ZoneInfo("Asia/Jakarta"), 32748)
    )
    add_vector_tiles(m, "incidents", "Insiden", colour_by=("category", {"KEBAKARAN": "#d62728"}))
    html = base.render(m)
    assert "L.vectorGrid.protobuf" in html
    assert "'tiles/incidents/{z}/{x}/{y}.mvt'" in html  # relative: resolved against the city's <base>
    assert "/static/vendor/vectorgrid/Leaflet.VectorGrid.bundled.js" in html
    assert "unpkg" not in html and '"KEBAKARAN": "#d62728"' in html


@pytest.mark.browser
def test_the_areas_map_draws_asset_tiles_when_the_overlay_is_on(browser, database_url, tmp_path):
    with city_app(database_url) as app:
        server = LiveServer(app)
        page = browser.open(f"{server.url}/maps/areas")
        try:
            page.evaluate(
                "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
                f".find(label => label.textContent.includes({OVERLAY!r})).querySelector('input').click()"
            )
            page._drain(3)
            tiles = [url for url in page.requested if "/tiles/assets/" in url]
            assert tiles, page.requested
            assert page.errors == [] and page.external_requests() == []
            assert page.count(".leaflet-tile path") > 0  # VectorGrid draws each tile as SVG
            page.screenshot(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "areas_with_assets.png")
        finally:
            page.close()
            server.close()
